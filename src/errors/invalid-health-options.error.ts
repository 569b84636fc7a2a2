/**
 * Thrown at bootstrap when `InteractorsHealthModule.forRoot` options are invalid.
 * @publicApi
 */
export class InvalidHealthOptionsError extends Error {
  override readonly name = 'InvalidHealthOptionsError';

  constructor(readonly problems: readonly string[]) {
    super(
      `InteractorsHealthModule options are invalid:\n` + problems.map((p) => `  - ${p}`).join('\n'),
    );
  }
}
