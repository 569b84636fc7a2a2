/**
 * `timeout` on a task: the outcome is `timeout`, the run's signal aborts with a
 * TaskTimeoutError (seen inside `call()`), `Interactors.call` rejects with it, a queued job
 * fails with it and is retried per `attempts`, and `app.close()` waits for the timed-out
 * `call()` to really settle — within `shutdownGrace`. Real Redis for the queued job.
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
  TaskTimeoutError,
} from '../../src/index.js';
import {
  Apps,
  BullQueues,
  CapturingLogger,
  isolateEnv,
  Prefixes,
  REDIS_URL,
  settled,
  sleep,
  uniquePrefix,
  waitUntil,
} from './helpers.js';

isolateEnv();
const prefixes = new Prefixes(uniquePrefix('timeouts'));
const apps = new Apps();
const queues = new BullQueues();
afterEach(async () => {
  await apps.closeAll();
  await queues.closeAll();
});
afterAll(() => prefixes.cleanup());

/** What call() saw of its own run, one entry per run (attempts of a job share their run id). */
interface Observed {
  signal: AbortSignal;
  abortedWith?: unknown;
  abortedAt?: number;
  startedAt: number;
  settledAt?: number;
  attempt: number;
}

@Injectable()
class Observations {
  readonly runs: Observed[] = [];
  /** Starts observing the current run: its signal, when it aborts and why. */
  begin(): Observed {
    const run = TaskRun.current()!;
    const observed: Observed = { signal: run.signal, startedAt: Date.now(), attempt: run.attempt };
    run.signal.addEventListener(
      'abort',
      () => {
        observed.abortedWith = run.signal.reason;
        observed.abortedAt = Date.now();
      },
      { once: true },
    );
    this.runs.push(observed);
    return observed;
  }
  all(): Observed[] {
    return [...this.runs];
  }
}

/** Waits `ms` whatever its signal says: JavaScript cannot stop it. */
@Task({ timeout: 200 })
class Stubborn extends Interactor {
  constructor(private readonly observations: Observations) {
    super();
  }
  async call(ms = 1_000): Promise<string> {
    const observed = this.observations.begin();
    await sleep(ms);
    observed.settledAt = Date.now();
    return 'late';
  }
}

/** Stops as soon as its signal aborts. */
@Task({ timeout: 200 })
class Cooperative extends Interactor {
  constructor(private readonly observations: Observations) {
    super();
  }
  async call(): Promise<void> {
    const observed = this.observations.begin();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, 5_000);
      observed.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(observed.signal.reason);
      });
    });
  }
}

@Task({ timeout: 200 })
class Quick extends Interactor {
  constructor(private readonly observations: Observations) {
    super();
  }
  async call(): Promise<string> {
    this.observations.begin();
    await sleep(20);
    return 'quick';
  }
}

/** Fails after its timeout: the late rejection must go nowhere. */
@Task({ timeout: 100 })
class LateFailure extends Interactor {
  async call(): Promise<void> {
    await sleep(300);
    throw new Error('too late to matter');
  }
}

@Task({ timeout: 200, attempts: 2, backoff: 20 })
class QueuedStubborn extends Interactor {
  constructor(private readonly observations: Observations) {
    super();
  }
  async call(): Promise<void> {
    const observed = this.observations.begin();
    // stops a little after the abort, to keep the worker's shutdown short
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1_000);
      observed.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        setTimeout(resolve, 50);
      });
    });
    observed.settledAt = Date.now();
  }
}

async function boot(tasks: Function[], shutdownGrace = 5_000) {
  const prefix = prefixes.next();
  const logger = new CapturingLogger();
  const app = await apps.boot(
    {
      imports: [InteractorsModule.forRoot({ redis: REDIS_URL, prefix, shutdownGrace })],
      providers: [...(tasks as never[]), Observations],
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
    observations: app.get(Observations),
  };
}

describe('timeout', () => {
  it('timeout: 200 on a 1 s call(): outcome timeout at ~200 ms; the signal inside call() aborts with the same TaskTimeoutError', async () => {
    const { interactors, observations, logger } = await boot([Stubborn]);
    const started = Date.now();
    const result = await interactors.run(Stubborn);
    const took = Date.now() - started;
    expect(result).toMatchObject({ task: 'Stubborn', outcome: 'timeout', trigger: 'call' });
    expect(result.value).toBeUndefined();
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(800);
    expect(result.durationMs).toBeGreaterThanOrEqual(190);
    expect(result.durationMs).toBeLessThan(800);

    const error = result.error as TaskTimeoutError;
    expect(error).toBeInstanceOf(TaskTimeoutError);
    expect(error.name).toBe('TaskTimeoutError');
    expect(error.task).toBe('Stubborn');
    expect(error.timeoutMs).toBe(200);
    expect(error.message).toContain('Stubborn');
    expect(error.message).toContain('200 ms');

    const [observed] = observations.all() as [Observed];
    expect(observed.signal.aborted).toBe(true);
    expect(observed.abortedWith).toBe(error); // seen inside call(), through its listener
    expect(observed.abortedAt! - observed.startedAt).toBeGreaterThanOrEqual(190);
    expect(observed.settledAt).toBeUndefined(); // call() itself goes on
    await waitUntil(() => observed.settledAt !== undefined, 2_000, 'call() to settle');

    const lines = logger.containing(result.runId);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error \[run [^\]]+\] Stubborn timeout/);
    expect(lines[0]).toContain('timed out after 200 ms');
  });

  it('Interactors.call rejects with TaskTimeoutError', async () => {
    const { interactors } = await boot([Stubborn]);
    const error = await interactors.call(Stubborn, 600).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TaskTimeoutError);
    expect((error as TaskTimeoutError).task).toBe('Stubborn');
  });

  it('a call() that watches its signal stops at the timeout', async () => {
    const { interactors, observations } = await boot([Cooperative]);
    const result = await interactors.run(Cooperative);
    expect(result.outcome).toBe('timeout');
    const [observed] = observations.all() as [Observed];
    expect(observed.abortedWith).toBe(result.error);
    expect(result.durationMs).toBeLessThan(800);
  });

  it('a run that ends before its timeout succeeds, and its signal never aborts', async () => {
    const { interactors, observations } = await boot([Quick]);
    expect(await interactors.run(Quick)).toMatchObject({ outcome: 'success', value: 'quick' });
    await sleep(350);
    expect(observations.all()[0]!.signal.aborted).toBe(false);
  });

  it('a call() that fails after its timeout: outcome timeout, and its late rejection is handled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { interactors } = await boot([LateFailure]);
      const result = await interactors.run(LateFailure);
      expect(result.outcome).toBe('timeout');
      await sleep(400);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a queued job with a timeout fails with the timeout error and is retried per attempts (2)', async () => {
    const { interactors, prefix, results, observations } = await boot([QueuedStubborn]);
    const id = await interactors.enqueue(QueuedStubborn);
    const job = await settled(queues.open(prefix, 'default'), id);
    expect(await job.getState()).toBe('failed');
    expect(job.attemptsMade).toBe(2);
    expect(job.failedReason).toMatch(/Task "QueuedStubborn" timed out after 200 ms/);
    expect(results.map((r) => [r.trigger, r.outcome, r.attempt])).toEqual([
      ['queue', 'timeout', 1],
      ['queue', 'timeout', 2],
    ]);
    const seen = observations.all();
    expect(seen.map((o) => o.attempt)).toEqual([1, 2]);
    for (const observed of seen) expect(observed.abortedWith).toBeInstanceOf(TaskTimeoutError);
  });

  it('app.close() waits for the timed-out call() to really settle (within shutdownGrace)', async () => {
    const { app, interactors, observations } = await boot([Stubborn], 5_000);
    const result = await interactors.run(Stubborn, 1_000);
    expect(result.outcome).toBe('timeout');
    const [observed] = observations.all() as [Observed];
    expect(observed.settledAt).toBeUndefined();
    const closing = Date.now();
    await apps.close(app);
    expect(observed.settledAt).toBeDefined();
    expect(observed.settledAt!).toBeLessThanOrEqual(Date.now());
    expect(Date.now() - closing).toBeGreaterThanOrEqual(500); // it did wait (~800 ms left)
  });

  it('…but no longer than shutdownGrace, and says so', async () => {
    const { app, interactors, observations, logger } = await boot([Stubborn], 300);
    const result = await interactors.run(Stubborn, 2_000);
    expect(result.outcome).toBe('timeout');
    const [observed] = observations.all() as [Observed];
    const closing = Date.now();
    await apps.close(app);
    const took = Date.now() - closing;
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(1_500);
    expect(observed.settledAt).toBeUndefined();
    expect(
      logger.lines.some((line) =>
        line.includes('1 run(s) still in flight after the 300 ms shutdown grace'),
      ),
    ).toBe(true);
    // let the stubborn call() end before the next test
    await waitUntil(() => observed.settledAt !== undefined, 3_000, 'call() to settle');
  });
});
