import type { Redis, RedisOptions } from 'ioredis';
import type { Registry } from 'prom-client';
import type { Clock } from '../scheduling/clock.js';

/** A duty a process takes on. @publicApi */
export type InteractorRole = 'scheduler' | 'worker';

/** A Redis URL (`redis://` or `rediss://`), ioredis options, or an existing ioredis client. @publicApi */
export type RedisConnection = string | RedisOptions | Redis;

/** Settings of one declared queue. @publicApi */
export interface QueueSettings {
  /** Jobs a worker of this queue runs at once in one process. @default 1 */
  concurrency?: number;
  /**
   * How long, in ms, a job stays locked to its worker between renewals (BullMQ's
   * `lockDuration`). A job whose worker died is re-delivered about
   * `lockDuration + stalledInterval` later (at worst one more `stalledInterval`, when BullMQ's
   * stall check skips a round). @default 30000
   */
  lockDuration?: number;
  /** How often, in ms, workers look for stalled jobs (BullMQ's `stalledInterval`). @default 30000 */
  stalledInterval?: number;
  /**
   * How many times a job may stall (its worker dies or blocks past `lockDuration`) and be
   * re-delivered before it fails (BullMQ's `maxStalledCount`). @default 1
   */
  maxStalledCount?: number;
}

/**
 * Queues this app uses: names, or names mapped to their settings. The queue named
 * `default` is always declared. @publicApi
 */
export type QueueDeclarations = readonly string[] | Readonly<Record<string, QueueSettings>>;

/** How long finished jobs are kept in Redis. @publicApi */
export interface RetentionRule {
  /** Keep at most this many jobs. */
  count?: number;
  /** Keep jobs at most this many seconds. */
  age?: number;
}

/**
 * Options of `InteractorsModule.forRoot` / the factory of `forRootAsync`.
 * @publicApi
 */
export interface InteractorsModuleOptions {
  /**
   * Where Redis is. Without it the module uses its in-memory transport (one process only)
   * and warns; with `environment: 'production'` it refuses to boot.
   */
  redis?: RedisConnection;
  /** Prefix of every Redis key the module writes, BullMQ's included. @default 'interactors' */
  prefix?: string;
  /** The deployment environment (`production`, `staging`, ...). */
  environment?: string;
  /**
   * Default `environments` of every task that names none: e.g. `['production']` turns every
   * task off elsewhere at once. `INTERACTORS_FORCE` (task names, or `*`) forces tasks on.
   * @default every environment
   */
  environments?: string[];
  /**
   * Prometheus metrics, on prom-client's global registry (which `@willsoto/nestjs-prometheus`
   * serves) or the given one; `false` turns them off.
   * @default { registry: prom-client's global registry }
   */
  metrics?: false | { registry?: Registry };
  /**
   * Log a rejected promise nobody awaited (e.g. inside a task) instead of letting Node end
   * the process. Set `false` if your app handles `unhandledRejection` itself.
   * @default true
   */
  catchUnhandledRejections?: boolean;
  /**
   * Duties of this process. The `INTERACTORS_ROLES` environment variable, when set,
   * overrides it (comma-separated; empty means neither).
   * @default ['scheduler', 'worker']
   */
  roles?: InteractorRole[];
  /**
   * Declared queues whose jobs this process works (with the `worker` role). The
   * `INTERACTORS_QUEUES` environment variable, when set, overrides it.
   * @default every declared queue
   */
  consume?: string[];
  /** Time zone of cron expressions that name none. @default 'UTC' */
  timeZone?: string;
  /** How long boot waits for Redis before failing, in ms. @default 10000 */
  connectTimeout?: number;
  /** How long a command on the module's own (fail-fast) connection may take, in ms. @default 2000 */
  commandTimeout?: number;
  /** Longest wait between reconnection attempts after Redis went away, in ms. @default 3000 */
  reconnectMaxDelay?: number;
  /** How long shutdown waits for runs in flight, in ms. @default 10000 */
  shutdownGrace?: number;
  /**
   * How many completed and failed jobs are kept.
   * @default { completed: { count: 1000, age: 86400 }, failed: { count: 5000, age: 604800 } }
   */
  retention?: { completed?: RetentionRule; failed?: RetentionRule };
  /**
   * A job naming a task this process does not know (a rolling deploy) is retried every
   * `retryDelay` ms until `window` ms after it was enqueued, then failed.
   * @default { retryDelay: 5000, window: 600000 }
   */
  unknownTask?: { retryDelay?: number; window?: number };
  /**
   * A job from an explicit enqueue whose task's lock is held is re-delayed every
   * `retryDelay` ms (not counted as an attempt) for up to `window` ms, then failed.
   * Jobs of cron ticks complete as `locked` instead.
   * @default { retryDelay: 5000, window: 600000 }
   */
  lockedJob?: { retryDelay?: number; window?: number };
  /**
   * An explicitly enqueued job of a paused task is re-delayed by `retryDelay` ms (not
   * counted as an attempt) until the task is resumed.
   * @default { retryDelay: 5000 }
   */
  pausedJob?: { retryDelay?: number };
  /**
   * Largest arguments an enqueue accepts, in bytes of their JSON: larger ones are rejected
   * with a `TaskArgumentsTooLargeError` before anything reaches Redis. Pass a reference to
   * big data (an id, a URL) rather than the data.
   * @default 524288 (512 KiB)
   */
  maxArgsSize?: number;
  /** Version of this app, recorded in each job's envelope. @default process.env.npm_package_version */
  appVersion?: string;
  /** Time source of the scheduler. @default the system clock */
  clock?: Clock;
  /**
   * Per-task schedules from configuration, overriding the `@Task` literal, so one build
   * runs different schedules per environment: `{ OpenTheGates: { cron: config.get('GATES_CRON') } }`.
   * Keys whose value is `undefined` are ignored (an unset variable keeps the decorator's).
   */
  schedules?: Record<string, ScheduleOverride>;
  /**
   * Run history: the newest `limit` runs of each task, in Redis, read with
   * `Interactors.history()`; `false` keeps none.
   * @default { limit: 50 }
   */
  history?: { limit?: number } | false;
}

/**
 * One task's schedule from configuration. A `cron` or `every` here replaces the
 * decorator's schedule (its `cron`, `every` and `offset`); the other keys replace one
 * option each. @publicApi
 */
export interface ScheduleOverride {
  cron?: string;
  every?: string | number;
  offset?: number;
  timeZone?: string;
  catchUp?: string | number | false;
  /** `false`: no ticks are fired for the task here; calls and enqueues still work. @default true */
  enabled?: boolean;
}

/** Options fixed when the module is defined, for `forRoot` and `forRootAsync` alike. @publicApi */
export interface InteractorsModuleExtras {
  /** Register the module globally. @default true */
  isGlobal?: boolean;
  /**
   * Queues this app uses, known when modules compile so that they are registered under
   * `@nestjs/bullmq`'s tokens (`@InjectQueue(name)`). `default` is always declared.
   */
  queues?: QueueDeclarations;
}
