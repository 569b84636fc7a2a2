import { CronExpressionParser, type CronExpression } from 'cron-parser';
import type { Schedule } from './schedule.js';

const HOUR = 3_600_000;
/** Wider than any DST shift (2 h at most) and narrower than any two transitions' spacing. */
const NEAR = 3 * HOUR;
/** Every instant whose wall time can be W lies within 14 h of W; probe offsets beyond that. */
const FAR = 18 * HOUR;

const FIELDS = [
  { name: 'second', min: 0, max: 59, maxStep: 59 },
  { name: 'minute', min: 0, max: 59, maxStep: 59 },
  { name: 'hour', min: 0, max: 23, maxStep: 23 },
  { name: 'day-of-month', min: 1, max: 31, maxStep: 30 },
  { name: 'month', min: 1, max: 12, maxStep: 11 },
  { name: 'day-of-week', min: 0, max: 7, maxStep: 6 },
] as const;

/**
 * A cron expression read in one time zone, with our DST rule (close to Vixie cron):
 * - the expression is matched against wall-clock times (walls), never against instants;
 * - walls skipped by a spring-forward gap all map to the gap's end, so they collapse into
 *   one run there (merged with a wall that falls exactly there);
 * - a wall repeated by a fall-back runs once, at its first occurrence, for a *fixed-time*
 *   expression; a *wildcard* one (seconds, minutes or hours field starting with `*`)
 *   runs at both occurrences, so it keeps its spacing through the repeated hour.
 * Walls are computed by `cron-parser` in UTC, where no wall is skipped or repeated; the
 * mapping of walls to instants is ours, so the host `TZ` plays no part.
 * @internal
 */
export class CronSchedule implements Schedule {
  /** Whether the seconds, minutes or hours field starts with `*`. */
  readonly wildcard: boolean;
  readonly key: string;
  private readonly walls: CronExpression;
  /** Set when Vixie's rule asks for day-of-month AND day-of-week (see bothDaysRule). */
  private readonly bothDays: ((wall: number) => boolean) | undefined;
  private readonly offset: (instant: number) => number;

  /** @throws Error with a reason that names the offending field. */
  constructor(
    readonly expression: string,
    readonly timeZone: string,
  ) {
    checkFields(expression);
    const source = expression.trim();
    const macro = source.startsWith('@');
    try {
      this.walls = CronExpressionParser.parse(macro ? source.toLowerCase() : source, {
        tz: 'UTC',
        currentDate: new Date(0),
      });
    } catch (error) {
      throw new Error(parserMessage(expression, (error as Error).message), { cause: error });
    }
    const fields = sixFields(macro ? this.walls.stringify(true) : source);
    this.wildcard = fields.slice(0, 3).some((field) => field.startsWith('*'));
    this.bothDays = bothDaysRule(fields[3]!, fields[5]!, this.walls);
    checkDaysExist(this.walls, this.bothDays !== undefined);
    this.offset = zoneOffset(timeZone);
    this.key = `cron ${source.replace(/\s+/g, ' ')} ${timeZone}`;
  }

  /** The first due instant strictly after `after` (epoch ms). */
  next(after: number): number {
    const offset = this.offset;
    if (offset === UTC) return this.wallAfter(after);
    // The first occurrence of a wall W is the first instant at which the clock shows W or
    // later; it grows with W. Every wall up to the latest one shown by `after` has had its
    // first occurrence, so the next one is that of the first cron wall beyond it.
    const early = offset(after - NEAR);
    const now = offset(after);
    let shown = after + now;
    if (early > now) {
      // The clock went back within the last hours: it showed later walls just before.
      shown = Math.max(shown, this.transition(after - NEAR, after) - 1 + early);
    }
    let next = this.firstOccurrence(this.wallAfter(shown));
    if (this.wildcard) {
      // Second occurrences: walls of a fall-back's repeated range, read in the later offset.
      const late = offset(after + NEAR);
      if (early > late) {
        const change = this.transition(after - NEAR, after + NEAR);
        const wall = this.wallAfter(Math.max(after + late, change + late - 1));
        if (wall < change + early) next = Math.min(next, wall - late);
      }
    }
    return next;
  }

  /** The first cron wall strictly after `wall` (walls are epoch ms read as UTC). */
  private wallAfter(wall: number): number {
    this.walls.reset(new Date(wall));
    let next = this.walls.next().getTime();
    // The parser combines the day fields with OR; keep only walls matching both.
    for (let tries = 0; this.bothDays && !this.bothDays(next); tries++) {
      if (tries > MAX_DAY_TRIES) {
        throw new Error('it can never fire: no date matches both its day fields');
      }
      next = this.walls.next().getTime();
    }
    return next;
  }

  /** The first instant at which the zone's clock shows `wall` or a later wall. */
  private firstOccurrence(wall: number): number {
    const candidates = [wall - this.offset(wall - FAR), wall - this.offset(wall + FAR)].filter(
      (instant) => instant + this.offset(instant) === wall,
    );
    if (candidates.length) return Math.min(...candidates);
    // Skipped by a spring-forward: the clock jumps past it at the transition.
    return this.transition(wall - this.offset(wall + FAR), wall - this.offset(wall - FAR));
  }

  /** The first instant in (from, to] with the offset `to` has; one transition lies between. */
  private transition(from: number, to: number): number {
    const target = this.offset(to);
    while (to - from > 1) {
      const middle = Math.floor((from + to) / 2);
      if (this.offset(middle) === target) to = middle;
      else from = middle;
    }
    return to;
  }
}

/** The offset function of the UTC zone, recognised to skip the DST mapping. */
const UTC = (): number => 0;
const offsets = new Map<string, (instant: number) => number>();

/** A zone's UTC offset (ms) at an instant, from the runtime's time zone data. @internal */
export function zoneOffset(timeZone: string): (instant: number) => number {
  let offset = offsets.get(timeZone);
  if (offset) return offset;
  const format = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' });
  offset = (instant: number) => {
    const name = format.formatToParts(instant).find((part) => part.type === 'timeZoneName')!.value;
    const match = /([+-])(\d\d):(\d\d)(?::(\d\d))?$/.exec(name);
    if (!match) return 0; // "GMT" alone
    const [, sign, hours, minutes, seconds] = match;
    return (sign === '-' ? -1 : 1) * ((+hours! * 60 + +minutes!) * 60 + +(seconds ?? 0)) * 1000;
  };
  if (/^(Etc\/)?(UTC|GMT|UCT|Universal|Zulu)$/.test(format.resolvedOptions().timeZone))
    offset = UTC;
  offsets.set(timeZone, offset);
  return offset;
}

/** Candidate days tried for a day-of-month AND day-of-week match: over 28 years of days. */
const MAX_DAY_TRIES = 11_000;

/**
 * Vixie cron combines day-of-month and day-of-week with OR when both are restricted, but
 * with AND when either starts with `*` (`*\/2` with `1`: odd days that are Mondays). The
 * parser always uses OR, which is the same unless a field is a stepped or ranged `*`.
 */
function bothDaysRule(
  dayOfMonth: string,
  dayOfWeek: string,
  walls: CronExpression,
): ((wall: number) => boolean) | undefined {
  const starred = (field: string) => field.startsWith('*') && field !== '*';
  const restricted = (field: string) => !field.startsWith('*') && field !== '?';
  if (
    !(starred(dayOfMonth) && restricted(dayOfWeek)) &&
    !(starred(dayOfWeek) && restricted(dayOfMonth))
  ) {
    return undefined;
  }
  const days = new Set(walls.fields.dayOfMonth.values as number[]);
  const weekdays = new Set((walls.fields.dayOfWeek.values as number[]).map((day) => day % 7));
  return (wall) => {
    const date = new Date(wall);
    return days.has(date.getUTCDate()) && weekdays.has(date.getUTCDay());
  };
}

/** Days in each month at most (February in a leap year). */
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * An expression whose days of month exist in none of its months (`0 0 31 4,6 *`) can never
 * fire; found here at once, where the parser would search for a long time. Only when
 * day-of-week does not widen the match (the parser's OR), or must match too (Vixie's AND).
 */
function checkDaysExist(walls: CronExpression, bothDays: boolean): void {
  const weekdays = walls.fields.dayOfWeek.values as number[];
  if (!bothDays && new Set(weekdays.map((day) => day % 7)).size < 7) return;
  const first = Math.min(...(walls.fields.dayOfMonth.values as number[]));
  const months = walls.fields.month.values as number[];
  if (!months.some((month) => MONTH_DAYS[month - 1]! >= first)) {
    throw new Error('it can never fire: no month has the day(s) of month it names');
  }
}

const MACROS = [
  '@yearly',
  '@annually',
  '@monthly',
  '@weekly',
  '@daily',
  '@hourly',
  '@minutely',
  '@secondly',
];

/**
 * Rejects what the parser would read differently from Vixie cron or silently accept:
 * other dialects (Quartz, Jenkins `H`), 7 fields, steps larger than their field
 * (`* /61` would fire hourly). Names the offending field. Names (`jan`, `mon`) are left
 * to the parser.
 */
function checkFields(expression: string): void {
  const parts = expression.trim().split(/\s+/);
  if (parts[0]?.startsWith('@')) {
    if (parts.length === 1 && MACROS.includes(parts[0].toLowerCase())) return;
    throw new Error(`"${expression}" is not supported; the macros are ${MACROS.join(', ')}`);
  }
  if (parts.length !== 5 && parts.length !== 6) {
    throw new Error(
      `expected 5 fields (minute precision) or 6 (seconds first), got ${parts.length}; years are not supported`,
    );
  }
  const quartz = (item: string) => /[?#]/.test(item) || /^(L|LW|\d+[LW]|L-\d+)$/i.test(item);
  if (parts.some((part) => part.split(',').some(quartz))) {
    throw new Error(
      'Quartz syntax (?, L, W, #) is not supported; write standard (Vixie) cron: 5 fields, or 6 with seconds first',
    );
  }
  if (parts.some((part) => /(^|[^a-z])H([^a-z]|$)/i.test(part))) {
    throw new Error(
      "Jenkins' H is not supported; write standard (Vixie) cron: 5 fields, or 6 with seconds first",
    );
  }
  const fields = parts.length === 6 ? FIELDS : FIELDS.slice(1);
  parts.forEach((part, i) => {
    const field = fields[i]!;
    for (const item of part.split(',')) {
      const slash = item.indexOf('/');
      for (const value of (slash < 0 ? item : item.slice(0, slash)).split('-')) {
        if (/^\d+$/.test(value) && (+value < field.min || +value > field.max)) {
          throw new Error(`${field.name} value ${value} out of range ${field.min}-${field.max}`);
        }
      }
      if (slash < 0) continue;
      const step = item.slice(slash + 1);
      if (!/^\d+$/.test(step) || +step < 1 || +step > field.maxStep) {
        throw new Error(`${field.name} step ${step} out of range 1-${field.maxStep}`);
      }
    }
  });
}

/** The six fields of an expression, seconds first (`0` for a 5-field one). */
function sixFields(expression: string): string[] {
  const parts = expression.trim().split(/\s+/);
  return parts.length === 6 ? parts : ['0', ...parts];
}

/** The parser's message, said in terms of the expression. */
function parserMessage(expression: string, message: string): string {
  if (/explicit day of month/i.test(message)) {
    return 'it can never fire: no month has the day(s) of month it names';
  }
  return message.replace(/^(Constraint|Validation) error, /, '');
}

/**
 * A likely mistake: a fixed hour with a wildcard minutes or seconds field, such as
 * `* * 1 * * *` (3,600 runs inside one hour). Returns a warning, or undefined. @internal
 */
export function cronMistake(expression: string): string | undefined {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5 && parts.length !== 6) return undefined;
  const [second, minute, hour] = sixFields(expression);
  if (!/^\d+$/.test(hour!)) return undefined; // ranges and lists (9-17) are usually meant
  const unit = second === '*' ? 'second' : minute === '*' ? 'minute' : undefined;
  if (!unit) return undefined;
  return `runs every ${unit} during hour(s) ${hour} only; if you meant once at that hour, fix the ${unit}s field (e.g. "0")`;
}

/** Whether the runtime knows an IANA time zone name. @internal */
export function isKnownTimeZone(timeZone: string): boolean {
  try {
    // The formatter throws a RangeError for a zone the runtime's tz data does not have.
    Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}
