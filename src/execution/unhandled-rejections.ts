import { LOGGER_CONTEXT } from '../interactors.constants.js';
import { TaskLogger } from './task-logger.js';

// The listener is process-wide by nature, so it is shared by every app of the process that
// asks for it, and removed when the last of them closes.
let holders = 0;
const logger = new TaskLogger(LOGGER_CONTEXT);
const onUnhandledRejection = (reason: unknown) => {
  logger.error(
    `Unhandled rejection (a promise nobody awaited, e.g. inside a task's call()): ${(reason as Error)?.message ?? String(reason)}`,
    (reason as Error)?.stack,
  );
};

/**
 * Logs rejections nobody awaited instead of letting Node end the process, unless the app
 * listens for them itself. Returns the function that lets go of the listener. @internal
 */
export function guardUnhandledRejections(): () => void {
  if (holders === 0 && process.listenerCount('unhandledRejection') > 0) return () => undefined;
  if (holders++ === 0) process.on('unhandledRejection', onUnhandledRejection);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--holders === 0) process.off('unhandledRejection', onUnhandledRejection);
  };
}
