/**
 * Shutdown past the grace releases the locks of abandoned runs. A run whose acquire was
 * still on its way then must not keep the lock it gets (nobody would release it before its
 * ttl), and a step after the lock that throws must not leave the lock held and extended.
 */
import { describe, expect, it } from 'vitest';
import { InteractorsLocks } from '../../src/locking/interactors.locks.js';
import { MemoryLockBackend } from '../../src/locking/memory.lock-backend.js';
import { LockInterceptor } from '../../src/interceptors/lock.interceptor.js';
import { InteractorsMetrics } from '../../src/metrics/interactors.metrics.js';
import type { InteractorsConfig } from '../../src/interactors.config.js';
import type { TaskDefinition } from '../../src/discovery/task-definition.js';
import type { ActiveRun } from '../../src/execution/task-run.js';

describe('locks of abandoned runs', () => {
  it('a task-run lock acquired after releaseAll is given back at once and the run told why', async () => {
    const backend = new MemoryLockBackend();
    const locks = new InteractorsLocks(backend);
    const reason = new Error('abandoned: still running when the shutdown grace ended');
    expect(await locks.releaseAll(reason)).toBe(0);
    await expect(
      locks.keep(
        'late',
        1_000,
        () => undefined,
        () => undefined,
      ),
    ).rejects.toBe(reason);
    // Free again: another holder gets it.
    const again = await backend.tryAcquire('late', 1_000);
    expect(again).toBeDefined();
    await again!.release();
  });

  it('a lock taken by withLock after releaseAll is the caller’s own and kept', async () => {
    const locks = new InteractorsLocks(new MemoryLockBackend());
    await locks.releaseAll(new Error('abandoned'));
    await expect(locks.withLock('mine', () => 'done', { ttl: 1_000 })).resolves.toEqual({
      acquired: true,
      value: 'done',
    });
  });
});

describe('the lock step', () => {
  it('releases the lock when a later step throws', async () => {
    const backend = new MemoryLockBackend();
    const locks = new InteractorsLocks(backend);
    const metrics = new InteractorsMetrics({ metrics: false } as InteractorsConfig);
    const step = new LockInterceptor(locks, metrics).bind({
      name: 'Thrown',
      options: { lock: { ttl: 1_000 }, metrics: false },
    } as unknown as TaskDefinition)!;
    const run = { args: [], abort: () => undefined } as unknown as ActiveRun;
    await expect(step(run, () => Promise.reject(new Error('a later step broke')))).rejects.toThrow(
      'a later step broke',
    );
    const again = await backend.tryAcquire('Thrown', 1_000);
    expect(again).toBeDefined();
    await again!.release();
  });
});
