import { describe, expect, it } from 'vitest';
import { EchoTask, OnceFailingTask, QueuedTick } from './fixtures.js';
import { TaskDispatcher } from '../../src/scheduling/task.dispatcher.js';
import { harness } from './harness.js';
import { keysUnder, ManualClock, redis, sleep, waitUntil } from './helpers.js';

const { boot, queues } = harness('redis', 'retention');

/** Job hashes of a queue: `<prefix>:<queue>:<id>` keys that are hashes with a `name` field. */
async function jobHashes(prefix: string, queue: string): Promise<string[]> {
  const reserved = new Set([
    'id',
    'meta',
    'events',
    'wait',
    'paused',
    'active',
    'delayed',
    'prioritized',
    'completed',
    'failed',
    'stalled',
    'stalled-check',
    'marker',
    'limiter',
    'pc',
    'repeat',
    'de',
    'metrics',
  ]);
  const keys = (await keysUnder(`${prefix}:${queue}`)).filter((key) => {
    const rest = key.slice(`${prefix}:${queue}:`.length);
    return !rest.includes(':') && !reserved.has(rest);
  });
  const hashes: string[] = [];
  await redis(async (client) => {
    for (const key of keys) {
      if ((await client.type(key)) === 'hash' && (await client.hexists(key, 'name')))
        hashes.push(key);
    }
  });
  return hashes;
}

describe('retention on BullMQ', () => {
  it('with count 2, after 5 completed and 5 failed jobs Redis keeps the 2 newest of each', async () => {
    const { interactors, runs, prefix } = await boot({
      retention: { completed: { count: 2 }, failed: { count: 2 } },
    });
    const queue = queues.open(prefix, 'default');
    const ok: string[] = [];
    const ko: string[] = [];
    // `default` runs one job at a time, so they finish in this order.
    for (let i = 0; i < 5; i++) ok.push(await interactors.enqueue(EchoTask, i));
    for (let i = 0; i < 5; i++) ko.push(await interactors.enqueue(OnceFailingTask));
    await waitUntil(() => runs.all.length === 10, 8_000, 'ten runs');
    await waitUntil(
      async () => {
        const { active, waiting } = await queue.getJobCounts('active', 'waiting');
        return active + waiting === 0;
      },
      3_000,
      'the queue to drain',
    );
    await sleep(100);

    expect(await queue.getJobCounts('completed', 'failed')).toEqual({ completed: 2, failed: 2 });
    expect(await redis((c) => c.zcard(`${prefix}:default:completed`))).toBe(2);
    expect(await redis((c) => c.zcard(`${prefix}:default:failed`))).toBe(2);
    expect((await queue.getCompleted()).map((job) => job.id).toSorted()).toEqual(
      ok.slice(3).toSorted(),
    );
    expect((await queue.getFailed()).map((job) => job.id).toSorted()).toEqual(
      ko.slice(3).toSorted(),
    );
    // The removed jobs' hashes are gone too, not only their set entries.
    expect((await jobHashes(prefix, 'default')).toSorted()).toEqual(
      [...ok.slice(3), ...ko.slice(3)].map((id) => `${prefix}:default:${id}`).toSorted(),
    );
    for (const id of [...ok.slice(0, 3), ...ko.slice(0, 3)])
      expect(await queue.getJob(id)).toBeUndefined();
  });

  it('an age rule removes finished jobs older than it (seconds)', async () => {
    const { interactors, runs, prefix } = await boot({ retention: { completed: { age: 1 } } });
    const queue = queues.open(prefix, 'default');
    const old = await interactors.enqueue(EchoTask, 'old');
    await waitUntil(() => runs.all.length === 1, 5_000, 'the first run');
    await sleep(1_300);
    const fresh = await interactors.enqueue(EchoTask, 'fresh');
    await waitUntil(() => runs.all.length === 2, 5_000, 'the second run');
    await waitUntil(
      async () => (await queue.getJob(old)) === undefined,
      3_000,
      'the old job to be trimmed',
    );
    expect(await queue.getJob(fresh)).toBeDefined();
  });

  it('partial rules keep the other defaults; every job carries them, ticks included', async () => {
    const DUE = Date.UTC(2031, 0, 1, 0, 0, 1);
    const clock = new ManualClock(DUE - 500);
    const { app, interactors, prefix } = await boot({
      roles: ['scheduler'],
      clock,
      retention: { completed: { count: 10 }, failed: { age: 3_600 } },
      tasks: [EchoTask, QueuedTick],
    });
    const queue = queues.open(prefix, 'default');
    const job = (await queue.getJob(await interactors.enqueue(EchoTask)))!;
    expect(job.opts.removeOnComplete).toEqual({ count: 10, age: 86_400 });
    expect(job.opts.removeOnFail).toEqual({ count: 5000, age: 3_600 });

    clock.set(DUE);
    await app.get(TaskDispatcher, { strict: false }).wake();
    await waitUntil(
      async () => (await queue.getJob(`QueuedTick-${DUE}`)) !== undefined,
      3_000,
      'the tick job',
    );
    const tick = (await queue.getJob(`QueuedTick-${DUE}`))!;
    expect(tick.opts.removeOnComplete).toEqual({ count: 10, age: 86_400 });
    expect(tick.opts.removeOnFail).toEqual({ count: 5000, age: 3_600 });
  });
});
