import type { ClaimResult, InteractorsTransport, TickClaim } from './transport.interface.js';

/** The in-memory twin of the Redis transport: one process, nothing survives a restart. @internal */
export class MemoryTransport implements InteractorsTransport {
  readonly kind = 'memory';
  private readonly last = new Map<string, number>();

  /** Claims here never time out, so the claimant plays no part. */
  async claimTicks(ticks: readonly TickClaim[]): Promise<ClaimResult[]> {
    return ticks.map(({ task, dueAt }) => {
      const previous = this.last.get(task);
      if (dueAt <= (previous ?? -Infinity)) return { won: false, previous };
      this.last.set(task, dueAt);
      return { won: true, previous };
    });
  }

  async lastClaimed(tasks: readonly string[]): Promise<Map<string, number>> {
    const last = new Map<string, number>();
    for (const task of tasks) if (this.last.has(task)) last.set(task, this.last.get(task)!);
    return last;
  }

  async close(): Promise<void> {}
}
