import { CronTime } from 'cron';

const FIELDS = [
  { name: 'second', maxStep: 59 },
  { name: 'minute', maxStep: 59 },
  { name: 'hour', maxStep: 23 },
  { name: 'day-of-month', maxStep: 30 },
  { name: 'month', maxStep: 11 },
  { name: 'day-of-week', maxStep: 6 },
] as const;

/** A parsed cron expression in one time zone: computes due instants. @internal */
export class CronSchedule {
  private readonly time: CronTime;

  /** @throws Error with a reason that names the offending field. */
  constructor(
    readonly expression: string,
    readonly timeZone: string,
  ) {
    checkSteps(expression);
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
 * The `cron` package accepts steps larger than their field (`* /61` fires hourly);
 * reject them so a typo never silently changes the schedule.
 */
function checkSteps(expression: string): void {
  const parts = expression.trim().split(/\s+/);
  if (parts[0]?.startsWith('@')) return;
  if (parts.length !== 5 && parts.length !== 6) {
    throw new Error(`expected 5 or 6 fields, got ${parts.length}`);
  }
  const fields = parts.length === 6 ? FIELDS : FIELDS.slice(1);
  parts.forEach((part, i) => {
    const field = fields[i]!;
    for (const item of part.split(',')) {
      const slash = item.indexOf('/');
      if (slash < 0) continue;
      const step = item.slice(slash + 1);
      if (!/^\d+$/.test(step) || +step < 1 || +step > field.maxStep) {
        throw new Error(`${field.name} step ${step} out of range 1-${field.maxStep}`);
      }
    }
  });
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
