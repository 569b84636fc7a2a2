/**
 * The demo app (apps/demo, both roles, on a redis-server of this file's own so its fixed
 * prefixes touch nothing shared): `GET /health` and `GET /health/live` answer 200 all the
 * while `PatrolTheGates` runs every 5 seconds, and `GET /health/tasks` watches its three
 * tasks.
 */
import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Interactors } from '../../src/index.js';
import { Apps, isolateEnv, OwnRedis, serve, sleep } from './support.js';

describe('the demo mounts the health routes', () => {
  isolateEnv();
  const apps = new Apps();
  const own = new OwnRedis();
  let app: INestApplication;

  beforeAll(async () => {
    await own.start();
    // The demo reads its environment when its module is first evaluated.
    vi.stubEnv('REDIS_URL', own.url);
    vi.stubEnv('GATES_CRON', undefined);
    vi.stubEnv('NODE_ENV', undefined);
    const { AppModule } = await import('../../apps/demo/src/app.module.js');
    app = await apps.boot({ imports: [AppModule] });
  });

  afterAll(async () => {
    await apps.closeAll();
    await own.dispose();
    vi.unstubAllEnvs();
  });

  it('/health answers 200 while PatrolTheGates runs; /health/tasks watches the three tasks', async () => {
    const get = await serve(app);
    const interactors = app.get(Interactors);
    const statuses: number[] = [];
    const started = Date.now();
    let patrols = 0;
    // Up to two patrol ticks (every 5 s), checking health all along.
    while (Date.now() - started < 11_000 && patrols < 2) {
      const [ready, live] = await Promise.all([get('/health'), get('/health/live')]);
      statuses.push(ready.status, live.status);
      patrols = (await interactors.history('PatrolTheGates')).filter(
        (run) => run.outcome === 'success',
      ).length;
      await sleep(250);
    }
    expect(patrols).toBeGreaterThanOrEqual(1);
    expect(statuses.every((status) => status === 200)).toBe(true);

    const ready = await get('/health');
    expect(ready.body.details).toEqual({
      interactors_scheduler: { status: 'up', tasks: 3 },
      interactors_workers: {
        status: 'up',
        queues: { default: expect.any(String), gates: expect.any(String) },
      },
      interactors_redis: { status: 'up', transport: 'redis' },
    });
    const tasks = await get('/health/tasks');
    expect(tasks.status).toBe(200);
    expect(tasks.body.details.interactors_tasks).toEqual({ status: 'up', watched: 3 });
  });
});
