import type { ClaimResult, InteractorsTransport, TickClaim } from './transport.interface.js';

/** The in-memory twin of the Redis transport: one process, nothing survives a restart. @internal */
export class MemoryTransport implements InteractorsTransport {
  readonly kind = 'memory';
  private readonly last = new Map<string, number>();
  private readonly runs = new Map<string, string[]>();
  private readonly paused = new Set<string>();
  private readonly pauseListeners = new Set<() => void>();

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

  async appendRuns(
    records: readonly { task: string; record: string }[],
    limit: number,
  ): Promise<void> {
    for (const { task, record } of records) {
      const list = this.runs.get(task) ?? [];
      list.unshift(record);
      list.length = Math.min(list.length, limit);
      this.runs.set(task, list);
    }
  }

  async readRuns(task: string, limit: number): Promise<string[]> {
    return (this.runs.get(task) ?? []).slice(0, limit);
  }

  async pausedTasks(): Promise<Set<string>> {
    return new Set(this.paused);
  }

  async setPaused(task: string, paused: boolean): Promise<void> {
    if (paused) this.paused.add(task);
    else this.paused.delete(task);
    for (const listener of this.pauseListeners) listener();
  }

  async watchPaused(changed: () => void): Promise<() => Promise<void>> {
    this.pauseListeners.add(changed);
    return async () => void this.pauseListeners.delete(changed);
  }

  /** Forgets every claimed tick (the testing kit's `clear()`). */
  protected forgetClaims(): void {
    this.last.clear();
  }

  async close(): Promise<void> {}
}
