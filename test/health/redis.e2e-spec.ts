/**
 * Readiness and liveness through a Redis blip, on a redis-server of this file's own with a
 * password (never the shared one): frozen (SIGSTOP) for 3 s, readiness goes down and
 * liveness stays up, both up after; killed, readiness says the connection is down; and no
 * body holds the password, the URL or the address (nor any log line the password).
 */
import type { INestApplication } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Interactor, InteractorsHealthModule, InteractorsModule, Task } from '../../src/index.js';
import {
  Apps,
  CapturingLogger,
  freshMetrics,
  isolateEnv,
  OwnRedis,
  serve,
  sleep,
  uniquePrefix,
  type Answer,
} from './support.js';

@Task({ every: '1 second', queue: 'ticks' })
class Tick extends Interactor {
  call(): void {}
}

@Task({ every: '1 second', run: 'inline' })
class InlineTick extends Interactor {
  call(): void {}
}

const PASSWORD = 'health-s3cret-pa55';

describe('health through a Redis blip (own redis-server with a password)', () => {
  isolateEnv();
  const apps = new Apps();
  const own = new OwnRedis(PASSWORD);
  const answers: Answer[] = [];
  const logger = new CapturingLogger();

  beforeAll(() => own.start());
  afterEach(async () => {
    own.thaw();
    await apps.closeAll();
  });
  afterAll(async () => {
    await own.dispose();
    // No body of this file's checks holds the password, the URL or the address; no log
    // line (Terminus logs each failed check's details) holds the password.
    expect(answers.length).toBeGreaterThan(10);
    const bodies = answers.map((answer) => answer.text);
    for (const secret of [PASSWORD, 'redis://', '127.0.0.1', String(own.port)]) {
      expect(bodies.filter((text) => text.includes(secret))).toEqual([]);
    }
    expect(
      logger.lines.filter((line) => line.includes('Health Check has failed')).length,
    ).toBeGreaterThan(0);
    expect(logger.lines.filter((line) => line.includes(PASSWORD))).toEqual([]);
  });

  async function boot() {
    const app: INestApplication = await apps.boot(
      {
        imports: [
          InteractorsModule.forRoot({
            redis: own.url,
            prefix: uniquePrefix('health-redis'),
            queues: ['ticks'],
            commandTimeout: 500,
            reconnectMaxDelay: 200,
            ...freshMetrics(),
          }),
          InteractorsHealthModule.forRoot({ routes: true, staleness: true, grace: 10_000 }),
        ],
        providers: [Tick, InlineTick],
      },
      logger,
    );
    const get = await serve(app);
    return async (path: string) => {
      const answer = await get(path);
      answers.push(answer);
      return answer;
    };
  }

  it('frozen for 3 s: readiness down, liveness up; both up after', async () => {
    const get = await boot();
    await sleep(1_200); // a few ticks claimed, enqueued and run
    expect((await get('/health')).status).toBe(200);
    expect((await get('/health/live')).status).toBe(200);

    own.freeze();
    const frozenAt = Date.now();
    const ready: Answer[] = [];
    const live: Answer[] = [];
    while (Date.now() - frozenAt < 3_000) {
      const [readiness, liveness] = await Promise.all([get('/health'), get('/health/live')]);
      ready.push(readiness);
      live.push(liveness);
      await sleep(250);
    }
    own.thaw();

    expect(live.map((answer) => answer.status)).toEqual(live.map(() => 200));
    expect(ready.filter((answer) => answer.status === 503).length).toBeGreaterThan(0);
    const down = ready.find((answer) => answer.status === 503)!;
    expect(down.body.error).toEqual({
      interactors_redis: { status: 'down', reason: 'Redis did not answer a PING within 500 ms' },
    });
    // Liveness was judged from this process's own progress, never Redis.
    expect(down.body.details.interactors_scheduler.status).toBe('up');
    expect(down.body.details.interactors_workers.status).toBe('up');

    let after = await get('/health');
    for (let i = 0; i < 50 && after.status !== 200; i++) {
      await sleep(100);
      after = await get('/health');
    }
    expect(after.status).toBe(200);
    await sleep(2_000); // the scheduler caught up and the loops polled again
    expect((await get('/health')).status).toBe(200);
    expect((await get('/health/live')).status).toBe(200);
  });

  it('Redis gone: readiness and the staleness check say so in words of their own, liveness stays up', async () => {
    const get = await boot();
    await own.dispose();
    try {
      await sleep(300);
      const readiness = await get('/health');
      expect(readiness.status).toBe(503);
      expect(readiness.body.error.interactors_redis).toEqual({
        status: 'down',
        reason: 'Redis is unreachable (the connection is down or refused the PING)',
      });
      const tasks = await get('/health/tasks');
      expect(tasks.status).toBe(503);
      expect(tasks.body.error.interactors_tasks).toEqual({
        status: 'down',
        reason: "could not read the tasks' last successes from Redis",
      });
      expect((await get('/health/live')).status).toBe(200);
    } finally {
      await own.start();
    }
  });
});
