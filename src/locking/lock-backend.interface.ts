/** A held lock. @publicApi */
export interface LockLease {
  /** The lock's key, as given (without the module prefix). */
  readonly key: string;
  /**
   * Strictly increasing per key on a single Redis (and in memory); absent with several
   * independent masters, where no counter can be.
   */
  readonly fencingToken: number | undefined;
  /** Extends the lock to `ttl` ms from now. Rejects when the lock was lost. */
  extend(ttl: number): Promise<void>;
  /** Releases the lock; rejects when the backend cannot be reached. */
  release(): Promise<void>;
}

/** The lock port, with a Redis (redlock) and an in-memory adapter. @internal */
export interface LockBackend {
  /**
   * Tries once, without retrying: the lease, or undefined when another holder has it.
   * @throws LockUnavailableError when the backend cannot be reached.
   */
  tryAcquire(key: string, ttl: number): Promise<LockLease | undefined>;
}
