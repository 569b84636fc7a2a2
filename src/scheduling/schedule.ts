/** When a task is due: a cron expression or an interval. @internal */
export interface Schedule {
  /** How the schedule was written, for listings and messages. */
  readonly expression: string;
  /** The zone a cron is read in; undefined for intervals, which are zone-free. */
  readonly timeZone: string | undefined;
  /** Identifies the instants it yields (expression, zone, offset): stored with claims. */
  readonly key: string;
  /** The first due instant strictly after `after` (epoch ms). */
  next(after: number): number;
}

const UNITS: Record<string, number> = {
  ms: 1,
  millisecond: 1,
  s: 1_000,
  sec: 1_000,
  second: 1_000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
};

/**
 * Parses `every`: milliseconds, or `'<n> <unit>'` such as `'15 minutes'`, `'1 hour'`,
 * `'90s'`. @throws Error saying what is accepted. @internal
 */
export function parseInterval(every: string | number): number {
  if (typeof every === 'number') {
    if (!Number.isInteger(every) || every < 1_000) {
      throw new Error(`${every} is not a whole number of milliseconds ≥ 1000`);
    }
    return every;
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(every);
  const word = match?.[2]!.toLowerCase() ?? '';
  const unit = UNITS[word] ?? UNITS[word.replace(/s$/, '')];
  if (!match || !unit) {
    throw new Error(
      `"${every}" is not an interval; use e.g. "30 seconds", "15 minutes", "1 hour", "1 day" or milliseconds`,
    );
  }
  const ms = Number(match[1]) * unit;
  if (!Number.isInteger(ms) || ms < 1_000)
    throw new Error(`"${every}" is shorter than one second or not a whole millisecond`);
  return ms;
}

/**
 * Ticks at whole multiples of the interval since the Unix epoch, plus `offset`: every
 * process computes the same instants, so claims work as for cron. @internal
 */
export class IntervalSchedule implements Schedule {
  readonly timeZone = undefined;
  readonly key: string;

  constructor(
    readonly expression: string,
    private readonly interval: number,
    private readonly offset = 0,
  ) {
    this.key = `every ${interval}+${offset}`;
  }

  /** Ticks strictly between two instants, by arithmetic. */
  count(after: number, before: number): number {
    const index = (instant: number) => Math.floor((instant - this.offset) / this.interval);
    return Math.max(0, index(before - 1) - index(after));
  }

  next(after: number): number {
    return (
      Math.floor((after - this.offset) / this.interval) * this.interval +
      this.interval +
      this.offset
    );
  }
}

/**
 * The latest tick at or before `now`, given a tick `first` that is: found by probing
 * back from `now` in doubling spans, so a long gap costs a few `next` calls, not one per
 * tick. @internal
 */
export function latestTick(schedule: Schedule, first: number, now: number): number {
  let span = 1_000;
  let from = first;
  while (now - span > first) {
    const probe = nextTick(schedule, now - span - 1);
    if (probe <= now) {
      from = probe;
      break;
    }
    span *= 2;
  }
  for (let next = nextTick(schedule, from); next <= now; next = nextTick(schedule, from)) {
    from = next;
  }
  return from;
}

/**
 * How many ticks lie strictly between `after` and `before`: by arithmetic for intervals;
 * for crons by walking, at most `cap` ticks or `budgetMs` of work (a gap of hours in a
 * seconds-precise cron would otherwise block the event loop), so a count may be short
 * (`complete: false`). @internal
 */
export function ticksBetween(
  schedule: Schedule,
  after: number,
  before: number,
  cap: number,
  budgetMs = Infinity,
): { count: number; complete: boolean } {
  if (schedule instanceof IntervalSchedule) {
    return { count: schedule.count(after, before), complete: true };
  }
  const deadline = performance.now() + budgetMs;
  let count = 0;
  for (let tick = nextTick(schedule, after); tick < before; tick = nextTick(schedule, tick)) {
    if (count >= cap || (count % 64 === 63 && performance.now() > deadline)) {
      return { count, complete: false };
    }
    count++;
  }
  return { count, complete: true };
}

/**
 * `schedule.next(after)`, guarded: a next instant that is not strictly after `after` is a
 * bug that would loop or storm the dispatcher, so it throws instead. @internal
 */
export function nextTick(schedule: Schedule, after: number): number {
  const next = schedule.next(after);
  if (!(next > after)) {
    throw new Error(
      `"${schedule.expression}" gave ${next} as the tick after ${after}, which is not later`,
    );
  }
  return next;
}
