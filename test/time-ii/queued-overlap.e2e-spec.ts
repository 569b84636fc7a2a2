/**
 * Time II, overlap of queued ticks (`run: 'queue'`): with `overlap: 'skip'` (the default) no
 * tick is enqueued while a job of an earlier tick of the task is waiting or active (BullMQ
 * deduplication, and its in-memory twin); the skipped tick is counted as skipped/overlap.
 * With `'allow'` every tick is enqueued.
 */
import type { INestApplication, Type } from '@nestjs/common';
import { Queue } from 'bullmq';
import { Registry } from 'prom-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Interactor, InteractorsModule, Task, type InteractorRole } from '../../src/index.js';
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
import {
  Gate,
  MINUTE,
  Results,
  at,
  depthsOf,
  dispatcherOf,
  runSeries,
  runsTotal,
} from './support.js';

/** Every minute, to the default queue; overlap 'skip' by default. */
@Task({ every: '1 minute' })
class QueuedSkip extends Interactor {
  constructor(private readonly gate: Gate) {
    super();
  }
  call(): Promise<string> {
    return this.gate.pass();
  }
}

/** Every minute, to the default queue; ticks may overlap. */
@Task({ every: '1 minute', overlap: 'allow' })
class QueuedAllow extends Interactor {
  constructor(private readonly gate: Gate) {
    super();
  }
  call(): Promise<string> {
    return this.gate.pass();
  }
}

/** Every minute, to the default queue; each run fails (one attempt). */
@Task({ every: '1 minute' })
class QueuedFailing extends Interactor {
  call(): void {
    throw new Error('boom');
  }
}

const START = at('2032-02-02T08:00:30Z');
const TICK = (n: number) => at('2032-02-02T08:00:00Z') + n * MINUTE;
const STATES = ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'] as const;

isolateEnv();
const root = uniquePrefix('time-ii-queued-overlap');
let count = 0;
const apps = new Apps();
const gates: Gate[] = [];
const queues: Queue[] = [];
afterEach(async () => {
  for (const gate of gates.splice(0)) gate.releaseAll();
  await apps.closeAll();
  await Promise.all(queues.splice(0).map((queue) => queue.close()));
});
afterAll(() => deleteKeys(root));

interface Booted {
  readonly app: INestApplication;
  readonly clock: ManualClock;
  readonly gate: Gate;
  readonly results: Results;
  readonly registry: Registry;
  readonly logger: CapturingLogger;
  readonly prefix: string;
}

async function boot(
  task: Type<Interactor>,
  transport: 'redis' | 'memory',
  roles: InteractorRole[],
  prefix = `${root}:${++count}`,
): Promise<Booted> {
  const clock = new ManualClock(START);
  const registry = new Registry();
  const logger = new CapturingLogger();
  const app = await apps.boot(
    {
      imports: [
        InteractorsModule.forRoot({
          ...(transport === 'redis' ? { redis: REDIS_URL } : {}),
          prefix,
          roles,
          clock,
          metrics: { registry },
          shutdownGrace: 1_000,
        }),
      ],
      providers: [Gate, task],
    },
    logger,
  );
  const gate = app.get(Gate);
  gates.push(gate);
  return { app, clock, gate, results: new Results(app), registry, logger, prefix };
}

async function tick({ app, clock }: Booted, n: number): Promise<void> {
  clock.set(TICK(n));
  await dispatcherOf(app).wake();
}

/** A BullMQ queue of our own on the module's keys, to read what it wrote. */
function bullQueue(prefix: string, name = 'default'): Queue {
  const url = new URL(REDIS_URL);
  const queue = new Queue(name, {
    prefix,
    connection: { host: url.hostname, port: Number(url.port || 6379) },
  });
  queues.push(queue);
  return queue;
}

/** Job counts with the zeros left out. */
async function counts(queue: Queue): Promise<Record<string, number>> {
  const all = await queue.getJobCounts(...STATES);
  return Object.fromEntries(Object.entries(all).filter(([, value]) => value > 0));
}

describe('queued ticks on BullMQ (Redis)', () => {
  it("'skip': no tick is enqueued while the earlier tick's job is waiting or active; the next after it completed is", async () => {
    const scheduler = await boot(QueuedSkip, 'redis', ['scheduler']);
    const queue = bullQueue(scheduler.prefix);

    await tick(scheduler, 1);
    expect(await counts(queue)).toEqual({ waiting: 1 });
    const first = (await queue.getJob(`QueuedSkip-${TICK(1)}`))!;
    expect(first.data).toMatchObject({ task: 'QueuedSkip', dueAt: TICK(1) });

    // Waiting (no worker yet): tick 2 adds no job and is counted as skipped/overlap.
    await tick(scheduler, 2);
    expect(await queue.getJob(`QueuedSkip-${TICK(2)}`)).toBeUndefined();
    expect(await counts(queue)).toEqual({ waiting: 1 });
    expect(await runsTotal(scheduler.registry, 'QueuedSkip', 'skipped', 'overlap')).toBe(1);
    expect(scheduler.logger.lines.join('\n')).toContain(
      `job QueuedSkip-${TICK(1)} of an earlier tick is unfinished`,
    );

    // A worker takes the job and holds it: active. Tick 3 is skipped too.
    const worker = await boot(QueuedSkip, 'redis', ['worker'], scheduler.prefix);
    await waitFor(() => worker.gate.entered.length === 1, 5_000, 'the worker to take the job');
    expect(worker.gate.entered[0]).toMatchObject({ trigger: 'queue', dueAt: TICK(1) });
    expect(await first.getState()).toBe('active');
    await tick(scheduler, 3);
    expect(await queue.getJob(`QueuedSkip-${TICK(3)}`)).toBeUndefined();
    expect(await counts(queue)).toEqual({ active: 1 });
    expect(await runsTotal(scheduler.registry, 'QueuedSkip', 'skipped', 'overlap')).toBe(2);

    // The job completes; tick 4 is enqueued again, and runs.
    worker.gate.releaseAll();
    await waitFor(() => worker.results.of('QueuedSkip').length === 1, 5_000, 'the job to end');
    let state = '';
    for (let i = 0; i < 50 && state !== 'completed'; i++) {
      state = await queue.getJobState(`QueuedSkip-${TICK(1)}`);
      if (state !== 'completed') await sleep(20);
    }
    expect(state).toBe('completed');
    await tick(scheduler, 4);
    expect(await queue.getJob(`QueuedSkip-${TICK(4)}`)).toBeDefined();
    await waitFor(() => worker.gate.entered.length === 2, 5_000, 'tick 4 to run');
    expect(worker.gate.entered[1]).toMatchObject({ trigger: 'queue', dueAt: TICK(4) });
    worker.gate.releaseAll();
    await waitFor(() => worker.results.of('QueuedSkip').length === 2, 5_000, 'tick 4 to end');

    // Jobs of ticks 1 and 4 only; two ticks skipped, counted by the scheduler.
    const jobs = await queue.getJobs([...STATES]);
    expect(jobs.map((job) => job.id).toSorted()).toEqual(
      [`QueuedSkip-${TICK(1)}`, `QueuedSkip-${TICK(4)}`].toSorted(),
    );
    expect(await runSeries(scheduler.registry, 'QueuedSkip')).toEqual({ 'skipped/overlap': 2 });
    expect(await runSeries(worker.registry, 'QueuedSkip')).toEqual({ success: 2 });
  });

  it("'skip' holds across schedulers: a later tick claimed by another scheduler is not enqueued either", async () => {
    const a = await boot(QueuedSkip, 'redis', ['scheduler']);
    const b = await boot(QueuedSkip, 'redis', ['scheduler'], a.prefix);
    const queue = bullQueue(a.prefix);

    await tick(a, 1);
    await tick(b, 2);
    expect(await counts(queue)).toEqual({ waiting: 1 });
    expect(await queue.getJob(`QueuedSkip-${TICK(1)}`)).toBeDefined();
    expect(await queue.getJob(`QueuedSkip-${TICK(2)}`)).toBeUndefined();
    expect(await runSeries(a.registry, 'QueuedSkip')).toEqual({});
    expect(await runSeries(b.registry, 'QueuedSkip')).toEqual({ 'skipped/overlap': 1 });
  });

  it("'skip' only while unfinished: after the earlier tick's job failed, the next tick is enqueued", async () => {
    const app = await boot(QueuedFailing, 'redis', ['scheduler', 'worker']);
    const queue = bullQueue(app.prefix);
    await tick(app, 1);
    await waitFor(() => app.results.of('QueuedFailing').length === 1, 5_000, 'the failed run');
    let state = '';
    for (let i = 0; i < 50 && state !== 'failed'; i++) {
      state = await queue.getJobState(`QueuedFailing-${TICK(1)}`);
      if (state !== 'failed') await sleep(20);
    }
    expect(state).toBe('failed');
    await tick(app, 2);
    await waitFor(() => app.results.of('QueuedFailing').length === 2, 5_000, 'tick 2');
    expect(app.results.of('QueuedFailing').map((r) => [r.dueAt, r.outcome])).toEqual([
      [TICK(1), 'failure'],
      [TICK(2), 'failure'],
    ]);
    expect(await runSeries(app.registry, 'QueuedFailing')).toEqual({ failure: 2 });
  });

  it("'allow': every tick is enqueued, whatever is waiting", async () => {
    const scheduler = await boot(QueuedAllow, 'redis', ['scheduler']);
    const queue = bullQueue(scheduler.prefix);

    await tick(scheduler, 1);
    await tick(scheduler, 2);
    expect(await counts(queue)).toEqual({ waiting: 2 });
    expect(await queue.getJob(`QueuedAllow-${TICK(1)}`)).toBeDefined();
    expect(await queue.getJob(`QueuedAllow-${TICK(2)}`)).toBeDefined();

    // And while one is active (concurrency 1): the next tick is enqueued behind it.
    const worker = await boot(QueuedAllow, 'redis', ['worker'], scheduler.prefix);
    await waitFor(() => worker.gate.entered.length === 1, 5_000, 'the worker to take a job');
    await tick(scheduler, 3);
    expect(await counts(queue)).toEqual({ active: 1, waiting: 2 });
    expect(await runSeries(scheduler.registry, 'QueuedAllow')).toEqual({});
    worker.gate.releaseAll();
    await waitFor(() => worker.gate.entered.length === 2, 5_000, 'the second job');
    worker.gate.releaseAll();
    await waitFor(() => worker.gate.entered.length === 3, 5_000, 'the third job');
    worker.gate.releaseAll();
    await waitFor(() => worker.results.of('QueuedAllow').length === 3, 5_000, 'all three');
    expect(worker.gate.entered.map((run) => run.dueAt)).toEqual([TICK(1), TICK(2), TICK(3)]);
  });
});

describe('queued ticks on the in-memory transport', () => {
  it("'skip' while the job is waiting (no worker): one job, the next tick counted as skipped/overlap", async () => {
    const scheduler = await boot(QueuedSkip, 'memory', ['scheduler']);
    await tick(scheduler, 1);
    expect(await depthsOf(scheduler.app, 'default')).toEqual({ waiting: 1 });
    await tick(scheduler, 2);
    await tick(scheduler, 3);
    expect(await depthsOf(scheduler.app, 'default')).toEqual({ waiting: 1 });
    expect(await runSeries(scheduler.registry, 'QueuedSkip')).toEqual({ 'skipped/overlap': 2 });
  });

  it("'skip' while the job is active: the next tick is skipped; after it completed, the following one is enqueued and runs", async () => {
    const app = await boot(QueuedSkip, 'memory', ['scheduler', 'worker']);
    await tick(app, 1);
    await waitFor(() => app.gate.entered.length === 1, 2_000, 'the job to start');
    expect(app.gate.entered[0]).toMatchObject({ trigger: 'queue', dueAt: TICK(1) });
    expect(await depthsOf(app.app, 'default')).toEqual({ active: 1 });

    await tick(app, 2);
    expect(await depthsOf(app.app, 'default')).toEqual({ active: 1 });
    expect(await runsTotal(app.registry, 'QueuedSkip', 'skipped', 'overlap')).toBe(1);

    app.gate.releaseAll();
    await waitFor(() => app.results.of('QueuedSkip').length === 1, 2_000, 'the job to end');
    await waitFor(() => app.gate.holding === 0, 1_000, 'the job to be let go');
    await sleep(20);
    expect(await depthsOf(app.app, 'default')).toEqual({ completed: 1 });

    await tick(app, 3);
    await waitFor(() => app.gate.entered.length === 2, 2_000, 'tick 3 to run');
    expect(app.gate.entered[1]).toMatchObject({ trigger: 'queue', dueAt: TICK(3) });
    app.gate.releaseAll();
    await waitFor(() => app.results.of('QueuedSkip').length === 2, 2_000, 'tick 3 to end');
    expect(await runSeries(app.registry, 'QueuedSkip')).toEqual({
      success: 2,
      'skipped/overlap': 1,
    });
  });

  it("'skip' only while unfinished: after the earlier tick's job failed, the next tick is enqueued", async () => {
    const app = await boot(QueuedFailing, 'memory', ['scheduler', 'worker']);
    await tick(app, 1);
    await waitFor(() => app.results.of('QueuedFailing').length === 1, 2_000, 'the failed run');
    await sleep(20);
    expect(await depthsOf(app.app, 'default')).toEqual({ failed: 1 });
    await tick(app, 2);
    await waitFor(() => app.results.of('QueuedFailing').length === 2, 2_000, 'tick 2');
    expect(app.results.of('QueuedFailing').map((r) => r.dueAt)).toEqual([TICK(1), TICK(2)]);
    expect(await runSeries(app.registry, 'QueuedFailing')).toEqual({ failure: 2 });
  });

  it("'allow': every tick is enqueued", async () => {
    const scheduler = await boot(QueuedAllow, 'memory', ['scheduler']);
    await tick(scheduler, 1);
    await tick(scheduler, 2);
    await tick(scheduler, 3);
    expect(await depthsOf(scheduler.app, 'default')).toEqual({ waiting: 3 });
    expect(await runSeries(scheduler.registry, 'QueuedAllow')).toEqual({});
  });
});
