/**
 * The dead man's switch (`InteractorsHealthIndicator.staleness()`), on the shared Redis
 * under a prefix of each test's own, with time driven by a ManualClock: a task is stale
 * when its last success anywhere is older than its staleAfter (by default two ticks plus
 * staleGrace); never when disabled by environment, by `schedules`, by `staleAfter: false`
 * or paused; a task with no record counts from when it was first seen; a resumed task from
 * its resumption.
 */
import type { INestApplication } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Interactor,
  Interactors,
  InteractorsHealthIndicator,
  InteractorsHealthModule,
  InteractorsModule,
  Task,
  type InteractorsModuleOptions,
} from '../../src/index.js';
import {
  Apps,
  deleteKeys,
  flushFacts,
  freshMetrics,
  isolateEnv,
  ManualClock,
  minute,
  REDIS_URL,
  uniquePrefix,
} from './support.js';

@Task({ every: '1 minute', run: 'inline' })
class Minutely extends Interactor {
  call(): void {}
}

@Task({ every: '1 minute', run: 'inline', staleAfter: '5 minutes' })
class FiveMinutes extends Interactor {
  call(): void {}
}

@Task({ every: '1 minute', run: 'inline', environments: ['production'] })
class ProductionOnly extends Interactor {
  call(): void {}
}

@Task({ every: '1 minute', run: 'inline' })
class Unscheduled extends Interactor {
  call(): void {}
}

@Task({ every: '1 minute', run: 'inline', staleAfter: false })
class NeverStale extends Interactor {
  call(): void {}
}

/** A task without a schedule is never watched. */
@Task()
class CalledOnly extends Interactor {
  call(): void {}
}

const STALE_GRACE = 10_000;

describe('task staleness (the dead man’s switch)', () => {
  isolateEnv();
  const apps = new Apps();
  const prefixes: string[] = [];
  afterEach(async () => {
    await apps.closeAll();
    await Promise.all(prefixes.splice(0).map((prefix) => deleteKeys(prefix)));
  });

  async function boot(
    tasks: Function[],
    clock: ManualClock,
    options: InteractorsModuleOptions = {},
    prefix = uniquePrefix('health-staleness'),
  ) {
    prefixes.push(prefix);
    const app: INestApplication = await apps.boot({
      imports: [
        // No role: staleness is read from Redis, whoever runs the tasks.
        InteractorsModule.forRoot({
          redis: REDIS_URL,
          prefix,
          roles: [],
          clock,
          ...freshMetrics(),
          ...options,
        }),
        InteractorsHealthModule.forRoot({ staleGrace: STALE_GRACE }),
      ],
      providers: tasks as never[],
    });
    await flushFacts(app); // the first-seen marks of bootstrap
    const health = app.get(InteractorsHealthIndicator);
    return { app, prefix, interactors: app.get(Interactors), check: () => health.staleness() };
  }

  it('a task that succeeds is fresh; two ticks plus staleGrace after its last success it is stale, named with its age', async () => {
    const t = minute();
    const clock = new ManualClock(t + 30_000);
    const { app, interactors, check } = await boot([Minutely, CalledOnly], clock);
    clock.set(t + 60_000);
    expect((await interactors.run(Minutely)).outcome).toBe('success');
    await flushFacts(app);

    clock.set(t + 180_000 + STALE_GRACE); // ticks at t+120 s and t+180 s passed, plus the grace
    expect(await check()).toEqual({ interactors_tasks: { status: 'up', watched: 1 } });

    clock.set(t + 180_000 + STALE_GRACE + 1);
    const result = await check();
    expect(result.interactors_tasks).toMatchObject({
      status: 'down',
      stale: [
        {
          task: 'Minutely',
          lastSuccessAt: new Date(t + 60_000).toISOString(),
          age: '2m 10s',
          ageSeconds: 130,
          staleAfter: '2m 10s',
          staleAfterSeconds: 130,
        },
      ],
    });
    expect(result.interactors_tasks!.reason).toBe(
      'Minutely: no success for 2m 10s (staleAfter 2m 10s)',
    );

    // A new success makes it fresh again.
    expect((await interactors.run(Minutely)).outcome).toBe('success');
    await flushFacts(app);
    expect((await check()).interactors_tasks!.status).toBe('up');
  });

  it('an explicit staleAfter counts from the last success; history: false still records it', async () => {
    const t = minute();
    const clock = new ManualClock(t);
    const { app, interactors, check } = await boot([FiveMinutes], clock, { history: false });
    clock.set(t + 60_000);
    await interactors.run(FiveMinutes);
    await flushFacts(app);

    clock.set(t + 60_000 + 300_000);
    expect((await check()).interactors_tasks!.status).toBe('up');
    clock.set(t + 60_000 + 300_001);
    expect((await check()).interactors_tasks).toMatchObject({
      status: 'down',
      stale: [{ task: 'FiveMinutes', age: '5m', staleAfter: '5m' }],
    });
  });

  it('a task with no record is not stale until its staleAfter has passed since the first process registered it', async () => {
    const t = minute();
    const clock = new ManualClock(t);
    const prefix = uniquePrefix('health-staleness');
    await boot([FiveMinutes], clock, {}, prefix);
    // A second process registers it a minute later: the first instant is kept.
    clock.set(t + 60_000);
    const { check } = await boot([FiveMinutes], clock, {}, prefix);

    clock.set(t + 300_000);
    expect((await check()).interactors_tasks!.status).toBe('up');
    clock.set(t + 300_001);
    const result = await check();
    expect(result.interactors_tasks).toMatchObject({
      status: 'down',
      stale: [{ task: 'FiveMinutes', lastSuccessAt: null, age: '5m' }],
    });
    expect(result.interactors_tasks!.reason).toBe(
      'FiveMinutes: no success since it was first seen 5m (staleAfter 5m)',
    );
  });

  it('tasks off in this environment, unscheduled by schedules.<task>.enabled: false, or with staleAfter: false are never stale', async () => {
    const t = minute();
    const clock = new ManualClock(t);
    const { check } = await boot([ProductionOnly, Unscheduled, NeverStale, Minutely], clock, {
      environment: 'development',
      schedules: { Unscheduled: { enabled: false } },
    });
    clock.set(t + 30 * 86_400_000);
    const result = await check();
    // Only the control task is watched, and stale.
    expect(result.interactors_tasks!.stale.map((stale: { task: string }) => stale.task)).toEqual([
      'Minutely',
    ]);
  });

  it('a paused task is never stale; once resumed it counts from the resumption', async () => {
    const t = minute();
    const clock = new ManualClock(t);
    const { app, interactors, check } = await boot([FiveMinutes], clock);
    await interactors.pause(FiveMinutes);
    clock.set(t + 86_400_000);
    expect(await check()).toEqual({ interactors_tasks: { status: 'up', watched: 0 } });

    await interactors.resume(FiveMinutes);
    await flushFacts(app);
    expect((await check()).interactors_tasks!.status).toBe('up');
    clock.set(t + 86_400_000 + 300_001);
    expect((await check()).interactors_tasks).toMatchObject({
      status: 'down',
      stale: [{ task: 'FiveMinutes', age: '5m' }],
    });
  });
});
