/** Metadata key under which `@Task` stores its options on a class. @internal */
export const TASK_METADATA = 'interactors:task';
/** Set when `@Task` is applied more than once to the same class. @internal */
export const TASK_DECORATED_TWICE = 'interactors:task-decorated-twice';

/** DI token of the resolved, validated module configuration. @internal */
export const INTERACTORS_CONFIG = 'interactors:config';
/** DI token of the transport (Redis or in-memory) behind claims and the module's own keys. @internal */
export const INTERACTORS_TRANSPORT = 'interactors:transport';
/** DI token of the time source the scheduler reads. @publicApi */
export const INTERACTORS_CLOCK = 'interactors:clock';
/** DI token of the queue declarations given to `forRoot` / `forRootAsync`. @internal */
export const INTERACTORS_QUEUES = 'interactors:queues';

export const DEFAULT_PREFIX = 'interactors';
export const DEFAULT_QUEUE = 'default';
export const LOGGER_CONTEXT = 'Interactors';

/** Task names: a letter, then letters, digits, `_`, `.`, `-`; no `:` since job ids are built from them. */
export const TASK_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/;

/**
 * Whether a string is a well-formed task name. Names of `Object.prototype` members
 * (`constructor`, `toString`, ...) are refused too, so no job can reach them by name.
 */
export function isTaskName(name: unknown): name is string {
  return typeof name === 'string' && TASK_NAME_PATTERN.test(name) && !(name in Object.prototype);
}
/** DI token of the queue adapter (BullMQ or in-memory). @internal */
export const INTERACTORS_JOB_QUEUE = 'interactors:job-queue';
/** DI token of the module's BullMQ connection (null with the in-memory transport). @internal */
export const INTERACTORS_BULL_CONNECTION = 'interactors:bull-connection';
/** DI token of the lock backend (redlock over Redis, or in-memory). @internal */
export const INTERACTORS_LOCKS = 'interactors:locks';
/**
 * DI token of the registry holding the dispatcher's timer: the app's `SchedulerRegistry`
 * when it imports `ScheduleModule.forRoot()`, else one of our own (importing `forRoot()`
 * ourselves would start a second scheduler for the app's own `@Cron` jobs). @internal
 */
export const INTERACTORS_TIMERS = 'interactors:timers';
