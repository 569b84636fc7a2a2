/**
 * Thrown at bootstrap when `InteractorsModule.forRoot` options are invalid.
 * @publicApi
 */
export class InvalidModuleOptionsError extends Error {
  override readonly name = 'InvalidModuleOptionsError';

  constructor(readonly problems: readonly string[]) {
    super(`InteractorsModule options are invalid:\n` + problems.map((p) => `  - ${p}`).join('\n'));
  }
}
