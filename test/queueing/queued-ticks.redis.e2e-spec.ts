import { describe, expect, it } from 'vitest';
import { Interactor, Task } from '../../src/index.js';
import { TaskRegistry } from '../../src/discovery/task.registry.js';
import { TaskEnqueuer } from '../../src/queueing/task.enqueuer.js';
import { TaskDispatcher } from '../../src/scheduling/task.dispatcher.js';
import { EchoTask, InlineTick, QueuedTick, Runs } from './fixtures.js';
import { harness } from './harness.js';
import { keysUnder, ManualClock, settled, sleep, waitUntil } from './helpers.js';

const { boot, queues } = harness('redis', 'ticks');

/** A queued every-second task with its own queue and job options. */
@Task({ cron: '* * * * * *', queue: 'gates', attempts: 2, backoff: 50 })
class GateTick extends Interactor {
  constructor(private readonly runs: Runs) {
    super();
  }
  async call(): Promise<void> {
    this.runs.finish(this.runs.start([]));
  }
}

const UUID = /^[0-9a-f-]{36}$/;

describe('queued ticks on BullMQ (real clock)', () => {
  it("run: 'queue' every second: job <Task>-<dueAt> is enqueued and a worker runs it with that dueAt", async () => {
    const { runs, prefix } = await boot({ tasks: [QueuedTick] });
    const queue = queues.open(prefix, 'default');
    await waitUntil(() => runs.all.length >= 2, 5_000, 'two ticks');
    for (const run of runs.all.slice(0, 2)) {
      expect(run.trigger).toBe('queue');
      expect(run.attempt).toBe(1);
      expect(run.dueAt! % 1000).toBe(0);
      expect(run.startedAt).toBeGreaterThanOrEqual(run.dueAt!);
      const job = await settled(queue, `QueuedTick-${run.dueAt}`, 3_000);
      expect(job.name).toBe('QueuedTick');
      expect(job.data).toMatchObject({
        v: 1,
        task: 'QueuedTick',
        args: '[]',
        dueAt: run.dueAt,
        runId: run.runId,
      });
      expect(job.data.runId).toMatch(UUID);
      expect(await job.getState()).toBe('completed');
    }
    expect(runs.all[1]!.dueAt).toBeGreaterThan(runs.all[0]!.dueAt!);
    // no other kind of job was created
    const jobs = await queue.getJobs(['completed', 'waiting', 'active', 'delayed', 'failed']);
    expect(jobs.every((job) => job.id === `QueuedTick-${job.data.dueAt}`)).toBe(true);
  });

  it("run: 'inline' every second: runs in the scheduler with trigger 'cron', and no job is created", async () => {
    const { runs, prefix } = await boot({ tasks: [InlineTick] });
    const queue = queues.open(prefix, 'default');
    await waitUntil(() => runs.all.length >= 2, 5_000, 'two ticks');
    for (const run of runs.all) {
      expect(run.trigger).toBe('cron');
      expect(run.dueAt! % 1000).toBe(0);
      expect(await queue.getJob(`InlineTick-${run.dueAt}`)).toBeUndefined();
    }
    expect(
      await queue.getJobCounts(
        'waiting',
        'active',
        'delayed',
        'prioritized',
        'completed',
        'failed',
      ),
    ).toEqual({ waiting: 0, active: 0, delayed: 0, prioritized: 0, completed: 0, failed: 0 });
    // BullMQ never saw a job: no id counter, no job hash under the queue.
    const keys = await keysUnder(`${prefix}:default`);
    expect(keys.filter((key) => /:default:(InlineTick-\d+|id)$/.test(key))).toEqual([]);
  });

  it('a scheduler-only process enqueues the ticks; a worker-only process runs them', async () => {
    const scheduler = await boot({ roles: ['scheduler'], tasks: [QueuedTick] });
    const worker = await boot({ roles: ['worker'], tasks: [QueuedTick], samePrefixAs: scheduler });
    await waitUntil(() => worker.runs.all.length >= 2, 5_000, 'two ticks in the worker');
    expect(scheduler.runs.all).toEqual([]);
    const dues = worker.runs.all.map((run) => run.dueAt);
    expect(new Set(dues).size).toBe(dues.length);
  });

  it('two schedulers and one worker: each tick runs once', async () => {
    const first = await boot({ roles: ['scheduler'], tasks: [QueuedTick] });
    await boot({ roles: ['scheduler'], tasks: [QueuedTick], samePrefixAs: first });
    const worker = await boot({ roles: ['worker'], tasks: [QueuedTick], samePrefixAs: first });
    await waitUntil(() => worker.runs.all.length >= 3, 6_000, 'three ticks');
    await sleep(300);
    const dues = worker.runs.all.map((run) => run.dueAt);
    expect(new Set(dues).size).toBe(dues.length);
  });
});

describe('queued ticks on BullMQ (manual clock)', () => {
  const DUE = Date.UTC(2031, 0, 1, 0, 0, 1);

  it("the tick's job has the exact id, envelope and the task's queue and job options", async () => {
    const clock = new ManualClock(DUE - 500);
    const { app, prefix } = await boot({
      roles: ['scheduler'],
      clock,
      appVersion: '3.1.4',
      tasks: [GateTick, EchoTask],
    });
    const gates = queues.open(prefix, 'gates');
    clock.set(DUE);
    await app.get(TaskDispatcher, { strict: false }).wake();
    await waitUntil(
      async () => (await gates.getJob(`GateTick-${DUE}`)) !== undefined,
      3_000,
      'the tick job',
    );
    const job = (await gates.getJob(`GateTick-${DUE}`))!;
    expect(job.name).toBe('GateTick');
    expect(job.data).toEqual({
      v: 1,
      task: 'GateTick',
      args: '[]',
      runId: expect.stringMatching(UUID),
      dueAt: DUE,
      app: '3.1.4',
    });
    expect(job.opts).toMatchObject({ attempts: 2, backoff: { type: 'fixed', delay: 50 } });
    expect(await job.getState()).toBe('waiting');
    expect(await queues.open(prefix, 'default').getJobCounts('waiting')).toEqual({ waiting: 0 });
  });

  it('the same tick enqueued twice (a second scheduler, a double wake) is one job', async () => {
    const clockA = new ManualClock(DUE - 500);
    const clockB = new ManualClock(DUE - 500);
    const a = await boot({ roles: ['scheduler'], clock: clockA, tasks: [QueuedTick, EchoTask] });
    const b = await boot({
      roles: ['scheduler'],
      clock: clockB,
      tasks: [QueuedTick, EchoTask],
      samePrefixAs: a,
    });
    clockA.set(DUE);
    clockB.set(DUE);
    await Promise.all([
      a.app.get(TaskDispatcher, { strict: false }).wake(),
      b.app.get(TaskDispatcher, { strict: false }).wake(),
      a.app.get(TaskDispatcher, { strict: false }).wake(),
    ]);
    await sleep(300);
    const queue = queues.open(a.prefix, 'default');
    expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
    expect((await queue.getJob(`QueuedTick-${DUE}`))?.data.dueAt).toBe(DUE);
    // Past the claim, the job id itself dedupes: enqueueing the tick again adds nothing.
    const task = a.app.get(TaskRegistry, { strict: false }).resolve(QueuedTick);
    const enqueuer = b.app.get(TaskEnqueuer, { strict: false });
    expect(await enqueuer.enqueueTick(task, DUE)).toEqual({ jobId: `QueuedTick-${DUE}` });
    expect(await enqueuer.enqueueTick(task, DUE)).toEqual({ jobId: `QueuedTick-${DUE}` });
    expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
    // A worker then runs it once, with that dueAt.
    const worker = await boot({
      roles: ['worker'],
      tasks: [QueuedTick, EchoTask],
      samePrefixAs: a,
    });
    await waitUntil(() => worker.runs.all.length === 1, 5_000, 'the run');
    await sleep(300);
    expect(worker.runs.all).toHaveLength(1);
    expect(worker.runs.all[0]).toMatchObject({ task: 'QueuedTick', dueAt: DUE, trigger: 'queue' });
  });
});
