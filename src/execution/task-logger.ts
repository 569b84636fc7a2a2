import { Logger } from '@nestjs/common';
import { currentRun } from './task-run.js';

/**
 * A Nest `Logger` that tags every line written during a run with its run id, so the
 * lines of one run can be found together. The module logs through it; use it in tasks
 * and in the code they call.
 *
 * @example
 * ```ts
 * private readonly logger = new TaskLogger(OpenTheGates.name);
 * ```
 * @publicApi
 */
export class TaskLogger extends Logger {
  override log(message: unknown, ...rest: unknown[]): void {
    super.log(tag(message), ...rest);
  }
  override error(message: unknown, ...rest: unknown[]): void {
    super.error(tag(message), ...rest);
  }
  override warn(message: unknown, ...rest: unknown[]): void {
    super.warn(tag(message), ...rest);
  }
  override debug(message: unknown, ...rest: unknown[]): void {
    super.debug(tag(message), ...rest);
  }
  override verbose(message: unknown, ...rest: unknown[]): void {
    super.verbose(tag(message), ...rest);
  }
  override fatal(message: unknown, ...rest: unknown[]): void {
    super.fatal(tag(message), ...rest);
  }
}

function tag(message: unknown): unknown {
  const run = currentRun();
  return run && typeof message === 'string' ? `[run ${run.runId}] ${message}` : message;
}
