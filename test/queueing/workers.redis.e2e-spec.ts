import { Injectable, Module } from '@nestjs/common';
import { BullModule, getQueueToken, InjectQueue } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Interactors, InteractorsModule } from '../../src/index.js';
import { EchoTask, GateTask, HeavyTask, PLAIN_TASKS, QUEUES, Runs } from './fixtures.js';
import { harness } from './harness.js';
import { bootError, REDIS_URL, settled, sleep, waitUntil } from './helpers.js';

const { boot, apps, queues, prefixes } = harness('redis', 'workers');

/** A user's provider that injects declared queues the @nestjs/bullmq way. */
@Injectable()
class GatesProducer {
  constructor(
    @InjectQueue('gates') readonly gates: Queue,
    @InjectQueue('default') readonly fallback: Queue,
  ) {}
}

/** The same, in a feature module of its own: the queues come from the (global) InteractorsModule. */
@Module({ providers: [GatesProducer], exports: [GatesProducer] })
class GatesFeatureModule {}

@Injectable()
class NopeProducer {
  constructor(@InjectQueue('nope') readonly nope: Queue) {}
}

describe('worker pools on BullMQ', () => {
  it('a process with the worker role runs one BullMQ worker per consumed queue; without it, none', async () => {
    const scheduler = await boot({ roles: ['scheduler'] });
    const gates = queues.open(scheduler.prefix, 'gates');
    const heavy = queues.open(scheduler.prefix, 'heavy');
    const byDefault = queues.open(scheduler.prefix, 'default');
    await sleep(300);
    expect(await gates.getWorkersCount()).toBe(0);
    expect(await heavy.getWorkersCount()).toBe(0);

    await boot({ roles: ['worker'], consume: ['heavy'], samePrefixAs: scheduler });
    await waitUntil(async () => (await heavy.getWorkersCount()) === 1, 5_000, 'the heavy worker');
    expect(await gates.getWorkersCount()).toBe(0);
    expect(await byDefault.getWorkersCount()).toBe(0);

    await boot({ roles: ['worker'], samePrefixAs: scheduler });
    await waitUntil(async () => (await gates.getWorkersCount()) === 1, 5_000, 'the gates worker');
    expect(await byDefault.getWorkersCount()).toBe(1);
    expect(await heavy.getWorkersCount()).toBe(2);
  });

  it('jobs wait in Redis while no process works their queue, and a worker process started later runs them', async () => {
    const producer = await boot({ roles: ['scheduler'] });
    const gates = queues.open(producer.prefix, 'gates');
    await producer.interactors.enqueue(GateTask, 'north');
    await producer.interactors.enqueue(GateTask, 'south');
    await sleep(400);
    expect(await gates.getJobCounts('waiting', 'active', 'completed')).toEqual({
      waiting: 2,
      active: 0,
      completed: 0,
    });
    const worker = await boot({ roles: ['worker'], samePrefixAs: producer });
    await waitUntil(() => worker.runs.all.length === 2, 5_000, 'both runs');
    expect(worker.runs.all.map((run) => run.args[0]).toSorted()).toEqual(['north', 'south']);
    await waitUntil(
      async () => (await gates.getJobCounts('completed')).completed === 2,
      2_000,
      'completed in Redis',
    );
  });

  it("a process consuming only 'heavy' does not take 'gates' jobs; a 'gates' process on the same Redis does", async () => {
    const producer = await boot({ roles: ['scheduler'] });
    const heavyOnly = await boot({ roles: ['worker'], consume: ['heavy'], samePrefixAs: producer });
    for (const gate of ['a', 'b', 'c']) await producer.interactors.enqueue(GateTask, gate);
    for (let i = 0; i < 3; i++) await producer.interactors.enqueue(HeavyTask, 10);
    await waitUntil(() => heavyOnly.runs.of('HeavyTask').length === 3, 5_000, 'the heavy runs');
    await sleep(500);
    expect(heavyOnly.runs.of('GateTask')).toEqual([]);
    const gates = queues.open(producer.prefix, 'gates');
    expect(await gates.getJobCounts('waiting')).toEqual({ waiting: 3 });

    const gatesOnly = await boot({ roles: ['worker'], consume: ['gates'], samePrefixAs: producer });
    await waitUntil(() => gatesOnly.runs.of('GateTask').length === 3, 5_000, 'the gates runs');
    expect(gatesOnly.runs.of('HeavyTask')).toEqual([]);
    expect(heavyOnly.runs.of('GateTask')).toEqual([]);
    expect(heavyOnly.runs.of('HeavyTask')).toHaveLength(3);
  });

  it('INTERACTORS_QUEUES and INTERACTORS_ROLES choose what a process does, over its options', async () => {
    const producer = await boot({ roles: ['scheduler'] });
    vi.stubEnv('INTERACTORS_ROLES', 'worker');
    vi.stubEnv('INTERACTORS_QUEUES', 'heavy');
    // Options say: scheduler only, consuming gates. The environment wins.
    const worker = await boot({ roles: ['scheduler'], consume: ['gates'], samePrefixAs: producer });
    vi.unstubAllEnvs();
    await producer.interactors.enqueue(GateTask, 'g');
    await producer.interactors.enqueue(HeavyTask, 0);
    await waitUntil(() => worker.runs.of('HeavyTask').length === 1, 5_000, 'the heavy run');
    await sleep(400);
    expect(worker.runs.of('GateTask')).toEqual([]);
    expect(await queues.open(producer.prefix, 'heavy').getWorkersCount()).toBe(1);
    expect(await queues.open(producer.prefix, 'gates').getWorkersCount()).toBe(0);
  });

  it('concurrency is per process: two processes with heavy at 3 run up to 6 at once, each at most 3', async () => {
    const first = await boot();
    const second = await boot({ samePrefixAs: first });
    for (let i = 0; i < 18; i++) await first.interactors.enqueue(HeavyTask, 300);
    const finished = () =>
      [...first.runs.all, ...second.runs.all].filter((run) => run.finishedAt !== undefined).length;
    await waitUntil(() => finished() === 18, 15_000, 'eighteen runs');
    expect(first.runs.maxActive).toBeLessThanOrEqual(3);
    expect(second.runs.maxActive).toBeLessThanOrEqual(3);
    expect(first.runs.all.length).toBeGreaterThan(0);
    expect(second.runs.all.length).toBeGreaterThan(0);
    // overall peak: runs of both processes overlapping at one instant
    const all = [...first.runs.all, ...second.runs.all];
    const peak = Math.max(
      ...all.map(
        (run) =>
          all.filter((o) => o.startedAt <= run.startedAt && o.finishedAt! > run.startedAt).length,
      ),
    );
    expect(peak).toBeGreaterThan(3);
    expect(peak).toBeLessThanOrEqual(6);
  });
});

describe('@InjectQueue of declared queues', () => {
  it("a user's provider gets the BullMQ Queue named 'gates', on the module's prefix, the one workers read", async () => {
    const prefix = prefixes.next();
    const app = await apps.boot({
      imports: [
        InteractorsModule.forRoot({
          redis: REDIS_URL,
          prefix,
          queues: QUEUES,
          shutdownGrace: 2_000,
        }),
        GatesFeatureModule,
      ],
      providers: [Runs, ...PLAIN_TASKS],
    });
    const producer = app.get(GatesProducer);
    expect(producer.gates).toBeInstanceOf(Queue);
    expect(producer.gates.name).toBe('gates');
    expect(producer.gates.opts.prefix).toBe(prefix);
    expect(producer.fallback.name).toBe('default');
    expect(producer.gates).toBe(app.get(getQueueToken('gates')));

    // Jobs enqueued through Interactors are in this queue...
    const interactors = app.get(Interactors);
    const id = await interactors.enqueue(GateTask, 'via-interactors');
    expect((await producer.gates.getJob(id))?.name).toBe('GateTask');
    // ...and a job the user adds to it with our envelope is run by the module's worker.
    const runs = app.get(Runs);
    await waitUntil(() => runs.all.length === 1, 5_000, 'the first run');
    const job = await producer.gates.add('GateTask', {
      v: 1,
      task: 'GateTask',
      args: JSON.stringify(['via-inject-queue']),
      runId: 'user-run-1',
    });
    await waitUntil(() => runs.all.length === 2, 5_000, 'the run of the user-added job');
    expect(runs.all[1]).toMatchObject({
      task: 'GateTask',
      args: ['via-inject-queue'],
      runId: 'user-run-1',
    });
    expect(await (await settled(producer.gates, job.id!)).getState()).toBe('completed');
  });

  it('@InjectQueue of an undeclared queue fails the boot, naming its token', async () => {
    const error = await bootError({
      imports: [
        InteractorsModule.forRoot({ redis: REDIS_URL, prefix: prefixes.next(), queues: QUEUES }),
      ],
      providers: [NopeProducer],
    });
    expect(error.message).toContain(getQueueToken('nope'));
  });
});

describe("an app's own BullModule.forRoot connection", () => {
  const clients: Redis[] = [];
  afterEach(async () => {
    await apps.closeAll();
    await Promise.all(clients.splice(0).map((client) => client.quit()));
  });

  it('is used when the module has no `redis` option (options form): jobs go to Redis', async () => {
    const prefix = prefixes.next();
    const url = new URL(REDIS_URL);
    const app = await apps.boot({
      imports: [
        BullModule.forRoot({ connection: { host: url.hostname, port: Number(url.port || 6379) } }),
        InteractorsModule.forRoot({ prefix, queues: QUEUES, shutdownGrace: 2_000 }),
      ],
      providers: [Runs, ...PLAIN_TASKS],
    });
    const id = await app.get(Interactors).enqueue(EchoTask, 'shared');
    await waitUntil(() => app.get(Runs).all.length === 1, 5_000, 'the run');
    expect(await (await settled(queues.open(prefix, 'default'), id)).getState()).toBe('completed');
  });

  it('is used when it is an ioredis client, which the module leaves open on shutdown', async () => {
    const client = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    clients.push(client);
    const prefix = prefixes.next();
    const app = await apps.boot({
      imports: [
        BullModule.forRoot({ connection: client }),
        InteractorsModule.forRoot({ prefix, queues: QUEUES, shutdownGrace: 2_000 }),
      ],
      providers: [Runs, ...PLAIN_TASKS],
    });
    const id = await app.get(Interactors).enqueue(EchoTask, 'shared-client');
    await waitUntil(() => app.get(Runs).all.length === 1, 5_000, 'the run');
    expect(await (await settled(queues.open(prefix, 'default'), id)).getState()).toBe('completed');
    await apps.closeAll();
    expect(client.status).toBe('ready');
    expect(await client.ping()).toBe('PONG');
  });

  // BUG (src/queueing/queue.providers.ts, bullConnectionProvider): a shared ioredis client is
  // reused as is, so a client with ioredis' default maxRetriesPerRequest (20) reaches
  // `new Worker(...)`, which throws "BullMQ: Your redis options maxRetriesPerRequest must be
  // null." from onApplicationBootstrap: a worker process cannot boot. Such a client is fine for
  // @nestjs/bullmq producers, so apps do pass one. The module should duplicate it with
  // `maxRetriesPerRequest: null` (and own the duplicate) unless it already has that setting.
  it('works with an ioredis client that has the default maxRetriesPerRequest (the module needs null for workers)', async () => {
    const client = new Redis(REDIS_URL);
    clients.push(client);
    const prefix = prefixes.next();
    const app = await apps.boot({
      imports: [
        BullModule.forRoot({ connection: client }),
        InteractorsModule.forRoot({ prefix, queues: QUEUES, shutdownGrace: 2_000 }),
      ],
      providers: [Runs, ...PLAIN_TASKS],
    });
    await app.get(Interactors).enqueue(EchoTask, 'shared-default-client');
    await waitUntil(() => app.get(Runs).all.length === 1, 5_000, 'the run');
    await apps.closeAll();
    expect(await client.ping()).toBe('PONG');
  });
});
