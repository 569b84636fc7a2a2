import { randomUUID } from 'node:crypto';
import type { LockBackend, LockLease } from './lock-backend.interface.js';

/** The in-process twin of the Redis locks: same semantics, one process. @internal */
export class MemoryLockBackend implements LockBackend {
  private readonly held = new Map<string, { owner: string; expiresAt: number }>();
  private readonly fences = new Map<string, number>();

  async tryAcquire(key: string, ttl: number): Promise<LockLease | undefined> {
    const now = Date.now();
    const current = this.held.get(key);
    if (current && current.expiresAt > now) return undefined;
    const owner = randomUUID();
    this.held.set(key, { owner, expiresAt: now + ttl });
    const fencingToken = (this.fences.get(key) ?? 0) + 1;
    this.fences.set(key, fencingToken);
    const mine = () => {
      const entry = this.held.get(key);
      return entry?.owner === owner && entry.expiresAt > Date.now() ? entry : undefined;
    };
    return {
      key,
      fencingToken,
      extend: async (next) => {
        const entry = mine();
        if (!entry) throw new Error('the lock expired or is held by another');
        entry.expiresAt = Date.now() + next;
      },
      release: async () => {
        if (mine()) this.held.delete(key);
      },
    };
  }
}
