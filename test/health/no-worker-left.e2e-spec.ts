/**
 * The dead man's switch where it matters: a scheduler keeps enqueueing a task's ticks, but
 * no process with the worker role is left to run them. Its own health stays green (it is
 * alive and Redis answers), while the staleness check names the task within its
 * staleAfter. Two apps on the shared Redis (one prefix of the test's own), one ManualClock.
 */
import type { INestApplication } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Interactor,
  Interactors,
  InteractorsHealthModule,
  InteractorsModule,
  Task,
  type InteractorRole,
} from '../../src/index.js';
import {
  Apps,
  deleteKeys,
  dispatcherOf,
  flushFacts,
  freshMetrics,
  isolateEnv,
  ManualClock,
  minute,
  REDIS_URL,
  serve,
  sleep,
  uniquePrefix,
} from './support.js';

@Task({ every: '1 minute', queue: 'patrols' })
class Patrol extends Interactor {
  call(): void {}
}

describe('no worker left to run the queued ticks', () => {
  isolateEnv();
  const apps = new Apps();
  const prefix = uniquePrefix('health-no-worker');
  afterEach(async () => {
    await apps.closeAll();
    await deleteKeys(prefix);
  });

  function boot(roles: InteractorRole[], clock: ManualClock): Promise<INestApplication> {
    return apps.boot({
      imports: [
        InteractorsModule.forRoot({
          redis: REDIS_URL,
          prefix,
          roles,
          clock,
          queues: ['patrols'],
          ...freshMetrics(),
        }),
        InteractorsHealthModule.forRoot({ routes: true, staleness: true, staleGrace: 10_000 }),
      ],
      providers: [Patrol],
    });
  }

  it('the scheduler stays healthy while the staleness check names the task once its staleAfter has passed', async () => {
    const t = minute();
    const clock = new ManualClock(t + 30_000);
    const scheduler = await boot(['scheduler'], clock);
    const worker = await boot(['worker'], clock);
    const get = await serve(scheduler);
    const dispatcher = dispatcherOf(scheduler);

    // A tick enqueued by the scheduler, run by the worker.
    clock.set(t + 60_000);
    await dispatcher.wake();
    const interactors = scheduler.get(Interactors);
    const deadline = Date.now() + 5_000;
    while (!(await interactors.history(Patrol)).some((run) => run.outcome === 'success')) {
      if (Date.now() > deadline) throw new Error('the worker did not run the tick');
      await sleep(50);
    }

    await flushFacts(worker);
    await worker.close(); // the last process with the worker role is gone

    // Ticks go on being enqueued; nobody runs them.
    for (const at of [t + 120_000, t + 180_000]) {
      clock.set(at);
      await dispatcher.wake();
    }
    clock.set(t + 180_000 + 10_000); // two ticks after the last success, plus staleGrace
    expect((await get('/health/tasks')).status).toBe(200);
    expect((await get('/health')).status).toBe(200);

    clock.set(t + 180_000 + 10_001);
    const tasks = await get('/health/tasks');
    expect(tasks.status).toBe(503);
    expect(tasks.body.error.interactors_tasks).toMatchObject({
      status: 'down',
      reason: 'Patrol: no success for 2m 10s (staleAfter 2m 10s)',
      stale: [{ task: 'Patrol', lastSuccessAt: new Date(t + 60_000).toISOString() }],
    });
    // The scheduler itself is fine: readiness and liveness stay green.
    const ready = await get('/health');
    expect(ready.status).toBe(200);
    expect(ready.body.details).toEqual({
      interactors_scheduler: { status: 'up', tasks: 1 },
      interactors_workers: { status: 'up', working: false },
      interactors_redis: { status: 'up', transport: 'redis' },
    });
  });
});
