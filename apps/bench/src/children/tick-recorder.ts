/** Records when ticks fire relative to their due instants, inside a measurement window. */
import { performance } from 'node:perf_hooks';
import { distribution, type Distribution } from '../stats.js';
import { ticksIn, type Pattern } from '../tasks.js';

let offset = Date.now() - performance.now();

/**
 * Epoch ms with sub-millisecond precision: the monotonic clock, lined up with Date.now()
 * at the edge of a millisecond (so `Math.floor(wallClock()) === Date.now()` right after).
 */
export function wallClock(): number {
  return offset + performance.now();
}

/** Lines the sub-millisecond clock up with Date.now() again (spins for under 1 ms). */
export function calibrate(): void {
  const start = Date.now();
  let current = start;
  while (current === start) current = Date.now();
  offset = current - performance.now();
}

/** What the ticks of a window looked like. */
export interface TickReport {
  /** Fire time minus due instant, ms. */
  readonly lag: Distribution;
  /** Ticks fired before their due instant (by Date.now()). */
  readonly early: number;
  /** Due instants in the window that never fired. */
  readonly missed: number;
  /** Due instants that fired more than once. */
  readonly duplicates: number;
  readonly fired: number;
  readonly expected: number;
  /** Per due instant: [instant, ticks fired for it here, lag of the first one (ms)]. */
  readonly instants: Array<[number, number, number]>;
}

export class TickRecorder {
  private start = Infinity;
  private end = -Infinity;
  private readonly lags: number[] = [];
  private early = 0;
  private duplicates = 0;
  private readonly last: number[];
  private readonly instants = new Map<number, [count: number, first: number]>();

  constructor(
    private readonly tasks: number,
    private readonly pattern: Pattern,
  ) {
    this.last = Array.from({ length: tasks }, () => -Infinity);
  }

  window(start: number, end: number): void {
    this.start = start;
    this.end = end;
  }

  /** Task `index` fired, at `at` (wallClock()), for the instant `due`. */
  record(index: number, due: number, at: number): void {
    if (due < this.start || due >= this.end) return;
    const lag = at - due;
    this.lags.push(lag);
    if (Date.now() < due) this.early++;
    if (this.last[index]! >= due) this.duplicates++;
    else this.last[index] = due;
    const instant = this.instants.get(due);
    if (instant) {
      instant[0]++;
      instant[1] = Math.min(instant[1], lag);
    } else this.instants.set(due, [1, lag]);
  }

  report(): TickReport {
    let expected = 0;
    for (let index = 0; index < this.tasks; index++)
      expected += ticksIn(this.pattern, index, this.start, this.end);
    const unique = this.lags.length - this.duplicates;
    return {
      lag: distribution(this.lags),
      early: this.early,
      missed: Math.max(0, expected - unique),
      duplicates: this.duplicates,
      fired: this.lags.length,
      expected,
      instants: [...this.instants].map(([due, [count, first]]) => [due, count, first]),
    };
  }
}
