import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { InvalidJobOptionsError } from '../../src/index.js';
import { DoomedTask, EchoTask, FlakyTask, GateTask, OnceFailingTask } from './fixtures.js';
import { harness } from './harness.js';
import { jobKeysUnder, keysUnder, settled, sleep, waitUntil } from './helpers.js';

const { boot, queues } = harness('redis', 'enqueue');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('enqueue on BullMQ: what lands in Redis', () => {
  it('the returned id is the BullMQ job; its name is the task and its data our envelope', async () => {
    // No worker: the job stays in Redis as enqueued.
    const { interactors, prefix } = await boot({ roles: ['scheduler'], appVersion: '9.9.9' });
    const id = await interactors.enqueue(
      EchoTask,
      'gate-7',
      { n: 1, at: new Date(Date.UTC(2030, 0, 2)) },
      [null],
    );
    const job = (await queues.open(prefix, 'default').getJob(id))!;
    expect(job).toBeDefined();
    expect(job.id).toBe(id);
    expect(job.name).toBe('EchoTask');
    expect(job.data).toEqual({
      v: 1,
      task: 'EchoTask',
      args: JSON.stringify(['gate-7', { n: 1, at: '2030-01-02T00:00:00.000Z' }, [null]]),
      runId: expect.stringMatching(UUID),
      app: '9.9.9',
    });
    expect(job.data).not.toHaveProperty('dueAt');
    expect(typeof job.data.args).toBe('string');
    expect(await job.getState()).toBe('waiting');
  });

  it('the injected queue (getQueueToken) reads the same job, under the module prefix', async () => {
    const { app, interactors, prefix } = await boot({ roles: ['scheduler'] });
    const injected = app.get<Queue>(getQueueToken('gates'));
    expect(injected.name).toBe('gates');
    expect(injected.opts.prefix).toBe(prefix);
    const id = await interactors.enqueue(GateTask, 'north');
    const job = (await injected.getJob(id))!;
    expect(job.name).toBe('GateTask');
    expect(JSON.parse(job.data.args)).toEqual(['north']);
    // Keys live under `<prefix>:gates:`.
    expect(await keysUnder(`${prefix}:gates`)).toContain(`${prefix}:gates:${id}`);
  });

  it("enqueueTo puts the job on the named queue, not the task's own", async () => {
    const { interactors, prefix } = await boot({ roles: ['scheduler'] });
    const id = await interactors.enqueueTo('heavy', EchoTask, 'x');
    const heavy = queues.open(prefix, 'heavy');
    const byDefault = queues.open(prefix, 'default');
    expect((await heavy.getJob(id))!.name).toBe('EchoTask');
    expect(await heavy.getJobCounts('waiting')).toEqual({ waiting: 1 });
    expect(await byDefault.getJobCounts('waiting', 'delayed', 'prioritized')).toEqual({
      waiting: 0,
      delayed: 0,
      prioritized: 0,
    });
  });

  it('per-job options reach BullMQ: delay, runAt, priority', async () => {
    const { interactors, prefix } = await boot({ roles: ['scheduler'] });
    const queue = queues.open(prefix, 'default');
    const before = Date.now();
    const delayed = (await queue.getJob(
      await interactors.with({ delay: 60_000 }).enqueue(EchoTask),
    ))!;
    expect(await delayed.getState()).toBe('delayed');
    expect(delayed.delay).toBe(60_000);

    const runAt = before + 120_000;
    const scheduled = (await queue.getJob(
      await interactors.with({ runAt: new Date(runAt) }).enqueue(EchoTask),
    ))!;
    expect(await scheduled.getState()).toBe('delayed');
    // the delay is what remained until runAt when it was enqueued
    expect(scheduled.timestamp + scheduled.delay).toBeGreaterThanOrEqual(runAt - 50);
    expect(scheduled.timestamp + scheduled.delay).toBeLessThanOrEqual(runAt + 50);

    const prioritised = (await queue.getJob(
      await interactors.with({ priority: 7 }).enqueue(EchoTask),
    ))!;
    expect(prioritised.opts.priority).toBe(7);
    expect(await prioritised.getState()).toBe('prioritized');
  });

  it("the task's attempts and backoff, and the retention defaults, are the job's options", async () => {
    const { interactors, prefix } = await boot({ roles: ['scheduler'] });
    const queue = queues.open(prefix, 'default');
    const flaky = (await queue.getJob(await interactors.enqueue(FlakyTask)))!;
    expect(flaky.opts).toMatchObject({ attempts: 3, backoff: { type: 'fixed', delay: 150 } });
    const doomed = (await queue.getJob(await interactors.enqueue(DoomedTask)))!;
    expect(doomed.opts).toMatchObject({
      attempts: 3,
      backoff: { type: 'exponential', delay: 150 },
    });
    const echo = (await queue.getJob(await interactors.enqueue(EchoTask)))!;
    expect(echo.opts.attempts).toBe(1);
    // Finished jobs are trimmed by default (BullMQ would keep them forever).
    expect(echo.opts.removeOnComplete).toEqual({ count: 1000, age: 86_400 });
    expect(echo.opts.removeOnFail).toEqual({ count: 5000, age: 604_800 });
  });

  it("a caller's jobId is the BullMQ job id; the same id twice stores one job with the first call's data", async () => {
    const { interactors, prefix } = await boot({ roles: ['scheduler'] });
    const queue = queues.open(prefix, 'default');
    expect(await interactors.with({ jobId: 'invoice-7' }).enqueue(EchoTask, 'first')).toBe(
      'invoice-7',
    );
    expect(await interactors.with({ jobId: 'invoice-7' }).enqueue(EchoTask, 'second')).toBe(
      'invoice-7',
    );
    expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
    const job = (await queue.getJob('invoice-7'))!;
    expect(JSON.parse(job.data.args)).toEqual(['first']);
  });

  it('an invalid jobId stores nothing in Redis', async () => {
    const { interactors, prefix } = await boot({ roles: ['scheduler'] });
    for (const jobId of ['a:b', '42', '']) {
      await expect(interactors.with({ jobId }).enqueue(EchoTask)).rejects.toThrow(
        InvalidJobOptionsError,
      );
    }
    expect(await jobKeysUnder(prefix)).toEqual([]);
    expect(await queues.open(prefix, 'default').getJobCounts()).toMatchObject({
      waiting: 0,
      delayed: 0,
    });
  });

  it('a job enqueued by a process without the worker role is run by a worker process on the same prefix', async () => {
    const producer = await boot({ roles: ['scheduler'] });
    const queue = queues.open(producer.prefix, 'default');
    const ok = await producer.interactors.enqueue(EchoTask, 'hand-over');
    const ko = await producer.interactors.enqueue(OnceFailingTask);
    await sleep(300);
    expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 2 });

    const worker = await boot({ roles: ['worker'], samePrefixAs: producer });
    const done = await settled(queue, ok);
    expect(await done.getState()).toBe('completed');
    const failed = await settled(queue, ko);
    expect(await failed.getState()).toBe('failed');
    expect(failed.failedReason).toBe('fails once and for all');
    expect(failed.attemptsMade).toBe(1);
    expect(worker.runs.of('EchoTask')[0]!.args).toEqual(['hand-over']);
    expect(producer.runs.all).toEqual([]);
    // The run id of the run is the envelope's.
    expect(worker.runs.of('EchoTask')[0]!.runId).toBe(done.data.runId);
  });

  it('attempts in Redis: the flaky job completes after 3 attempts; a doomed one fails with attemptsMade 3', async () => {
    const { interactors, prefix } = await boot();
    const queue = queues.open(prefix, 'default');
    const flaky = await settled(queue, await interactors.enqueue(FlakyTask));
    expect(await flaky.getState()).toBe('completed');
    expect(flaky.attemptsMade).toBe(3); // BullMQ counts the successful attempt too
    const doomed = await settled(queue, await interactors.enqueue(DoomedTask));
    expect(await doomed.getState()).toBe('failed');
    expect(doomed.attemptsMade).toBe(3);
    expect(doomed.failedReason).toBe('doomed attempt 3');
  });

  it('a delayed job is promoted on time by the worker, not by the next enqueue', async () => {
    const { interactors, runs } = await boot();
    const enqueuedAt = Date.now();
    await interactors.with({ delay: 600 }).enqueue(EchoTask);
    await waitUntil(() => runs.all.length === 1, 5_000, 'the delayed run');
    expect(runs.all[0]!.startedAt - enqueuedAt).toBeGreaterThanOrEqual(585);
    expect(runs.all[0]!.startedAt - enqueuedAt).toBeLessThan(2_000);
  });
});
