/**
 * Run history: what a record holds for each trigger and outcome, newest first, bounded by
 * `history.limit` (50 by default), arguments only with `historyArgs: true`, readable from
 * another app sharing the prefix; `history: false` keeps nothing; the in-memory twin too.
 */
import { hostname } from 'node:os';
import type { INestApplication } from '@nestjs/common';
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
  type RunRecord,
  type RunResult,
} from '../../src/index.js';
import { TaskDispatcher } from '../../src/scheduling/task.dispatcher.js';
import {
  Apps,
  BullQueues,
  isolateEnv,
  keysUnder,
  Prefixes,
  redis,
  settled,
  sleep,
  UUID,
  waitUntil,
} from '../pipeline/helpers.js';
import { ManualClock } from '../src/helpers.js';
import { opsPrefix, REDIS_URL } from './support.js';

isolateEnv();
const apps = new Apps();
const queues = new BullQueues();
const prefixes = new Prefixes(opsPrefix('history'));
afterEach(async () => {
  await queues.closeAll();
  await apps.closeAll();
});
afterAll(() => prefixes.cleanup());

@Task()
class Echo extends Interactor {
  async call(...args: unknown[]): Promise<unknown[]> {
    return args;
  }
}

@Task({ historyArgs: true })
class WithArgs extends Interactor {
  async call(...args: unknown[]): Promise<number> {
    return args.length;
  }
}

@Task()
class Boom extends Interactor {
  async call(): Promise<void> {
    throw new Error('boom: the gate jammed');
  }
}

@Task({ environments: ['production'] })
class ProdOnly extends Interactor {
  async call(): Promise<void> {}
}

let flakyCalls = 0;
@Task({ attempts: 2, backoff: 10, historyArgs: true })
class Flaky extends Interactor {
  async call(gate: string): Promise<string> {
    if (++flakyCalls === 1) throw new Error(`first attempt at ${gate} fails`);
    return gate;
  }
}

@Task({ every: '1 second', run: 'inline' })
class InlineTick extends Interactor {
  async call(): Promise<void> {}
}

@Task({ every: '1 second' })
class QueuedTick extends Interactor {
  async call(): Promise<number> {
    return TaskRun.current()!.attempt;
  }
}

const TASKS = [Echo, WithArgs, Boom, ProdOnly, Flaky, InlineTick, QueuedTick];

function boot(
  options: InteractorsModuleOptions & { prefix?: string },
  tasks: Function[] = TASKS,
): Promise<INestApplication> {
  return apps.boot({
    imports: [
      InteractorsModule.forRoot({
        environment: 'staging',
        roles: [],
        metrics: { registry: new Registry() },
        shutdownGrace: 1_000,
        ...options,
      }),
    ],
    providers: tasks as never[],
  });
}

/** Waits until `app` reads at least `count` records of `task` (other processes' included). */
async function historyOf(
  app: INestApplication,
  task: string,
  count: number,
  limit?: number,
): Promise<RunRecord[]> {
  const interactors = app.get(Interactors);
  let records: RunRecord[] = [];
  await waitUntil(
    async () => (records = await interactors.history(task, { limit })).length >= count,
    3_000,
    `${count} record(s) of ${task}`,
  );
  return records;
}

/** Every run result of an app, as its hooks see them. */
function results(app: INestApplication): RunResult[] {
  const seen: RunResult[] = [];
  app.get(RunHooks).onFinished((result) => void seen.push(result));
  return seen;
}

describe('run history on Redis', () => {
  it('records every field of a call, a failure and a skip; another app sharing the prefix reads them', async () => {
    const prefix = prefixes.next();
    const a = await boot({ redis: REDIS_URL, prefix });
    const b = await boot({ redis: REDIS_URL, prefix });
    const interactors = a.get(Interactors);
    const before = Date.now();
    const ok = await interactors.run(Echo, 'north', 2);
    const failed = await interactors.run(Boom);
    const skipped = await interactors.run(ProdOnly);
    const after = Date.now();

    // b never ran anything: it reads what a wrote to Redis (batched, within ~50 ms).
    const [echo] = await historyOf(b, 'Echo', 1);
    expect(echo).toEqual({
      runId: ok.runId,
      task: 'Echo',
      trigger: 'call',
      startedAt: expect.any(Number),
      durationMs: expect.any(Number),
      outcome: 'success',
      attempt: 1,
      host: hostname(),
      pid: process.pid,
    });
    expect(echo!.runId).toMatch(UUID);
    // No dueAt for a call, no reason or error for a success, and no arguments by default.
    expect(echo).not.toHaveProperty('dueAt');
    expect(echo).not.toHaveProperty('args');
    expect(echo!.startedAt).toBeGreaterThanOrEqual(before - 1);
    expect(echo!.startedAt).toBeLessThanOrEqual(after);
    expect(echo!.durationMs).toBeGreaterThanOrEqual(0);
    expect(echo!.durationMs).toBeLessThan(after - before + 1);

    const [boom] = await historyOf(b, 'Boom', 1);
    expect(boom).toMatchObject({
      runId: failed.runId,
      trigger: 'call',
      outcome: 'failure',
      error: 'boom: the gate jammed',
      attempt: 1,
      host: hostname(),
      pid: process.pid,
    });
    expect(boom!.reason).toBeUndefined();

    const [prod] = await historyOf(b, 'ProdOnly', 1);
    expect(prod).toMatchObject({
      runId: skipped.runId,
      outcome: 'skipped',
      reason: 'environment',
    });
    expect(prod!.error).toBeUndefined();
  });

  it('keeps the arguments only for a task with historyArgs: true', async () => {
    const prefix = prefixes.next();
    const app = await boot({ redis: REDIS_URL, prefix });
    const interactors = app.get(Interactors);
    await interactors.call(WithArgs, 'north', { gate: 7 }, [1, 2]);
    await interactors.call(Echo, 'secret-token');
    const [withArgs] = await historyOf(app, 'WithArgs', 1);
    expect(withArgs!.args).toEqual(['north', { gate: 7 }, [1, 2]]);
    const [echo] = await historyOf(app, 'Echo', 1);
    expect(echo!.args).toBeUndefined();
    const raw = await redis((client) => client.lrange(`${prefix}:history:Echo`, 0, -1));
    expect(raw.join('')).not.toContain('secret-token');
  });

  it('is newest first and bounded by history.limit', async () => {
    const prefix = prefixes.next();
    const app = await boot({ redis: REDIS_URL, prefix, history: { limit: 3 } });
    const interactors = app.get(Interactors);
    for (let i = 0; i < 5; i++) await interactors.call(WithArgs, i);
    const records = await historyOf(app, 'WithArgs', 3);
    expect(records.map((record) => record.args)).toEqual([[4], [3], [2]]);
    const startedAts = records.map((record) => record.startedAt);
    expect(startedAts).toEqual(startedAts.toSorted((x, y) => y - x));
    // A smaller limit reads fewer; a larger one cannot read what was trimmed.
    expect((await interactors.history('WithArgs', { limit: 2 })).map((r) => r.args)).toEqual([
      [4],
      [3],
    ]);
    expect(await interactors.history(WithArgs, { limit: 10 })).toHaveLength(3);
    expect(await redis((client) => client.llen(`${prefix}:history:WithArgs`))).toBe(3);
  });

  it('keeps 50 runs per task by default', async () => {
    const prefix = prefixes.next();
    const app = await boot({ redis: REDIS_URL, prefix });
    const interactors = app.get(Interactors);
    for (let i = 0; i < 55; i++) await interactors.call(WithArgs, i);
    await interactors.call(Echo);
    const records = await historyOf(app, 'WithArgs', 50, 100);
    expect(records).toHaveLength(50);
    expect(records[0]!.args).toEqual([54]);
    expect(records[49]!.args).toEqual([5]);
    expect(await interactors.history(WithArgs)).toHaveLength(50);
    // Per task: the other task's list is its own.
    expect(await interactors.history(Echo)).toHaveLength(1);
    expect(await redis((client) => client.llen(`${prefix}:history:WithArgs`))).toBe(50);
  });

  it('a queued job: one record per attempt, trigger queue, the envelope run id', async () => {
    const prefix = prefixes.next();
    flakyCalls = 0;
    const app = await boot({ redis: REDIS_URL, prefix, roles: ['worker'] });
    const id = await app.get(Interactors).enqueue(Flaky, 'west');
    const job = await settled(queues.open(prefix, 'default'), id);
    expect(await job.getState()).toBe('completed');
    const records = await historyOf(app, 'Flaky', 2);
    expect(records).toMatchObject([
      { trigger: 'queue', attempt: 2, outcome: 'success', args: ['west'] },
      {
        trigger: 'queue',
        attempt: 1,
        outcome: 'failure',
        error: 'first attempt at west fails',
        args: ['west'],
      },
    ]);
    expect(records[0]!.runId).toBe(job.data.runId);
    expect(records[1]!.runId).toBe(job.data.runId);
    expect(records[0]!.dueAt).toBeUndefined();
  });

  it("ticks carry their due instant: an inline tick (trigger cron) and a queued tick's job", async () => {
    const prefix = prefixes.next();
    const DUE = Date.UTC(2031, 4, 6, 7, 8, 9);
    const clock = new ManualClock(DUE - 500);
    const app = await boot({ redis: REDIS_URL, prefix, roles: ['scheduler', 'worker'], clock });
    clock.set(DUE);
    await app.get(TaskDispatcher, { strict: false }).wake();
    const [inline] = await historyOf(app, 'InlineTick', 1);
    expect(inline).toMatchObject({ trigger: 'cron', dueAt: DUE, outcome: 'success', attempt: 1 });
    const [queued] = await historyOf(app, 'QueuedTick', 1);
    expect(queued).toMatchObject({ trigger: 'queue', dueAt: DUE, outcome: 'success', attempt: 1 });
    const job = await settled(queues.open(prefix, 'default'), `QueuedTick-${DUE}`);
    expect(queued!.runId).toBe(job.data.runId);
  });

  it('history: false records nothing and reads nothing', async () => {
    const prefix = prefixes.next();
    const app = await boot({ redis: REDIS_URL, prefix, history: false });
    const seen = results(app);
    const interactors = app.get(Interactors);
    await interactors.run(Echo);
    await interactors.run(Boom);
    await interactors.run(WithArgs, 1);
    expect(seen).toHaveLength(3);
    await sleep(200); // four flush delays
    expect(await interactors.history(Echo)).toEqual([]);
    expect(await interactors.history(WithArgs, { limit: 10 })).toEqual([]);
    await apps.closeAll(); // a flush at shutdown writes nothing either
    expect((await keysUnder(prefix)).filter((key) => key.includes(':history'))).toEqual([]);
  });
});

describe('run history in memory (no Redis)', () => {
  it('records the same fields, newest first, bounded by the limit', async () => {
    const app = await boot({ prefix: prefixes.next(), history: { limit: 4 } });
    const interactors = app.get(Interactors);
    const failed = await interactors.run(Boom);
    for (let i = 0; i < 6; i++) await interactors.call(WithArgs, i);
    await interactors.run(ProdOnly);
    const [boom] = await historyOf(app, 'Boom', 1);
    expect(boom).toMatchObject({
      runId: failed.runId,
      task: 'Boom',
      trigger: 'call',
      outcome: 'failure',
      error: 'boom: the gate jammed',
      attempt: 1,
      host: hostname(),
      pid: process.pid,
    });
    expect(boom!.startedAt).toBeLessThanOrEqual(Date.now());
    const records = await historyOf(app, 'WithArgs', 4);
    expect(records.map((record) => record.args)).toEqual([[5], [4], [3], [2]]);
    expect(await interactors.history(WithArgs, { limit: 2 })).toHaveLength(2);
    const [prod] = await historyOf(app, 'ProdOnly', 1);
    expect(prod).toMatchObject({ outcome: 'skipped', reason: 'environment' });
    expect('args' in prod!).toBe(false);
  });

  it('a queued job on the in-memory queue is recorded with its attempts', async () => {
    flakyCalls = 0;
    const app = await boot({ prefix: prefixes.next(), roles: ['worker'] });
    await app.get(Interactors).enqueue(Flaky, 'east');
    const records = await historyOf(app, 'Flaky', 2);
    expect(records).toMatchObject([
      { trigger: 'queue', attempt: 2, outcome: 'success', args: ['east'] },
      { trigger: 'queue', attempt: 1, outcome: 'failure', error: 'first attempt at east fails' },
    ]);
  });

  it('history: false keeps nothing', async () => {
    const app = await boot({ prefix: prefixes.next(), history: false });
    const interactors = app.get(Interactors);
    await interactors.run(Echo);
    await sleep(120);
    expect(await interactors.history(Echo)).toEqual([]);
    expect(await interactors.history(Echo, { limit: 5 })).toEqual([]);
  });
});
