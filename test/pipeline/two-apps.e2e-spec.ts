/**
 * Two apps in one process: sharing prom-client's global registry (this file's process has
 * its own) or one fresh `Registry`, they boot without a registration error and share series;
 * a registry already holding a metric of the same name with other labels or another type
 * fails the boot with a clear error. In-memory transport.
 */
import { Test } from '@nestjs/testing';
import { Counter, Gauge, register, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Interactor,
  Interactors,
  InteractorsMetrics,
  InteractorsModule,
  Task,
} from '../../src/index.js';
import {
  Apps,
  CapturingLogger,
  isolateEnv,
  Metrics,
  parseMetrics,
  uniquePrefix,
} from './helpers.js';

isolateEnv();
const apps = new Apps();
afterEach(() => apps.closeAll());

@Task()
class Shared extends Interactor {
  async call(): Promise<void> {}
}

@Task()
class OnlyInB extends Interactor {
  async call(): Promise<void> {}
}

function boot(tasks: Function[], registry?: Registry) {
  return apps.boot({
    imports: [
      InteractorsModule.forRoot({
        prefix: uniquePrefix('two-apps'),
        ...(registry ? { metrics: { registry } } : {}),
      }),
    ],
    providers: tasks as never[],
  });
}

async function read(registry: Registry): Promise<Metrics> {
  return new Metrics(parseMetrics(await registry.metrics()));
}

const success = (task: string) => ({ task, outcome: 'success', reason: '' });

/** Compiles a module expected to fail and returns the error. */
async function bootError(registry: Registry): Promise<Error> {
  try {
    const moduleRef = await Test.createTestingModule({
      imports: [
        InteractorsModule.forRoot({ prefix: uniquePrefix('two-apps'), metrics: { registry } }),
      ],
      providers: [Shared],
    })
      .setLogger(new CapturingLogger())
      .compile();
    const app = moduleRef.createNestApplication({ logger: new CapturingLogger() });
    await app.init().finally(() => app.close());
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the boot to fail, but it succeeded');
}

describe('two apps in one process', () => {
  it('sharing the global registry: both boot, and their runs add up in the same series', async () => {
    const a = await boot([Shared]);
    const b = await boot([Shared, OnlyInB]);
    expect(a.get(InteractorsMetrics).runs).toBe(b.get(InteractorsMetrics).runs);
    expect(a.get(InteractorsMetrics).registry).toBe(register);

    await a.get(Interactors).run(Shared);
    await b.get(Interactors).run(Shared);
    await b.get(Interactors).run(OnlyInB);
    let metrics = await read(register);
    expect(metrics.value('interactor_runs_total', success('Shared'))).toBe(2);
    expect(metrics.value('interactor_runs_total', success('OnlyInB'))).toBe(1);
    expect(
      metrics.value('interactor_run_duration_seconds_count', {
        task: 'Shared',
        outcome: 'success',
      }),
    ).toBe(2);

    // closing one app leaves the other's metrics working
    await apps.close(a);
    await b.get(Interactors).run(Shared);
    metrics = await read(register);
    expect(metrics.value('interactor_runs_total', success('Shared'))).toBe(3);
    // and a third app booted later joins the same series
    const c = await boot([Shared]);
    await c.get(Interactors).run(Shared);
    expect((await read(register)).value('interactor_runs_total', success('Shared'))).toBe(4);
    expect(
      register
        .getMetricsAsArray()
        .filter((m) => (m as unknown as { name: string }).name === 'interactor_runs_total'),
    ).toHaveLength(1);
  });

  it('sharing one fresh Registry: both boot and share series; nothing of theirs lands elsewhere', async () => {
    const registry = new Registry();
    const other = new Registry();
    const a = await boot([Shared], registry);
    const b = await boot([Shared], registry);
    const c = await boot([Shared], other);
    await a.get(Interactors).run(Shared);
    await b.get(Interactors).run(Shared);
    await c.get(Interactors).run(Shared);
    expect((await read(registry)).value('interactor_runs_total', success('Shared'))).toBe(2);
    expect((await read(other)).value('interactor_runs_total', success('Shared'))).toBe(1);
  });

  it('a metric of the same name, type and labels already in the registry is reused', async () => {
    const registry = new Registry();
    const own = new Counter({
      name: 'interactor_runs_total',
      help: 'registered by the app itself',
      labelNames: ['task', 'outcome', 'reason'],
      registers: [registry],
    });
    const app = await boot([Shared], registry);
    await app.get(Interactors).run(Shared);
    expect((await own.get()).values).toEqual([{ labels: success('Shared'), value: 1 }]);
  });

  it('a metric of the same name with other labels fails the boot with a clear error', async () => {
    const registry = new Registry();
    const foreign = new Counter({
      name: 'interactor_runs_total',
      help: 'someone else’s',
      labelNames: ['task'],
      registers: [registry],
    });
    const error = await bootError(registry);
    expect(error.message).toContain(
      'Metric "interactor_runs_total" is already registered with another type or labels',
    );
    expect(error.message).toContain('"metrics.registry"');
    expect(registry.getSingleMetric('interactor_runs_total')).toBe(foreign); // left alone
  });

  it('a metric of the same name and labels but another type fails the boot with a clear error', async () => {
    const registry = new Registry();
    const sameType = new Gauge({
      name: 'interactor_runs_in_progress',
      help: 'someone else’s',
      labelNames: ['task'],
      registers: [registry],
    });
    const otherType = new Gauge({
      name: 'interactor_tick_lag_seconds',
      help: 'a gauge where a histogram belongs',
      labelNames: ['task'],
      registers: [registry],
    });
    const error = await bootError(registry);
    expect(error.message).toMatch(
      /Metric "interactor_tick_lag_seconds" is already registered with another type or labels/,
    );
    // the gauge of the right type and labels was accepted; the mismatched one left alone
    expect(registry.getSingleMetric('interactor_runs_in_progress')).toBe(sameType);
    expect(registry.getSingleMetric('interactor_tick_lag_seconds')).toBe(otherType);
  });
});
