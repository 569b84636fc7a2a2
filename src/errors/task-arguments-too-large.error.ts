/**
 * Thrown by `enqueue` (every form: `enqueue`, `enqueueTo`, `with(...)`) when a task's
 * arguments, serialized, exceed the module option `maxArgsSize`. Nothing is stored.
 * @publicApi
 */
export class TaskArgumentsTooLargeError extends Error {
  override readonly name = 'TaskArgumentsTooLargeError';

  constructor(
    readonly task: string,
    /** Size of the serialized arguments, in bytes (UTF-8). */
    readonly size: number,
    /** The `maxArgsSize` limit, in bytes. */
    readonly limit: number,
  ) {
    super(
      `Task "${task}": arguments are ${size} bytes serialized, over the limit of ${limit} bytes ` +
        '(module option "maxArgsSize"). Pass a reference to the data (an id, a URL) instead, ' +
        'or raise maxArgsSize.',
    );
  }
}
