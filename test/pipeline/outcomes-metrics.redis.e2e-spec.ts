/**
 * Outcomes of runs, read twice: from `Interactors.run()` and from `/metrics` scraped over HTTP
 * of an app that mounts `@willsoto/nestjs-prometheus` (which serves prom-client's global
 * registry — this file runs in its own process, so that registry is this file's alone).
 * Real Redis: queue wait and queue depth come from BullMQ.
 */
import { Injectable, UseGuards, type CanActivate, type INestApplication } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  Interactor,
  Interactors,
  InteractorsModule,
  Task,
  TaskRun,
  TaskTimeoutError,
  type InteractorsModuleExtras,
  type InteractorsModuleOptions,
} from '../../src/index.js';
import {
  Apps,
  CapturingLogger,
  deferred,
  isolateEnv,
  Prefixes,
  REDIS_URL,
  scrape,
  uniquePrefix,
  UUID,
  waitUntil,
} from './helpers.js';

isolateEnv();
const prefixes = new Prefixes(uniquePrefix('outcomes'));
const apps = new Apps();
afterEach(() => apps.closeAll());
afterAll(() => prefixes.cleanup());

// Registered once per file: the module's default metrics may be registered only once per registry.
const prometheus = PrometheusModule.register({ path: '/metrics' });

@Injectable()
class DenyGuard implements CanActivate {
  canActivate(): boolean {
    return false;
  }
}

/** What the fixture tasks did, per app. */
@Injectable()
class Recorder {
  readonly runs: string[] = [];
  slow = deferred();
}

@Task()
class Succeeds extends Interactor {
  async call(): Promise<number> {
    return 42;
  }
}

@Task()
class Fails extends Interactor {
  async call(): Promise<void> {
    throw new Error('boom');
  }
}

@Task({ timeout: 200 })
class TimesOut extends Interactor {
  async call(): Promise<void> {
    // Ends when its signal aborts (at the timeout), or after 1 s at the latest.
    const signal = TaskRun.current()!.signal;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1_000);
      signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
  }
}

@Task({ environments: ['production'] })
class ProductionOnly extends Interactor {
  constructor(private readonly recorder: Recorder) {
    super();
  }
  async call(): Promise<void> {
    this.recorder.runs.push('ProductionOnly');
  }
}

@Task()
@UseGuards(DenyGuard)
class Refused extends Interactor {
  constructor(private readonly recorder: Recorder) {
    super();
  }
  async call(): Promise<void> {
    this.recorder.runs.push('Refused');
  }
}

@Task()
class Slow extends Interactor {
  constructor(private readonly recorder: Recorder) {
    super();
  }
  async call(): Promise<void> {
    await this.recorder.slow.promise;
  }
}

@Task({ cron: '* * * * * *', run: 'inline' })
class EverySecond extends Interactor {
  constructor(private readonly recorder: Recorder) {
    super();
  }
  async call(): Promise<void> {
    this.recorder.runs.push('EverySecond');
  }
}

@Task({ queue: 'waitq' })
class Queued extends Interactor {
  constructor(private readonly recorder: Recorder) {
    super();
  }
  async call(): Promise<void> {
    this.recorder.runs.push('Queued');
  }
}

@Task({ queue: 'parked' })
class Parked extends Interactor {
  async call(): Promise<void> {}
}

interface Booted {
  app: INestApplication;
  interactors: Interactors;
  recorder: Recorder;
  logger: CapturingLogger;
}

async function boot(
  tasks: Function[],
  options: InteractorsModuleOptions & InteractorsModuleExtras = {},
): Promise<Booted> {
  const logger = new CapturingLogger();
  const app = await apps.boot(
    {
      imports: [
        InteractorsModule.forRoot({
          redis: REDIS_URL,
          prefix: prefixes.next(),
          environment: 'development',
          queues: ['waitq', 'parked'],
          // nobody works "parked": its jobs stay waiting
          consume: ['default', 'waitq'],
          ...options,
        }),
        prometheus,
      ],
      providers: [...(tasks as never[]), DenyGuard, Recorder],
    },
    { logger, listen: true },
  );
  return { app, interactors: app.get(Interactors), recorder: app.get(Recorder), logger };
}

const runs = (task: string, outcome: string, reason = '') => ({ task, outcome, reason });

describe('outcomes from run() and from /metrics over HTTP', () => {
  it('success, failure, timeout, skipped/environment and skipped/guard: one result each, one series each', async () => {
    const { app, interactors, recorder } = await boot([
      Succeeds,
      Fails,
      TimesOut,
      ProductionOnly,
      Refused,
    ]);

    const success = await interactors.run(Succeeds);
    expect(success).toMatchObject({
      task: 'Succeeds',
      trigger: 'call',
      dueAt: undefined,
      attempt: 1,
      outcome: 'success',
      value: 42,
    });
    expect(success.runId).toMatch(UUID);
    expect(success.reason).toBeUndefined();
    expect(success.error).toBeUndefined();
    expect(success.durationMs).toBeGreaterThanOrEqual(0);
    expect(success.durationMs).toBeLessThan(1_000);

    const failure = await interactors.run(Fails);
    expect(failure).toMatchObject({ task: 'Fails', trigger: 'call', outcome: 'failure' });
    expect((failure.error as Error).message).toBe('boom');
    expect(failure.value).toBeUndefined();
    expect(failure.reason).toBeUndefined();

    const timeout = await interactors.run(TimesOut);
    expect(timeout).toMatchObject({ task: 'TimesOut', outcome: 'timeout' });
    expect(timeout.error).toBeInstanceOf(TaskTimeoutError);
    expect(timeout.durationMs).toBeGreaterThanOrEqual(195);
    expect(timeout.durationMs).toBeLessThan(900);

    const environment = await interactors.run(ProductionOnly);
    expect(environment).toMatchObject({
      task: 'ProductionOnly',
      outcome: 'skipped',
      reason: 'environment',
    });
    expect(environment.error).toBeUndefined();

    const guard = await interactors.run(Refused);
    expect(guard).toMatchObject({ task: 'Refused', outcome: 'skipped', reason: 'guard' });
    expect(guard.error).toBeUndefined();
    expect(recorder.runs).toEqual([]); // neither skipped call() ran

    const ids = [success, failure, timeout, environment, guard].map((result) => result.runId);
    expect(new Set(ids).size).toBe(5);

    const metrics = await scrape(app);
    const expected = [
      runs('Succeeds', 'success'),
      runs('Fails', 'failure'),
      runs('TimesOut', 'timeout'),
      runs('ProductionOnly', 'skipped', 'environment'),
      runs('Refused', 'skipped', 'guard'),
    ];
    for (const labels of expected) {
      expect(metrics.value('interactor_runs_total', labels), JSON.stringify(labels)).toBe(1);
      // exactly one runs series per task: nothing else was counted for it
      expect(metrics.find('interactor_runs_total', { task: labels.task })).toHaveLength(1);
      expect(
        metrics.value('interactor_run_duration_seconds_count', {
          task: labels.task,
          outcome: labels.outcome,
        }),
      ).toBe(1);
    }

    // the timed-out run's duration is its timeout, not call()'s full second
    const timeoutSum = metrics.value('interactor_run_duration_seconds_sum', {
      task: 'TimesOut',
      outcome: 'timeout',
    })!;
    expect(timeoutSum).toBeGreaterThanOrEqual(0.195);
    expect(timeoutSum).toBeLessThan(0.9);
    const buckets = metrics
      .find('interactor_run_duration_seconds_bucket', { task: 'TimesOut', outcome: 'timeout' })
      .map((sample) => [sample.labels.le, sample.value] as const);
    expect(buckets[0]).toEqual(['0.005', 0]); // from ~5 ms ...
    expect(buckets.at(-2)).toEqual(['3600', 1]); // ... to 1 h
    expect(buckets.at(-1)).toEqual(['+Inf', 1]);
    expect(Object.fromEntries(buckets)['0.1']).toBe(0);
    expect(Object.fromEntries(buckets)['0.25']).toBe(1);

    // last success: set for the task that succeeded, now; never for the others
    const lastSuccess = metrics.value('interactor_last_success_timestamp_seconds', {
      task: 'Succeeds',
    })!;
    expect(lastSuccess).toBeGreaterThan(Date.now() / 1000 - 10);
    expect(lastSuccess).toBeLessThanOrEqual(Date.now() / 1000);
    for (const task of ['Fails', 'TimesOut', 'ProductionOnly', 'Refused']) {
      expect(metrics.value('interactor_last_success_timestamp_seconds', { task }) ?? 0, task).toBe(
        0,
      );
    }
    // nothing is in progress any more
    for (const { task } of expected) {
      expect(metrics.value('interactor_runs_in_progress', { task }) ?? 0, task).toBe(0);
    }
  });

  it('interactor_runs_total rises with every run, per outcome', async () => {
    const { app, interactors } = await boot([Succeeds, Fails]);
    for (let i = 0; i < 3; i++) await interactors.run(Succeeds);
    await interactors.run(Fails);
    await expect(interactors.call(Fails)).rejects.toThrow('boom');
    const metrics = await scrape(app);
    // the previous test's app counted on the same global registry: 1 + 3, 1 + 2
    expect(metrics.value('interactor_runs_total', runs('Succeeds', 'success'))).toBe(4);
    expect(metrics.value('interactor_runs_total', runs('Fails', 'failure'))).toBe(3);
    expect(
      metrics.value('interactor_run_duration_seconds_count', {
        task: 'Succeeds',
        outcome: 'success',
      }),
    ).toBe(4);
  });

  it('interactor_runs_in_progress goes to 1 during a slow run (2 with two) and back to 0', async () => {
    const { app, interactors, recorder } = await boot([Slow]);
    const inProgress = async () =>
      (await scrape(app)).value('interactor_runs_in_progress', { task: 'Slow' });

    const first = interactors.run(Slow);
    await waitUntil(async () => (await inProgress()) === 1, 3_000, 'one run in progress');
    const second = interactors.run(Slow);
    await waitUntil(async () => (await inProgress()) === 2, 3_000, 'two runs in progress');
    recorder.slow.resolve();
    expect((await first).outcome).toBe('success');
    expect((await second).outcome).toBe('success');
    expect(await inProgress()).toBe(0);
  });

  it('interactor_tick_lag_seconds for a cron-fired task; none for a called one', async () => {
    const { app, interactors, recorder } = await boot([EverySecond, Succeeds]);
    await interactors.run(Succeeds);
    await waitUntil(
      () => recorder.runs.filter((run) => run === 'EverySecond').length >= 2,
      5_000,
      'two ticks',
    );
    const metrics = await scrape(app);
    const count = metrics.value('interactor_tick_lag_seconds_count', { task: 'EverySecond' })!;
    expect(count).toBeGreaterThanOrEqual(2);
    const sum = metrics.value('interactor_tick_lag_seconds_sum', { task: 'EverySecond' })!;
    expect(sum).toBeGreaterThanOrEqual(0);
    expect(sum / count).toBeLessThan(0.5); // fired close to its due instants
    expect(
      metrics.find('interactor_tick_lag_seconds_bucket', { task: 'EverySecond' }).length,
    ).toBeGreaterThan(0);
    expect(metrics.find('interactor_tick_lag_seconds_count', { task: 'Succeeds' })).toEqual([]);
    expect(
      metrics.value('interactor_runs_total', runs('EverySecond', 'success')),
    ).toBeGreaterThanOrEqual(2);
  });

  it('interactor_queue_wait_seconds{queue} for a queued job; interactor_queue_jobs{queue,state} at scrape time', async () => {
    const { app, interactors, recorder } = await boot([Queued, Parked]);
    const before = await scrape(app);
    expect(before.find('interactor_queue_wait_seconds_count', { queue: 'waitq' })).toEqual([]);
    expect(before.value('interactor_queue_jobs', { queue: 'waitq', state: 'completed' })).toBe(0);

    await interactors.enqueue(Queued);
    await waitUntil(() => recorder.runs.includes('Queued'), 5_000, 'the queued run');
    await waitUntil(
      async () =>
        (await scrape(app)).value('interactor_queue_jobs', {
          queue: 'waitq',
          state: 'completed',
        }) === 1,
      5_000,
      'the job to be counted completed',
    );
    const after = await scrape(app);
    expect(after.value('interactor_queue_wait_seconds_count', { queue: 'waitq' })).toBe(1);
    const wait = after.value('interactor_queue_wait_seconds_sum', { queue: 'waitq' })!;
    expect(wait).toBeGreaterThanOrEqual(0);
    expect(wait).toBeLessThan(2);
    // the labels are queues, never tasks or job ids
    expect(after.find('interactor_queue_wait_seconds_count')).toHaveLength(1);
    expect(after.value('interactor_runs_total', runs('Queued', 'success'))).toBe(1);

    // Depth is read from BullMQ at each scrape: jobs added since show up without any run.
    await interactors.with({ delay: 60_000 }).enqueue(Queued);
    await interactors.enqueue(Parked);
    await interactors.enqueue(Parked);
    const depth = await scrape(app);
    expect(depth.value('interactor_queue_jobs', { queue: 'waitq', state: 'delayed' })).toBe(1);
    expect(depth.value('interactor_queue_jobs', { queue: 'waitq', state: 'completed' })).toBe(1);
    expect(depth.value('interactor_queue_jobs', { queue: 'parked', state: 'waiting' })).toBe(2);
    expect(depth.value('interactor_queue_jobs', { queue: 'default', state: 'waiting' })).toBe(0);
    const states = new Set(
      depth.find('interactor_queue_jobs', { queue: 'parked' }).map((sample) => sample.labels.state),
    );
    for (const state of ['waiting', 'delayed', 'active', 'completed', 'failed', 'prioritized']) {
      expect(states.has(state), state).toBe(true);
    }
  });

  it('a closed app leaves the queue-depth gauge to the apps still running', async () => {
    const first = await boot([Parked]);
    await first.interactors.enqueue(Parked);
    expect(
      (await scrape(first.app)).value('interactor_queue_jobs', {
        queue: 'parked',
        state: 'waiting',
      }),
    ).toBe(1);
    const second = await boot([Parked]);
    await apps.close(first.app);
    // the second app has its own prefix: its "parked" queue is empty
    const metrics = await scrape(second.app);
    expect(metrics.value('interactor_queue_jobs', { queue: 'parked', state: 'waiting' })).toBe(0);
  });
});
