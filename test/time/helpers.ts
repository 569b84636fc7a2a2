import { CronSchedule } from '../../src/scheduling/cron-schedule.js';
import type { Schedule } from '../../src/scheduling/schedule.js';

/** Epoch ms of a literal ISO instant. */
export const at = (iso: string): number => {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`not an instant: ${iso}`);
  return ms;
};

/** The ISO form of an epoch ms instant, as the expectations are written. */
export const iso = (ms: number): string => new Date(ms).toISOString();

/** The next `count` due instants strictly after `after`, as ISO strings. */
export function nextInstants(schedule: Schedule, after: string, count: number): string[] {
  const out: string[] = [];
  let from = at(after);
  for (let i = 0; i < count; i++) {
    from = schedule.next(from);
    out.push(iso(from));
  }
  return out;
}

/** Shorthand: the next `count` instants of a cron read in `zone`, after `after`. */
export function cronNext(expression: string, zone: string, after: string, count: number): string[] {
  return nextInstants(new CronSchedule(expression, zone), after, count);
}

/** Every due instant in [from, to), walking with `next` (epoch ms). */
export function walk(schedule: Schedule, from: string, to: string): number[] {
  const out: number[] = [];
  const end = at(to);
  for (let tick = schedule.next(at(from) - 1); tick < end; tick = schedule.next(tick)) {
    out.push(tick);
  }
  return out;
}

/** Walks `steps` instants after `after`; throws unless each is strictly later than the one before. */
export function strictWalk(schedule: Schedule, after: string, steps: number): number[] {
  const out: number[] = [];
  let from = at(after);
  for (let i = 0; i < steps; i++) {
    const next = schedule.next(from);
    if (!(next > from)) {
      throw new Error(
        `"${schedule.expression}" in ${schedule.timeZone}: step ${i} after ${iso(from)} gave ${iso(next)}`,
      );
    }
    out.push(next);
    from = next;
  }
  return out;
}

/** Differences between consecutive instants (ms). */
export const gaps = (instants: number[]): number[] =>
  instants.slice(1).map((instant, i) => instant - instants[i]!);

/** Runs `body` with the process's `TZ` set to `zone`, restoring the previous value after. */
export function withHostZone<T>(zone: string, body: () => T): T {
  const saved = process.env.TZ;
  process.env.TZ = zone;
  try {
    return body();
  } finally {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  }
}
