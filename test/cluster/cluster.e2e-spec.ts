import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startApp, type AppProcess } from './processes.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const TICKS = 22;

describe('three scheduler processes sharing one Redis', () => {
  const redis = new Redis(REDIS_URL);
  let apps: AppProcess[] = [];
  const prefixes: string[] = [];

  afterEach(async () => {
    await Promise.all(apps.map((app) => app.stop()));
    apps = [];
  });

  afterAll(async () => {
    for (const prefix of prefixes) {
      const keys: string[] = [];
      for await (const batch of redis.scanStream({ match: `${prefix}:*`, count: 1000 }))
        keys.push(...batch);
      if (keys.length) await redis.del(...keys);
    }
    await redis.quit();
  });

  it.each(['queue', 'inline'] as const)(
    'claims and runs every tick exactly once (run: %s)',
    async (runMode) => {
      const prefix = `test:cluster:${runMode}:${randomBytes(4).toString('hex')}`;
      prefixes.push(prefix);
      apps = [0, 1, 2].map(() =>
        startApp('cluster-app', {
          REDIS_URL,
          PREFIX: prefix,
          RUN_MODE: runMode,
          INTERACTORS_ROLES: 'scheduler,worker',
        }),
      );
      await Promise.all(apps.map((app) => app.ready));
      const allUp = Date.now();
      await sleep(TICKS * 1000);
      const stoppedAt = Date.now();
      const codes = await Promise.all(apps.map((app) => app.stop()));
      expect(
        codes.every((code) => code === 0 || code === null),
        apps.map((a) => a.output()).join('\n'),
      ).toBe(true);

      const runs = (await redis.lrange(`${prefix}:runs`, 0, -1)).map((line) => {
        const [task, dueAt, pid, trigger] = line.split('|');
        return { task, dueAt: Number(dueAt), pid: Number(pid), trigger };
      });
      const perTick = new Map<number, number>();
      for (const run of runs) perTick.set(run.dueAt, (perTick.get(run.dueAt) ?? 0) + 1);

      // None duplicated: over the whole run, no due instant ran twice.
      const duplicated = [...perTick].filter(([, count]) => count > 1);
      expect(duplicated).toEqual([]);
      // None missing: every second from when all three were up until shortly before the stop ran.
      const first = Math.ceil(allUp / 1000) * 1000;
      const last = Math.floor((stoppedAt - 1500) / 1000) * 1000;
      const expected: number[] = [];
      for (let at = first; at <= last; at += 1000) expected.push(at);
      expect(expected.length).toBeGreaterThanOrEqual(TICKS - 3);
      expect(expected.filter((at) => !perTick.has(at))).toEqual([]);
      expect(
        runs.every(
          (run) =>
            run.task === 'ClusterTick' && run.trigger === (runMode === 'queue' ? 'queue' : 'cron'),
        ),
      ).toBe(true);
      // The work is spread over the cluster rather than pinned to one process.
      expect(new Set(runs.map((run) => run.pid)).size).toBeGreaterThan(1);
    },
    90_000,
  );
});
