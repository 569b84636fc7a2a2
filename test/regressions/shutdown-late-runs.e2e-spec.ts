/**
 * Shutdown waits for runs that start while it waits (an HTTP request, a job fetched a
 * moment late), within the grace, and frees no lock of a run that is still inside it: a
 * released lock lets another process overlap a run the grace promised to let finish.
 */
import { Injectable } from '@nestjs/common';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Interactors, InteractorsModule, Task, TaskRun } from '../../src/index.js';
import { INTERACTORS_JOB_QUEUE } from '../../src/interactors.constants.js';
import type { JobQueue } from '../../src/queueing/job-queue.interface.js';
import { TaskDispatcher } from '../../src/scheduling/task.dispatcher.js';
import {
  Apps,
  CapturingLogger,
  REDIS_URL,
  deleteKeys,
  isolateEnv,
  sleep,
  uniquePrefix,
} from '../src/helpers.js';

const prefix = uniquePrefix('shutdown-late-runs');
const client = new Redis(REDIS_URL);
afterAll(async () => {
  await deleteKeys(prefix);
  client.disconnect();
});

const seen: Array<{ ms: number; aborted: boolean; keyHeld: boolean; endedAt: number }> = [];

@Task({ lock: true })
@Injectable()
class LateLocked {
  async call(ms: number): Promise<void> {
    await sleep(ms);
    const key = await client.get(`${prefix}:lock:LateLocked`);
    seen.push({
      ms,
      aborted: TaskRun.current()!.signal.aborted,
      keyHeld: key !== null,
      endedAt: Date.now(),
    });
  }
}

@Task()
@Injectable()
class Short {
  async call(ms: number): Promise<void> {
    await sleep(ms);
  }
}

describe('shutdown: runs that start during the drain', () => {
  isolateEnv();
  const apps = new Apps();

  it('are waited for within the grace, and keep their locks until they end', async () => {
    const logger = new CapturingLogger();
    const app = await apps.boot(
      {
        imports: [
          InteractorsModule.forRoot({
            redis: REDIS_URL,
            prefix,
            shutdownGrace: 3_000,
            roles: ['worker'],
          }),
        ],
        providers: [LateLocked, Short],
      },
      logger,
    );
    const interactors = app.get(Interactors);
    // A short run is in flight when shutdown begins; the locked run starts 200 ms into the
    // drain, after the short one's snapshot was taken (and long before it ends, however
    // slow the machine), and ends 1.2 s later: well inside the 3 s grace.
    const short = interactors.run(Short, 1_000);
    const closing = Date.now();
    const closed = app.close();
    await sleep(200);
    const late = interactors.run(LateLocked, 1_000);
    await closed;
    const took = Date.now() - closing;
    const result = await late;
    await short;

    expect(result.outcome).toBe('success');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ aborted: false, keyHeld: true });
    // The close waited for the late run, and not for the whole grace.
    expect(seen[0]!.endedAt).toBeLessThanOrEqual(closing + took);
    expect(took).toBeLessThan(2_500);
    expect(JSON.stringify(logger)).not.toMatch(/still in flight|Released \d+ lock/);
    expect(await client.exists(`${prefix}:lock:LateLocked`)).toBe(0);
  });

  it('stops the workers fetching while the dispatcher is still stopping', async () => {
    const app = await apps.boot({
      imports: [
        InteractorsModule.forRoot({
          redis: REDIS_URL,
          prefix,
          shutdownGrace: 3_000,
          roles: ['worker', 'scheduler'],
        }),
      ],
      providers: [Short],
    });
    // A dispatcher slow to stop, as with a claim in flight to a Redis that answers late.
    const dispatcher = app.get(TaskDispatcher, { strict: false });
    const stop = dispatcher.stop.bind(dispatcher);
    let dispatcherStopped: number | undefined;
    vi.spyOn(dispatcher, 'stop').mockImplementation(async () => {
      await sleep(500);
      await stop();
      dispatcherStopped = Date.now();
    });
    const jobs = app.get<JobQueue>(INTERACTORS_JOB_QUEUE, { strict: false });
    let workersStopping: number | undefined;
    const stopWorkers = jobs.stopWorkers.bind(jobs);
    vi.spyOn(jobs, 'stopWorkers').mockImplementation((ms) => {
      workersStopping ??= Date.now();
      return stopWorkers(ms);
    });
    await app.close();
    expect(workersStopping).toBeDefined();
    expect(dispatcherStopped).toBeDefined();
    expect(workersStopping!).toBeLessThan(dispatcherStopped! - 400);
  });
});
