/**
 * While the app shuts down (a run in flight holds `app.close()` up to the shutdown grace,
 * and the HTTP server still answers), every indicator reports shutting down and every
 * route answers 503.
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
} from '../../src/index.js';
import { deferred } from '../src/helpers.js';
import {
  Apps,
  deleteKeys,
  freshMetrics,
  isolateEnv,
  REDIS_URL,
  serve,
  sleep,
  uniquePrefix,
} from './support.js';

const held = { run: deferred(), started: deferred() };

@Task({ every: '1 hour', run: 'inline' })
class LongRun extends Interactor {
  async call(): Promise<void> {
    held.started.resolve();
    await held.run.promise;
  }
}

describe('health during shutdown', () => {
  isolateEnv();
  const apps = new Apps();
  const prefix = uniquePrefix('health-shutdown');
  afterEach(async () => {
    held.run.resolve();
    await apps.closeAll();
    await deleteKeys(prefix);
  });

  it('every indicator reports shutting down, and every route answers 503', async () => {
    const app: INestApplication = await apps.boot({
      imports: [
        InteractorsModule.forRoot({ redis: REDIS_URL, prefix, ...freshMetrics() }),
        InteractorsHealthModule.forRoot({ routes: true, staleness: true }),
      ],
      providers: [LongRun],
    });
    const get = await serve(app);
    expect((await get('/health')).status).toBe(200);
    expect((await get('/health/live')).status).toBe(200);

    void app.get(Interactors).run(LongRun);
    await held.started.promise;
    const closing = app.close();
    await sleep(200); // the run holds app.close() in its shutdown grace

    for (const path of ['/health', '/health/live', '/health/tasks']) {
      const answer = await get(path);
      expect(answer.status, path).toBe(503);
      expect(answer.body.status, path).toBe('shutting_down');
      for (const detail of Object.values(answer.body.details)) {
        expect(detail, path).toEqual({ status: 'down', reason: 'shutting down' });
      }
    }
    const health = app.get(InteractorsHealthIndicator);
    expect(await health.scheduler()).toEqual({
      interactors_scheduler: { status: 'down', reason: 'shutting down' },
    });

    held.run.resolve();
    await closing;
  });
});
