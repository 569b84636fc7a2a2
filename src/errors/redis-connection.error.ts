/**
 * Thrown at bootstrap when Redis cannot be reached in time. The message names the
 * target as `host:port` and never carries credentials.
 * @publicApi
 */
export class RedisConnectionError extends Error {
  override readonly name = 'RedisConnectionError';

  constructor(
    readonly target: string,
    timeoutMs: number,
    reason: string | undefined,
  ) {
    super(
      `Cannot reach Redis at ${target} within ${timeoutMs} ms` +
        (reason ? ` (${reason})` : '') +
        `. Check that Redis is running and that the "redis" option of InteractorsModule points to it.`,
    );
  }
}
