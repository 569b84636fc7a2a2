/**
 * Metrics opt-out: per task (`@Task({ metrics: false })`), per module (`metrics: false`), and
 * a registry of one's own (`metrics: { registry }`). Nothing in this file may write to
 * prom-client's global registry: several tests check that it stays empty (this file runs in
 * its own process). In-memory transport: where the runs come from does not matter here.
 */
import { Injectable } from '@nestjs/common';
import { register, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Interactor,
  Interactors,
  InteractorsMetrics,
  InteractorsModule,
  type InteractorsModuleOptions,
  Task,
} from '../../src/index.js';
import { Apps, isolateEnv, Metrics, parseMetrics, uniquePrefix, waitUntil } from './helpers.js';

isolateEnv();
const apps = new Apps();
afterEach(() => apps.closeAll());

@Injectable()
class Ticks {
  readonly seen: string[] = [];
}

@Task()
class Counted extends Interactor {
  constructor(private readonly ticks: Ticks) {
    super();
  }
  async call(): Promise<string> {
    this.ticks.seen.push('Counted');
    return 'counted';
  }
}

@Task({ metrics: false })
class OptedOut extends Interactor {
  async call(fail?: boolean): Promise<string> {
    if (fail) throw new Error('opted-out failure');
    return 'not counted';
  }
}

@Task({ metrics: false, cron: '* * * * * *', run: 'inline' })
class OptedOutTick extends Interactor {
  constructor(private readonly ticks: Ticks) {
    super();
  }
  async call(): Promise<void> {
    this.ticks.seen.push('OptedOutTick');
  }
}

@Task({ cron: '* * * * * *', run: 'inline' })
class CountedTick extends Interactor {
  constructor(private readonly ticks: Ticks) {
    super();
  }
  async call(): Promise<void> {
    this.ticks.seen.push('CountedTick');
  }
}

async function boot(tasks: Function[], options: InteractorsModuleOptions) {
  const app = await apps.boot({
    imports: [InteractorsModule.forRoot({ prefix: uniquePrefix('optout'), ...options })],
    providers: [...(tasks as never[]), Ticks],
  });
  return { app, interactors: app.get(Interactors), ticks: app.get(Ticks) };
}

async function read(registry: Registry): Promise<Metrics> {
  return new Metrics(parseMetrics(await registry.metrics()));
}

const interactorMetricNames = (registry: Registry) =>
  registry
    .getMetricsAsArray()
    .map((metric) => (metric as unknown as { name: string }).name)
    .filter((name) => name.startsWith('interactor_'));

describe('metrics opt-out', () => {
  it('@Task({ metrics: false }) has no series in any metric; other tasks do; its runs still run', async () => {
    const registry = new Registry();
    const { interactors, ticks } = await boot([Counted, OptedOut, OptedOutTick, CountedTick], {
      metrics: { registry },
    });
    expect(await interactors.run(OptedOut)).toMatchObject({
      outcome: 'success',
      value: 'not counted',
    });
    expect(await interactors.run(OptedOut, true)).toMatchObject({ outcome: 'failure' });
    await interactors.run(Counted);
    await waitUntil(
      () =>
        ticks.seen.includes('OptedOutTick') &&
        ticks.seen.filter((t) => t === 'CountedTick').length >= 1,
      5_000,
      'a tick of each cron task',
    );

    const metrics = await read(registry);
    expect(metrics.ofTask('OptedOut')).toEqual([]);
    expect(metrics.ofTask('OptedOutTick')).toEqual([]); // no tick lag either
    expect(
      metrics.value('interactor_runs_total', { task: 'Counted', outcome: 'success', reason: '' }),
    ).toBe(1);
    expect(
      metrics.value('interactor_tick_lag_seconds_count', { task: 'CountedTick' }),
    ).toBeGreaterThanOrEqual(1);
    expect(interactorMetricNames(register)).toEqual([]);
  });

  it('module option metrics: false registers nothing, anywhere, and runs still work', async () => {
    const { app, interactors, ticks } = await boot([Counted, CountedTick], { metrics: false });
    expect(app.get(InteractorsMetrics).enabled).toBe(false);
    expect(await interactors.run(Counted)).toMatchObject({ outcome: 'success', value: 'counted' });
    await interactors.enqueue(Counted); // queue wait is not observed either
    await waitUntil(
      () =>
        ticks.seen.includes('CountedTick') &&
        ticks.seen.filter((t) => t === 'Counted').length === 2,
      5_000,
      'a tick and the queued run',
    );

    expect(interactorMetricNames(register)).toEqual([]);
    expect(await register.metrics()).not.toContain('interactor_');
    // a second app without metrics boots as well
    await boot([Counted], { metrics: false });
    expect(interactorMetricNames(register)).toEqual([]);
  });

  it('metrics: { registry } puts every metric in that registry only', async () => {
    const registry = new Registry();
    const { interactors } = await boot([Counted], { metrics: { registry } });
    await interactors.run(Counted);
    await interactors.enqueue(Counted);
    await waitUntil(
      async () =>
        (await read(registry)).value('interactor_runs_total', {
          task: 'Counted',
          outcome: 'success',
          reason: '',
        }) === 2,
      5_000,
      'two counted runs',
    );
    const metrics = await read(registry);
    expect(metrics.value('interactor_queue_wait_seconds_count', { queue: 'default' })).toBe(1);
    expect(metrics.value('interactor_queue_jobs', { queue: 'default', state: 'completed' })).toBe(
      1,
    );
    expect(interactorMetricNames(registry).toSorted()).toEqual([
      'interactor_last_success_timestamp_seconds',
      'interactor_lock_errors_total',
      'interactor_queue_jobs',
      'interactor_queue_wait_seconds',
      'interactor_run_duration_seconds',
      'interactor_runs_in_progress',
      'interactor_runs_total',
      'interactor_stalled_jobs_total',
      'interactor_tick_lag_seconds',
    ]);
    expect(interactorMetricNames(register)).toEqual([]);
  });
});
