import type { InteractorsTransport, TickClaim } from './transport.interface.js';

/** The in-memory twin of the Redis transport: one process, nothing survives a restart. @internal */
export class MemoryTransport implements InteractorsTransport {
  readonly kind = 'memory';
  private readonly lastClaimed = new Map<string, number>();

  async claimTicks(ticks: readonly TickClaim[]): Promise<boolean[]> {
    return ticks.map(({ task, dueAt }) => {
      if (dueAt <= (this.lastClaimed.get(task) ?? -Infinity)) return false;
      this.lastClaimed.set(task, dueAt);
      return true;
    });
  }

  async close(): Promise<void> {}
}
