/** What a cron tick of a task does. @publicApi */
export type TaskRunMode = 'queue' | 'inline';
/** What a tick does while the task's previous run is in flight. @publicApi */
export type TaskOverlap = 'skip' | 'allow';

/** Settings of a task's cluster-wide lock. @publicApi */
export interface TaskLockOptions {
  /**
   * The lock's key: a string, or a function of the run's arguments (e.g. one lock per
   * gate), which is then prefixed with the task name.
   * @default the task name
   */
  key?: string | ((...args: any[]) => string);
  /** Milliseconds the lock lives without extension; it is extended every ttl/3 while running. @default 30000 */
  ttl?: number;
  /** Run even when the lock backend cannot be reached (fail open). @default false */
  failOpen?: boolean;
}

/** Retry delay between attempts of a queued run. @publicApi */
export type TaskBackoff = number | { type: 'fixed' | 'exponential'; delay: number };

/**
 * Options of `@Task`. All are optional.
 * @publicApi
 */
export interface TaskOptions {
  /**
   * The task's name: its lock key, metrics label and job name. A letter, then letters,
   * digits, `_`, `.` or `-`, at most 128 characters.
   * @default the concrete class's name
   */
  name?: string;
  /**
   * Cron expression with 5 fields (minute precision) or 6 (a leading seconds field).
   * Without it the task only runs when called or enqueued.
   */
  cron?: string;
  /**
   * An interval instead of `cron`: milliseconds, or `'30 seconds'`, `'15 minutes'`,
   * `'1 hour'`, `'1 day'`. Ticks fall on whole multiples of it since the Unix epoch (plus
   * `offset`), so every process computes the same instants.
   */
  every?: string | number;
  /** Milliseconds added to `every`'s epoch-aligned ticks. @default 0 */
  offset?: number;
  /**
   * After a gap (a stalled process, a clock stepped forward, Redis unreachable, or no
   * scheduler running), the latest due tick still runs if it is at most this late; the
   * other ticks of the gap are counted as skipped (`missed`). A duration like `every`'s;
   * `false` runs only ticks fired on time (within a second, none jumped over).
   * @default one interval of the task: the gap from that tick to the next
   */
  catchUp?: string | number | false;
  /**
   * The dead man's switch: the staleness check (`InteractorsHealthIndicator.staleness()`)
   * reports the task when its last success anywhere in the cluster is older than this. A
   * duration like `every`'s, at least the longest gap between two of its ticks; `false`
   * never reports it. A task never run counts from when a process first registered it.
   * @default two ticks after the last success, plus the health module's `staleGrace`
   */
  staleAfter?: string | number | false;
  /**
   * IANA time zone the cron expression is read in.
   * @default the module's `timeZone`, itself `'UTC'` by default
   */
  timeZone?: string;
  /**
   * What a cron tick does: `'queue'` enqueues a job for a worker, `'inline'` runs
   * the task in the scheduler process that claimed the tick.
   * @default 'queue'
   */
  run?: TaskRunMode;
  /**
   * `'skip'`: a tick that comes while a run of the task is still in flight is skipped
   * (reason `overlap`): per process for an inline task without a lock; with `lock`, the
   * held lock makes it `locked` across the cluster; for `run: 'queue'`, no tick is
   * enqueued while a job of an earlier tick is waiting or active. `'allow'`: runs overlap.
   * @default 'skip'
   */
  overlap?: TaskOverlap;
  /** Keep each run's arguments in the run history (off: arguments may hold personal data). @default false */
  historyArgs?: boolean;
  /**
   * The queue this task's jobs go to; it must be declared in the module's `queues`.
   * @default 'default'
   */
  queue?: string;
  /**
   * How many times a queued run is attempted before it is marked failed.
   * @default 1
   */
  attempts?: number;
  /** Delay between attempts of a queued run, in milliseconds, or a BullMQ backoff strategy. */
  backoff?: TaskBackoff;
  /**
   * Environments the task runs in; elsewhere its runs are skipped (reason `environment`)
   * and its ticks not fired, unless `INTERACTORS_FORCE` names it (or is `*`).
   * @default the module's `environments`, itself every environment by default
   */
  environments?: string[];
  /** `false` leaves this task out of the Prometheus metrics. @default true */
  metrics?: boolean;
  /**
   * Makes the task a cluster-wide singleton: a run while another holds the lock ends as
   * `locked`; with the lock backend unreachable, `skipped` (`lock_unavailable`).
   */
  lock?: boolean | TaskLockOptions;
  /**
   * Milliseconds after which a run ends as `timeout` and its `AbortSignal` aborts.
   * `call()` cannot be stopped from outside: watch `TaskRun.current().signal`.
   */
  timeout?: number;
}
