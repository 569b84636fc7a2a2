/**
 * Regressions from the review of Operations: a job that waited out a pause gets its whole
 * lock window after the resume; a paused explicit job's deferrals do not flood the history.
 */
import type { INestApplication } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Interactor,
  Interactors,
  InteractorsModule,
  Task,
  type InteractorsModuleOptions,
} from '../../src/index.js';
import {
  Apps,
  deleteKeys,
  freshMetrics,
  isolateEnv,
  REDIS_URL,
  sleep,
  uniquePrefix,
  waitFor,
} from '../health/support.js';

const ran: string[] = [];
@Task({ queue: 'q', lock: true })
class Locked extends Interactor {
  async call(tag: string): Promise<void> {
    ran.push(tag);
    if (tag === 'hold') await sleep(1_000);
  }
}

describe('operations review: pause', () => {
  isolateEnv();
  const apps = new Apps();
  const prefixes: string[] = [];
  afterEach(async () => {
    await apps.closeAll();
    await Promise.all(prefixes.splice(0).map((p) => deleteKeys(p)));
  });
  async function boot(prefix: string, roles: string[], options: InteractorsModuleOptions = {}) {
    const app: INestApplication = await apps.boot({
      imports: [
        InteractorsModule.forRoot({
          redis: REDIS_URL,
          prefix,
          queues: ['q'],
          roles: roles as never,
          ...freshMetrics(),
          pausedJob: { retryDelay: 100 },
          lockedJob: { retryDelay: 100, window: 2_000 },
          ...options,
        }),
      ],
      providers: [Locked],
    });
    return app.get(Interactors);
  }

  it('a job that waited out a pause gets the whole lockedJob window after the resume (not counted from enqueue)', async () => {
    const prefix = uniquePrefix('regressions-pause');
    prefixes.push(prefix);
    const operator = await boot(prefix, []);
    const worker = await boot(prefix, ['worker']);
    await operator.pause(Locked);
    await sleep(200);
    await operator.enqueue(Locked, 'queued');
    await sleep(2_500); // paused longer than lockedJob.window
    const holding = worker.call(Locked, 'hold'); // someone holds the lock for 1 s
    await sleep(100);
    await operator.resume(Locked);
    await holding;
    await waitFor(() => ran.includes('queued'), 5_000, 'the job to run once the lock is free');
    expect(await operator.failed(Locked)).toEqual([]);
  });

  it('deferrals of a paused explicit job are not runs: the history keeps the real ones', async () => {
    const prefix = uniquePrefix('regressions-pause');
    prefixes.push(prefix);
    const operator = await boot(prefix, [], { history: { limit: 50 } });
    await boot(prefix, ['worker']);
    await operator.run(Locked, 'real-run'); // the one real run an operator cares about
    await operator.pause(Locked);
    await sleep(200);
    await operator.enqueue(Locked, 'a');
    await sleep(3_000);
    const history = await operator.history(Locked, { limit: 50 });
    const counts = history.reduce<Record<string, number>>(
      (m, r) => ((m[`${r.outcome}/${r.reason}`] = (m[`${r.outcome}/${r.reason}`] ?? 0) + 1), m),
      {},
    );
    expect(counts).toEqual({ 'success/undefined': 1 });
  });
});
