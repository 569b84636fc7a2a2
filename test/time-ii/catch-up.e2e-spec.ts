/**
 * Time II, catch-up after downtime: a scheduler that starts after ticks of a task went
 * unclaimed (no scheduler ran) runs the latest of them once, if within the task's `catchUp`
 * window, and counts the others as skipped/missed, however many schedulers start. With no
 * claim on record nothing is caught up. Clocks are manual; the catch-up fires by itself at
 * boot (its wake is due at once).
 */
import type { INestApplication, Type } from '@nestjs/common';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Interactor, Interactors, InteractorsModule, Task, TaskRun } from '../../src/index.js';
import {
  Apps,
  CapturingLogger,
  ManualClock,
  REDIS_URL,
  deleteKeys,
  isolateEnv,
  sleep,
  uniquePrefix,
  waitFor,
} from '../src/helpers.js';
import { startScheduler, type SchedulerProcess } from './processes.js';
import { HOUR, MINUTE, ResultLog, at, dispatcherOf, runSeries, runsTotal } from './support.js';

/** Every minute, inline, default catch-up (one interval). */
@Task({ every: '1 minute', run: 'inline' })
class Minutely extends Interactor {
  call(): string {
    return `ran ${TaskRun.current()!.dueAt}`;
  }
}

/** Every minute, inline, no catch-up at all. */
@Task({ every: '1 minute', run: 'inline', catchUp: false })
class MinutelyOnTime extends Interactor {
  call(): void {}
}

/** Hourly by cron, inline, catching up a tick at most five minutes late. */
@Task({ cron: '0 * * * *', run: 'inline', catchUp: '5 minutes' })
class HourlyFiveMinutes extends Interactor {
  call(): void {}
}

const BASE = at('2033-03-03T03:00:00Z');
/** Minute n after BASE. */
const M = (n: number) => BASE + n * MINUTE;
/** Hour n after BASE. */
const H = (n: number) => BASE + n * HOUR;
const iso = (ms: number) => new Date(ms).toISOString();

isolateEnv();
const root = uniquePrefix('time-ii-catch-up');
let count = 0;
const nextPrefix = () => `${root}:${++count}`;
const apps = new Apps();
const processes: SchedulerProcess[] = [];
afterEach(async () => {
  await Promise.all(processes.splice(0).map((child) => child.stop()));
  await apps.closeAll();
});
afterAll(() => deleteKeys(root));

interface Booted {
  readonly app: INestApplication;
  readonly clock: ManualClock;
  readonly results: ResultLog;
  readonly registry: Registry;
  readonly logger: CapturingLogger;
}

async function bootAt(task: Type<Interactor>, prefix: string, instant: number): Promise<Booted> {
  const clock = new ManualClock(instant);
  const registry = new Registry();
  const logger = new CapturingLogger();
  const app = await apps.boot(
    {
      imports: [
        InteractorsModule.forRoot({
          redis: REDIS_URL,
          prefix,
          roles: ['scheduler'],
          clock,
          metrics: { registry },
          shutdownGrace: 1_000,
        }),
      ],
      providers: [ResultLog, task],
    },
    logger,
  );
  return { app, clock, results: app.get(ResultLog), registry, logger };
}

async function tick({ app, clock }: Booted, instant: number): Promise<void> {
  clock.set(instant);
  await dispatcherOf(app).wake();
}

/** An earlier scheduler on the prefix ran `ticks` (instants) of the task, then stopped. */
async function ranThenStopped(
  task: Type<Interactor>,
  prefix: string,
  ticks: number[],
): Promise<void> {
  const before = await bootAt(task, prefix, ticks[0]! - 30_000);
  expect(dispatcherOf(before.app).nextDueAt(task.name)).toBe(ticks[0]);
  for (const instant of ticks) await tick(before, instant);
  await waitFor(() => before.results.all.length === ticks.length, 2_000, 'the earlier runs');
  expect(before.results.all.map((r) => [r.dueAt, r.outcome])).toEqual(
    ticks.map((instant) => [instant, 'success']),
  );
  await before.app.close();
}

const missedLines = (logger: CapturingLogger) =>
  logger.lines.filter((line) => line.startsWith('warn') && line.includes('missed'));

describe('catch-up at start, one scheduler', () => {
  it('runs only the latest missed tick and counts the rest as skipped/missed', async () => {
    const prefix = nextPrefix();
    await ranThenStopped(Minutely, prefix, [M(1), M(2)]);

    // Down through minutes 3..7; back 10 s after minute 7.
    const after = await bootAt(Minutely, prefix, M(7) + 10_000);
    await waitFor(() => after.results.all.length === 1, 2_000, 'the catch-up run');
    await waitFor(() => missedLines(after.logger).length === 1, 2_000, 'the missed count');
    await sleep(200);
    expect(after.results.all).toHaveLength(1);
    expect(after.results.all[0]).toMatchObject({
      task: 'Minutely',
      trigger: 'cron',
      dueAt: M(7),
      outcome: 'success',
      value: `ran ${M(7)}`,
    });
    expect(await runSeries(after.registry, 'Minutely')).toEqual({
      success: 1,
      'skipped/missed': 4,
    });
    expect(missedLines(after.logger)[0]).toContain(
      `4 tick(s) after ${iso(M(2))} missed (a stall, a clock step or an outage, or no scheduler running); ran the latest, due ${iso(M(7))}`,
    );

    // Back to normal: the next tick runs on time, nothing more is counted.
    expect(dispatcherOf(after.app).nextDueAt('Minutely')).toBe(M(8));
    await tick(after, M(8));
    await waitFor(() => after.results.all.length === 2, 2_000, 'the next tick');
    expect(after.results.all[1]!.dueAt).toBe(M(8));
    expect(await runsTotal(after.registry, 'Minutely', 'skipped', 'missed')).toBe(4);
    expect(await after.app.get(Interactors).times(Minutely)).toEqual({
      task: 'Minutely',
      lastDueAt: M(8),
      nextDueAt: M(9),
    });
  });

  it('with catchUp: false runs none of them and counts every one as missed', async () => {
    const prefix = nextPrefix();
    await ranThenStopped(MinutelyOnTime, prefix, [M(1), M(2)]);

    const after = await bootAt(MinutelyOnTime, prefix, M(7) + 10_000);
    await waitFor(() => missedLines(after.logger).length === 1, 2_000, 'the missed count');
    await sleep(200);
    expect(after.results.all).toEqual([]);
    expect(await runSeries(after.registry, 'MinutelyOnTime')).toEqual({ 'skipped/missed': 5 });
    expect(missedLines(after.logger)[0]).toContain(
      `5 tick(s) after ${iso(M(2))} missed (a stall, a clock step or an outage, or no scheduler running); the latest, due ${iso(M(7))}, was outside catchUp and did not run`,
    );

    // Ticks on time run again.
    expect(dispatcherOf(after.app).nextDueAt('MinutelyOnTime')).toBe(M(8));
    await tick(after, M(8));
    await waitFor(() => after.results.all.length === 1, 2_000, 'the next tick');
    expect(after.results.all[0]).toMatchObject({ dueAt: M(8), outcome: 'success' });
    expect(await runsTotal(after.registry, 'MinutelyOnTime', 'skipped', 'missed')).toBe(5);
  });

  it('with no claim on record (a fresh prefix) nothing is caught up', async () => {
    const after = await bootAt(Minutely, nextPrefix(), M(7) + 10_000);
    expect(dispatcherOf(after.app).nextDueAt('Minutely')).toBe(M(8));
    await dispatcherOf(after.app).wake();
    await sleep(300);
    expect(after.results.all).toEqual([]);
    expect(await runSeries(after.registry, 'Minutely')).toEqual({});
    expect((await after.app.get(Interactors).times(Minutely)).lastDueAt).toBeUndefined();

    // Its first tick runs, with nothing counted missed.
    await tick(after, M(8));
    await waitFor(() => after.results.all.length === 1, 2_000, 'the first tick');
    expect(after.results.all[0]!.dueAt).toBe(M(8));
    expect(await runSeries(after.registry, 'Minutely')).toEqual({ success: 1 });
    expect(missedLines(after.logger)).toEqual([]);
  });

  it("catchUp: '5 minutes' on an hourly task: the latest missed tick 10 minutes old does not run and is counted missed", async () => {
    const prefix = nextPrefix();
    await ranThenStopped(HourlyFiveMinutes, prefix, [H(1)]);

    const after = await bootAt(HourlyFiveMinutes, prefix, H(3) + 10 * MINUTE);
    await waitFor(() => missedLines(after.logger).length === 1, 2_000, 'the missed count');
    await sleep(200);
    expect(after.results.all).toEqual([]);
    // Hours 2 and 3: neither ran.
    expect(await runSeries(after.registry, 'HourlyFiveMinutes')).toEqual({
      'skipped/missed': 2,
    });
    expect(missedLines(after.logger)[0]).toContain(`was outside catchUp and did not run`);
    expect(dispatcherOf(after.app).nextDueAt('HourlyFiveMinutes')).toBe(H(4));
  });

  it("catchUp: '5 minutes' on an hourly task: the latest missed tick 2 minutes old runs", async () => {
    const prefix = nextPrefix();
    await ranThenStopped(HourlyFiveMinutes, prefix, [H(1)]);

    const after = await bootAt(HourlyFiveMinutes, prefix, H(3) + 2 * MINUTE);
    await waitFor(() => after.results.all.length === 1, 2_000, 'the catch-up run');
    await waitFor(() => missedLines(after.logger).length === 1, 2_000, 'the missed count');
    await sleep(200);
    expect(after.results.all).toHaveLength(1);
    expect(after.results.all[0]).toMatchObject({
      dueAt: H(3),
      trigger: 'cron',
      outcome: 'success',
    });
    expect(await runSeries(after.registry, 'HourlyFiveMinutes')).toEqual({
      success: 1,
      'skipped/missed': 1,
    });
    expect(dispatcherOf(after.app).nextDueAt('HourlyFiveMinutes')).toBe(H(4));
  });
});

describe('catch-up at start, several schedulers starting together', () => {
  it('three apps on the same prefix, clocks at the same instant: caught up once in total', async () => {
    const prefix = nextPrefix();
    await ranThenStopped(Minutely, prefix, [M(1), M(2)]);

    const three = await Promise.all([0, 1, 2].map(() => bootAt(Minutely, prefix, M(7) + 10_000)));
    const runs = () => three.flatMap((booted) => booted.results.all);
    await waitFor(() => runs().length === 1, 2_000, 'the catch-up run');
    await Promise.all(three.map((booted) => dispatcherOf(booted.app).wake()));
    await waitFor(
      () => three.every((booted) => dispatcherOf(booted.app).nextDueAt('Minutely') === M(8)),
      2_000,
      'every scheduler to be past the gap',
    );
    await sleep(300);
    expect(runs().map((r) => [r.dueAt, r.outcome])).toEqual([[M(7), 'success']]);
    const missed = await Promise.all(
      three.map((booted) => runsTotal(booted.registry, 'Minutely', 'skipped', 'missed')),
    );
    expect(missed.reduce((a, b) => a + b)).toBe(4);
    expect(missed.toSorted()).toEqual([0, 0, 4]);
    expect(three.flatMap((booted) => missedLines(booted.logger))).toHaveLength(1);
  });

  it('three real scheduler processes on the same prefix, clocks at the same instant: caught up once in total', async () => {
    const prefix = nextPrefix();
    // The fixture's task is CatchUpTick; an earlier scheduler of it ran minutes 1 and 2.
    @Task({ name: 'CatchUpTick', every: '1 minute', run: 'inline' })
    class CatchUpTick extends Interactor {
      call(): void {}
    }
    await ranThenStopped(CatchUpTick, prefix, [M(1), M(2)]);

    const started = [0, 1, 2].map(() =>
      startScheduler({ REDIS_URL, PREFIX: prefix, CLOCK_AT: M(7) + 10_000 }),
    );
    processes.push(...started);
    await Promise.all(started.map((child) => child.ready));

    const recorder = new Redis(REDIS_URL);
    try {
      const runs = () => recorder.lrange(`${prefix}:runs`, 0, -1);
      const deadline = Date.now() + 5_000;
      while ((await runs()).length < 1 && Date.now() < deadline) await sleep(20);
      // Wait until every process has handled the gap (its next due instant moved past it).
      let reports = await Promise.all(started.map((child) => child.report()));
      while (reports.some((report) => report.nextDueAt !== M(8)) && Date.now() < deadline) {
        await sleep(50);
        reports = await Promise.all(started.map((child) => child.report()));
      }
      await sleep(300);
      reports = await Promise.all(started.map((child) => child.report()));

      const lines = await runs();
      expect(lines, started.map((child) => child.output()).join('\n')).toHaveLength(1);
      const [dueAt, pid, trigger] = lines[0]!.split('|');
      expect(Number(dueAt)).toBe(M(7));
      expect(trigger).toBe('cron');
      expect(started.map((child) => child.child.pid)).toContain(Number(pid));
      expect(reports.map((report) => report.nextDueAt)).toEqual([M(8), M(8), M(8)]);
      const winner = reports.find((report) => report.pid === Number(pid))!;
      expect(winner.series).toEqual({ success: 1, 'skipped/missed': 4 });
      for (const report of reports.filter((each) => each !== winner)) {
        expect(report.series).toEqual({});
      }
    } finally {
      recorder.disconnect();
    }
    // Nest closes the app on SIGTERM, then re-raises the signal.
    const codes = await Promise.all(started.map((child) => child.stop()));
    for (const code of codes) expect([0, 'SIGTERM']).toContain(code);
  });
});
