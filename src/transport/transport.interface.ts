/** A tick: task T is due at instant `dueAt` (epoch ms). @internal */
export interface TickClaim {
  readonly task: string;
  readonly dueAt: number;
}

/**
 * The port behind the module's own keys, with a Redis and an in-memory adapter.
 * @internal
 */
export interface InteractorsTransport {
  readonly kind: 'redis' | 'memory';
  /**
   * Claims ticks in one round trip; `true` where this process won the tick. A tick is
   * won only if no tick of the same task at this or a later instant was claimed before,
   * so a lagging scheduler can never claim a tick twice or go back in time.
   */
  claimTicks(ticks: readonly TickClaim[]): Promise<boolean[]>;
  /** Idempotent. */
  close(): Promise<void>;
}
