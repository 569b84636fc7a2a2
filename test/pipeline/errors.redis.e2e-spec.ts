/**
 * Errors thrown or rejected in `call()`, from every trigger (call, cron, queue): the outcome
 * is `failure`, `Interactors.call` rethrows and `Interactors.run` does not, one error line
 * names task, trigger and run id, queued jobs retry per `attempts`, the schedule goes on —
 * and a rejected promise nobody awaited does not end the process (checked in a real child
 * OS process, since Vitest installs its own `unhandledRejection` handler in this one).
 */
import { Injectable } from '@nestjs/common';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  Interactor,
  Interactors,
  InteractorsModule,
  RunHooks,
  type RunResult,
  Task,
  TaskRun,
} from '../../src/index.js';
import { startChild, type ChildApp } from './child.js';
import {
  Apps,
  BullQueues,
  CapturingLogger,
  isolateEnv,
  Prefixes,
  redis,
  REDIS_URL,
  settled,
  sleep,
  uniquePrefix,
  waitUntil,
} from './helpers.js';

isolateEnv();
const prefixes = new Prefixes(uniquePrefix('errors'));
const apps = new Apps();
const queues = new BullQueues();
const children: ChildApp[] = [];
afterEach(async () => {
  await apps.closeAll();
  await queues.closeAll();
  await Promise.all(children.splice(0).map((child) => child.stop()));
});
afterAll(() => prefixes.cleanup());

@Injectable()
class Attempts {
  readonly seen: Array<{ task: string; trigger: string; attempt: number; dueAt?: number }> = [];
  record(): void {
    const run = TaskRun.current()!;
    this.seen.push({
      task: run.task,
      trigger: run.trigger,
      attempt: run.attempt,
      dueAt: run.dueAt,
    });
  }
  of(task: string) {
    return this.seen.filter((s) => s.task === task);
  }
}

const syncError = new Error('sync boom');
const asyncError = new Error('async boom');

@Task()
class SyncThrow extends Interactor {
  call(): never {
    throw syncError;
  }
}

@Task()
class SyncValue extends Interactor {
  call(): number {
    return 5;
  }
}

@Task()
class AsyncReject extends Interactor {
  async call(): Promise<void> {
    await sleep(5);
    throw asyncError;
  }
}

@Task()
class ReturnsRejected extends Interactor {
  call(): Promise<void> {
    return Promise.reject(asyncError);
  }
}

@Task()
class ThrowsString extends Interactor {
  call(): void {
    throw 'a plain string';
  }
}

@Task({ cron: '* * * * * *', run: 'inline' })
class FailingTick extends Interactor {
  constructor(private readonly attempts: Attempts) {
    super();
  }
  async call(): Promise<void> {
    this.attempts.record();
    throw new Error('tick boom');
  }
}

@Task({ cron: '* * * * * *', run: 'queue', queue: 'ticks' })
class FailingQueuedTick extends Interactor {
  constructor(private readonly attempts: Attempts) {
    super();
  }
  async call(): Promise<void> {
    this.attempts.record();
    throw new Error('queued tick boom');
  }
}

@Task({ attempts: 3, backoff: 20 })
class FailingJob extends Interactor {
  constructor(private readonly attempts: Attempts) {
    super();
  }
  call(sync: boolean): Promise<void> {
    this.attempts.record();
    if (sync) throw new Error('job sync boom');
    return Promise.reject(new Error('job async boom'));
  }
}

async function boot(tasks: Function[]) {
  const prefix = prefixes.next();
  const logger = new CapturingLogger();
  const app = await apps.boot(
    {
      imports: [
        InteractorsModule.forRoot({
          redis: REDIS_URL,
          prefix,
          queues: ['ticks'],
          shutdownGrace: 2_000,
        }),
      ],
      providers: [...(tasks as never[]), Attempts],
    },
    { logger },
  );
  const results: RunResult[] = [];
  app.get(RunHooks).onFinished((result) => void results.push(result));
  return {
    app,
    prefix,
    logger,
    results,
    interactors: app.get(Interactors),
    attempts: app.get(Attempts),
  };
}

describe('errors in call(), triggered by a call', () => {
  for (const [task, error] of [
    [SyncThrow, syncError],
    [AsyncReject, asyncError],
    [ReturnsRejected, asyncError],
  ] as const) {
    it(`${task.name}: run() resolves to failure with the error; call() rejects with it; one error line`, async () => {
      const { interactors, logger } = await boot([task]);
      const result = await interactors.run(task);
      expect(result).toMatchObject({ task: task.name, trigger: 'call', outcome: 'failure' });
      expect(result.error).toBe(error);
      expect(result.value).toBeUndefined();
      await expect(interactors.call(task)).rejects.toBe(error);

      const lines = logger.containing(result.runId);
      expect(lines).toHaveLength(1);
      const [line] = lines as [string];
      expect(line.startsWith('error ')).toBe(true);
      expect(line).toContain(task.name);
      expect(line).toContain('trigger call');
      expect(line).toContain(`run ${result.runId}`);
      expect(line).toContain(error.message);
      expect(line).toContain(error.stack!.split('\n')[1]!.trim()); // with the stack
      // one line per failed run, nothing else at error level
      expect(logger.at('error')).toHaveLength(2);
    });
  }

  it('a sync call() that returns a value succeeds', async () => {
    const { interactors } = await boot([SyncValue]);
    expect(await interactors.run(SyncValue)).toMatchObject({ outcome: 'success', value: 5 });
  });

  it('a thrown non-Error is a failure too, and rethrown as is', async () => {
    const { interactors, logger } = await boot([ThrowsString]);
    const result = await interactors.run(ThrowsString);
    expect(result).toMatchObject({ outcome: 'failure', error: 'a plain string' });
    await expect(interactors.call(ThrowsString)).rejects.toBe('a plain string');
    expect(logger.containing(result.runId, 'a plain string')).toHaveLength(1);
  });
});

describe('errors in call(), triggered by cron and queue', () => {
  it('a failing inline cron task: failure per tick, one error line each with trigger cron and due instant; the schedule goes on', async () => {
    const { attempts, results, logger } = await boot([FailingTick]);
    await waitUntil(() => results.length >= 3, 6_000, 'three failed ticks');
    const failures = results.slice(0, 3);
    for (const result of failures) {
      expect(result).toMatchObject({ task: 'FailingTick', trigger: 'cron', outcome: 'failure' });
      expect((result.error as Error).message).toBe('tick boom');
      const lines = logger.containing(result.runId);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^error /);
      expect(lines[0]).toContain('FailingTick');
      expect(lines[0]).toContain('trigger cron');
      expect(lines[0]).toContain(`due ${new Date(result.dueAt!).toISOString()}`);
    }
    const due = failures.map((result) => result.dueAt!);
    expect(new Set(due).size).toBe(3);
    expect(due).toEqual(due.toSorted((a, b) => a - b));
    expect(attempts.of('FailingTick').length).toBeGreaterThanOrEqual(3);
  });

  it('a failing queued cron task: each tick’s job fails, and the ticks keep coming', async () => {
    const { prefix, results } = await boot([FailingQueuedTick]);
    await waitUntil(() => results.length >= 2, 6_000, 'two failed queued ticks');
    const queue = queues.open(prefix, 'ticks');
    for (const result of results.slice(0, 2)) {
      expect(result).toMatchObject({ trigger: 'queue', outcome: 'failure', attempt: 1 });
      const job = await settled(queue, `FailingQueuedTick-${result.dueAt}`);
      expect(await job.getState()).toBe('failed');
      expect(job.failedReason).toBe('queued tick boom');
    }
  });

  for (const sync of [true, false]) {
    it(`a queued job whose call() ${sync ? 'throws' : 'rejects'} fails and is retried per attempts (3), one error line per attempt`, async () => {
      const { prefix, interactors, attempts, results, logger } = await boot([FailingJob]);
      const id = await interactors.enqueue(FailingJob, sync);
      const job = await settled(queues.open(prefix, 'default'), id);
      expect(await job.getState()).toBe('failed');
      expect(job.attemptsMade).toBe(3);
      expect(job.failedReason).toBe(sync ? 'job sync boom' : 'job async boom');
      expect(attempts.of('FailingJob').map((a) => [a.trigger, a.attempt])).toEqual([
        ['queue', 1],
        ['queue', 2],
        ['queue', 3],
      ]);
      await waitUntil(() => results.length === 3, 2_000, 'three results');
      expect(results.map((r) => [r.outcome, r.attempt])).toEqual([
        ['failure', 1],
        ['failure', 2],
        ['failure', 3],
      ]);
      const lines = logger.at('error').filter((line) => line.includes('FailingJob'));
      expect(lines).toHaveLength(3);
      for (const [i, line] of lines.entries()) {
        expect(line).toContain('trigger queue');
        expect(line).toContain(`attempt ${i + 1}`);
        expect(line).toContain(`run ${results[i]!.runId}`);
      }
    });
  }
});

describe('a rejected promise nobody awaited inside call() (child OS process)', () => {
  async function strayChild(extraEnv: Record<string, string> = {}) {
    const prefix = prefixes.next();
    const child = startChild('stray-rejection', { REDIS_URL, PREFIX: prefix, ...extraEnv });
    children.push(child);
    await child.ready;
    const strayRun = async () => redis((client) => client.get(`${prefix}:rec:stray-run`));
    await waitUntil(async () => (await strayRun()) !== null, 6_000, 'the stray rejection');
    const runs = async () => Number(await redis((client) => client.get(`${prefix}:rec:runs`)));
    return { child, prefix, runs, strayRun: Number(await strayRun()) };
  }

  it('the process stays alive, logs "Unhandled rejection", and later ticks still run', async () => {
    const { child, prefix, runs, strayRun } = await strayChild();
    await sleep(2_000);
    expect(child.alive(), child.output()).toBe(true);
    await waitUntil(async () => (await runs()) >= strayRun + 2, 4_000, 'two ticks after it');
    expect(child.alive()).toBe(true);
    expect(child.output()).toContain('Unhandled rejection');
    expect(child.output()).toContain('stray rejection from call()');
    const ticks = await redis((client) => client.lrange(`${prefix}:rec:ticks`, 0, -1));
    expect(ticks.every((tick) => tick.startsWith('cron|'))).toBe(true);
    // it still shuts down cleanly on SIGTERM
    await child.stop();
    expect(child.alive()).toBe(false);
  });

  // BUG (two apps in one process): TaskOrchestrator.onApplicationBootstrap
  // (src/task.orchestrator.ts) installs its unhandledRejection listener only when
  // process.listenerCount('unhandledRejection') === 0, so a second app relies on the first
  // app's listener — and onApplicationShutdown removes it when the first app closes, leaving
  // the second app's process to be ended by the next stray rejection. Keep one process-wide
  // listener with a count of the apps relying on it (install on the first, remove on the last).
  it('two apps in one process: closing the first does not leave the second unprotected', async () => {
    const { child, runs, strayRun } = await strayChild({ FIRST_APP: 'closed', STRAY_RUN: '2' });
    expect(strayRun).toBe(2);
    await sleep(2_000);
    expect(child.alive(), child.output()).toBe(true);
    await waitUntil(async () => (await runs()) >= strayRun + 1, 3_000, 'a tick after it');
    expect(child.output()).toContain('Unhandled rejection');
  });

  it('control: with catchUnhandledRejections: false the same stray rejection ends the process', async () => {
    const { child } = await strayChild({ CATCH: 'false' });
    const code = await Promise.race([child.exited, sleep(3_000).then(() => 'still alive')]);
    expect(code).toBe(1);
    expect(child.output()).toContain('stray rejection from call()');
    expect(child.output()).not.toContain('Unhandled rejection (a promise nobody awaited');
  });
});
