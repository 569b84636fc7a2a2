import { afterAll, describe, expect, it } from 'vitest';
import { Interactor, LockLostError, Task, TaskRun } from '../../src/index.js';
import { sleep, waitFor } from '../src/helpers.js';
import { CONTRACT_TASKS, holds, lockHarness, PerGate, Singleton } from './lock-contract.js';
import { lockErrors, scanKeys, sharedRedis } from './support.js';

const WATCH_TTL = 600;

/** Runs until its run's signal aborts (at most 5 s) and says how it ended. */
@Task({ lock: { ttl: WATCH_TTL } })
class Watcher extends Interactor {
  async call() {
    const { signal } = TaskRun.current()!;
    holds.entered.push({
      task: 'Watcher',
      key: 'Watcher',
      token: TaskRun.current()!.fencingToken,
      at: Date.now(),
    });
    const until = Date.now() + 5_000;
    while (!signal.aborted && Date.now() < until) await sleep(10);
    return {
      aborted: signal.aborted,
      abortedAt: Date.now(),
      isLockLost: signal.reason instanceof LockLostError,
      message: (signal.reason as Error | undefined)?.message,
    };
  }
}

const TASKS = [...CONTRACT_TASKS, Watcher];

describe('lock keys, lost locks and failed releases (real Redis)', () => {
  const { boot } = lockHarness('redis', 'lock-loss');
  const redis = sharedRedis();
  afterAll(() => redis.quit());

  it('keys live under <prefix>:lock: (held only while running); fencing counters under <prefix>:fence:', async () => {
    const { first, prefix } = await boot({}, TASKS);
    holds.hold('singleton');
    holds.hold('gate-7');
    const runs = [first.interactors.run(Singleton), first.interactors.run(PerGate, 'gate-7')];
    await waitFor(() => holds.entered.length === 2, 5_000, 'both inside call()');
    expect(await scanKeys(redis, `${prefix}:lock:*`)).toEqual([
      `${prefix}:lock:PerGate:gate-7`,
      `${prefix}:lock:Singleton`,
    ]);
    const pttl = await redis.pttl(`${prefix}:lock:Singleton`);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(30_000);
    holds.release('singleton');
    holds.release('gate-7');
    expect((await Promise.all(runs)).map((run) => run.outcome)).toEqual(['success', 'success']);
    expect(await scanKeys(redis, `${prefix}:lock:*`)).toEqual([]);
    expect(await scanKeys(redis, `${prefix}:fence:*`)).toEqual([
      `${prefix}:fence:PerGate:gate-7`,
      `${prefix}:fence:Singleton`,
    ]);
    // An application key of the same name outside the namespace is left alone.
    await redis.set(`${prefix}:Singleton`, 'app data');
    expect((await first.interactors.run(Singleton)).outcome).toBe('success');
    expect(await redis.get(`${prefix}:Singleton`)).toBe('app data');
  });

  it.each([
    ['overwritten by another holder', 'overwrite'],
    ['deleted', 'delete'],
  ] as const)(
    'a lock %s mid-run aborts the run signal with a LockLostError and counts kind="extend"',
    async (_, how) => {
      const { first, second, prefix } = await boot({}, TASKS);
      const key = `${prefix}:lock:Watcher`;
      const running = first.interactors.run(Watcher);
      await waitFor(() => holds.entered.length === 1, 5_000, 'the watcher inside call()');
      // Let one extension go through first: losing the lock is noticed by a later one.
      await sleep(WATCH_TTL / 3 + 150);
      const lostAt = Date.now();
      if (how === 'overwrite') await redis.set(key, 'intruder', 'PX', 10_000);
      else await redis.del(key);
      const result = await running;

      expect(result.outcome).toBe('success');
      const value = result.value!;
      expect(value.aborted).toBe(true);
      expect(value.isLockLost).toBe(true);
      expect(value.message).toContain('Lock "Watcher" was lost');
      // Noticed by the next extension, every ttl/3.
      expect(value.abortedAt - lostAt).toBeLessThan(WATCH_TTL / 3 + 300);
      expect((await lockErrors(first.registry, 'Watcher')).extend).toBe(1);
      expect((await lockErrors(second.registry, 'Watcher')).extend).toBe(0);
      expect(
        first.logger.lines.some(
          (line) => line.startsWith('warn') && line.includes('Task "Watcher"'),
        ),
      ).toBe(true);
      if (how === 'overwrite') {
        // The run that lost its lock must not release the new holder's.
        expect(await redis.get(key)).toBe('intruder');
        expect((await second.interactors.run(Watcher)).outcome).toBe('locked');
        await redis.del(key);
      } else {
        expect(await redis.exists(key)).toBe(0);
      }
      // Free again: the next run takes the lock as usual.
      holds.entered = [];
      const next = first.interactors.run(Watcher);
      await waitFor(() => holds.entered.length === 1, 5_000, 'the next watcher');
      expect(await redis.exists(key)).toBe(1);
      await redis.del(key);
      expect((await next).value!.aborted).toBe(true);
    },
  );

  it('a release that fails after call() succeeded leaves the outcome success and counts kind="release"', async () => {
    const { first, prefix } = await boot({}, TASKS);
    holds.hold('singleton');
    const running = first.interactors.run(Singleton);
    await waitFor(() => holds.entered.length === 1, 5_000, 'the holder inside call()');
    // Gone before the end of the run (ttl 30 s: no extension is due), so the release fails.
    await redis.del(`${prefix}:lock:Singleton`);
    holds.release('singleton');
    const result = await running;
    expect(result).toMatchObject({ outcome: 'success', value: 'done' });
    expect(result.error).toBeUndefined();
    expect(await lockErrors(first.registry, 'Singleton')).toEqual({ extend: 0, release: 1 });
    expect(
      first.logger.lines.some((line) =>
        line.includes('Task "Singleton": releasing its lock failed'),
      ),
    ).toBe(true);
  });
});
