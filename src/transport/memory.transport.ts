import type {
  ClaimRecord,
  ClaimResult,
  InteractorsTransport,
  StoredTaskFacts,
  TaskFacts,
  TickClaim,
} from './transport.interface.js';

/** The in-memory twin of the Redis transport: one process, nothing survives a restart. @internal */
export class MemoryTransport implements InteractorsTransport {
  readonly kind = 'memory';
  private readonly last = new Map<string, ClaimRecord>();
  private readonly runs = new Map<string, string[]>();
  private readonly paused = new Set<string>();
  private readonly pauseListeners = new Set<() => void>();
  private readonly facts: StoredTaskFacts = { succeeded: new Map(), since: new Map() };

  /** Claims here never time out, so the claimant plays no part. */
  async claimTicks(ticks: readonly TickClaim[]): Promise<ClaimResult[]> {
    return ticks.map(({ task, dueAt, schedule }) => {
      const record = this.last.get(task);
      if (dueAt <= (record?.dueAt ?? -Infinity)) return { won: false, previous: record?.dueAt };
      this.last.set(task, { dueAt, schedule });
      const sameSchedule = record?.schedule === undefined || record.schedule === schedule;
      return { won: true, previous: sameSchedule ? record?.dueAt : undefined };
    });
  }

  async lastClaimed(tasks: readonly string[]): Promise<Map<string, number>> {
    const records = await this.claimRecords(tasks);
    return new Map([...records].map(([task, record]) => [task, record.dueAt]));
  }

  async claimRecords(tasks: readonly string[]): Promise<Map<string, ClaimRecord>> {
    const records = new Map<string, ClaimRecord>();
    for (const task of tasks) if (this.last.has(task)) records.set(task, this.last.get(task)!);
    return records;
  }

  async appendRuns(
    records: readonly { task: string; record: string }[],
    limit: number,
    facts: TaskFacts = {},
  ): Promise<void> {
    for (const { task, record } of records) {
      const list = this.runs.get(task) ?? [];
      list.unshift(record);
      list.length = Math.min(list.length, limit);
      this.runs.set(task, list);
    }
    const { succeeded, since } = this.facts;
    for (const [task, at] of facts.succeeded ?? []) {
      if (!(at <= (succeeded.get(task) ?? -Infinity))) succeeded.set(task, at);
    }
    for (const [task, at] of facts.seen ?? []) if (!since.has(task)) since.set(task, at);
    for (const [task, at] of facts.resumed ?? []) since.set(task, at);
  }

  async taskFacts(tasks: readonly string[]): Promise<StoredTaskFacts> {
    const pick = (from: Map<string, number>) =>
      new Map(tasks.filter((task) => from.has(task)).map((task) => [task, from.get(task)!]));
    return { succeeded: pick(this.facts.succeeded), since: pick(this.facts.since) };
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
