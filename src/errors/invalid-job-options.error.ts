/**
 * Thrown by `enqueue` when per-job options are invalid.
 * @publicApi
 */
export class InvalidJobOptionsError extends Error {
  override readonly name = 'InvalidJobOptionsError';

  constructor(task: string, problem: string) {
    super(`Task "${task}": ${problem}`);
  }
}
