/**
 * Pause and resume, cluster-wide: seen by another app and by another OS process without a
 * restart (pub/sub); a paused task's ticks are skipped (`paused`) and never enqueued; a tick's
 * job already queued completes as skipped; an explicit job waits and runs after resume;
 * `Interactors.call` still runs; the paused state survives a restart.
 */
import type { INestApplication } from '@nestjs/common';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Interactor,
  Interactors,
  InteractorsModule,
  RunHooks,
  Task,
  TaskRun,
  UnknownTaskError,
  type InteractorsModuleOptions,
  type RunResult,
} from '../../src/index.js';
import { TaskDispatcher } from '../../src/scheduling/task.dispatcher.js';
import {
  Apps,
  BullQueues,
  isolateEnv,
  Prefixes,
  redis,
  settled,
  sleep,
  waitUntil,
} from '../pipeline/helpers.js';
import { ManualClock } from '../src/helpers.js';
import { FixtureModule, Succeed } from './fixture/tasks.js';
import { AppProcesses, opsPrefix, REDIS_URL } from './support.js';

isolateEnv();
const apps = new Apps();
const queues = new BullQueues();
const processes = new AppProcesses();
const prefixes = new Prefixes(opsPrefix('pause'));
afterEach(async () => {
  await processes.stopAll();
  await queues.closeAll();
  await apps.closeAll();
});
afterAll(() => prefixes.cleanup());
beforeEach(() => {
  calls.length = 0;
});

/** Calls of each task in this test process: `{ task, trigger, dueAt, attempt, args }`. */
const calls: Array<{
  task: string;
  trigger: string;
  dueAt?: number;
  attempt: number;
  args: unknown[];
}> = [];
function called(...args: unknown[]): void {
  const run = TaskRun.current()!;
  calls.push({
    task: run.task,
    trigger: run.trigger,
    dueAt: run.dueAt,
    attempt: run.attempt,
    args,
  });
}
const callsOf = (task: string) => calls.filter((call) => call.task === task);

@Task({ every: '1 second', run: 'inline' })
class InlineBeat extends Interactor {
  async call(): Promise<void> {
    called();
  }
}

@Task({ every: '1 second' })
class QueueBeat extends Interactor {
  async call(): Promise<void> {
    called();
  }
}

@Task()
class Explicit extends Interactor {
  async call(gate: string): Promise<string> {
    called(gate);
    return `opened ${gate}`;
  }
}

const TASKS = [InlineBeat, QueueBeat, Explicit];
const DUE = Date.UTC(2031, 6, 1, 12, 0, 0);

function boot(prefix: string, options: InteractorsModuleOptions = {}): Promise<INestApplication> {
  return apps.boot({
    imports: [
      InteractorsModule.forRoot({
        redis: REDIS_URL,
        prefix,
        roles: [],
        metrics: { registry: new Registry() },
        shutdownGrace: 1_000,
        pausedJob: { retryDelay: 200 },
        ...options,
      }),
    ],
    providers: TASKS,
  });
}

/** Every run result of an app, as its hooks see them. */
function results(app: INestApplication): RunResult[] {
  const seen: RunResult[] = [];
  app.get(RunHooks).onFinished((result) => void seen.push(result));
  return seen;
}

/** Waits until `app` sees the task (un)paused; resolves to how long that took. */
async function seesPaused(app: INestApplication, task: string, paused: boolean): Promise<number> {
  const started = Date.now();
  const interactors = app.get(Interactors);
  await waitUntil(() => interactors.isPaused(task) === paused, 3_000, `${task} paused=${paused}`);
  return Date.now() - started;
}

describe('pause and resume across the cluster', () => {
  it('a pause in app A is seen by app B (same prefix) within a moment, without restart; so is the resume', async () => {
    const prefix = prefixes.next();
    const a = await boot(prefix);
    const b = await boot(prefix);
    const interactorsA = a.get(Interactors);
    expect(b.get(Interactors).isPaused(Explicit)).toBe(false);

    await interactorsA.pause(Explicit);
    // The pausing process knows at once; the other through pub/sub (its periodic re-read is 30 s).
    expect(interactorsA.isPaused('Explicit')).toBe(true);
    expect(await seesPaused(b, 'Explicit', true)).toBeLessThan(1_500);
    expect(b.get(Interactors).isPaused(QueueBeat)).toBe(false);
    expect(await redis((client) => client.hkeys(`${prefix}:paused`))).toEqual(['Explicit']);

    await b.get(Interactors).resume('Explicit');
    expect(b.get(Interactors).isPaused(Explicit)).toBe(false);
    expect(await seesPaused(a, 'Explicit', false)).toBeLessThan(1_500);
    expect(await redis((client) => client.hkeys(`${prefix}:paused`))).toEqual([]);
  });

  it('a separate OS process sees a pause and a resume without restart', async () => {
    const prefix = prefixes.next();
    const child = processes.start({
      REDIS_URL,
      PREFIX: prefix,
      INTERACTORS_ROLES: '',
      WATCH: 'Succeed',
    });
    await child.ready;
    const app = await apps.boot({
      imports: [FixtureModule.register({ redis: REDIS_URL, prefix, roles: [] })],
    });
    const interactors = app.get(Interactors);
    const lines = () => child.lines.filter((line) => line.kind === 'PAUSED');
    await waitUntil(() => lines().length === 1, 3_000, 'the initial state');
    expect(lines()[0]!.data).toMatchObject({ task: 'Succeed', paused: false });

    const pausedAt = Date.now();
    await interactors.pause(Succeed);
    await waitUntil(
      () => lines().length === 2,
      3_000,
      `the child to see the pause:\n${child.output()}`,
    );
    expect(lines()[1]!.data).toMatchObject({ task: 'Succeed', paused: true });
    expect(lines()[1]!.receivedAt - pausedAt).toBeLessThan(1_500);

    const resumedAt = Date.now();
    await interactors.resume('Succeed');
    await waitUntil(
      () => lines().length === 3,
      3_000,
      `the child to see the resume:\n${child.output()}`,
    );
    expect(lines()[2]!.data).toMatchObject({ task: 'Succeed', paused: false });
    expect(lines()[2]!.receivedAt - resumedAt).toBeLessThan(1_500);
  });

  it('pausing or resuming an unknown task rejects and pauses nothing', async () => {
    const prefix = prefixes.next();
    const app = await boot(prefix);
    await expect(app.get(Interactors).pause('Explicitt')).rejects.toBeInstanceOf(UnknownTaskError);
    await expect(app.get(Interactors).resume('Nope')).rejects.toBeInstanceOf(UnknownTaskError);
    expect(await redis((client) => client.hkeys(`${prefix}:paused`))).toEqual([]);
  });
});

describe('what a paused task does', () => {
  it("a paused inline task's ticks are skipped (paused) without calling it; after resume they run", async () => {
    const prefix = prefixes.next();
    const clock = new ManualClock(DUE - 500);
    const scheduler = await boot(prefix, { roles: ['scheduler'], clock });
    const operator = await boot(prefix);
    const seen = results(scheduler);
    const dispatcher = scheduler.get(TaskDispatcher, { strict: false });

    await operator.get(Interactors).pause(InlineBeat);
    await seesPaused(scheduler, 'InlineBeat', true);
    clock.set(DUE);
    await dispatcher.wake();
    await waitUntil(() => seen.length >= 1, 2_000, 'the paused tick');
    expect(seen.filter((r) => r.task === 'InlineBeat')).toMatchObject([
      { trigger: 'cron', dueAt: DUE, outcome: 'skipped', reason: 'paused' },
    ]);
    expect(callsOf('InlineBeat')).toEqual([]);

    await operator.get(Interactors).resume(InlineBeat);
    await seesPaused(scheduler, 'InlineBeat', false);
    clock.set(DUE + 1_000);
    await dispatcher.wake();
    await waitUntil(() => callsOf('InlineBeat').length === 1, 2_000, 'the resumed tick');
    expect(callsOf('InlineBeat')[0]).toMatchObject({ trigger: 'cron', dueAt: DUE + 1_000 });
    await waitUntil(() => seen.length === 2, 2_000, 'its result');
    expect(seen[1]).toMatchObject({ task: 'InlineBeat', outcome: 'success', dueAt: DUE + 1_000 });
  });

  it("a paused queue task's ticks are recorded skipped (paused) and not enqueued; after resume they are", async () => {
    const prefix = prefixes.next();
    const clock = new ManualClock(DUE - 500);
    const scheduler = await boot(prefix, { roles: ['scheduler'], clock });
    const operator = await boot(prefix);
    const seen = results(scheduler);
    const dispatcher = scheduler.get(TaskDispatcher, { strict: false });
    const queue = queues.open(prefix, 'default');

    await operator.get(Interactors).pause(QueueBeat);
    await seesPaused(scheduler, 'QueueBeat', true);
    clock.set(DUE);
    await dispatcher.wake();
    await waitUntil(() => seen.some((r) => r.task === 'QueueBeat'), 2_000, 'the paused tick');
    expect(seen.filter((r) => r.task === 'QueueBeat')).toMatchObject([
      { trigger: 'cron', dueAt: DUE, outcome: 'skipped', reason: 'paused' },
    ]);
    const [record] = await scheduler.get(Interactors).history(QueueBeat);
    expect(record).toMatchObject({
      trigger: 'cron',
      dueAt: DUE,
      outcome: 'skipped',
      reason: 'paused',
    });
    expect(await queue.getJob(`QueueBeat-${DUE}`)).toBeUndefined();
    expect(await queue.getJobCounts('waiting', 'delayed', 'active', 'completed')).toEqual({
      waiting: 0,
      delayed: 0,
      active: 0,
      completed: 0,
    });

    await operator.get(Interactors).resume(QueueBeat);
    await seesPaused(scheduler, 'QueueBeat', false);
    clock.set(DUE + 1_000);
    await dispatcher.wake();
    await waitUntil(
      async () => (await queue.getJob(`QueueBeat-${DUE + 1_000}`)) !== undefined,
      2_000,
      'the resumed tick job',
    );
    expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
  });

  it('a tick job already queued when the task is paused completes as skipped (paused), without calling it', async () => {
    const prefix = prefixes.next();
    const clock = new ManualClock(DUE - 500);
    const scheduler = await boot(prefix, { roles: ['scheduler'], clock });
    const queue = queues.open(prefix, 'default');
    clock.set(DUE);
    await scheduler.get(TaskDispatcher, { strict: false }).wake();
    await waitUntil(
      async () => (await queue.getJob(`QueueBeat-${DUE}`)) !== undefined,
      2_000,
      'the tick job',
    );
    await scheduler.get(Interactors).pause(QueueBeat);

    const worker = await boot(prefix, { roles: ['worker'] });
    const seen = results(worker);
    const job = await settled(queue, `QueueBeat-${DUE}`, 5_000);
    expect(await job.getState()).toBe('completed');
    expect(job.failedReason).toBeFalsy();
    expect(callsOf('QueueBeat')).toEqual([]);
    await waitUntil(() => seen.length >= 1, 2_000, 'its result');
    expect(seen).toMatchObject([
      { task: 'QueueBeat', trigger: 'queue', dueAt: DUE, outcome: 'skipped', reason: 'paused' },
    ]);
  });

  it('an explicitly enqueued job of a paused task stays queued (not run, not failed) and runs after resume', async () => {
    const prefix = prefixes.next();
    const worker = await boot(prefix, { roles: ['worker'] });
    const operator = await boot(prefix);
    const seen = results(worker);
    const interactors = operator.get(Interactors);
    const queue = queues.open(prefix, 'default');
    await interactors.pause(Explicit);
    await seesPaused(worker, 'Explicit', true);
    const id = await interactors.enqueue(Explicit, 'north');

    await sleep(1_000);
    expect(callsOf('Explicit')).toEqual([]);
    const waiting = (await queue.getJob(id))!;
    expect(['delayed', 'waiting', 'active']).toContain(await waiting.getState());
    expect(waiting.finishedOn).toBeUndefined();
    expect(waiting.attemptsMade).toBe(0);
    // Looked at again every pausedJob.retryDelay (200 ms): a few times, not in a tight loop.
    const skips = seen.filter((r) => r.outcome === 'skipped' && r.reason === 'paused');
    expect(skips.length).toBeGreaterThanOrEqual(2);
    expect(skips.length).toBeLessThanOrEqual(8);
    expect(skips.every((r) => r.trigger === 'queue' && r.attempt === 1)).toBe(true);
    expect(await interactors.failed()).toEqual([]);

    await interactors.resume(Explicit);
    const job = await settled(queue, id, 3_000);
    expect(await job.getState()).toBe('completed');
    expect(job.returnvalue).toBeFalsy(); // our jobs keep no return value; the run says it
    expect(callsOf('Explicit')).toEqual([
      { task: 'Explicit', trigger: 'queue', dueAt: undefined, attempt: 1, args: ['north'] },
    ]);
    await waitUntil(() => seen.some((r) => r.outcome === 'success'), 2_000, 'the success');
    expect(seen.at(-1)).toMatchObject({ outcome: 'success', value: 'opened north', attempt: 1 });
  });

  it('Interactors.call and run still run a paused task', async () => {
    const prefix = prefixes.next();
    const app = await boot(prefix);
    const operator = await boot(prefix);
    await operator.get(Interactors).pause(Explicit);
    await operator.get(Interactors).pause(InlineBeat);
    await seesPaused(app, 'Explicit', true);
    await seesPaused(app, 'InlineBeat', true);
    const interactors = app.get(Interactors);
    expect(await interactors.call(Explicit, 'south')).toBe('opened south');
    expect(await interactors.run(InlineBeat)).toMatchObject({
      trigger: 'call',
      outcome: 'success',
    });
    expect(callsOf('Explicit')).toHaveLength(1);
    expect(callsOf('InlineBeat')).toHaveLength(1);
    expect(interactors.isPaused(Explicit)).toBe(true);
  });

  it('the paused state survives a restart of every app', async () => {
    const prefix = prefixes.next();
    const first = await boot(prefix);
    await first.get(Interactors).pause(InlineBeat);
    await apps.closeAll();

    const clock = new ManualClock(DUE - 500);
    const second = await boot(prefix, { roles: ['scheduler'], clock });
    const seen = results(second);
    // Read at boot, before the first tick.
    expect(second.get(Interactors).isPaused(InlineBeat)).toBe(true);
    expect(second.get(Interactors).isPaused(QueueBeat)).toBe(false);
    clock.set(DUE);
    await second.get(TaskDispatcher, { strict: false }).wake();
    await waitUntil(() => seen.some((r) => r.task === 'InlineBeat'), 2_000, 'the tick');
    expect(seen.find((r) => r.task === 'InlineBeat')).toMatchObject({
      outcome: 'skipped',
      reason: 'paused',
    });
    expect(callsOf('InlineBeat')).toEqual([]);

    await second.get(Interactors).resume(InlineBeat);
    await apps.closeAll();
    const third = await boot(prefix);
    expect(third.get(Interactors).isPaused(InlineBeat)).toBe(false);
  });
});
