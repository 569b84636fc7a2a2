/**
 * The lock backend could not be reached, so no lock could be taken. Locked tasks fail
 * closed on it: skipped with reason `lock_unavailable`.
 * @publicApi
 */
export class LockUnavailableError extends Error {
  override readonly name = 'LockUnavailableError';

  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`Lock "${key}" could not be taken: the lock backend is unreachable (${reason})`);
  }
}

/**
 * A held lock could not be extended (it expired or was taken over): the run's signal
 * aborts with this error, since exclusivity is no longer guaranteed.
 * @publicApi
 */
export class LockLostError extends Error {
  override readonly name = 'LockLostError';

  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`Lock "${key}" was lost while running (${reason}); stop work that needs exclusivity`);
  }
}
