/**
 * Faults 3 and 6: workers that die or are told to stop in the middle of their work.
 *
 * 3. `kill -9` of a worker with jobs running, a second worker alive: no job is lost, each
 *    interrupted job completes on the survivor within lockDuration + stalledInterval + 1 s
 *    of the kill, and the survivor counts each re-delivery (`interactor_stalled_jobs_total`).
 * 6. SIGTERM during a job and a locked inline tick, with runs shorter and longer than the
 *    shutdown grace: nothing starts in that process after the signal; within the grace the
 *    run finishes (its mid-run follow-up is enqueued and done by the other worker); beyond
 *    it the job re-runs elsewhere after stall detection; the process exits within grace +
 *    2 s and leaves no lock key behind.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from '../src/helpers.js';
import { analyseJobs, pick, report, Scenario, type FaultApp, type Run } from './harness/index.js';

let scenarios: Scenario[] = [];
afterEach(async () => {
  await Promise.all(scenarios.map((scenario) => scenario.dispose()));
  scenarios = [];
});

async function scenarioFor(prefix: string): Promise<Scenario> {
  const scenario = await new Scenario(prefix).start();
  scenarios.push(scenario);
  return scenario;
}

/** Polls `check` every `every` ms until it returns a value (not undefined), or throws after `ms`. */
async function until<T>(
  what: string,
  ms: number,
  check: () => T | undefined,
  every = 50,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

const yes = (value: boolean) => (value ? 'yes' : 'no');

const running = (runs: Run[], pid: number) =>
  runs.filter((run) => run.pid === pid && run.end === undefined);

describe('Faults: kill -9 of a worker mid-job', () => {
  const JOBS = pick(20, 60);
  // The bound is on completion: a re-run begins once the lock has expired (lockDuration
  // after it was taken, when no renewal came) and a stall check has run, which BullMQ
  // promises every stalledInterval but now and then skips once (its check can fire a
  // millisecond before its own "checked recently" key expires, measured: 1 run in 13 at
  // full size), and then the job takes JOB_MS again. Killing when each run has at most
  // KILL_LEFT_MS left gives the completion a margin of 1 s - KILL_LEFT_MS, and at CI size
  // (stalledInterval 500 ms) that margin still covers one skipped check.
  const JOB_MS = 1_000;
  const KILL_LEFT_MS = 350;
  // Each worker can take half the jobs: the survivor has room for the re-deliveries when
  // they come, so the figure measures stall recovery, not a backlog. lockDuration / 4 must
  // exceed JOB_MS: BullMQ renews a lock older than that, and a renewal just before the
  // kill would push the expiry out by up to a whole lockDuration.
  const queue = pick(
    { concurrency: JOBS / 2, lockDuration: 4_000, stalledInterval: 500 },
    { concurrency: JOBS / 2, lockDuration: 10_000, stalledInterval: 5_000 },
  );
  const bound = queue.lockDuration + queue.stalledInterval + 1_000;

  it(
    `3. ${JOBS} jobs of ${JOB_MS} ms, two workers, one killed mid-job: lost 0, each completed elsewhere within lockDuration + stalledInterval + 1 s`,
    { timeout: 150_000 },
    async (context) => {
      // Kill the worker with the more jobs running once every job is running, each with at
      // most KILL_LEFT_MS left and at least 100 ms (so no job of the victim's can finish
      // between the snapshot and the kill), and before any lock can have been renewed, with
      // a margin for the lock being taken a little before the run records its start.
      const latest = Math.min(queue.lockDuration / 4, JOB_MS) - 100;
      // Jobs fetched too far apart (a loaded machine) leave no instant that suits them all:
      // that batch measures nothing, so a fresh one is started, a bounded number of times.
      const BATCHES = 3;
      let offsets: number[] = [];
      let batch = 0;
      let scenario: Scenario;
      let workers: FaultApp[];
      let victim: FaultApp;
      let survivor: FaultApp;
      for (;;) {
        batch++;
        scenario = await scenarioFor(`faults:workers:kill:${batch}`);
        workers = await scenario.cluster(2, { roles: ['worker'], queue, http: true });
        const producer = scenario.app({ roles: [], enqueue: { count: JOBS, ms: JOB_MS } });
        await producer.ready;
        const picked = await until(
          'every job running, none ended',
          15_000,
          () => {
            const runs = scenario.records.runs('FaultJob');
            if (runs.length < JOBS || runs.some((run) => run.end !== undefined)) return undefined;
            const [a, b] = workers.map((app) => running(runs, app.pid));
            if (!a!.length || !b!.length) return undefined;
            const now = Date.now();
            offsets = runs.map((run) => now - run.start);
            if (Math.max(...offsets) >= latest) return 'apart' as const;
            if (Math.min(...offsets) < JOB_MS - KILL_LEFT_MS) return undefined;
            return a!.length >= b!.length ? [workers[0]!, workers[1]!] : [workers[1]!, workers[0]!];
          },
          10,
        );
        if (picked !== 'apart') {
          [victim, survivor] = picked;
          break;
        }
        const spread = `${Math.min(...offsets)}–${Math.max(...offsets)} ms in`;
        if (batch === BATCHES) {
          throw new Error(
            `jobs started too far apart to kill them all near their end, in ${BATCHES} batches (last: ${spread})`,
          );
        }
        console.log(`[faults] 3: batch ${batch} started too far apart (${spread}); a fresh one`);
        await scenario.dispose();
        scenarios = scenarios.filter((each) => each !== scenario);
      }
      const interrupted = running(scenario.records.runs('FaultJob'), victim.pid).map(
        (run) => run.n,
      );
      await scenario.kill(victim);
      const killedAt = scenario.deaths.get(victim.pid)!;
      // Records are written synchronously, so the dead victim's file is final: its unfinished
      // runs are exactly the snapshot unless a run ended in between (the snapshot was late).
      const unfinished = running(scenario.records.runs('FaultJob'), victim.pid).map((run) => run.n);

      // Every job finishes somewhere (or the wait ends and the figures tell what is missing).
      await until('every job to finish', bound + 10_000, () =>
        analyseJobs(scenario.records.runs('FaultJob'), JOBS).lost === 0 ? true : undefined,
      ).catch(() => undefined);

      const runs = scenario.records.runs('FaultJob');
      const figures = analyseJobs(runs, JOBS, scenario.deaths);
      const reRuns = interrupted.map((n) =>
        runs.filter((run) => run.n === n && run.pid !== victim.pid && run.start >= killedAt),
      );
      const soonest = (instants: number[]) =>
        instants.length ? Math.min(...instants) - killedAt : Infinity;
      const reRunStart = reRuns.map((again) => soonest(again.map((run) => run.start)));
      const reRunDone = reRuns.map((again) =>
        soonest(again.flatMap((run) => (run.end === undefined ? [] : [run.end]))),
      );
      const stalled = await survivor.metric('interactor_stalled_jobs_total', { queue: 'default' });
      const succeeded = await survivor.metric('interactor_runs_total', {
        task: 'FaultJob',
        outcome: 'success',
      });
      const exits = await scenario.stopAll();
      const crashes = scenario.crashes(exits);
      const escapes = scenario.escapes();
      report(context, `3. kill -9 of a worker mid-job (${JOBS} jobs)`, {
        ...figures,
        interrupted: interrupted.length,
        killedIntoRunsMs: `${Math.min(...offsets)}–${Math.max(...offsets)}`,
        batches: batch,
        maxReRunStartMs: Math.max(...reRunStart),
        maxReRunDoneMs: Math.max(...reRunDone),
        boundMs: bound,
        stalledCounted: stalled,
        survivorSuccesses: succeeded,
        crashes,
        unhandled: escapes.length,
      });

      expect(interrupted.length).toBeGreaterThan(0);
      expect(unfinished).toEqual(interrupted);
      expect({ lost: figures.lost, duplicates: figures.duplicates }).toEqual({
        lost: 0,
        duplicates: 0,
      });
      expect(figures.reRuns).toBe(interrupted.length);
      expect(Math.max(...reRunDone)).toBeLessThanOrEqual(bound);
      // The survivor saw each interrupted job come back as stalled, and ran it.
      expect(stalled).toBe(interrupted.length);
      const byVictim = runs.filter((run) => run.pid === victim.pid && run.end !== undefined);
      expect(succeeded).toBe(JOBS - byVictim.length);
      expect({ crashes, escapes }).toEqual({ crashes: 0, escapes: [] });
    },
  );
});

describe('Faults: SIGTERM during long runs', () => {
  const queue = { concurrency: 2, lockDuration: 2_000, stalledInterval: 1_000 };
  const cases: Array<{
    name: string;
    grace: number;
    jobMs: number;
    followUpAt?: number;
    tickMs: number;
    /** How long a run must have left at the signal: at most (within) or at least (beyond). */
    left: { most: number } | { least: number };
  }> = [
    // Runs that end within the grace: the job (its follow-up enqueued after the signal)
    // and the locked tick both finish in the stopping process. The signal comes when the
    // job has at most 4 s left, before its follow-up.
    {
      name: 'shorter than the grace',
      grace: 5_000,
      jobMs: 7_000,
      followUpAt: 5_500,
      tickMs: 1_500,
      left: { most: 4_000 },
    },
    // Runs that outlast it, by 2.5 s at least: the job is left to the other worker, the
    // tick's lock released.
    {
      name: 'longer than the grace',
      grace: 2_000,
      jobMs: 9_000,
      tickMs: 12_000,
      left: { least: 4_500 },
    },
  ];

  it.for(cases)(
    '6. SIGTERM, runs $name',
    { timeout: 90_000 },
    async ({ name, grace, jobMs, followUpAt, tickMs, left }, context) => {
      const within = 'most' in left;
      const prefix = `faults:workers:term:${within ? 'within' : 'beyond'}`;
      const scenario = await scenarioFor(prefix);
      // The stopping process: scheduler of a locked inline tick, and a worker that takes the
      // job it enqueues at boot (no other worker is up yet).
      const stopping = scenario.app({
        roles: ['scheduler', 'worker'],
        tick: { run: 'inline', lock: true, ms: tickMs },
        queue,
        shutdownGrace: grace,
        enqueue: { count: 1, ms: jobMs, followUpAt },
      });
      await stopping.ready;
      const other = scenario.app({ roles: ['worker'], queue, http: true });
      await other.ready;

      // Signal once the job and a tick run are both under way in the stopping process, the
      // job with the time left the case asks for (and its follow-up still to come).
      await until('a job and a tick running', 15_000, () => {
        const now = Date.now();
        const job = running(scenario.records.runs('FaultJob'), stopping.pid).some((run) => {
          const rest = run.start + jobMs - now;
          const fits = 'most' in left ? rest <= left.most : rest >= left.least;
          return fits && now - run.start >= 300 && now - run.start < (followUpAt ?? jobMs) - 300;
        });
        const tick = running(scenario.records.runs('FaultTick'), stopping.pid).some(
          (run) =>
            now - run.start >= 300 && ('most' in left || run.start + tickMs - now >= left.least),
        );
        return job && tick ? true : undefined;
      });
      const redis = scenario.redis.client();
      const lockKeys = () => redis.keys(`${prefix}:lock:*`);
      const heldAtSignal = await lockKeys();
      const signalAt = Date.now();
      stopping.signal('SIGTERM');
      // Watch the lock key go, to tell how long a cut-off run outlives its lock.
      let lockGoneAt: number | undefined;
      const watching = (async () => {
        while (stopping.running && lockGoneAt === undefined) {
          if ((await lockKeys()).length === 0) lockGoneAt = Date.now();
          else await sleep(20);
        }
      })();
      const exit = await stopping.exited;
      const exitedAt = Date.now();
      await watching;
      const leftAfterExit = await lockKeys();

      // The job ends somewhere; its follow-up (when enqueued) too.
      const done = (n: number) =>
        scenario.records.runs('FaultJob').some((run) => run.n === n && run.end !== undefined);
      const followUpLine = () =>
        scenario.records
          .lines()
          .find((line) => line.ev === 'follow-up' && line.n === 1 && line.pid === stopping.pid)?.t;
      const followUpEnqueued = () => followUpLine() !== undefined;
      await until('the job and its follow-up to finish', 25_000, () =>
        done(1) && (!followUpEnqueued() || done(1001)) ? true : undefined,
      ).catch(() => undefined);

      const jobs = scenario.records.runs('FaultJob');
      const ticks = scenario.records.runs('FaultTick');
      const mine = [...jobs, ...ticks].filter((run) => run.pid === stopping.pid);
      const startsAfterSignal = mine.filter((run) => run.start > signalAt).length;
      const finishedHere = (runs: Run[]) =>
        runs.some(
          (run) =>
            run.pid === stopping.pid &&
            run.start < signalAt &&
            run.end !== undefined &&
            run.end > signalAt,
        );
      const job = jobs.filter((run) => run.n === 1);
      const elsewhere = job.find((run) => run.pid === other.pid);
      const followUp = jobs.find((run) => run.n === 1001);
      const stalled = await other.metric('interactor_stalled_jobs_total', { queue: 'default' });
      const exits = await scenario.stopAll();
      exits.set(stopping, exit);
      const crashes = scenario.crashes(exits);
      const escapes = scenario.escapes();
      redis.disconnect();
      const figures = {
        graceMs: grace,
        exitAfterSignalMs: exitedAt - signalAt,
        exit: String(exit.signal ?? exit.code),
        startsAfterSignal,
        jobFinishedHere: yes(finishedHere(job)),
        tickFinishedHere: yes(finishedHere(ticks)),
        followUpEnqueuedAfterSignalMs:
          followUpLine() === undefined ? '-' : followUpLine()! - signalAt,
        followUpDoneElsewhere: yes(followUp?.end !== undefined && followUp.pid === other.pid),
        lost: analyseJobs(jobs, 1).lost,
        jobReRunElsewhere: yes(elsewhere?.end !== undefined),
        jobReRunAfterSignalMs: elsewhere ? elsewhere.start - signalAt : '-',
        stalledCounted: stalled,
        lockKeysAtSignal: heldAtSignal.length,
        lockKeysAfterExit: leftAfterExit.length,
        lockGoneAfterSignalMs: lockGoneAt === undefined ? '-' : lockGoneAt - signalAt,
        // How long the cut-off tick's call() went on without its lock (until the exit).
        cutOffRunOutlivedLockMs:
          lockGoneAt === undefined || finishedHere(ticks) ? '-' : exitedAt - lockGoneAt,
        crashes,
        unhandled: escapes.length,
      };
      report(context, `6. SIGTERM, runs ${name} (grace ${grace} ms)`, figures);

      expect(startsAfterSignal).toBe(0);
      expect(exitedAt - signalAt).toBeLessThanOrEqual(grace + 2_000);
      expect(heldAtSignal.length).toBe(1);
      expect(leftAfterExit).toEqual([]);
      expect(figures.lost).toBe(0);
      if (within) {
        expect(figures.jobFinishedHere).toBe('yes');
        expect(figures.tickFinishedHere).toBe('yes');
        // Enqueued by the stopping process, after the signal.
        expect(followUpLine()).toBeGreaterThan(signalAt);
        expect(followUpLine()).toBeLessThan(exitedAt);
        expect(figures.followUpDoneElsewhere).toBe('yes');
        expect(elsewhere).toBeUndefined();
      } else {
        expect(figures.jobFinishedHere).toBe('no');
        expect(figures.jobReRunElsewhere).toBe('yes');
        expect(stalled).toBe(1);
      }
      expect({ crashes, escapes }).toEqual({ crashes: 0, escapes: [] });
    },
  );
});
