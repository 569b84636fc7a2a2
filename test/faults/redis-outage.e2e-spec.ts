/**
 * Fault 7: Redis goes away under a running cluster, and comes back.
 *
 * Two processes (scheduler + worker, each serving /health and /metrics) tick an
 * every-second queued task, while a producer's jobs (FaultJob, each enqueueing a follow-up
 * job halfway through its run) are active or waiting. Then:
 *   - Redis frozen (SIGSTOP) for 30 s while idle, and while jobs are active;
 *   - the persistent Redis (AOF, fsync always) killed and restarted on its port, while jobs
 *     are waiting and active;
 *   - for contrast, the same restart of a Redis without persistence.
 * Figures: resume time of ticks and jobs after Redis returns, lost jobs, duplicates, ticks
 * missed during the outage (and whether each was counted), readiness and liveness
 * meanwhile, escapes and crashes.
 */
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from '../src/helpers.js';
import {
  analyseJobs,
  analyseTicks,
  pick,
  report,
  Scenario,
  secondAfter,
  type FaultApp,
  type FaultAppConfig,
  type Run,
} from './harness/index.js';

/** How long Redis stays frozen: the figure of the issue, at every size. */
const FREEZE_MS = 30_000;
/** Scheduler + worker processes, 10 slots each. */
const WORKERS = pick(2, 3);
/**
 * Jobs the producer enqueues before an outage: one round of them is active when it
 * begins, two more wait (ticks queue behind them: more would measure the backlog, not
 * the resumption).
 */
const JOBS = WORKERS * 10 * pick(1.5, 3);
/** Each job's run, and when in it it enqueues its follow-up. */
const JOB_MS = 2_000;
const FOLLOW_UP_AT = 1_000;
/** Ticks watched after Redis returns (besides the outage). */
const AFTER_MS = pick(12_000, 40_000);
/** Resume within this long after Redis returns (the figure). */
const RESUME_MS = 10_000;

/**
 * Shortish lock and stall check, so that a job active across the outage is re-delivered
 * within seconds of Redis returning; 10 slots per worker, so that ticks queued behind the
 * jobs still have room.
 */
const WORKER: Partial<FaultAppConfig> = {
  tick: { run: 'queue' },
  queue: { concurrency: 10, lockDuration: 5_000, stalledInterval: 5_000, maxStalledCount: 1 },
  http: true,
};

let scenarios: Scenario[] = [];
afterEach(async () => {
  await Promise.all(scenarios.map((scenario) => scenario.dispose()));
  scenarios = [];
});

async function world(prefix: string, redis: { persistent?: boolean } = {}) {
  const scenario = await new Scenario(prefix, redis).start();
  scenarios.push(scenario);
  const workers = await scenario.cluster(WORKERS, WORKER);
  return { scenario, workers };
}

/** A producer process (no roles) that enqueues FaultJob 1..JOBS at boot. */
async function produce(scenario: Scenario): Promise<FaultApp> {
  const producer = scenario.app({
    roles: [],
    enqueue: { count: JOBS, ms: JOB_MS, followUpAt: FOLLOW_UP_AT },
  });
  await producer.ready;
  expect(producer.enqueued).toHaveLength(JOBS);
  return producer;
}

/** Probes of /health (readiness) and /health/live (liveness) of one app, once a second. */
class Probes {
  readonly ready: Array<{ at: number; status: number }> = [];
  readonly live: Array<{ at: number; status: number }> = [];
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(private readonly app: FaultApp) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const at = Date.now();
      const [ready, live] = await Promise.all([
        this.status('/health'),
        this.status('/health/live'),
      ]);
      this.ready.push({ at, status: ready });
      this.live.push({ at, status: live });
      await sleep(Math.max(0, 1_000 - (Date.now() - at)));
    }
  }

  /** The status, or 0 when the app did not answer at all. */
  private async status(path: string): Promise<number> {
    try {
      return (await this.app.get(path)).status;
    } catch {
      return 0;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  /**
   * Readiness during the outage [from, to] (probes sent after it began and answered before
   * it ended: their answers are about a Redis that was away), and when it said 200 again.
   */
  figures(from: number, to: number) {
    const during = this.ready.filter((probe) => probe.at >= from + 500 && probe.at <= to - 1_500);
    const again = this.ready.find((probe) => probe.at >= to && probe.status === 200);
    return {
      readyProbesDuring: during.length,
      readyUpDuring: during.filter((probe) => probe.status === 200).length,
      // Anything but 503 (no answer, a 500) would not be "Redis down, said".
      readyNot503During: during.filter((probe) => probe.status !== 503).length,
      readyAgainS: again ? seconds(again.at - to) : 'never',
      liveProbes: this.live.length,
      liveDown: this.live.filter((probe) => probe.status !== 200).length,
    };
  }
}

/** Probes of every app; figures summed over them (each app must say Redis is down). */
class AllProbes {
  private readonly each: Probes[];
  constructor(apps: FaultApp[]) {
    this.each = apps.map((app) => new Probes(app));
  }
  async stop(): Promise<void> {
    await Promise.all(this.each.map((probes) => probes.stop()));
  }
  figures(from: number, to: number) {
    const all = this.each.map((probes) => probes.figures(from, to));
    const sum = (
      key: 'readyProbesDuring' | 'readyUpDuring' | 'readyNot503During' | 'liveProbes' | 'liveDown',
    ) => all.reduce((total, each) => total + each[key], 0);
    const again = all.map((each) => each.readyAgainS);
    return {
      readyProbesDuring: sum('readyProbesDuring'),
      readyUpDuring: sum('readyUpDuring'),
      readyNot503During: sum('readyNot503During'),
      // The slowest app's return to 200.
      readyAgainS: again.includes('never') ? 'never' : Math.max(...(again as number[])),
      liveProbes: sum('liveProbes'),
      liveDown: sum('liveDown'),
    };
  }
}

/** How much each app has printed so far: where its output after an instant begins. */
const outputLengths = (apps: FaultApp[]) =>
  new Map(apps.map((app) => [app, app.output().length] as const));

/**
 * Which processes came back by themselves: schedulers that said their claims work again,
 * and workers that started a job within RESUME_MS of `since` (a first resume by one
 * process could hide another that never recovered).
 */
function perProcess(
  scenario: Scenario,
  workers: FaultApp[],
  since: number,
  outputAt: ReadonlyMap<FaultApp, number>,
) {
  const runs = [...scenario.records.runs('FaultJob'), ...scenario.records.runs('FaultTick')];
  return {
    // Said after Redis returned: the output since then, not a line from before the outage.
    schedulersBack: workers.filter((app) =>
      app.output().slice(outputAt.get(app)).includes('Claiming ticks works again'),
    ).length,
    workersBack: workers.filter((app) =>
      runs.some(
        (run) => run.pid === app.pid && run.start >= since && run.start <= since + RESUME_MS,
      ),
    ).length,
  };
}

/** Ms as seconds to a tenth; 'never' for Infinity (nothing happened after the instant). */
const seconds = (ms: number): number => Math.round(ms / 100) / 10;
const resume = (ms: number): number | 'never' => (Number.isFinite(ms) ? seconds(ms) : 'never');

/** Ms from `since` to the first run's start (or end) at or after it; Infinity when none. */
function firstAfter(runs: Run[], since: number, edge: 'start' | 'end'): number {
  const instants = runs
    .map((run) => run[edge])
    .filter((at): at is number => at !== undefined && at >= since);
  return instants.length ? Math.min(...instants) - since : Infinity;
}

/** Waits until every job 1..JOBS and every follow-up it enqueued finished, or `ms` passed. */
async function jobsSettled(scenario: Scenario, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const { lost, followUpsLost } = jobFigures(scenario);
    if (lost === 0 && followUpsLost === 0) return;
    await sleep(500);
  }
}

/** Jobs 1..JOBS, and the follow-ups they said they enqueued (n + 1000) that never finished. */
function jobFigures(scenario: Scenario) {
  const runs = scenario.records.runs('FaultJob');
  const figures = analyseJobs(runs, JOBS, scenario.deaths);
  const enqueued = new Set(
    scenario.records
      .lines()
      .filter((line) => line.task === 'FaultJob' && line.ev === 'follow-up')
      .map((line) => line.n + 1000),
  );
  const finished = new Set(runs.filter((run) => run.end !== undefined).map((run) => run.n));
  const followUpsLost = [...enqueued].filter((n) => !finished.has(n)).length;
  return { ...figures, followUps: enqueued.size, followUpsLost };
}

/**
 * The tick figures over [from, to]: besides analyseTicks', the ticks the schedulers counted
 * as skipped (`missed` or `overlap`), how many ticks nobody ran went uncounted (lost
 * silently), and how many tick runs started but never ended (their job lost).
 */
async function tickFigures(scenario: Scenario, workers: FaultApp[], from: number, to: number) {
  const runs = scenario.records.runs('FaultTick');
  const ticks = analyseTicks(runs, { from, to, every: 1000 });
  let counted = 0;
  for (const app of workers) {
    for (const reason of ['missed', 'overlap']) {
      counted += await app.metric('interactor_runs_total', {
        task: 'FaultTick',
        outcome: 'skipped',
        reason,
      });
    }
  }
  // A tick that started but never ended (its job failed or vanished) is lost too.
  const ended = new Set(runs.filter((run) => run.end !== undefined).map((run) => run.dueAt));
  const unfinished = runs.filter(
    (run) => run.dueAt! >= from && run.dueAt! <= to && !ended.has(run.dueAt),
  ).length;
  return { ticks, counted, uncounted: Math.max(0, ticks.missed - counted), unfinished };
}

/** Failed and unfinished jobs left in the default queue (ticks due in the last 3 s aside). */
async function leftovers(scenario: Scenario, prefix: string) {
  const queue = new Queue('default', {
    connection: { host: '127.0.0.1', port: scenario.redis.port, maxRetriesPerRequest: null },
    prefix,
  });
  try {
    const failed = await queue.getFailed(0, -1);
    const pending = await queue.getJobs(['waiting', 'active', 'delayed', 'prioritized'], 0, -1);
    const recent = Date.now() - 3_000;
    return {
      failed: failed.length,
      failedReasons: failed.map((job) => `${job.id}: ${job.failedReason}`),
      unfinished: pending.filter(
        (job) => !(job.name === 'FaultTick' && Number(job.id!.split('-').at(-1)) > recent),
      ).length,
    };
  } finally {
    await queue.close();
  }
}

/** Jobs re-delivered after a stall, as the workers count them. */
async function stalledJobs(workers: FaultApp[]): Promise<number> {
  let stalled = 0;
  for (const app of workers) {
    stalled += await app.metric('interactor_stalled_jobs_total', { queue: 'default' });
  }
  return stalled;
}

/** Stops every process and says which crashed and what escaped. */
async function end(scenario: Scenario) {
  const exits = await scenario.stopAll();
  return { crashes: scenario.crashes(exits), escapes: scenario.escapes() };
}

describe('Faults 7: Redis outages under a running cluster', () => {
  it(
    'Redis frozen 30 s while idle: ticks resume within 10 s, readiness down meanwhile, liveness up',
    { timeout: FREEZE_MS + AFTER_MS + 60_000 },
    async (context) => {
      const prefix = 'faults:outage:idle';
      const { scenario, workers } = await world(prefix);
      const from = secondAfter(2_000);
      await sleep(from - Date.now() + 3_000);
      const probes = new AllProbes(workers);
      context.onTestFinished(() => probes.stop());
      await sleep(1_500);

      const frozeAt = Date.now();
      scenario.redis.freeze();
      await sleep(FREEZE_MS);
      const frozenOutput = outputLengths(workers);
      scenario.redis.thaw();
      const thawedAt = Date.now();
      await sleep(AFTER_MS);
      await probes.stop();

      const to = Math.floor((Date.now() - 3_000) / 1000) * 1000;
      const ticks = await tickFigures(scenario, workers, from, to);
      const runs = scenario.records.runs('FaultTick');
      const queue = await leftovers(scenario, prefix);
      const { crashes, escapes } = await end(scenario);
      const figures = {
        freezeS: seconds(thawedAt - frozeAt),
        ...perProcess(scenario, workers, thawedAt, frozenOutput),
        tickResumeS: resume(firstAfter(runs, thawedAt, 'start')),
        jobResumeS: resume(firstAfter(runs, thawedAt, 'end')),
        ticks: ticks.ticks.ticks,
        missed: ticks.ticks.missed,
        missedCounted: ticks.counted,
        missedUncounted: ticks.uncounted,
        ticksLost: ticks.unfinished,
        duplicates: ticks.ticks.duplicates,
        maxConcurrent: ticks.ticks.maxConcurrent,
        failedJobs: queue.failed,
        unfinishedJobs: queue.unfinished,
        ...probes.figures(frozeAt, thawedAt),
        crashes,
        unhandled: escapes.length,
      };
      report(context, '7. Redis frozen 30 s, idle', figures);

      expect(figures.tickResumeS).toBeLessThanOrEqual(RESUME_MS / 1000);
      expect(figures.jobResumeS).toBeLessThanOrEqual(RESUME_MS / 1000);
      expect(figures.schedulersBack).toBe(WORKERS);
      // The ticks of the freeze are missed and every one counted, never run twice; a tick
      // job never vanishes. (Timed-out claims landing at the thaw are refused as stale, so
      // none can win a tick unheard and hide the gap before it.)
      expect(figures.missed).toBeGreaterThan(0);
      expect(figures.missedCounted).toBeGreaterThan(0);
      expect(figures.missedUncounted).toBe(0);
      expect({ ticksLost: figures.ticksLost, duplicates: figures.duplicates }).toEqual({
        ticksLost: 0,
        duplicates: 0,
      });
      expect(queue.failedReasons).toEqual([]);
      expect(figures.unfinishedJobs).toBe(0);
      expect(figures.readyProbesDuring).toBeGreaterThanOrEqual(10 * WORKERS);
      expect(figures.readyUpDuring).toBe(0);
      expect(figures.readyNot503During).toBe(0);
      expect(figures.readyAgainS).toBeLessThanOrEqual(RESUME_MS / 1000);
      expect(figures.liveDown).toBe(0);
      expect({ crashes, escapes }).toEqual({ crashes: 0, escapes: [] });
    },
  );

  it(
    'Redis frozen 30 s while jobs are active: lost 0, ticks and jobs resume within 10 s',
    { timeout: FREEZE_MS + AFTER_MS + 120_000 },
    async (context) => {
      const prefix = 'faults:outage:active';
      const { scenario, workers } = await world(prefix);
      const from = secondAfter(2_000);
      await sleep(from - Date.now() + 1_000);
      const probes = new AllProbes(workers);
      context.onTestFinished(() => probes.stop());
      await produce(scenario);
      // Into the jobs' first round: the follow-ups of the first jobs are being enqueued.
      await sleep(FOLLOW_UP_AT + 200);
      const activeAtFreeze = scenario.records
        .runs('FaultJob')
        .filter((run) => run.end === undefined).length;

      const frozeAt = Date.now();
      scenario.redis.freeze();
      await sleep(FREEZE_MS);
      const frozenOutput = outputLengths(workers);
      scenario.redis.thaw();
      const thawedAt = Date.now();
      await jobsSettled(scenario, 60_000);
      await sleep(Math.max(0, thawedAt + AFTER_MS - Date.now()));
      await probes.stop();

      const to = Math.floor((Date.now() - 3_000) / 1000) * 1000;
      const ticks = await tickFigures(scenario, workers, from, to);
      const jobs = jobFigures(scenario);
      const jobRuns = scenario.records.runs('FaultJob');
      const queue = await leftovers(scenario, prefix);
      const stalled = await stalledJobs(workers);
      const { crashes, escapes } = await end(scenario);
      const figures = {
        freezeS: seconds(thawedAt - frozeAt),
        activeAtFreeze,
        ...perProcess(scenario, workers, thawedAt, frozenOutput),
        jobStartS: resume(firstAfter(jobRuns, thawedAt, 'start')),
        tickResumeS: resume(firstAfter(scenario.records.runs('FaultTick'), thawedAt, 'start')),
        jobResumeS: resume(firstAfter(jobRuns, thawedAt, 'end')),
        jobs: jobs.jobs,
        lost: jobs.lost,
        duplicates: jobs.duplicates,
        reRuns: jobs.reRuns,
        stalled,
        followUps: jobs.followUps,
        followUpsLost: jobs.followUpsLost,
        ticks: ticks.ticks.ticks,
        missed: ticks.ticks.missed,
        missedCounted: ticks.counted,
        missedUncounted: ticks.uncounted,
        ticksLost: ticks.unfinished,
        tickDuplicates: ticks.ticks.duplicates,
        failedJobs: queue.failed,
        unfinishedJobs: queue.unfinished,
        ...probes.figures(frozeAt, thawedAt),
        crashes,
        unhandled: escapes.length,
      };
      report(context, '7. Redis frozen 30 s, jobs active', figures);

      expect(figures.activeAtFreeze).toBeGreaterThan(0);
      expect({ schedulersBack: figures.schedulersBack, workersBack: figures.workersBack }).toEqual({
        schedulersBack: WORKERS,
        workersBack: WORKERS,
      });
      expect(figures.tickResumeS).toBeLessThanOrEqual(RESUME_MS / 1000);
      expect(figures.jobStartS).toBeLessThanOrEqual(RESUME_MS / 1000);
      expect(figures.jobResumeS).toBeLessThanOrEqual(RESUME_MS / 1000);
      expect({
        lost: figures.lost,
        followUpsLost: figures.followUpsLost,
        ticksLost: figures.ticksLost,
      }).toEqual({ lost: 0, followUpsLost: 0, ticksLost: 0 });
      expect(figures.followUps).toBeGreaterThanOrEqual(JOBS);
      // At-least-once: a job whose run ended while Redis was frozen lost its lock (its TTL
      // runs on the wall clock), so its completion is refused and it is re-delivered. Only
      // jobs active at the freeze may run twice, and every re-delivery is counted.
      expect(figures.duplicates + figures.reRuns).toBeLessThanOrEqual(figures.activeAtFreeze);
      expect(figures.stalled).toBeGreaterThanOrEqual(figures.duplicates + figures.reRuns);
      expect(queue.failedReasons).toEqual([]);
      expect(figures.unfinishedJobs).toBe(0);
      expect(figures.missed).toBeGreaterThan(0);
      expect(figures.missedCounted).toBeGreaterThan(0);
      expect(figures.missedUncounted).toBe(0);
      expect(figures.readyProbesDuring).toBeGreaterThanOrEqual(10 * WORKERS);
      expect(figures.readyUpDuring).toBe(0);
      expect(figures.readyNot503During).toBe(0);
      expect(figures.readyAgainS).toBeLessThanOrEqual(RESUME_MS / 1000);
      expect(figures.liveDown).toBe(0);
      expect({ crashes, escapes }).toEqual({ crashes: 0, escapes: [] });
    },
  );

  /** Kills Redis while the producer's jobs are waiting and active, and starts it again. */
  async function restart(prefix: string, persistent: boolean) {
    const { scenario, workers } = await world(prefix, { persistent });
    const from = secondAfter(2_000);
    await sleep(from - Date.now() + 1_000);
    await produce(scenario);
    await sleep(FOLLOW_UP_AT + 200);
    const active = scenario.records.runs('FaultJob').filter((run) => run.end === undefined).length;
    const killedAt = Date.now();
    await scenario.redis.kill();
    const downOutput = outputLengths(workers);
    await sleep(2_000);
    await scenario.redis.start();
    const backAt = Date.now();
    // Without persistence the waiting jobs are gone: nothing more to wait for after 10 s.
    await jobsSettled(scenario, persistent ? pick(45_000, 90_000) : 10_000);
    await sleep(Math.max(0, backAt + AFTER_MS - Date.now()));
    const ticks = await tickFigures(
      scenario,
      workers,
      from,
      Math.floor((Date.now() - 3_000) / 1000) * 1000,
    );
    const jobs = jobFigures(scenario);
    const queue = await leftovers(scenario, prefix);
    const stalled = await stalledJobs(workers);
    const { crashes, escapes } = await end(scenario);
    const jobRuns = scenario.records.runs('FaultJob');
    return {
      figures: {
        downS: seconds(backAt - killedAt),
        activeAtKill: active,
        ...perProcess(scenario, workers, backAt, downOutput),
        tickResumeS: resume(firstAfter(scenario.records.runs('FaultTick'), backAt, 'start')),
        jobStartS: resume(firstAfter(jobRuns, backAt, 'start')),
        jobResumeS: resume(firstAfter(jobRuns, backAt, 'end')),
        jobs: jobs.jobs,
        lost: jobs.lost,
        duplicates: jobs.duplicates,
        reRuns: jobs.reRuns,
        stalled,
        followUps: jobs.followUps,
        followUpsLost: jobs.followUpsLost,
        missed: ticks.ticks.missed,
        missedCounted: ticks.counted,
        missedUncounted: ticks.uncounted,
        ticksLost: ticks.unfinished,
        tickDuplicates: ticks.ticks.duplicates,
        failedJobs: queue.failed,
        unfinishedJobs: queue.unfinished,
        crashes,
        unhandled: escapes.length,
      },
      ticks,
      queue,
      escapes,
    };
  }

  it(
    'persistent Redis restarted while jobs wait and run: lost 0, resume within 10 s',
    { timeout: AFTER_MS + 150_000 },
    async (context) => {
      const { figures, queue, escapes } = await restart('faults:outage:aof', true);
      report(context, '7. Redis restart, persistent (AOF)', figures);

      expect(figures.activeAtKill).toBeGreaterThan(0);
      expect(figures.workersBack).toBe(WORKERS);
      expect(figures.tickResumeS).toBeLessThanOrEqual(RESUME_MS / 1000);
      // A start proves the workers took jobs from the restarted Redis again (an end alone
      // could be a run that went on without it).
      expect(figures.jobStartS).toBeLessThanOrEqual(RESUME_MS / 1000);
      expect(figures.jobResumeS).toBeLessThanOrEqual(RESUME_MS / 1000);
      expect(figures.unfinishedJobs).toBe(0);
      expect(figures.missedUncounted).toBe(0);
      expect({
        lost: figures.lost,
        followUpsLost: figures.followUpsLost,
        ticksLost: figures.ticksLost,
      }).toEqual({ lost: 0, followUpsLost: 0, ticksLost: 0 });
      expect(figures.duplicates + figures.reRuns).toBeLessThanOrEqual(figures.activeAtKill);
      expect(figures.stalled).toBeGreaterThanOrEqual(figures.duplicates + figures.reRuns);
      expect(queue.failedReasons).toEqual([]);
      expect({ crashes: figures.crashes, escapes }).toEqual({ crashes: 0, escapes: [] });
    },
  );

  it(
    'Redis without persistence restarted: the waiting jobs are gone (the contrast), the cluster runs on',
    { timeout: AFTER_MS + 150_000 },
    async (context) => {
      const { figures, escapes } = await restart('faults:outage:volatile', false);
      report(context, '7. Redis restart, no persistence (contrast)', figures);

      // What the README's guarantee rests on: without persistence a restart loses queued work.
      expect(figures.lost).toBeGreaterThan(0);
      expect(figures.tickResumeS).toBeLessThanOrEqual(RESUME_MS / 1000);
      expect({ crashes: figures.crashes, escapes }).toEqual({ crashes: 0, escapes: [] });
    },
  );
});
