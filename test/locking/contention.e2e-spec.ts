import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Workers, type LockWorker } from './processes.js';
import { deleteUnder, REDIS_URL, scanKeys, sharedRedis } from './support.js';

/**
 * Five OS processes hammer one locked task; each `call()` INCRs a shared Redis counter,
 * waits a little and DECRs it, so the counter is the number of runs inside `call()` at once.
 */
const PROCESSES = 5;
const ATTEMPTS = 200;

describe('lock contention across processes (real Redis)', () => {
  const prefix = `test:lock-contention:${randomBytes(5).toString('hex')}`;
  const redis = sharedRedis();
  const workers = new Workers();

  afterAll(async () => {
    await workers.stopAll();
    await deleteUnder(redis, prefix);
    await redis.quit();
  });

  async function hammer(sub: string, processes: number, env: Record<string, string | number>) {
    const started: LockWorker[] = [];
    for (let i = 0; i < processes; i++) {
      started.push(workers.start({ REDIS_URL, PREFIX: `${prefix}:${sub}`, COUNTER: 1, ...env }));
    }
    await Promise.all(started.map((worker) => worker.ready));
    for (const worker of started) worker.go();
    const done = await Promise.all(started.map((worker) => worker.next('DONE', 40_000)));
    await Promise.all(started.map((worker) => worker.exited));
    const counts: Record<string, number> = {};
    for (const { data } of done) {
      for (const [outcome, n] of Object.entries(data.counts as Record<string, number>)) {
        counts[outcome] = (counts[outcome] ?? 0) + n;
      }
    }
    return {
      counts,
      maxSeen: Math.max(...done.map(({ data }) => data.maxSeen as number)),
      successesPerProcess: done.map(
        ({ data }) => (data.counts as Record<string, number>).success ?? 0,
      ),
      counter: await redis.get(`${prefix}:${sub}:counter`),
    };
  }

  it(`${PROCESSES} processes × ${ATTEMPTS} runs: at most one inside call() at any time; every run success or locked`, async () => {
    const { counts, maxSeen, successesPerProcess, counter } = await hammer('locked', PROCESSES, {
      ATTEMPTS,
      HOLD_MS: 2,
      TTL: 5_000,
    });
    console.info(
      `contention: max concurrent holders ${maxSeen}; outcomes ${JSON.stringify(counts)}; successes per process ${successesPerProcess.join(', ')}`,
    );
    expect(maxSeen).toBe(1);
    expect(Object.keys(counts).toSorted()).toEqual(['locked', 'success']);
    expect(counts.success! + counts.locked!).toBe(PROCESSES * ATTEMPTS);
    expect(counts.success).toBeGreaterThan(0);
    expect(counts.locked).toBeGreaterThan(0);
    expect(counter).toBe('0');
    // Every holder released: no lock key is left behind.
    expect(await scanKeys(redis, `${prefix}:locked:lock:*`)).toEqual([]);
  });

  it('control: the same load without `lock` does overlap (the test above can see a broken lock)', async () => {
    const { counts, maxSeen } = await hammer('unlocked', 3, {
      ATTEMPTS: 50,
      HOLD_MS: 2,
      LOCK: 'off',
    });
    console.info(`contention control (no lock): max concurrent ${maxSeen}`);
    expect(counts).toEqual({ success: 3 * 50 });
    expect(maxSeen).toBeGreaterThan(1);
  });
});
