/**
 * Shutdown while Redis is frozen (SIGSTOP of the test's own redis-server), with a locked
 * run and a job still going past the grace: the app closes within grace + 2 s all the same
 * (every step shares one deadline, and freeing abandoned locks is bounded), and the run is
 * told it was abandoned.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Interactor, Interactors, InteractorsModule, Task, TaskRun } from '../../src/index.js';
import { Apps, deferred, isolateEnv, sleep, waitFor } from '../src/helpers.js';
import { FaultRedis, report } from './harness/index.js';

const started = { locked: false, job: false };
const aborted: string[] = [];
const never = deferred();

@Task({ lock: { ttl: 5_000 }, run: 'inline' })
class HeldThroughTheFreeze extends Interactor {
  async call(): Promise<void> {
    started.locked = true;
    TaskRun.current()!.signal.addEventListener('abort', () => aborted.push('locked'));
    await never.promise;
  }
}

@Task({ queue: 'default' })
class JobThroughTheFreeze extends Interactor {
  async call(): Promise<void> {
    started.job = true;
    await never.promise;
  }
}

describe('Faults: shutdown while Redis is frozen', () => {
  isolateEnv();
  const redis = new FaultRedis();
  const apps = new Apps();
  afterAll(async () => {
    never.resolve();
    await redis.dispose();
  });

  it('closes within grace + 2 s, past the grace, with runs and a lock in flight', async (context) => {
    await redis.start();
    const grace = 1_000;
    const app = await apps.boot({
      imports: [
        InteractorsModule.forRoot({
          redis: redis.url,
          prefix: 'faults:shutdown-frozen',
          shutdownGrace: grace,
          roles: ['worker'],
        }),
      ],
      providers: [HeldThroughTheFreeze, JobThroughTheFreeze],
    });
    const interactors = app.get(Interactors);
    void interactors.run(HeldThroughTheFreeze);
    await interactors.enqueue(JobThroughTheFreeze);
    await waitFor(() => started.locked && started.job, 10_000, 'both runs to start');
    redis.freeze();
    await sleep(200);
    const signalAt = Date.now();
    await apps.closeAll();
    const closedMs = Date.now() - signalAt;
    redis.thaw();
    report(context, '6b. shutdown while Redis is frozen', {
      graceMs: grace,
      closedAfterMs: closedMs,
      abandonedRunsTold: aborted.length,
    });
    expect(closedMs).toBeLessThanOrEqual(grace + 2_000);
    expect(aborted).toEqual(['locked']);
  });
});
