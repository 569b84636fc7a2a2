/**
 * Time I, catch-up at start: the last claimed tick lives in Redis, so a scheduler that
 * starts after a downtime (no scheduler ran) finds the ticks it missed. Its first wake runs
 * the latest of them once if it is within catchUp and counts the others as missed; with no
 * record (a fresh prefix) nothing is caught up. App A claims a tick and closes; the clock
 * moves on; app B boots on the same prefix. B's first wake comes from its own timer (armed
 * at 0 ms at boot) or from the test, whichever is first: the tick runs once. Shared Redis.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Interactor, Interactors, InteractorsModule, Task } from '../../src/index.js';
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

@Task({ every: '10 seconds', run: 'inline', catchUp: '2 seconds' })
class TwoSecondsLeeway extends Interactor {
  constructor(private readonly log: RunLog) {
    super();
  }

  call(): void {
    this.log.start();
  }
}

const prefixes = new Prefixes(uniquePrefix('time-gaps-start'));

describe('catch-up at start', () => {
  isolateEnv();
  const apps = new Apps();
  afterEach(() => apps.closeAll());
  afterAll(() => deleteKeys(prefixes.root));

  async function boot(task: Function, prefix: string, clock: ManualClock) {
    const logger = new CapturingLogger();
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
    return { app, logger, clock, dispatcher: dispatcherOf(app), log: app.get(RunLog) };
  }

  /** Boots A, lets it claim (and run) the tick `due`, and closes it. */
  async function claimThenStop(task: Function, prefix: string, due: number) {
    const a = await boot(task, prefix, new ManualClock(due - 100));
    a.clock.set(due);
    await a.dispatcher.wake();
    await waitFor(() => a.log.runs.length >= 1, 2_000, 'A to run its tick');
    expect(a.log.runs.map((run) => run.dueAt)).toEqual([due]);
    await a.app.close();
  }

  const dueAts = (log: RunLog) => log.runs.map((run) => run.dueAt);

  describe('every second, default catchUp', () => {
    const start = aligned(1_000);
    const t = (k: number) => start + k * 1_000;

    it('B, started at t6 + 300 ms after A claimed t1, runs t6 once at its first wake and counts t2..t5', async () => {
      const prefix = prefixes.next();
      await claimThenStop(EverySecond, prefix, t(1));

      const b = await boot(EverySecond, prefix, new ManualClock(t(6) + 300));
      // due at once: B's own timer, armed at boot, wakes it without the test's help
      await waitFor(() => b.log.runs.length >= 1, 2_000, 'B to catch up by itself');
      await Promise.all([b.dispatcher.wake(), b.dispatcher.wake()]);
      await sleep(300);
      expect(dueAts(b.log)).toEqual([t(6)]);
      expect(await missedOf(b.app, 'EverySecond')).toBe(4);
      expect(
        containing(b.logger.lines, 'warn', `4 tick(s) after ${iso(t(1))} missed`, iso(t(6))),
      ).toHaveLength(1);
      expect(await b.app.get(Interactors).times(EverySecond)).toEqual({
        task: 'EverySecond',
        lastDueAt: t(6),
        nextDueAt: t(7),
      });

      // and on
      b.clock.set(t(7));
      await b.dispatcher.wake();
      await waitFor(() => b.log.runs.length >= 2, 2_000, 'the run of t7');
      expect(dueAts(b.log)).toEqual([t(6), t(7)]);
      expect(await missedOf(b.app, 'EverySecond')).toBe(4);
    });

    it('with no record (a fresh prefix) nothing is caught up', async () => {
      const b = await boot(EverySecond, prefixes.next(), new ManualClock(t(6) + 300));
      expect(b.dispatcher.nextDueAt('EverySecond')).toBe(t(7));
      await b.dispatcher.wake();
      await sleep(300);
      expect(b.log.runs).toHaveLength(0);
      expect(await missedOf(b.app, 'EverySecond')).toBeUndefined();

      b.clock.set(t(7));
      await b.dispatcher.wake();
      await waitFor(() => b.log.runs.length >= 1, 2_000, 'the run of t7');
      await sleep(100);
      expect(dueAts(b.log)).toEqual([t(7)]);
      expect(await missedOf(b.app, 'EverySecond')).toBeUndefined();
    });

    it('B started before the tick after A’s claim catches up nothing and never runs A’s tick again', async () => {
      const prefix = prefixes.next();
      await claimThenStop(EverySecond, prefix, t(1));

      const b = await boot(EverySecond, prefix, new ManualClock(t(1) + 600));
      expect(b.dispatcher.nextDueAt('EverySecond')).toBe(t(2));
      await b.dispatcher.wake();
      await sleep(300);
      expect(b.log.runs).toHaveLength(0);
      b.clock.set(t(2));
      await b.dispatcher.wake();
      await waitFor(() => b.log.runs.length >= 1, 2_000, 'the run of t2');
      await sleep(100);
      expect(dueAts(b.log)).toEqual([t(2)]);
      expect(await missedOf(b.app, 'EverySecond')).toBeUndefined();
    });
  });

  it('catchUp: false: none of the missed ticks runs at start, all are counted; the next on-time tick runs', async () => {
    const start = aligned(1_000);
    const t = (k: number) => start + k * 1_000;
    const prefix = prefixes.next();
    await claimThenStop(NoCatchUp, prefix, t(1));

    const b = await boot(NoCatchUp, prefix, new ManualClock(t(6) + 300));
    await b.dispatcher.wake();
    await sleep(300);
    expect(b.log.runs).toHaveLength(0);
    expect(await missedOf(b.app, 'NoCatchUp')).toBe(5); // t2..t6

    b.clock.set(t(7) + 100);
    await b.dispatcher.wake();
    await waitFor(() => b.log.runs.length >= 1, 2_000, 'the run of t7');
    expect(dueAts(b.log)).toEqual([t(7)]);
    expect(await missedOf(b.app, 'NoCatchUp')).toBe(5);
  });

  describe('catchUp: "2 seconds", every 10 seconds', () => {
    const start = aligned(10_000);
    const t = (k: number) => start + k * 10_000;

    it('started 1.5 s after the latest missed tick: it runs', async () => {
      const prefix = prefixes.next();
      await claimThenStop(TwoSecondsLeeway, prefix, t(1));
      const b = await boot(TwoSecondsLeeway, prefix, new ManualClock(t(4) + 1_500));
      await b.dispatcher.wake();
      await waitFor(() => b.log.runs.length >= 1, 2_000, 'B to catch up');
      await sleep(200);
      expect(dueAts(b.log)).toEqual([t(4)]);
      expect(await missedOf(b.app, 'TwoSecondsLeeway')).toBe(2); // t2, t3
    });

    it('started 5 s after the latest missed tick: it does not run, and is counted', async () => {
      const prefix = prefixes.next();
      await claimThenStop(TwoSecondsLeeway, prefix, t(1));
      const b = await boot(TwoSecondsLeeway, prefix, new ManualClock(t(4) + 5_000));
      await b.dispatcher.wake();
      await sleep(300);
      expect(b.log.runs).toHaveLength(0);
      expect(await missedOf(b.app, 'TwoSecondsLeeway')).toBe(3); // t2, t3, t4
      expect(b.dispatcher.nextDueAt('TwoSecondsLeeway')).toBe(t(5));
    });
  });
});
