/**
 * The outcome error of a run that exceeded its task's `timeout`. The run's `AbortSignal`
 * aborts with it; `call()` itself goes on until it settles.
 * @publicApi
 */
export class TaskTimeoutError extends Error {
  override readonly name = 'TaskTimeoutError';

  constructor(
    readonly task: string,
    readonly timeoutMs: number,
  ) {
    super(
      `Task "${task}" timed out after ${timeoutMs} ms (option "timeout"); its signal was aborted`,
    );
  }
}
