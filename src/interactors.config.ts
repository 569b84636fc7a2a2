import { isKnownTimeZone } from './scheduling/cron-schedule.js';
import { DEFAULT_PREFIX, DEFAULT_QUEUE } from './interactors.constants.js';
import { InvalidModuleOptionsError } from './errors/invalid-module-options.error.js';
import type {
  InteractorRole,
  InteractorsModuleOptions,
  QueueDeclarations,
  QueueSettings,
  RedisConnection,
} from './interfaces/module-options.interface.js';
import { systemClock, type Clock } from './scheduling/clock.js';
import { isStringList } from './task/task-options.validation.js';
import { MAX_TIMEOUT } from './utils/within.js';
import { isSocketPath, readRedisUrl } from './transport/redis-connection.js';
import type { Registry } from 'prom-client';

/** The module options after defaults, environment overrides and validation. @internal */
export interface InteractorsConfig {
  /** The module's own (fail-fast) connection; undefined means the in-memory transport. */
  readonly redis: RedisConnection | undefined;
  /** BullMQ's connection: the app's `BullModule.forRoot` one when present (`shared`), else `redis`. */
  readonly queueConnection:
    { readonly input: RedisConnection; readonly shared: boolean } | undefined;
  readonly prefix: string;
  readonly environment: string | undefined;
  /** The module-wide default of tasks' `environments`. */
  readonly environments: readonly string[] | undefined;
  /** Task names from `INTERACTORS_FORCE` (`*` for all). */
  readonly force: ReadonlySet<string>;
  readonly metrics: false | { registry?: Registry };
  readonly catchUnhandledRejections: boolean;
  readonly scheduler: boolean;
  readonly worker: boolean;
  /** Every declared queue with its worker settings, `default` included. */
  readonly queues: ReadonlyMap<string, WorkerSettings>;
  /** The declared queues this process works. */
  readonly consume: readonly string[];
  readonly timeZone: string;
  readonly connectTimeout: number;
  readonly commandTimeout: number;
  readonly reconnectMaxDelay: number;
  readonly shutdownGrace: number;
  readonly retention: {
    completed: { count: number; age: number };
    failed: { count: number; age: number };
  };
  readonly unknownTask: { retryDelay: number; window: number };
  readonly lockedJob: { retryDelay: number; window: number };
  readonly pausedJob: { retryDelay: number };
  /** Largest serialized arguments of an enqueued job, in bytes. */
  readonly maxArgsSize: number;
  readonly appVersion: string | undefined;
  readonly clock: Clock;
  /** Schedule overrides by task name, as given (checked with each task); `undefined` dropped. */
  readonly schedules: ReadonlyMap<string, unknown>;
  /** How many runs per task the history keeps; false: none. */
  readonly history: false | { limit: number };
}

const ROLES: readonly InteractorRole[] = ['scheduler', 'worker'];
const PREFIX_PATTERN = /^[A-Za-z0-9_.{}-][A-Za-z0-9_.:{}-]*$/;
const QUEUE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const QUEUE_SETTINGS = new Set([
  'concurrency',
  'lockDuration',
  'stalledInterval',
  'maxStalledCount',
]);

/** A declared queue's settings, its concurrency resolved. @internal */
export type WorkerSettings = QueueSettings & { readonly concurrency: number };
const KNOWN_OPTIONS = new Set<string>([
  'redis',
  'prefix',
  'environment',
  'roles',
  'consume',
  'timeZone',
  'connectTimeout',
  'commandTimeout',
  'reconnectMaxDelay',
  'shutdownGrace',
  'retention',
  'unknownTask',
  'lockedJob',
  'pausedJob',
  'maxArgsSize',
  'appVersion',
  'clock',
  'environments',
  'metrics',
  'catchUnhandledRejections',
  'schedules',
  'history',
]);

/** Declared queue names with their settings, `default` always first. @internal */
export function declaredQueues(queues: QueueDeclarations | undefined): Map<string, WorkerSettings> {
  const declared = new Map<string, WorkerSettings>([[DEFAULT_QUEUE, { concurrency: 1 }]]);
  const entries = Array.isArray(queues)
    ? (queues as readonly string[]).map((name) => [name, {}] as const)
    : Object.entries(queues ?? {});
  for (const [name, settings] of entries) {
    declared.set(name, { ...settings, concurrency: settings?.concurrency ?? 1 });
  }
  return declared;
}

/**
 * Applies defaults and the `INTERACTORS_ROLES` / `INTERACTORS_QUEUES` overrides, and
 * reports every invalid option at once. @internal
 */
export function resolveConfig(
  options: InteractorsModuleOptions,
  queues: QueueDeclarations | undefined,
  sharedBull: { connection?: unknown } | undefined = undefined,
  env: NodeJS.ProcessEnv = process.env,
): InteractorsConfig {
  // A forRootAsync factory may resolve to nothing.
  options ??= {};
  const sharedConnection = sharedBull?.connection as RedisConnection | undefined;
  // An empty REDIS_URL means "not configured", never "localhost".
  const redis = (options.redis === '' ? undefined : options.redis) ?? sharedConnection;
  const problems: string[] = [];
  for (const key of Object.keys(options ?? {})) {
    if (!KNOWN_OPTIONS.has(key))
      problems.push(
        `option "${key}" is not known; remove it (known: ${[...KNOWN_OPTIONS].join(', ')})`,
      );
  }

  const declared = declaredQueues(queues);
  for (const [name, settings] of declared) {
    const { concurrency } = settings;
    if (!QUEUE_PATTERN.test(name)) {
      problems.push(
        `queue "${name}" is not a valid queue name; use letters, digits, "_", "." or "-" (no ":")`,
      );
    }
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      problems.push(
        `queue "${name}": concurrency ${String(concurrency)} must be a whole number ≥ 1`,
      );
    }
    // Timers past 2^31-1 ms fire at once in Node (BullMQ's stalled check would spin), and
    // a lock shorter than half a second stalls every job that awaits anything.
    const bounds = {
      lockDuration: [500, MAX_TIMEOUT, ' (milliseconds)'],
      stalledInterval: [500, MAX_TIMEOUT, ' (milliseconds)'],
      maxStalledCount: [0, 1_000, ''],
    } as const;
    for (const [key, [least, most, unit]] of Object.entries(bounds)) {
      const value = settings[key as keyof typeof bounds];
      if (value !== undefined && (!Number.isInteger(value) || value < least || value > most)) {
        problems.push(
          `queue "${name}": ${key} ${String(value)} must be a whole number from ${least} to ${most}${unit}`,
        );
      }
    }
    for (const key of Object.keys(settings)) {
      if (!QUEUE_SETTINGS.has(key)) {
        problems.push(
          `queue "${name}": setting "${key}" is not known; use ${[...QUEUE_SETTINGS].join(', ')}`,
        );
      }
    }
  }

  const roles = parseList(env.INTERACTORS_ROLES) ?? options.roles ?? ROLES;
  for (const role of roles) {
    if (!ROLES.includes(role as InteractorRole)) {
      problems.push(
        `role "${role}" (${env.INTERACTORS_ROLES !== undefined ? 'INTERACTORS_ROLES' : 'option "roles"'}) is not known; use "scheduler" and/or "worker"`,
      );
    }
  }

  const consumeSource =
    env.INTERACTORS_QUEUES !== undefined ? 'INTERACTORS_QUEUES' : 'option "consume"';
  const consume = parseList(env.INTERACTORS_QUEUES) ?? options.consume ?? [...declared.keys()];
  for (const name of consume) {
    if (!declared.has(name)) {
      problems.push(
        `${consumeSource} names queue "${name}", which is not declared; declared queues: ${[...declared.keys()].join(', ')}`,
      );
    }
  }

  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
    problems.push(
      `option "prefix" must be a non-empty string of letters, digits, "_", ".", "-", ":", "{" or "}"`,
    );
  }
  const timeZone = options.timeZone ?? 'UTC';
  if (typeof timeZone !== 'string' || !isKnownTimeZone(timeZone)) {
    problems.push(
      `option "timeZone" ${JSON.stringify(timeZone)} is not a known IANA time zone (e.g. "Europe/Berlin")`,
    );
  }
  const positive = (name: string, value: unknown, fallback: number): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_TIMEOUT) {
      problems.push(
        `option "${name}" must be a positive number of milliseconds, got ${String(value)} (at most ${MAX_TIMEOUT}, 24.8 days)`,
      );
      return fallback;
    }
    return value;
  };
  const config: InteractorsConfig = {
    redis,
    queueConnection: sharedConnection
      ? { input: sharedConnection, shared: true }
      : redis !== undefined
        ? { input: redis, shared: false }
        : undefined,
    prefix,
    environment: options.environment,
    environments: options.environments,
    force: new Set(parseList(env.INTERACTORS_FORCE) ?? []),
    metrics: options.metrics ?? {},
    catchUnhandledRejections: options.catchUnhandledRejections ?? true,
    scheduler: roles.includes('scheduler'),
    worker: roles.includes('worker'),
    queues: declared,
    consume,
    timeZone,
    connectTimeout: positive('connectTimeout', options.connectTimeout, 10_000),
    commandTimeout: positive('commandTimeout', options.commandTimeout, 2_000),
    reconnectMaxDelay: positive('reconnectMaxDelay', options.reconnectMaxDelay, 3_000),
    shutdownGrace: positive('shutdownGrace', options.shutdownGrace, 10_000),
    retention: {
      completed: { count: 1000, age: 86_400, ...options.retention?.completed },
      failed: { count: 5000, age: 604_800, ...options.retention?.failed },
    },
    unknownTask: {
      retryDelay: positive('unknownTask.retryDelay', options.unknownTask?.retryDelay, 5_000),
      window: positive('unknownTask.window', options.unknownTask?.window, 600_000),
    },
    lockedJob: {
      retryDelay: positive('lockedJob.retryDelay', options.lockedJob?.retryDelay, 5_000),
      window: positive('lockedJob.window', options.lockedJob?.window, 600_000),
    },
    pausedJob: {
      retryDelay: positive('pausedJob.retryDelay', options.pausedJob?.retryDelay, 5_000),
    },
    maxArgsSize: maxArgsSizeOption(options.maxArgsSize, problems),
    appVersion: options.appVersion ?? env.npm_package_version,
    clock: options.clock ?? systemClock,
    schedules: scheduleOverrides(options.schedules, problems),
    history: historyOption(options.history, problems),
  };
  if (options.environments !== undefined && !isStringList(options.environments)) {
    problems.push(
      `option "environments" must be a list of environment names such as ["production"]`,
    );
  }
  if (typeof redis === 'string' && !parsesAsRedisUrl(redis)) {
    // Checked here, before any client exists: ioredis would throw Node's ERR_INVALID_URL,
    // whose `input` property — printed by Nest's exception handler and by any inspect of
    // the boot error — is the whole URL, password included. So never echo the URL.
    problems.push(
      'option "redis" is not a Redis URL that can be parsed, or its path is not a database number (without redis:// a path is a socket path; the URL is not shown: it may hold a password); percent-encode special characters in its user name and password (encodeURIComponent), e.g. redis://:p%40ss@host:6379/0',
    );
  }
  if (redis === undefined && options.environment === 'production') {
    problems.push(
      'no "redis" is configured and environment is "production": the in-memory transport serves one process only and loses everything on restart; set "redis" (e.g. REDIS_URL)',
    );
  }
  if (problems.length) throw new InvalidModuleOptionsError(problems);
  return config;
}

/**
 * Whether ioredis can parse `url` as it does (a port number, a socket path, `//host`,
 * `redis://` / `rediss://`, or `host:port` given a `redis://` scheme) into what it means.
 * A path other than a database number means the URL was cut short by a `/`, `?` or `#` of
 * an unencoded password (`redis://:pa@ss/word@host` would connect to host `ss`, whose name
 * — part of the password — would then be printed as the target).
 */
function parsesAsRedisUrl(input: string): boolean {
  if (/^\d+$/.test(input) || isSocketPath(input)) return true;
  const read = readRedisUrl(input);
  if (!read) return false;
  const { url, scheme } = read;
  // A `#` or an `@` after the host is a password cut short (`redis://u:12#34@host`), and a
  // password that does not decode could not be scrubbed from what is printed.
  if (url.hash || url.search.includes('@') || !decodes(url.password)) return false;
  if (!decodes(url.username)) return false;
  if (scheme) return /^\/?\d*$/.test(url.pathname);
  // Without a scheme ioredis takes a path for a socket path (`unix:/tmp/redis.sock`); with
  // credentials before it, the path may be the tail of a password cut by an unencoded
  // `/`: `:pa@ss/word@host` would connect to the socket `/word@host`, then printed.
  return url.pathname.length <= 1 || (!url.username && !url.password && !input.includes('@'));
}

function decodes(text: string): boolean {
  try {
    decodeURIComponent(text);
    return true;
  } catch {
    return false;
  }
}

function parseList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * The `schedules` option: an object of task names. Each entry is checked with its task
 * (so every mistake lands in one boot error); entries set to `undefined` are ignored.
 */
function scheduleOverrides(schedules: unknown, problems: string[]): ReadonlyMap<string, unknown> {
  const overrides = new Map<string, unknown>();
  if (schedules === undefined) return overrides;
  if (schedules === null || typeof schedules !== 'object' || Array.isArray(schedules)) {
    problems.push(
      'option "schedules" must be an object of task names to { cron, every, timeZone, enabled, ... }',
    );
    return overrides;
  }
  for (const [task, override] of Object.entries(schedules)) {
    if (override !== undefined) overrides.set(task, override);
  }
  return overrides;
}

/** Default `maxArgsSize`: 512 KiB. @internal */
export const DEFAULT_MAX_ARGS_SIZE = 524_288;
/** Redis refuses strings over 512 MB: no larger limit could be stored anyway. */
const MAX_ARGS_SIZE_CEILING = 512 * 1024 * 1024;

function maxArgsSizeOption(value: unknown, problems: string[]): number {
  if (value === undefined) return DEFAULT_MAX_ARGS_SIZE;
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < 1 ||
    value > MAX_ARGS_SIZE_CEILING
  ) {
    problems.push(
      `option "maxArgsSize" must be a whole number of bytes from 1 to ${MAX_ARGS_SIZE_CEILING} (512 MB, Redis's limit), got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}; e.g. 1048576 for 1 MiB`,
    );
    return DEFAULT_MAX_ARGS_SIZE;
  }
  return value;
}

function historyOption(history: unknown, problems: string[]): false | { limit: number } {
  if (history === undefined) return { limit: 50 };
  if (history === false) return false;
  const limit = (history as { limit?: unknown } | null)?.limit ?? 50;
  if (
    history === null ||
    typeof history !== 'object' ||
    Object.keys(history).some((key) => key !== 'limit') ||
    !Number.isInteger(limit) ||
    (limit as number) < 1 ||
    (limit as number) > 100_000
  ) {
    problems.push('option "history" must be { limit: <1 to 100000 runs per task> } or false');
    return { limit: 50 };
  }
  return { limit: limit as number };
}
