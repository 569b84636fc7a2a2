/**
 * Time I, part 1: a tick is its due instant. Driven by an injected ManualClock and by calling
 * the dispatcher's wake() by hand (the real timer may wake it too; it reads the same clock):
 * - an early wake fires nothing and keeps the next due instant;
 * - a late wake (past the due instant, before the next tick) runs that tick, with `dueAt` its
 *   due instant, and the next tick follows the due instant, not the wake;
 * - double and concurrent wakes run a tick once, and count a gap's missed ticks once;
 * - a schedule whose next instant is not strictly after the current one is guarded: an
 *   error naming the task, the task unscheduled, no loop, no storm, other tasks unharmed.
 * Claims on the shared Redis, under this file's prefix.
 */
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Interactor, Interactors, InteractorsModule, Task } from '../../src/index.js';
import { TaskRegistry } from '../../src/discovery/task.registry.js';
import { IntervalSchedule, type Schedule } from '../../src/scheduling/schedule.js';
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
  metricsOf,
  missedOf,
  sleep,
  timed,
  uniquePrefix,
  waitFor,
} from './support.js';

@Task({ every: '1 second', run: 'inline' })
class Ticking extends Interactor {
  constructor(private readonly log: RunLog) {
    super();
  }

  call(): void {
    this.log.start();
  }
}

/** Its schedule is replaced by a broken one in the tests of the guard. */
@Task({ every: '1 second', run: 'inline' })
class Broken extends Interactor {
  constructor(private readonly log: RunLog) {
    super();
  }

  call(): void {
    this.log.start();
  }
}

/**
 * An every-second schedule that breaks from `breaksAt` on: its next instant is then
 * `broken(after)` (by default `after` itself), not later than its argument. Counts its calls.
 */
class BreakingSchedule extends IntervalSchedule {
  calls = 0;

  constructor(
    private readonly breaksAt: number,
    private readonly broken: (after: number) => number = (after) => after,
  ) {
    super('every second, broken', 1_000);
  }

  override next(after: number): number {
    this.calls++;
    return after >= this.breaksAt ? this.broken(after) : super.next(after);
  }
}

const SCHEDULE_OF_BROKEN = Symbol('schedule of Broken');

/**
 * Puts a schedule on the `Broken` task's definition after discovery (InteractorsModule's
 * onModuleInit, which runs first: the root module is the farthest from the leaves) and
 * before the dispatcher starts (onApplicationBootstrap).
 */
@Injectable()
class SwapSchedule implements OnModuleInit {
  constructor(
    private readonly moduleRef: ModuleRef,
    @Inject(SCHEDULE_OF_BROKEN) private readonly schedule: Schedule,
  ) {}

  onModuleInit(): void {
    const definition = this.moduleRef.get(TaskRegistry, { strict: false }).find('Broken');
    if (!definition) throw new Error('the Broken task was not discovered before the swap');
    Object.defineProperty(definition, 'schedule', { value: this.schedule });
  }
}

const prefixes = new Prefixes(uniquePrefix('time-gaps-ticks'));

describe('a tick is its due instant', () => {
  isolateEnv();
  const apps = new Apps();
  afterEach(() => apps.closeAll());
  afterAll(() => deleteKeys(prefixes.root));

  const start = aligned(1_000);
  const t = (k: number) => start + k * 1_000;

  async function boot(providers: unknown[] = [Ticking], clock = new ManualClock(t(0) + 500)) {
    const logger = new CapturingLogger();
    const app = await apps.boot(
      {
        imports: [
          InteractorsModule.forRoot({
            redis: REDIS_URL,
            prefix: prefixes.next(),
            roles: ['scheduler'],
            clock,
            ...freshMetrics(),
          }),
        ],
        providers: [RunLog, ...(providers as never[])],
      },
      logger,
    );
    return { app, clock, logger, dispatcher: dispatcherOf(app), log: app.get(RunLog) };
  }

  const dueAts = (log: RunLog, task = 'Ticking') => log.of(task).map((run) => run.dueAt);

  it('an early wake fires nothing and keeps the next due instant', async () => {
    const { app, clock, dispatcher, log } = await boot();
    expect(dispatcher.nextDueAt('Ticking')).toBe(t(1));

    for (const instant of [t(0) + 500, t(0) + 900, t(1) - 1]) {
      clock.set(instant);
      await dispatcher.wake();
      expect(dispatcher.nextDueAt('Ticking')).toBe(t(1));
    }
    await sleep(150);
    expect(log.runs).toHaveLength(0);
    // nothing was claimed either
    expect((await app.get(Interactors).times(Ticking)).lastDueAt).toBeUndefined();

    // at the due instant itself it runs
    clock.set(t(1));
    await dispatcher.wake();
    await waitFor(() => log.runs.length >= 1, 2_000, 'the run of t1');
    expect(dueAts(log)).toEqual([t(1)]);
    expect(dispatcher.nextDueAt('Ticking')).toBe(t(2));
  });

  it('a late wake (before the next tick) runs that tick with dueAt = its due instant; the next follows the due instant', async () => {
    const { app, clock, dispatcher, log } = await boot();

    clock.set(t(1) + 999);
    await dispatcher.wake();
    await waitFor(() => log.runs.length >= 1, 2_000, 'the late run of t1');
    const [run] = log.runs;
    expect(run!.dueAt).toBe(t(1));
    expect(run!.trigger).toBe('cron');
    // the next tick is one interval after the due instant, not after the wake
    expect(dispatcher.nextDueAt('Ticking')).toBe(t(2));
    // a late tick is not a missed one; its lateness is the tick lag
    expect(await missedOf(app, 'Ticking')).toBeUndefined();
    const metrics = await metricsOf(app);
    expect(metrics.value('interactor_tick_lag_seconds_sum', { task: 'Ticking' })).toBeCloseTo(
      0.999,
      6,
    );

    // the next tick, woken 1 ms late, runs on its own instant too
    clock.set(t(2) + 1);
    await dispatcher.wake();
    await waitFor(() => log.runs.length >= 2, 2_000, 'the run of t2');
    await sleep(100);
    expect(dueAts(log)).toEqual([t(1), t(2)]);
    expect(await missedOf(app, 'Ticking')).toBeUndefined();
  });

  it('double and concurrent wakes run a tick once', async () => {
    const { clock, dispatcher, log } = await boot();

    clock.set(t(1));
    const wakes = Array.from({ length: 5 }, () => dispatcher.wake());
    expect((await timed(Promise.all(wakes))) < 2_000).toBe(true);
    await dispatcher.wake();
    await waitFor(() => log.runs.length >= 1, 2_000, 'the run of t1');
    await dispatcher.wake();

    clock.set(t(2) + 300);
    await Promise.all([dispatcher.wake(), dispatcher.wake()]);
    await dispatcher.wake();
    await waitFor(() => log.runs.length >= 2, 2_000, 'the run of t2');
    await sleep(200);
    expect(dueAts(log)).toEqual([t(1), t(2)]);
    expect(new Set(log.runs.map((run) => run.runId)).size).toBe(2);
  });

  it('concurrent wakes after a gap run the latest tick once and count the gap once', async () => {
    const { app, clock, dispatcher, log, logger } = await boot();

    clock.set(t(5) + 300);
    await Promise.all([dispatcher.wake(), dispatcher.wake(), dispatcher.wake()]);
    await dispatcher.wake();
    await waitFor(() => log.runs.length >= 1, 2_000, 'the run of t5');
    await sleep(200);
    expect(dueAts(log)).toEqual([t(5)]);
    // t1..t4, once (not once per wake)
    expect(await missedOf(app, 'Ticking')).toBe(4);
    expect(containing(logger.lines, 'warn', 'Task "Ticking"', 'missed')).toHaveLength(1);
  });

  describe('a next instant that is not strictly after the current one', () => {
    async function bootBroken(schedule: Schedule) {
      return boot([
        Ticking,
        Broken,
        SwapSchedule,
        { provide: SCHEDULE_OF_BROKEN, useValue: schedule },
      ]);
    }

    it('broken from the start (next goes back in time): an error names the task, which never fires; others do', async () => {
      const schedule = new BreakingSchedule(-Infinity, (after) => after - 5_000);
      const { clock, dispatcher, log, logger } = await bootBroken(schedule);

      const errors = containing(logger.lines, 'error', 'Task "Broken"', 'not later');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain('unscheduled');
      expect(dispatcher.nextDueAt('Broken')).toBeUndefined();
      expect(dispatcher.nextDueAt('Ticking')).toBe(t(1));
      const callsAtBoot = schedule.calls;
      expect(callsAtBoot).toBeLessThanOrEqual(3);

      for (let k = 1; k <= 3; k++) {
        clock.set(t(k) + 10);
        expect(await timed(dispatcher.wake())).toBeLessThan(1_000);
        await waitFor(() => log.of('Ticking').length >= k, 2_000, `the run of Ticking at t${k}`);
      }
      await sleep(300);
      expect(log.of('Broken')).toHaveLength(0);
      expect(dueAts(log)).toEqual([t(1), t(2), t(3)]);
      // no loop: the broken schedule is not asked again, not even by the real timer
      expect(schedule.calls).toBe(callsAtBoot);
      expect(containing(logger.lines, 'Task "Broken"', 'not later')).toHaveLength(1);
    });

    it('breaking later (next returns its argument): the task is unscheduled at that tick, once, without a storm', async () => {
      const schedule = new BreakingSchedule(t(3));
      const { clock, dispatcher, log, logger } = await bootBroken(schedule);
      expect(dispatcher.nextDueAt('Broken')).toBe(t(1));

      for (let k = 1; k <= 6; k++) {
        clock.set(t(k) + 10);
        expect(await timed(dispatcher.wake())).toBeLessThan(1_000);
        await waitFor(() => log.of('Ticking').length >= k, 2_000, `the run of Ticking at t${k}`);
      }
      const callsAfter = schedule.calls;
      await sleep(300);
      expect(dueAts(log, 'Broken')).toEqual([t(1), t(2)]);
      expect(dueAts(log)).toEqual([t(1), t(2), t(3), t(4), t(5), t(6)]);
      expect(dispatcher.nextDueAt('Broken')).toBeUndefined();
      const errors = containing(logger.lines, 'error', 'Task "Broken"', 'not later');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain(`gave ${t(3)} as the tick after ${t(3)}`);
      // a handful of calls in all, none after the task was unscheduled
      expect(callsAfter).toBeLessThan(20);
      expect(schedule.calls).toBe(callsAfter);
    });

    it('replaced on a running task (Object.defineProperty on its TaskDefinition): the tick due runs, the next is refused', async () => {
      const { app, clock, dispatcher, log, logger } = await boot([Ticking, Broken]);
      const definition = app.get(TaskRegistry, { strict: false }).find('Broken')!;
      const schedule = new BreakingSchedule(-Infinity);
      Object.defineProperty(definition, 'schedule', { value: schedule });

      clock.set(t(1));
      expect(await timed(dispatcher.wake())).toBeLessThan(1_000);
      await waitFor(() => log.runs.length >= 2, 2_000, 'the runs of t1');
      expect(dispatcher.nextDueAt('Broken')).toBeUndefined();
      const errors = containing(logger.lines, 'error', 'Task "Broken"', 'not later');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain('unscheduled');

      for (let k = 2; k <= 4; k++) {
        clock.set(t(k) + 10);
        expect(await timed(dispatcher.wake())).toBeLessThan(1_000);
        await waitFor(() => log.of('Ticking').length >= k, 2_000, `the run of Ticking at t${k}`);
      }
      await sleep(300);
      expect(dueAts(log, 'Broken')).toEqual([t(1)]);
      expect(schedule.calls).toBeLessThanOrEqual(2);
      expect(containing(logger.lines, 'Task "Broken"', 'not later')).toHaveLength(1);
    });
  });
});
