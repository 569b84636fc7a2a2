import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Registry } from 'prom-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  Interactor,
  Interactors,
  InteractorsModule,
  RunHooks,
  Task,
  TaskRun,
  type InteractorsModuleOptions,
  type RunResult,
} from '../../src/index.js';
import { TaskDispatcher } from '../../src/scheduling/task.dispatcher.js';
import {
  Apps,
  CapturingLogger,
  deferred,
  isolateEnv,
  ManualClock,
  sleep,
  waitFor,
} from '../src/helpers.js';
import { counterValue, deleteUnder, REDIS_URL, sharedRedis } from './support.js';

/** Held open by a run started in-process (trigger `call`) until the test lets it go. */
let hold = deferred();
const holderEntered = { count: 0 };

async function holdIfCalled(): Promise<void> {
  if (TaskRun.current()!.trigger !== 'call') return;
  holderEntered.count++;
  await hold.promise;
}

@Task({ lock: true })
class Enqueued extends Interactor {
  async call(): Promise<string> {
    await holdIfCalled();
    return 'ran';
  }
}

/** Attempts and backoff left on purpose: a locked tick must still not be retried. */
@Task({ cron: '* * * * * *', lock: true, attempts: 3, backoff: 50 })
class Ticked extends Interactor {
  async call(): Promise<string> {
    await holdIfCalled();
    return 'ticked';
  }
}

const DUE = Date.UTC(2031, 0, 1, 0, 0, 1);

describe('queued runs of a held task (BullMQ on real Redis)', () => {
  isolateEnv();
  const root = `test:lock-queued:${randomBytes(5).toString('hex')}`;
  let count = 0;
  const apps = new Apps();
  const logger = new CapturingLogger();
  const queues: Queue[] = [];
  const redis = sharedRedis();

  afterEach(async () => {
    hold.resolve();
    await apps.closeAll();
    await Promise.all(queues.splice(0).map((queue) => queue.close()));
    logger.lines.length = 0;
  });
  afterAll(async () => {
    await deleteUnder(redis, root);
    await redis.quit();
  });

  async function boot(options: InteractorsModuleOptions) {
    const prefix = `${root}:${++count}`;
    const registry = new Registry();
    const clock = new ManualClock(DUE - 500);
    const app = await apps.boot(
      {
        imports: [
          InteractorsModule.forRoot({
            redis: REDIS_URL,
            prefix,
            clock,
            metrics: { registry },
            shutdownGrace: 2_000,
            ...options,
          }),
        ],
        providers: [Enqueued, Ticked],
      },
      logger,
    );
    const runs: RunResult[] = [];
    app.get(RunHooks).onFinished((run) => void runs.push(run));
    const url = new URL(REDIS_URL);
    const queue = new Queue('default', {
      prefix,
      connection: { host: url.hostname, port: Number(url.port || 6379) },
    });
    queues.push(queue);
    hold = deferred();
    holderEntered.count = 0;
    return { app, interactors: app.get(Interactors), registry, runs, queue, clock };
  }

  const queued = (runs: RunResult[], outcome?: string) =>
    runs.filter(
      (run) => run.trigger === 'queue' && (outcome === undefined || run.outcome === outcome),
    );

  it('an explicit enqueue of a held task is re-delayed (no attempt used), then runs once the lock is free', async () => {
    const { interactors, registry, runs, queue } = await boot({
      lockedJob: { retryDelay: 200, window: 5_000 },
    });
    const holder = interactors.run(Enqueued);
    await waitFor(() => holderEntered.count === 1, 5_000, 'the holder inside call()');

    const jobId = await interactors.enqueue(Enqueued);
    await waitFor(() => queued(runs, 'locked').length >= 3, 5_000, 'three locked runs of the job');
    expect(queued(runs, 'success')).toEqual([]);
    const waiting = (await queue.getJob(jobId))!;
    expect(['delayed', 'waiting', 'active']).toContain(await waiting.getState());
    expect(waiting.attemptsMade).toBe(0);
    // Re-delayed about every retryDelay, not in a tight loop.
    const locked = queued(runs, 'locked');
    expect(locked.length).toBeLessThan(15);

    hold.resolve();
    expect((await holder).outcome).toBe('success');
    await waitFor(() => queued(runs, 'success').length === 1, 5_000, 'the job to run');
    const [ran] = queued(runs, 'success');
    expect(ran).toMatchObject({ task: 'Enqueued', value: 'ran', attempt: 1 });
    for (const run of queued(runs)) expect(run.attempt).toBe(1);

    let job = (await queue.getJob(jobId))!;
    for (
      const deadline = Date.now() + 3_000;
      (await job.getState()) !== 'completed' && Date.now() < deadline;
    ) {
      await sleep(50);
      job = (await queue.getJob(jobId))!;
    }
    expect(await job.getState()).toBe('completed');
    // getState() reads Redis now; the job object may predate the completion: read it again.
    job = (await queue.getJob(jobId))!;
    expect(job.attemptsMade).toBe(1);
    expect(queued(runs, 'failure')).toEqual([]);
    expect(
      await counterValue(registry, 'interactor_runs_total', {
        task: 'Enqueued',
        outcome: 'locked',
      }),
    ).toBe(queued(runs, 'locked').length);
  });

  it('a job still locked after the window fails with a reason, and never ran', async () => {
    const { interactors, runs, queue } = await boot({
      lockedJob: { retryDelay: 100, window: 800 },
    });
    const holder = interactors.run(Enqueued);
    await waitFor(() => holderEntered.count === 1, 5_000, 'the holder inside call()');
    const jobId = await interactors.enqueue(Enqueued);
    let job = (await queue.getJob(jobId))!;
    for (
      const deadline = Date.now() + 5_000;
      (await job.getState()) !== 'failed' && Date.now() < deadline;
    ) {
      await sleep(50);
      job = (await queue.getJob(jobId))!;
    }
    expect(await job.getState()).toBe('failed');
    job = (await queue.getJob(jobId))!;
    expect(job.failedReason).toContain('Task "Enqueued" stayed locked for 800 ms');
    expect(queued(runs, 'success')).toEqual([]);
    expect(queued(runs, 'locked').length).toBeGreaterThanOrEqual(3);
    hold.resolve();
    await holder;
  });

  it('a queued tick of a held task completes as locked, without retry', async () => {
    const { app, interactors, runs, queue, clock } = await boot({
      lockedJob: { retryDelay: 100, window: 5_000 },
    });
    const holder = interactors.run(Ticked);
    await waitFor(() => holderEntered.count === 1, 5_000, 'the holder inside call()');

    clock.set(DUE);
    await app.get(TaskDispatcher, { strict: false }).wake();
    const jobId = `Ticked-${DUE}`;
    await waitFor(() => queued(runs).length === 1, 5_000, "the tick's run");
    expect(queued(runs)[0]).toMatchObject({
      task: 'Ticked',
      outcome: 'locked',
      dueAt: DUE,
      attempt: 1,
    });
    let job = await queue.getJob(jobId);
    for (
      const deadline = Date.now() + 3_000;
      (await job?.getState()) !== 'completed' && Date.now() < deadline;
    ) {
      await sleep(50);
      job = await queue.getJob(jobId);
    }
    expect(await job!.getState()).toBe('completed');
    job = await queue.getJob(jobId); // the object may predate the completion
    expect(job!.attemptsMade).toBe(1);
    // Neither re-delayed nor retried while the lock stays held.
    await sleep(700);
    expect(queued(runs)).toHaveLength(1);
    hold.resolve();
    expect((await holder).outcome).toBe('success');
    await sleep(300);
    expect(queued(runs)).toHaveLength(1);
  });
});
