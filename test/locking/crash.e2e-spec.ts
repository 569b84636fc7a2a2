import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../src/helpers.js';
import { Workers } from './processes.js';
import { deleteUnder, REDIS_URL, scanKeys, sharedRedis } from './support.js';

const TTL = 2_000;

describe('a holder killed with SIGKILL mid-run (real Redis, real processes)', () => {
  const prefix = `test:lock-crash:${randomBytes(5).toString('hex')}`;
  const redis = sharedRedis();
  const workers = new Workers();

  afterAll(async () => {
    await workers.stopAll();
    await deleteUnder(redis, prefix);
    await redis.quit();
  });

  it('another process acquires within ttl + 1 s; no lock key is left behind', async () => {
    const holder = workers.start({ REDIS_URL, PREFIX: prefix, TTL, HOLD_MS: 60_000 });
    const waiter = workers.start({
      REDIS_URL,
      PREFIX: prefix,
      TTL,
      HOLD_MS: 50,
      ATTEMPTS: 1_000_000,
      UNTIL_SUCCESS: 1,
      PAUSE_MS: 20,
      REPORT_LOCKED: 1,
    });
    await Promise.all([holder.ready, waiter.ready]);
    holder.go();
    const held = await holder.next('ENTER');
    const lockKey = `${prefix}:lock:Guarded`;
    expect(await redis.exists(lockKey)).toBe(1);

    waiter.go();
    const lockedRuns = () =>
      waiter.lines.filter((line) => line.kind === 'RUN' && line.data.outcome === 'locked');
    // Past the first ttl the holder's extensions are what keeps the waiter out.
    await waitFor(
      () => lockedRuns().some((line) => line.data.at > held.data.at + TTL + 300),
      10_000,
      'locked runs in the waiter after one ttl',
    );
    expect(waiter.lines.some((line) => line.kind === 'ENTER')).toBe(false);

    const killedAt = Date.now();
    holder.child.kill('SIGKILL');
    expect(await holder.exited).toBe('SIGKILL');

    const entered = await waiter.next('ENTER', TTL + 5_000);
    const acquiredAfter = entered.data.at - killedAt;
    console.info(
      `crash: lock acquired by another process ${acquiredAfter} ms after SIGKILL of its holder (ttl ${TTL} ms)`,
    );
    expect(acquiredAfter).toBeLessThanOrEqual(TTL + 1_000);
    // It expired rather than being released: the holder died without a word. The last
    // extension happened at most ttl/3 before the kill.
    expect(acquiredAfter).toBeGreaterThanOrEqual((TTL * 2) / 3 - 100);
    expect(entered.data.token).toBeGreaterThan(held.data.token);
    expect(lockedRuns().length).toBeGreaterThan(5);

    const done = await waiter.next('DONE');
    expect(done.data.counts.success).toBe(1);
    expect(await waiter.exited).toBe(0);
    expect(await redis.exists(lockKey)).toBe(0);
    expect(await scanKeys(redis, `${prefix}:lock:*`)).toEqual([]);
    // The fencing counter stays (it must only ever grow), and is past every token handed out.
    expect(Number(await redis.get(`${prefix}:fence:Guarded`))).toBeGreaterThanOrEqual(
      entered.data.token,
    );
  });
});
