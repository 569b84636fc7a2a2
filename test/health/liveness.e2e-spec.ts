/**
 * Liveness of this process, judged by its own progress: the scheduler's timer and due
 * instants (a timer stopped behind the dispatcher's back turns it down within the grace;
 * a quiet day with only a daily task stays up), and each worker loop (stopped, or stuck
 * while its connection is ready and Redis answers, turns it down; busy with a long job,
 * it is alive). On the shared Redis under prefixes of the tests' own.
 */
import type { INestApplication } from '@nestjs/common';
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  Interactor,
  Interactors,
  InteractorsHealthIndicator,
  InteractorsHealthModule,
  InteractorsModule,
  Task,
  type InteractorsHealthOptions,
  type InteractorsModuleExtras,
  type InteractorsModuleOptions,
} from '../../src/index.js';
import {
  INTERACTORS_BULL_CONNECTION,
  INTERACTORS_JOB_QUEUE,
} from '../../src/interactors.constants.js';
import {
  Apps,
  deleteKeys,
  dispatcherOf,
  freshMetrics,
  isolateEnv,
  ManualClock,
  minute,
  REDIS_URL,
  serve,
  sleep,
  timersOf,
  uniquePrefix,
  waitFor,
} from './support.js';
import { deferred } from '../src/helpers.js';

@Task({ every: '1 minute', run: 'inline' })
class EveryMinute extends Interactor {
  call(): void {}
}

@Task({ every: '1 second', run: 'inline' })
class EverySecond extends Interactor {
  call(): void {}
}

@Task({ cron: '0 3 * * *', run: 'inline' })
class Nightly extends Interactor {
  call(): void {}
}

/** Holds its run until the test lets it go. */
const gate = { release: () => undefined as void, held: Promise.resolve() };

@Task({ queue: 'slow' })
class Slow extends Interactor {
  async call(): Promise<void> {
    await gate.held;
  }
}

const DISPATCHER_TIMER = 'interactors:dispatcher';

describe('liveness', () => {
  isolateEnv();
  const apps = new Apps();
  const prefixes: string[] = [];
  afterEach(async () => {
    gate.release();
    await apps.closeAll();
    await Promise.all(prefixes.splice(0).map((prefix) => deleteKeys(prefix)));
  });

  async function boot(
    tasks: Function[],
    options: InteractorsModuleOptions & InteractorsModuleExtras,
    health: InteractorsHealthOptions = {},
  ) {
    const prefix = uniquePrefix('health-liveness');
    prefixes.push(prefix);
    const app: INestApplication = await apps.boot({
      imports: [
        InteractorsModule.forRoot({ redis: REDIS_URL, prefix, ...freshMetrics(), ...options }),
        InteractorsHealthModule.forRoot({ routes: true, ...health }),
      ],
      providers: tasks as never[],
    });
    return { app, prefix, health: app.get(InteractorsHealthIndicator) };
  }

  describe('the scheduler', () => {
    it('its timer stopped behind its back: down within the grace, naming the overdue task', async () => {
      const t = minute();
      const clock = new ManualClock(t + 30_000);
      const { app, health } = await boot(
        [EveryMinute],
        { roles: ['scheduler'], clock },
        { grace: 5_000 },
      );
      expect(await health.scheduler()).toEqual({
        interactors_scheduler: { status: 'up', tasks: 1 },
      });
      const armedFor = dispatcherOf(app).snapshot().armedFor!;
      expect(armedFor).toBe(t + 60_000);

      timersOf(app).deleteTimeout(DISPATCHER_TIMER);
      clock.set(armedFor + 5_000);
      expect((await health.scheduler()).interactors_scheduler!.status).toBe('up');
      clock.set(armedFor + 5_001);
      expect(await health.scheduler()).toEqual({
        interactors_scheduler: {
          status: 'down',
          reason: "the scheduler's timer was due 5s ago and has not fired",
          overdue: ['EveryMinute'],
        },
      });
    });

    it('on the real clock too: a timer deleted behind its back turns liveness down within the grace', async () => {
      const { app } = await boot([EverySecond], { roles: ['scheduler'] }, { grace: 1_000 });
      const get = await serve(app);
      await waitFor(() => dispatcherOf(app).snapshot().steppedAt !== undefined, 3_000, 'a wake');
      timersOf(app).deleteTimeout(DISPATCHER_TIMER);
      const stoppedAt = Date.now();
      let answer = await get('/health/live');
      while (answer.status === 200 && Date.now() - stoppedAt < 5_000) {
        await sleep(100);
        answer = await get('/health/live');
      }
      expect(answer.status).toBe(503);
      // The timer was due within a second; the grace is one more.
      expect(Date.now() - stoppedAt).toBeLessThan(3_500);
      expect(answer.body.error.interactors_scheduler).toMatchObject({
        status: 'down',
        overdue: ['EverySecond'],
      });
    });

    it('a quiet day with only a daily task stays up (the timer re-arms at least once a minute)', async () => {
      const day = Math.floor(minute() / 86_400_000) * 86_400_000;
      const clock = new ManualClock(day + 3 * 3_600_000 + 1_000); // just after the nightly tick
      const { app, health } = await boot(
        [Nightly],
        { roles: ['scheduler'], clock },
        { grace: 5_000 },
      );
      const dispatcher = dispatcherOf(app);
      // Twelve quiet hours, woken as the timer would wake it: every minute.
      for (let i = 1; i <= 12 * 60; i++) {
        clock.set(clock.now() + 60_000);
        await dispatcher.wake();
        if (i % 60 === 0) {
          expect((await health.scheduler()).interactors_scheduler).toEqual({
            status: 'up',
            tasks: 1,
          });
        }
      }
      expect(dispatcher.nextDueAt('Nightly')).toBe(day + 86_400_000 + 3 * 3_600_000);
    });

    it('on the real clock: a daily task, nothing due for hours, is alive', async () => {
      const { app } = await boot([Nightly], { roles: ['scheduler'] }, { grace: 1_000 });
      const get = await serve(app);
      await sleep(1_500);
      expect((await get('/health/live')).status).toBe(200);
    });

    it('a process without the scheduler role says so and is up', async () => {
      const { health } = await boot([EveryMinute], { roles: ['worker'] });
      expect(await health.scheduler()).toEqual({
        interactors_scheduler: { status: 'up', scheduling: false },
      });
    });
  });

  describe('the worker loops', () => {
    function workersOf(app: INestApplication): Worker[] {
      // The job queue keeps its BullMQ workers private; the test reaches behind its back.
      return (app.get(INTERACTORS_JOB_QUEUE, { strict: false }) as { workers: Worker[] }).workers;
    }

    function bullClient(app: INestApplication): Redis {
      return (app.get(INTERACTORS_BULL_CONNECTION, { strict: false }) as { client: Redis }).client;
    }

    it('a loop stopped while its connection stays ready: down, naming its queue', async () => {
      const { app, health } = await boot([], { roles: ['worker'], queues: ['slow'] });
      await waitFor(() => workersOf(app).every((worker) => worker.isRunning()), 3_000, 'the loops');
      expect(await health.workers()).toEqual({
        interactors_workers: { status: 'up', queues: { default: 'running', slow: 'running' } },
      });

      const slow = workersOf(app).find((worker) => worker.name === 'slow')!;
      await slow.pause(true);
      await waitFor(() => !slow.isRunning(), 12_000, 'the loop to stop');
      expect(bullClient(app).status).toBe('ready');
      expect(await health.workers()).toEqual({
        interactors_workers: {
          status: 'down',
          reason: 'worker loop of queue "slow" stopped',
          queues: { default: 'running', slow: 'stopped' },
        },
      });
      slow.resume();
    });

    it('a loop stuck in a wait that never ends, while Redis answers: down within the grace (plus its poll)', async () => {
      const { app, health } = await boot(
        [],
        { roles: ['worker'], queues: ['slow'], shutdownGrace: 1_000 },
        { grace: 1_000 },
      );
      await waitFor(() => workersOf(app).every((worker) => worker.isRunning()), 3_000, 'the loops');
      const slow = workersOf(app).find((worker) => worker.name === 'slow')!;
      // Its next wait for a job never returns (a hung blocking connection), the loop
      // still "running": only its missing steps tell.
      const hung = deferred<number>();
      const spy = vi
        .spyOn(slow as unknown as { waitForJob: () => Promise<number> }, 'waitForJob')
        .mockReturnValue(hung.promise);
      try {
        await waitFor(() => spy.mock.calls.length > 0, 12_000, 'the next wait');
        const since = Date.now();
        let result = await health.workers();
        while (result.interactors_workers!.status === 'up' && Date.now() - since < 10_000) {
          await sleep(200);
          result = await health.workers();
        }
        expect(slow.isRunning()).toBe(true);
        expect(result).toEqual({
          interactors_workers: {
            status: 'down',
            reason: 'worker loop of queue "slow" stuck',
            queues: { default: 'running', slow: 'stuck' },
          },
        });
      } finally {
        spy.mockRestore();
        hung.resolve(Infinity); // as BullMQ's own wait ends after an error: the loop goes on
      }
      // The loop moves again: alive again.
      let after = await health.workers();
      for (let i = 0; i < 50 && after.interactors_workers!.status !== 'up'; i++) {
        await sleep(100);
        after = await health.workers();
      }
      expect(after.interactors_workers!.status).toBe('up');
    });

    it('a loop busy with a long job (every slot taken) is alive, however long the job runs', async () => {
      const held = deferred();
      gate.held = held.promise;
      gate.release = () => held.resolve();
      const { app, health } = await boot(
        [Slow],
        { roles: ['worker'], queues: ['slow'] },
        { grace: 1_000 },
      );
      await app.get(Interactors).enqueue(Slow);
      await waitFor(
        () =>
          (
            app.get(INTERACTORS_JOB_QUEUE, { strict: false }) as {
              loops(): { queue: string; active: number }[];
            }
          )
            .loops()
            .some((loop) => loop.queue === 'slow' && loop.active === 1),
        5_000,
        'the job to start',
      );
      await sleep(2_500); // longer than the grace: only a busy loop takes no steps
      expect(await health.workers()).toEqual({
        interactors_workers: { status: 'up', queues: { default: 'running', slow: 'busy' } },
      });
    });

    it('a process without the worker role says so and is up', async () => {
      const { health } = await boot([], { roles: ['scheduler'] });
      expect(await health.workers()).toEqual({
        interactors_workers: { status: 'up', working: false },
      });
    });
  });
});
