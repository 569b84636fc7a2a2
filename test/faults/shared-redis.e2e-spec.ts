/**
 * Fault 12, shared Redis: two apps on one Redis with different key prefixes — one a
 * string prefix of the other on purpose (`…:app` and `…:app2`) — and the same task names:
 * an every-second locked task run through the queue, queued jobs, locks, a pause, run
 * history. Neither app runs, claims, locks, pauses or records anything of the other's:
 * both run every tick (each its own claim), each worker runs only its own jobs, a lock
 * held in one is free in the other, pausing the task in A (through the CLI) leaves B
 * ticking, each history names only its own runs, and every key lies under its prefix.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from '../src/helpers.js';
import {
  analyseTicks,
  metricValue,
  pick,
  report,
  Scenario,
  secondAfter,
  type FaultApp,
  type Run,
} from './harness/index.js';
import { cliII, lines, post, startII, until, type AppLine } from './support-ii.js';

/** Seconds of each window: both ticking, A paused, both again. */
const BOTH = pick(8, 30);
const PAUSED = pick(6, 20);
const AGAIN = pick(4, 10);
const JOBS = pick(50, 500);

let scenarios: Scenario[] = [];
afterEach(async () => {
  await Promise.all(scenarios.map((scenario) => scenario.dispose()));
  scenarios = [];
});

const PREFIX = { A: 'faults:shared:app', B: 'faults:shared:app2' } as const;
type Tag = keyof typeof PREFIX;

/** Runs (start joined with end) of one task in one process. */
function runsOf(all: AppLine[], task: string, pid: number): Run[] {
  const byId = new Map<string, Run>();
  for (const line of all) {
    if (line.task !== task || line.pid !== pid) continue;
    if (line.ev === 'start') {
      byId.set(line.runId, { ...line, dueAt: line.dueAt, start: line.t, end: undefined });
    } else {
      const run = byId.get(line.runId);
      if (run) run.end = line.t;
    }
  }
  return [...byId.values()];
}

interface HistoryRecord {
  runId: string;
  pid: number;
  outcome: string;
}

async function history(app: FaultApp, task: string): Promise<HistoryRecord[]> {
  return JSON.parse((await app.get(`/history/${task}`)).text) as HistoryRecord[];
}

async function paused(app: FaultApp): Promise<boolean> {
  return (JSON.parse((await app.get('/paused/FaultTick')).text) as { paused: boolean }).paused;
}

describe('Faults: two apps on one Redis', () => {
  it(
    'different prefixes, same task names: no cross-app runs, claims, locks, pauses or history',
    { timeout: 150_000 },
    async (context) => {
      const scenario = await new Scenario(PREFIX.A).start();
      scenarios.push(scenario);
      const apps = {
        A: startII(scenario, {
          prefix: PREFIX.A,
          app: 'A',
          http: true,
          concurrency: 4,
          tick: { run: 'queue', lock: true },
        }).app,
        B: startII(scenario, {
          prefix: PREFIX.B,
          app: 'B',
          http: true,
          concurrency: 4,
          tick: { run: 'queue', lock: true },
        }).app,
      };
      await Promise.all([apps.A.ready, apps.B.ready]);
      const tags: Tag[] = ['A', 'B'];

      // 1. Both tick; meanwhile jobs of the same task in each, and the same locks at once.
      const from1 = secondAfter(1_500);
      const to1 = from1 + (BOTH - 1) * 1000;
      await Promise.all(tags.map((tag) => post(apps[tag], `/enqueue?count=${JOBS}`)));
      const held = await Promise.all(
        tags.map(
          async (tag) => (await post<{ outcome: string }>(apps[tag], '/held?ms=1500')).outcome,
        ),
      );
      const withLock = await Promise.all(
        tags.map((tag) =>
          post<{ acquired: boolean }>(apps[tag], '/with-lock?key=shared-report&ms=1000'),
        ),
      );
      await sleep(to1 + 1_000 - Date.now());

      // 2. Pause the task in A through the CLI (A's prefix); B goes on.
      const pause = await cliII(scenario, { prefix: PREFIX.A, app: 'A' }, ['pause', 'FaultTick']);
      const pauseSeen = await until(() => paused(apps.A), 10_000);
      const from2 = secondAfter(500);
      const to2 = from2 + (PAUSED - 1) * 1000;
      await sleep(to2 + 500 - Date.now());
      const pausedInB = await paused(apps.B);
      const resume = await cliII(scenario, { prefix: PREFIX.A, app: 'A' }, ['resume', 'FaultTick']);
      const resumeSeen = await until(async () => !(await paused(apps.A)), 10_000);

      // 3. Both tick again.
      const from3 = secondAfter(1_500);
      const to3 = from3 + (AGAIN - 1) * 1000;
      await sleep(to3 + 2_000 - Date.now());
      const jobsDone = await until(
        () =>
          tags.every(
            (tag) =>
              lines(scenario.records.dir).filter(
                (line) => line.task === 'FaultJob' && line.ev === 'end' && line.app === tag,
              ).length >= JOBS,
          ),
        30_000,
      );

      const metrics = Object.fromEntries(
        await Promise.all(tags.map(async (tag) => [tag, (await apps[tag].get('/metrics')).text])),
      ) as Record<Tag, string>;
      const histories = Object.fromEntries(
        await Promise.all(
          tags.map(async (tag) => [
            tag,
            [...(await history(apps[tag], 'FaultTick')), ...(await history(apps[tag], 'FaultJob'))],
          ]),
        ),
      ) as Record<Tag, HistoryRecord[]>;
      const client = scenario.redis.client();
      const keys = await client.keys('*');
      client.disconnect();
      const exits = await scenario.stopAll();

      const all = lines(scenario.records.dir);
      const pid = { A: apps.A.pid, B: apps.B.pid };
      const ticks = {
        A: runsOf(all, 'FaultTick', pid.A),
        B: runsOf(all, 'FaultTick', pid.B),
      };
      const window = (tag: Tag, from: number, to: number) =>
        analyseTicks(ticks[tag], { from, to, every: 1000 });
      const both = tags.flatMap((tag) => [window(tag, from1, to1), window(tag, from3, to3)]);
      const bThroughout = window('B', from1, to3);
      const aWhilePaused = ticks.A.filter((run) => run.dueAt! >= from2 && run.dueAt! <= to2).length;
      const crossJobs = all.filter((line) => line.task === 'FaultJob' && line.origin !== line.app);
      const jobsRun = (tag: Tag) =>
        new Set(
          all
            .filter((line) => line.task === 'FaultJob' && line.ev === 'end' && line.app === tag)
            .map((line) => line.n),
        ).size;
      const ownRunIds = (tag: Tag) =>
        new Set(all.filter((line) => line.pid === pid[tag]).map((line) => line.runId));
      const crossHistory = tags.reduce(
        (sum, tag) =>
          sum +
          histories[tag].filter(
            (record) =>
              record.pid !== pid[tag] ||
              (record.outcome === 'success' && !ownRunIds(tag).has(record.runId)),
          ).length,
        0,
      );
      const pausedSkips = (tag: Tag) =>
        metricValue(metrics[tag], 'interactor_runs_total', {
          task: 'FaultTick',
          outcome: 'skipped',
          reason: 'paused',
        });
      const lockedRuns = tags.reduce(
        (sum, tag) =>
          sum + metricValue(metrics[tag], 'interactor_runs_total', { outcome: 'locked' }),
        0,
      );
      const strayKeys = keys.filter(
        (key) => !key.startsWith(`${PREFIX.A}:`) && !key.startsWith(`${PREFIX.B}:`),
      );
      const keysOf = (tag: Tag) => keys.filter((key) => key.startsWith(`${PREFIX[tag]}:`)).length;

      const figures = {
        'ticks per app (both running)': both.reduce((sum, f) => sum + f.ticks, 0) / 2,
        'missed ticks (cross claims)': both.reduce((sum, f) => sum + f.missed, 0),
        'duplicate ticks': both.reduce((sum, f) => sum + f.duplicates, 0),
        'B ticks missed while A paused': bThroughout.missed,
        'A ticks run while paused': aWhilePaused,
        'A paused skips / B paused skips': `${pausedSkips('A')} / ${pausedSkips('B')}`,
        'B saw a pause': pausedInB ? 'yes' : 'no',
        'cross-app job runs': crossJobs.length,
        'jobs run A / B': `${jobsRun('A')} / ${jobsRun('B')} of ${JOBS}`,
        'cross locks (locked outcomes, refused withLock)':
          lockedRuns + withLock.filter((answer) => !answer.acquired).length,
        'cross history records': crossHistory,
        'history records A / B': `${histories.A.length} / ${histories.B.length}`,
        'keys under A / B / neither': `${keysOf('A')} / ${keysOf('B')} / ${strayKeys.length}`,
        crashes: scenario.crashes(exits),
        unhandled: scenario.escapes().length,
      };
      report(context, '12. shared Redis, two prefixes', figures);

      expect({ pause: pause.code, resume: resume.code, pauseSeen, resumeSeen, jobsDone }).toEqual({
        pause: 0,
        resume: 0,
        pauseSeen: true,
        resumeSeen: true,
        jobsDone: true,
      });
      expect(both.map((f) => ({ missed: f.missed, duplicates: f.duplicates }))).toEqual(
        both.map(() => ({ missed: 0, duplicates: 0 })),
      );
      expect(bThroughout).toMatchObject({ missed: 0, duplicates: 0 });
      expect(aWhilePaused).toBe(0);
      expect(pausedSkips('A')).toBeGreaterThanOrEqual(PAUSED - 1);
      expect(pausedSkips('B')).toBe(0);
      expect(pausedInB).toBe(false);
      expect(crossJobs).toEqual([]);
      expect([jobsRun('A'), jobsRun('B')]).toEqual([JOBS, JOBS]);
      expect(held).toEqual(['success', 'success']);
      expect(withLock).toEqual([{ acquired: true }, { acquired: true }]);
      expect(lockedRuns).toBe(0);
      expect(crossHistory).toBe(0);
      expect(histories.A.length).toBeGreaterThan(0);
      expect(histories.B.length).toBeGreaterThan(0);
      expect(strayKeys).toEqual([]);
      expect(keysOf('A')).toBeGreaterThan(0);
      expect(keysOf('B')).toBeGreaterThan(0);
      expect({ crashes: figures.crashes, unhandled: figures.unhandled }).toEqual({
        crashes: 0,
        unhandled: 0,
      });
    },
  );
});
