import { MAX_TIMEOUT } from '../utils/within.js';
import { asInterval, formatDuration } from '../utils/duration.js';
import { CronSchedule, cronMistake, isKnownTimeZone } from '../scheduling/cron-schedule.js';
import { IntervalSchedule, parseInterval, type Schedule } from '../scheduling/schedule.js';
import { DEFAULT_QUEUE, TASK_NAME_PATTERN, isTaskName } from '../interactors.constants.js';
import type { InteractorsConfig } from '../interactors.config.js';
import type { TaskOptions } from './task-options.interface.js';

const KNOWN_OPTIONS = [
  'name',
  'cron',
  'every',
  'offset',
  'catchUp',
  'timeZone',
  'run',
  'queue',
  'overlap',
  'historyArgs',
  'attempts',
  'backoff',
  'environments',
  'metrics',
  'timeout',
  'lock',
  'staleAfter',
];

/** A task name's problem, or undefined when it follows the grammar. @internal */
export function taskNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return `must be a string, got ${typeof name}`;
  if (!TASK_NAME_PATTERN.test(name)) {
    return 'must start with a letter, then letters, digits, "_", "." or "-" (no ":"), at most 128 characters';
  }
  if (!isTaskName(name)) return 'is the name of an Object.prototype member; choose another name';
  return undefined;
}

/**
 * Checks one task's options; returns the problems (each naming task, option and fix)
 * and, when the cron expression is valid, its schedule. @internal
 */
export function validateTaskOptions(
  task: string,
  options: TaskOptions,
  config: InteractorsConfig,
  now: number,
): { problems: string[]; warnings: string[]; schedule?: Schedule; catchUp?: number | false } {
  const problems: string[] = [];
  const problem = (text: string) => problems.push(`Task "${task}": ${text}`);

  if (options === null || typeof options !== 'object') {
    problem(`@Task options must be an object, got ${options === null ? 'null' : typeof options}`);
    return { problems, warnings: [] };
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.includes(key))
      problem(`option "${key}" is not known; remove it (known: ${KNOWN_OPTIONS.join(', ')})`);
  }
  if (options.name !== undefined) {
    const nameProblem = taskNameProblem(options.name);
    if (nameProblem) problem(`name ${JSON.stringify(options.name)} ${nameProblem}`);
  }

  const timeZone = options.timeZone ?? config.timeZone;
  if (
    options.timeZone !== undefined &&
    (typeof options.timeZone !== 'string' || !isKnownTimeZone(options.timeZone))
  ) {
    problem(
      `timeZone ${JSON.stringify(options.timeZone)} is not a known IANA time zone; use a name such as "Europe/Berlin"`,
    );
  }
  let schedule: Schedule | undefined;
  const warnings: string[] = [];
  if (options.cron !== undefined && options.every !== undefined) {
    problem('give either "cron" or "every", not both');
  } else if (options.every !== undefined) {
    try {
      const offset = options.offset ?? 0;
      if (!Number.isInteger(offset) || offset < 0)
        throw new Error(`offset ${JSON.stringify(offset)} must be whole milliseconds ≥ 0`);
      const expression =
        typeof options.every === 'number' ? `every ${options.every} ms` : `every ${options.every}`;
      schedule = new IntervalSchedule(expression, parseInterval(options.every), offset);
    } catch (error) {
      problem(`every ${JSON.stringify(options.every)} is invalid: ${(error as Error).message}`);
    }
  } else if (options.offset !== undefined) {
    problem('"offset" goes with "every"; remove it or add an interval');
  }
  if (options.cron !== undefined && options.every === undefined) {
    if (typeof options.cron === 'string' && options.cron.trim() === '') {
      problem('cron is empty; give an expression such as "*/15 * * * *", or remove it');
    } else if (typeof options.cron !== 'string') {
      problem(`cron must be a string such as "*/15 * * * *", got ${typeof options.cron}`);
    } else if (isKnownTimeZone(timeZone)) {
      try {
        schedule = new CronSchedule(options.cron, timeZone);
        schedule.next(now);
      } catch (error) {
        schedule = undefined;
        const reason = (error as Error).message.split('\n')[0]!;
        problem(
          `cron "${options.cron}" is invalid (${reason})` +
            (reason.includes('5 fields')
              ? ''
              : '; fix the expression (5 fields, or 6 with seconds first)'),
        );
      }
    }
  }

  let catchUp: number | false | undefined;
  if (options.catchUp !== undefined) {
    if (options.cron === undefined && options.every === undefined) {
      problem('"catchUp" goes with "cron" or "every"; remove it or add a schedule');
    } else if (options.catchUp === false) {
      catchUp = false;
    } else {
      try {
        catchUp = parseInterval(options.catchUp as string | number);
      } catch (error) {
        problem(
          `catchUp ${JSON.stringify(options.catchUp)} is invalid: ${(error as Error).message}; or false for no catch-up`,
        );
      }
    }
  }

  if (options.staleAfter !== undefined) {
    const staleProblem = staleAfterProblem(options, schedule, now);
    if (staleProblem) problem(staleProblem);
  }

  if (options.run !== undefined && options.run !== 'queue' && options.run !== 'inline') {
    problem(`run ${JSON.stringify(options.run)} is not valid; use "queue" or "inline"`);
  }
  if (options.overlap !== undefined && options.overlap !== 'skip' && options.overlap !== 'allow') {
    problem(`overlap ${JSON.stringify(options.overlap)} is not valid; use "skip" or "allow"`);
  }
  const queue = options.queue ?? DEFAULT_QUEUE;
  if (typeof queue !== 'string') {
    problem(`queue must be a string, got ${typeof queue}`);
  } else if (!config.queues.has(queue)) {
    problem(
      `queue "${queue}" is not declared; add it to InteractorsModule.forRoot({ queues: [...] }) (declared: ${[...config.queues.keys()].join(', ')})`,
    );
  }
  if (
    options.attempts !== undefined &&
    (!Number.isInteger(options.attempts) || options.attempts < 1)
  ) {
    problem(`attempts ${JSON.stringify(options.attempts)} must be a whole number ≥ 1`);
  }
  if (options.backoff !== undefined && !isBackoff(options.backoff)) {
    problem(
      `backoff ${JSON.stringify(options.backoff)} is not valid; use milliseconds (e.g. 5000) or { type: "fixed" | "exponential", delay: 5000 }`,
    );
  }
  if (options.environments !== undefined && !isStringList(options.environments)) {
    problem(
      `environments must be a list of environment names such as ["production"], got ${JSON.stringify(options.environments)}`,
    );
  }
  if (options.historyArgs !== undefined && typeof options.historyArgs !== 'boolean') {
    problem(`historyArgs must be true or false, got ${JSON.stringify(options.historyArgs)}`);
  }
  if (options.metrics !== undefined && typeof options.metrics !== 'boolean') {
    problem(`metrics must be true or false, got ${JSON.stringify(options.metrics)}`);
  }
  if (
    options.timeout !== undefined &&
    !(
      typeof options.timeout === 'number' &&
      Number.isFinite(options.timeout) &&
      options.timeout > 0 &&
      options.timeout <= MAX_TIMEOUT
    )
  ) {
    problem(`timeout ${JSON.stringify(options.timeout)} must be a positive number of milliseconds`);
  }
  if (options.lock !== undefined && typeof options.lock !== 'boolean') {
    const lock = options.lock as Record<string, unknown> | null;
    if (lock === null || typeof lock !== 'object') {
      problem(
        `lock must be true, false or { key?, ttl?, failOpen? }, got ${JSON.stringify(options.lock)}`,
      );
    } else {
      for (const key of Object.keys(lock)) {
        if (!['key', 'ttl', 'failOpen'].includes(key))
          problem(`lock option "${key}" is not known; use key, ttl or failOpen`);
      }
      if (
        lock.key !== undefined &&
        typeof lock.key !== 'string' &&
        typeof lock.key !== 'function'
      ) {
        problem("lock.key must be a string or a function of the run's arguments returning one");
      }
      if (
        lock.ttl !== undefined &&
        !(
          typeof lock.ttl === 'number' &&
          Number.isFinite(lock.ttl) &&
          lock.ttl >= 100 &&
          lock.ttl <= MAX_TIMEOUT
        )
      ) {
        problem(`lock.ttl ${JSON.stringify(lock.ttl)} must be a number of milliseconds ≥ 100`);
      }
      if (lock.failOpen !== undefined && typeof lock.failOpen !== 'boolean')
        problem('lock.failOpen must be true or false');
    }
  }
  const mistake =
    typeof options.cron === 'string' && schedule ? cronMistake(options.cron) : undefined;
  if (mistake) warnings.push(`Task "${task}": cron "${options.cron}" ${mistake}`);
  return { problems, warnings, schedule, catchUp };
}

/** Ticks looked at for a schedule's longest gap: two weeks of a weekday cron, a year of a monthly one. */
const GAP_TICKS = 12;

/**
 * What is wrong with `staleAfter`, if anything: it must be a duration (or false) on a
 * scheduled task, and no shorter than the longest gap between its ticks, or a healthy
 * task would be reported stale while it waits for its next tick.
 */
function staleAfterProblem(
  options: TaskOptions,
  schedule: Schedule | undefined,
  now: number,
): string | undefined {
  const given = JSON.stringify(options.staleAfter);
  if (options.cron === undefined && options.every === undefined) {
    return '"staleAfter" goes with "cron" or "every" (only scheduled tasks go stale); remove it or add a schedule';
  }
  if (options.staleAfter === false) return undefined;
  let staleAfter: number;
  try {
    staleAfter = parseInterval(options.staleAfter as string | number);
  } catch (error) {
    return `staleAfter ${given} is invalid: ${(error as Error).message}; or false never to report the task stale`;
  }
  if (!schedule) return undefined; // its schedule's own problem is reported
  let gap = 0;
  try {
    for (let tick = schedule.next(now), i = 0; i < GAP_TICKS; i++) {
      const next = schedule.next(tick);
      gap = Math.max(gap, next - tick);
      tick = next;
    }
  } catch {
    return undefined;
  }
  if (staleAfter >= gap) return undefined;
  return (
    `staleAfter ${given} is shorter than the longest gap between its ticks (${formatDuration(gap)}): ` +
    `the task would be reported stale while it waits for its next tick; use at least "${asInterval(gap)}"`
  );
}

/** A list of non-empty strings. @internal */
export function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string' && item.length > 0);
}

function isBackoff(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0;
  if (value === null || typeof value !== 'object') return false;
  const { type, delay } = value as { type?: unknown; delay?: unknown };
  return (type === 'fixed' || type === 'exponential') && typeof delay === 'number' && delay >= 0;
}
