import { ExecutionError, Redlock, ResourceLockedError, type Lock } from '@sesamecare-oss/redlock';
import type { Redis } from 'ioredis';
import { LockUnavailableError } from '../errors/lock.errors.js';
import type { LockBackend, LockLease } from './lock-backend.interface.js';

/**
 * Locks on Redis with redlock's primitives (`acquire`, `extend`, `release`; never
 * `using()`, whose release failure replaces the routine's result). @internal
 */
export class RedisLockBackend implements LockBackend {
  private readonly redlock: Redlock;

  constructor(
    /** The module's fail-fast client, with auto-pipelining on. */
    private readonly client: Redis,
    private readonly prefix: string,
  ) {
    // Acquire once: a held lock means `locked`, never a wait.
    this.redlock = new Redlock([client], { retryCount: 0 });
    // Redlock emits every failed vote; they are mapped to outcomes where they matter.
    this.redlock.on('error', () => undefined);
  }

  async tryAcquire(key: string, ttl: number): Promise<LockLease | undefined> {
    // Both commands leave in one write (auto-pipelining): one round trip for lock and token.
    const acquiring = this.redlock.acquire([`${this.prefix}:lock:${key}`], Math.ceil(ttl));
    const fencing = this.client.incr(`${this.prefix}:fence:${key}`).catch(() => undefined);
    let lock: Lock;
    try {
      lock = await acquiring;
    } catch (error) {
      const votes = await votesAgainst(error);
      if (votes.length && votes.every((vote) => vote instanceof ResourceLockedError))
        return undefined;
      throw new LockUnavailableError(key, (votes[0] ?? (error as Error))?.message ?? String(error));
    }
    const fencingToken = await fencing;
    let current = lock;
    return {
      key,
      fencingToken,
      extend: async (next) => {
        current = await current.extend(Math.ceil(next));
      },
      release: async () => {
        try {
          await current.release();
        } catch (error) {
          const votes = await votesAgainst(error);
          throw new Error((votes[0] ?? (error as Error))?.message ?? String(error), {
            cause: error,
          });
        }
      },
    };
  }
}

/** The errors behind redlock's "unable to achieve a quorum": a holder's, or an outage's. */
async function votesAgainst(error: unknown): Promise<Error[]> {
  if (!(error instanceof ExecutionError)) return [];
  const stats = await Promise.all(error.attempts);
  return stats.flatMap((attempt) => [...attempt.votesAgainst.values()]);
}
