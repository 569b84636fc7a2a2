/**
 * Thrown when a task is named (by class or string) that no module registered.
 * @publicApi
 */
export class UnknownTaskError extends Error {
  override readonly name = 'UnknownTaskError';

  constructor(
    readonly task: string,
    known: readonly string[],
  ) {
    super(
      `Task "${task}" is not registered. Add its class to a module's providers` +
        (known.length ? `; registered tasks: ${known.join(', ')}` : '; no tasks are registered') +
        '.',
    );
  }
}
