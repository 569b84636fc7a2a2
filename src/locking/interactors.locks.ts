import { Inject, Injectable } from '@nestjs/common';
import { LockLostError } from '../errors/lock.errors.js';
import { INTERACTORS_LOCKS } from '../interactors.constants.js';
import type { LockBackend, LockLease } from './lock-backend.interface.js';

/** What `withLock` resolves to. @publicApi */
export type LockedRun<T> =
  { readonly acquired: true; readonly value: T } | { readonly acquired: false };

/** A held lock kept alive by an extension loop. @internal */
export interface KeptLock {
  readonly lease: LockLease;
  /** Stops extending and releases; rejects when the release failed (the lock then expires by itself). */
  release(): Promise<void>;
}

/**
 * Cluster-wide locks on the module's Redis (or in memory), the ones `lock: true` tasks use,
 * for any code: `await locks.withLock('nightly-report', () => build())`.
 * @publicApi
 */
@Injectable()
export class InteractorsLocks {
  constructor(@Inject(INTERACTORS_LOCKS) private readonly backend: LockBackend) {}

  /**
   * Runs `fn` while holding `key`, extended every ttl/3 while it runs; resolves to
   * `{ acquired: false }` at once when another holder has it.
   * @throws LockUnavailableError when the lock backend cannot be reached (fail closed).
   */
  async withLock<T>(
    key: string,
    fn: (signal: AbortSignal, lease: LockLease) => T | Promise<T>,
    options: { ttl?: number } = {},
  ): Promise<LockedRun<Awaited<T>>> {
    const controller = new AbortController();
    const kept = await this.keep(key, options.ttl ?? 30_000, (error) => controller.abort(error));
    if (!kept) return { acquired: false };
    try {
      return { acquired: true, value: await fn(controller.signal, kept.lease) };
    } finally {
      await kept.release().catch(() => undefined);
    }
  }

  /**
   * Acquires once and keeps the lock extended every ttl/3 until released. A failed
   * extension stops the loop (no tight retries) and calls `onLost`.
   * @internal
   */
  async keep(
    key: string,
    ttl: number,
    onLost: (error: LockLostError) => void,
  ): Promise<KeptLock | undefined> {
    const lease = await this.backend.tryAcquire(key, ttl);
    if (!lease) return undefined;
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const schedule = () => {
      timer = setTimeout(() => {
        lease.extend(ttl).then(
          () => !stopped && schedule(),
          (error: Error) => !stopped && onLost(new LockLostError(key, error.message)),
        );
      }, ttl / 3);
    };
    schedule();
    return {
      lease,
      release: () => {
        stopped = true;
        clearTimeout(timer);
        return lease.release();
      },
    };
  }
}
