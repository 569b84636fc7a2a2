/**
 * Time I, part 2 (a–d): gaps in a live process. A stall or a forward clock jump, then one
 * wake: the latest due tick runs if it is within the task's `catchUp` window (by default one
 * interval), never a burst; the ticks nobody claimed are counted as skipped/missed, in the
 * Prometheus registry (`interactor_runs_total{outcome="skipped",reason="missed"}`) and in one
 * warning. Ticks a peer claimed are never counted. ManualClock + wake() by hand; claims on
 * the shared Redis under this file's prefix; each app has its own prom-client Registry.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Interactor, InteractorsModule, Task } from '../../src/index.js';
import { Apps, CapturingLogger, isolateEnv } from '../src/helpers.js';
import { RunLog } from '../src/run-log.js';
import {
  ManualClock,
  Prefixes,
  REDIS_URL,
  aligned,
  containing,
  deleteKeys,
  dispatcherOf,
  freshMetrics,
  iso,
  missedOf,
  sleep,
  timed,
  uniquePrefix,
  waitFor,
} from './support.js';

@Task({ every: '1 second', run: 'inline' })
class EverySecond extends Interactor {
  constructor(private readonly log: RunLog) {
    super();
  }

  call(): void {
    this.log.start();
  }
}

@Task({ every: '1 second', run: 'inline', catchUp: false })
class NoCatchUp extends Interactor {
  constructor(private readonly log: RunLog) {
    super();
  }

  call(): void {
    this.log.start();
  }
}

@Task({ every: '10 seconds', run: 'inline', catchUp: false })
class NoCatchUpTen extends Interactor {
  constructor(private readonly log: RunLog) {
    super();
  }

  call(): void {
    this.log.start();
  }
}

@Task({ every: '10 seconds', run: 'inline', catchUp: '2 seconds' })
class TwoSecondsLeeway extends Interactor {
  constructor(private readonly log: RunLog) {
    super();
  }

  call(): void {
    this.log.start();
  }
}

const prefixes = new Prefixes(uniquePrefix('time-gaps-gaps'));

describe('gaps in a live process', () => {
  isolateEnv();
  const apps = new Apps();
  afterEach(() => apps.closeAll());
  afterAll(() => deleteKeys(prefixes.root));

  async function boot(
    task: Function,
    clock: ManualClock,
    prefix = prefixes.next(),
    logger = new CapturingLogger(),
  ) {
    const app = await apps.boot(
      {
        imports: [
          InteractorsModule.forRoot({
            redis: REDIS_URL,
            prefix,
            roles: ['scheduler'],
            clock,
            ...freshMetrics(),
          }),
        ],
        providers: [RunLog, task as never],
      },
      logger,
    );
    const dispatcher = dispatcherOf(app);
    const log = app.get(RunLog);
    /** Sets the clock, wakes once, and waits until `runs` runs in all were recorded. */
    const wakeAt = async (instant: number, runs: number) => {
      clock.set(instant);
      await dispatcher.wake();
      await waitFor(() => log.runs.length >= runs, 2_000, `${runs} run(s) by ${iso(instant)}`);
    };
    return { app, logger, dispatcher, log, wakeAt };
  }

  const dueAts = (log: RunLog) => log.runs.map((run) => run.dueAt);

  describe('(a) a stall or a forward clock jump, default catchUp (one interval)', () => {
    const start = aligned(1_000);
    const t = (k: number) => start + k * 1_000;

    it('one wake several ticks late runs only the latest tick, counts the others missed, and goes on', async () => {
      const clock = new ManualClock(t(0) + 500);
      const { app, logger, dispatcher, log, wakeAt } = await boot(EverySecond, clock);

      await wakeAt(t(1), 1);
      expect(dispatcher.nextDueAt('EverySecond')).toBe(t(2));

      // stalled past t2..t6: one wake at t6 + 300 ms
      await wakeAt(t(6) + 300, 2);
      await sleep(200);
      expect(dueAts(log)).toEqual([t(1), t(6)]);
      expect(await missedOf(app, 'EverySecond')).toBe(4);
      const warnings = containing(logger.lines, 'warn', 'Task "EverySecond"', 'missed');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`4 tick(s) after ${iso(t(1))} missed`);
      expect(warnings[0]).toContain(`ran the latest, due ${iso(t(6))}`);
      expect(dispatcher.nextDueAt('EverySecond')).toBe(t(7));

      // it keeps firing, on time, with nothing more counted
      await wakeAt(t(7), 3);
      await wakeAt(t(8) + 999, 4);
      await sleep(100);
      expect(dueAts(log)).toEqual([t(1), t(6), t(7), t(8)]);
      expect(await missedOf(app, 'EverySecond')).toBe(4);
      expect(containing(logger.lines, 'missed')).toHaveLength(1);
    });

    it('a gap before the first tick: counted from the first tick the process waited for', async () => {
      const clock = new ManualClock(t(0) + 500);
      const { app, log, wakeAt } = await boot(EverySecond, clock);

      await wakeAt(t(4) + 10, 1);
      await sleep(100);
      expect(dueAts(log)).toEqual([t(4)]);
      expect(await missedOf(app, 'EverySecond')).toBe(3); // t1, t2, t3
    });

    it('a jump of a day: the wake stays prompt and runs the latest tick once', async () => {
      const clock = new ManualClock(t(0) + 500);
      const { app, logger, dispatcher, log } = await boot(EverySecond, clock);

      clock.set(t(86_400) + 250);
      expect(await timed(dispatcher.wake())).toBeLessThan(1_000);
      await waitFor(() => log.runs.length >= 1, 2_000, 'the run of the latest tick');
      await sleep(100);
      expect(dueAts(log)).toEqual([t(86_400)]);
      expect(dispatcher.nextDueAt('EverySecond')).toBe(t(86_401));
      // 86,399 ticks were missed: an interval counts them by arithmetic, exactly and at once
      expect(await missedOf(app, 'EverySecond')).toBe(86_399);
      expect(containing(logger.lines, 'warn', '86399 tick(s)', 'missed')).toHaveLength(1);
      expect(containing(logger.lines, 'at least')).toHaveLength(0);
    });
  });

  describe('(b) catchUp: false', () => {
    const start = aligned(10_000);
    const t = (k: number) => start + k * 1_000;

    it('none of a gap’s ticks runs, all are counted missed; later on-time ticks run', async () => {
      const clock = new ManualClock(t(0) + 500);
      const { app, logger, dispatcher, log, wakeAt } = await boot(NoCatchUp, clock);

      await wakeAt(t(1) + 200, 1);
      expect(dueAts(log)).toEqual([t(1)]);

      // stalled past t2..t5
      clock.set(t(5) + 300);
      await dispatcher.wake();
      await sleep(300);
      expect(dueAts(log)).toEqual([t(1)]);
      expect(await missedOf(app, 'NoCatchUp')).toBe(4);
      const warnings = containing(logger.lines, 'warn', 'Task "NoCatchUp"', 'missed');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`4 tick(s) after ${iso(t(1))} missed`);
      expect(warnings[0]).toContain(`the latest, due ${iso(t(5))}, was outside catchUp`);
      expect(dispatcher.nextDueAt('NoCatchUp')).toBe(t(6));

      await wakeAt(t(6) + 200, 2);
      await wakeAt(t(7), 3);
      await sleep(100);
      expect(dueAts(log)).toEqual([t(1), t(6), t(7)]);
      expect(await missedOf(app, 'NoCatchUp')).toBe(4);
    });

    it('a single tick woken more than a second late does not run either (every 10 seconds)', async () => {
      const t10 = (k: number) => start + k * 10_000;
      const clock = new ManualClock(t10(0) + 5_000);
      const { app, dispatcher, log, wakeAt } = await boot(NoCatchUpTen, clock);

      await wakeAt(t10(1) + 1_000, 1); // within a second: on time
      clock.set(t10(2) + 1_500);
      await dispatcher.wake();
      await sleep(300);
      expect(dueAts(log)).toEqual([t10(1)]);
      expect(await missedOf(app, 'NoCatchUpTen')).toBe(1);
      await wakeAt(t10(3) + 100, 2);
      expect(dueAts(log)).toEqual([t10(1), t10(3)]);
      expect(await missedOf(app, 'NoCatchUpTen')).toBe(1);
    });
  });

  describe('(c) catchUp: "2 seconds" on an every-10-seconds task', () => {
    const start = aligned(10_000);
    const t = (k: number) => start + k * 10_000;

    it('after a gap, a wake 1.5 s late runs the latest tick; 5 s late it does not (counted)', async () => {
      const clock = new ManualClock(t(0) + 5_000);
      const { app, logger, dispatcher, log, wakeAt } = await boot(TwoSecondsLeeway, clock);

      await wakeAt(t(1), 1);

      // gap over t2; woken 1.5 s after t3: t3 runs, t2 missed
      await wakeAt(t(3) + 1_500, 2);
      expect(dueAts(log)).toEqual([t(1), t(3)]);
      expect(await missedOf(app, 'TwoSecondsLeeway')).toBe(1);

      // gap over t4, t5; woken 5 s after t6: nothing runs, t4, t5 and t6 missed
      clock.set(t(6) + 5_000);
      await dispatcher.wake();
      await sleep(300);
      expect(dueAts(log)).toEqual([t(1), t(3)]);
      expect(await missedOf(app, 'TwoSecondsLeeway')).toBe(4);
      expect(
        containing(logger.lines, 'warn', '3 tick(s)', `due ${iso(t(6))}, was outside catchUp`),
      ).toHaveLength(1);
      expect(dispatcher.nextDueAt('TwoSecondsLeeway')).toBe(t(7));

      // on time again
      await wakeAt(t(7) + 100, 3);
      // no gap, but 2.5 s late: outside the window, counted
      clock.set(t(8) + 2_500);
      await dispatcher.wake();
      await sleep(300);
      expect(await missedOf(app, 'TwoSecondsLeeway')).toBe(5);
      // exactly 2 s late: inside the window
      await wakeAt(t(9) + 2_000, 4);
      await sleep(100);
      expect(dueAts(log)).toEqual([t(1), t(3), t(7), t(9)]);
      expect(await missedOf(app, 'TwoSecondsLeeway')).toBe(5);
    });
  });

  describe('(d) only ticks nobody claimed count as missed', () => {
    const start = aligned(1_000);
    const t = (k: number) => start + k * 1_000;
    // Two apps in one process: Nest's static logger (the module's) is the last booted app's,
    // so both get one logger and the lines are told apart by what they say.

    it('a stalled app whose peer ran t1..t5 runs nothing and counts nothing; then it takes over', async () => {
      const prefix = prefixes.next();
      const clockA = new ManualClock(t(0) + 500);
      const clockB = new ManualClock(t(0) + 500);
      const logger = new CapturingLogger();
      const a = await boot(EverySecond, clockA, prefix, logger);
      const b = await boot(EverySecond, clockB, prefix, logger);
      expect(b.dispatcher.nextDueAt('EverySecond')).toBe(t(1));

      for (let k = 1; k <= 5; k++) await a.wakeAt(t(k) + 50, k);
      expect(dueAts(a.log)).toEqual([t(1), t(2), t(3), t(4), t(5)]);

      // B was stalled through all of them (its real timer may have woken it, but its clock
      // still read t0 + 500 ms); it wakes once, at t5 + 300 ms
      clockB.set(t(5) + 300);
      await b.dispatcher.wake();
      await sleep(300);
      expect(b.log.runs).toHaveLength(0);
      expect(await missedOf(b.app, 'EverySecond')).toBeUndefined();
      expect(containing(logger.lines, 'missed')).toHaveLength(0);
      expect(b.dispatcher.nextDueAt('EverySecond')).toBe(t(6));
      expect(await missedOf(a.app, 'EverySecond')).toBeUndefined();

      // B takes t6; A, woken later for it, runs nothing
      await b.wakeAt(t(6) + 20, 1);
      clockA.set(t(6) + 100);
      await a.dispatcher.wake();
      await sleep(200);
      expect(dueAts(b.log)).toEqual([t(6)]);
      expect(a.log.runs).toHaveLength(5);
      expect(await missedOf(a.app, 'EverySecond')).toBeUndefined();
      expect(await missedOf(b.app, 'EverySecond')).toBeUndefined();
    });

    it('when the peer stopped after t3, the stalled app counts only t4 (not the ticks the peer ran)', async () => {
      const prefix = prefixes.next();
      const clockA = new ManualClock(t(0) + 500);
      const clockB = new ManualClock(t(0) + 500);
      const logger = new CapturingLogger();
      const a = await boot(EverySecond, clockA, prefix, logger);
      const b = await boot(EverySecond, clockB, prefix, logger);

      for (let k = 1; k <= 3; k++) await a.wakeAt(t(k) + 50, k);
      clockB.set(t(5) + 300);
      await b.dispatcher.wake();
      await waitFor(() => b.log.runs.length >= 1, 2_000, 'B to run t5');
      await sleep(200);
      expect(dueAts(b.log)).toEqual([t(5)]);
      expect(await missedOf(b.app, 'EverySecond')).toBe(1);
      expect(containing(logger.lines, 'warn', 'missed')).toEqual([
        expect.stringContaining(`1 tick(s) after ${iso(t(3))} missed`),
      ]);
      expect(await missedOf(a.app, 'EverySecond')).toBeUndefined();
    });
  });
});
