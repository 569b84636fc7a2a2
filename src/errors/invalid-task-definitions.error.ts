/**
 * Thrown at bootstrap when one or more `@Task` definitions are invalid.
 * The message lists every problem found, each naming the task, the option and the fix.
 * @publicApi
 */
export class InvalidTaskDefinitionsError extends Error {
  override readonly name = 'InvalidTaskDefinitionsError';

  constructor(readonly problems: readonly string[]) {
    super(
      `${problems.length} invalid task definition${problems.length === 1 ? '' : 's'}:\n` +
        problems.map((problem) => `  - ${problem}`).join('\n'),
    );
  }
}
