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
  /** Locks of task runs kept now, each with what to tell its run when it is abandoned. */
  private readonly held = new Map<KeptLock, (reason: Error) => void>();
  /** Set by `releaseAll()`: a task run's lock acquired after it would be left to its ttl. */
  private abandoned: Error | undefined;

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
   * extension stops the loop (no tight retries) and calls `onLost`. A lock kept for a task
   * run passes `onAbandoned`: `releaseAll()` (shutdown past the grace) tells it and frees
   * the lock; locks taken otherwise (`withLock`) are left to their holders.
   * @internal
   */
  async keep(
    key: string,
    ttl: number,
    onLost: (error: LockLostError) => void,
    onAbandoned?: (reason: Error) => void,
  ): Promise<KeptLock | undefined> {
    const lease = await this.backend.tryAcquire(key, ttl);
    if (!lease) return undefined;
    if (onAbandoned && this.abandoned) {
      // Acquired while shutdown released the others (the acquire was on its way): nobody
      // would release this one, so it is given back at once and the run told why.
      await lease.release().catch(() => undefined);
      throw this.abandoned;
    }
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    let released: Promise<void> | undefined;
    const schedule = () => {
      timer = setTimeout(() => {
        lease.extend(ttl).then(
          () => !stopped && schedule(),
          (error: Error) => !stopped && onLost(new LockLostError(key, error.message)),
        );
      }, ttl / 3);
    };
    schedule();
    const kept: KeptLock = {
      lease,
      // Once only: shutdown may release a lock whose run still goes on and releases it later.
      release: () =>
        (released ??= (() => {
          stopped = true;
          clearTimeout(timer);
          this.held.delete(kept);
          return lease.release();
        })()),
    };
    if (onAbandoned) this.held.set(kept, onAbandoned);
    return kept;
  }

  /**
   * Releases the locks of task runs still going: at shutdown, after the grace. A process
   * about to exit must not leave them to expire by their ttl (30 s by default) and keep
   * their tasks `locked` cluster-wide meanwhile. Each run's signal is aborted first; its
   * `call()` may go on until the process exits, so it may overlap the next holder's run
   * for that long. Resolves to how many locks it released.
   * @internal
   */
  async releaseAll(reason: Error): Promise<number> {
    this.abandoned = reason;
    const held = [...this.held];
    for (const [, onAbandoned] of held) onAbandoned(reason);
    await Promise.all(held.map(([kept]) => kept.release().catch(() => undefined)));
    return held.length;
  }
}
