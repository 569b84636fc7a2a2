import { randomBytes } from 'node:crypto';
import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { Interactor, Interactors, InteractorsModule, Task, TaskRun } from '../../src/index.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('lock smoke', () => {
  const prefix = `test:lock-smoke:${randomBytes(4).toString('hex')}`;
  const redis = new Redis(REDIS_URL);
  afterAll(async () => {
    const keys: string[] = [];
    for await (const b of redis.scanStream({ match: `${prefix}:*` })) keys.push(...b);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it.each([true, false])(
    'one success and one locked when two run at once (redis: %s)',
    async (useRedis) => {
      const tokens: Array<number | undefined> = [];
      @Task({ lock: true })
      class Slow extends Interactor {
        async call() {
          tokens.push(TaskRun.current()!.fencingToken);
          await new Promise((r) => setTimeout(r, 300));
          return 'done';
        }
      }
      @Module({ providers: [Slow] })
      class M {}
      const make = () =>
        Test.createTestingModule({
          imports: [
            InteractorsModule.forRoot({
              redis: useRedis ? REDIS_URL : undefined,
              prefix,
              metrics: { registry: new Registry() },
            }),
            M,
          ],
        })
          .compile()
          .then((m) => m.init());
      const [a, b] = await Promise.all([make(), make()]);
      try {
        const results = await Promise.all([
          a.get(Interactors).run(Slow),
          (useRedis ? b : a).get(Interactors).run(Slow),
        ]);
        expect(results.map((r) => r.outcome).toSorted()).toEqual(['locked', 'success']);
        const again = await a.get(Interactors).run(Slow);
        expect(again.outcome).toBe('success');
        expect(tokens.length).toBe(2);
        expect(tokens[1]!).toBeGreaterThan(tokens[0]!);
      } finally {
        await a.close();
        await b.close();
      }
    },
  );
});
