/**
 * Thrown by `enqueue` when an argument would not survive the trip through the queue
 * as JSON unchanged. Names the task and the path of the bad value.
 * @publicApi
 */
export class InvalidTaskArgumentsError extends Error {
  override readonly name = 'InvalidTaskArgumentsError';

  constructor(
    readonly task: string,
    readonly path: string,
    what: string,
    why = 'which would not arrive unchanged through the queue. ' +
      'Pass JSON values only (strings, finite numbers, booleans, null, arrays, plain objects; Dates arrive as ISO strings).',
  ) {
    super(`Task "${task}": ${path} is ${what}, ${why}`);
  }
}
