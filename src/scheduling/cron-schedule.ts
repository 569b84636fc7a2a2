import { CronTime } from 'cron';
import type { Schedule } from './schedule.js';

const FIELDS = [
  { name: 'second', min: 0, max: 59, maxStep: 59 },
  { name: 'minute', min: 0, max: 59, maxStep: 59 },
  { name: 'hour', min: 0, max: 23, maxStep: 23 },
  { name: 'day-of-month', min: 1, max: 31, maxStep: 30 },
  { name: 'month', min: 1, max: 12, maxStep: 11 },
  { name: 'day-of-week', min: 0, max: 7, maxStep: 6 },
] as const;

/** A parsed cron expression in one time zone: computes due instants. @internal */
export class CronSchedule implements Schedule {
  private readonly time: CronTime;

  /** @throws Error with a reason that names the offending field. */
  constructor(
    readonly expression: string,
    readonly timeZone: string,
  ) {
    checkFields(expression);
    this.time = new CronTime(expression, timeZone);
  }

  /** The first due instant strictly after `after` (epoch ms). */
  next(after: number): number {
    // `cron` ignores the zone unless it is passed again here.
    const next = this.time.getNextDateFrom(new Date(after), this.timeZone).toMillis();
    if (!(next > after)) {
      throw new Error(`cron "${this.expression}" gave ${next}, not after ${after}`);
    }
    return next;
  }
}

/**
 * Names the field of an out-of-range value, which the `cron` package does not, and
 * rejects steps larger than their field, which it accepts (`* /61` fires hourly), so a
 * typo never silently changes the schedule. Names (`jan`, `mon`) are left to `cron`.
 */
function checkFields(expression: string): void {
  const parts = expression.trim().split(/\s+/);
  if (parts[0]?.startsWith('@')) return;
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

/**
 * A likely mistake: a fixed hour with a wildcard minutes or seconds field, such as
 * `* * 1 * * *` (3,600 runs inside one hour). Returns a warning, or undefined. @internal
 */
export function cronMistake(expression: string): string | undefined {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5 && parts.length !== 6) return undefined;
  const [second, minute, hour] = parts.length === 6 ? parts : ['0', ...parts];
  if (!/^\d+$/.test(hour!)) return undefined; // ranges and lists (9-17) are usually meant
  const unit = second === '*' ? 'second' : minute === '*' ? 'minute' : undefined;
  if (!unit) return undefined;
  return `runs every ${unit} during hour(s) ${hour} only; if you meant once at that hour, fix the ${unit}s field (e.g. "0")`;
}

/** Whether the runtime knows an IANA time zone name. @internal */
export function isKnownTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}
