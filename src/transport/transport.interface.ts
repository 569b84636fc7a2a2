/** A tick: task T is due at instant `dueAt` (epoch ms). @internal */
export interface TickClaim {
  readonly task: string;
  readonly dueAt: number;
  /**
   * The claimant's first tick of the task not handled yet: its own claims from there on
   * had their answers lost (a timeout) and may have landed with nothing run, so they do
   * not count as claimed.
   */
  readonly first?: number;
  /** The schedule's key: a previous claim made under another schedule is no record. */
  readonly schedule?: string;
}

/** A task's last claim. @internal */
export interface ClaimRecord {
  readonly dueAt: number;
  /** The key of the schedule it was claimed under, when recorded. */
  readonly schedule: string | undefined;
}

/** The outcome of one tick's claim. @internal */
export interface ClaimResult {
  /** Whether this process won the tick. */
  readonly won: boolean;
  /**
   * The task's last claimed instant before this claim, if recorded under the same
   * schedule; for a lost claim, the instant that beat it.
   */
  readonly previous: number | undefined;
  /** Refused: the tick is further ahead of Redis's clock than the guard allows. */
  readonly early?: boolean;
  /** Refused: the claim reached the server after its sender stopped waiting (`maxAge`). */
  readonly stale?: boolean;
  /** Redis's clock (epoch ms) when the claim ran, with a guard. */
  readonly serverTime?: number;
}

/** Checks a claim against the server's clock. @internal */
export interface ClaimGuard {
  /** A tick more than this many ms ahead of the server's clock is refused as `early`. */
  readonly maxAhead: number;
  /** When the claim was sent, on the server's clock as best known (epoch ms). */
  readonly sentAt?: number;
  /** A claim reaching the server more than this many ms after `sentAt` is refused as `stale`. */
  readonly maxAge?: number;
}

/**
 * Per-task instants (epoch ms, module clock) written with the run history's pipeline,
 * for the staleness check. @internal
 */
export interface TaskFacts {
  /** A run succeeded: kept at the latest instant written, whatever order processes write in. */
  readonly succeeded?: ReadonlyMap<string, number>;
  /** A process registered the task: only the first instant ever written is kept. */
  readonly seen?: ReadonlyMap<string, number>;
  /** The task was resumed: replaces the first-seen instant, so staleness counts from here. */
  readonly resumed?: ReadonlyMap<string, number>;
}

/** What the staleness check reads back: per task, its last success and since when it is watched. @internal */
export interface StoredTaskFacts {
  readonly succeeded: Map<string, number>;
  /** First seen, or resumed since. */
  readonly since: Map<string, number>;
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
   * so a lagging scheduler can never claim a tick twice or go back in time. With a
   * `guard`, ticks too far ahead of the server's clock are refused and each result
   * carries the server's time (where the transport has one).
   */
  claimTicks(
    ticks: readonly TickClaim[],
    claimant: string,
    guard?: ClaimGuard,
  ): Promise<ClaimResult[]>;
  /** The last claimed instant of each task that has one, in one round trip. */
  lastClaimed(tasks: readonly string[]): Promise<Map<string, number>>;
  /** The last claim of each task that has one, with its schedule, in one round trip. */
  claimRecords(tasks: readonly string[]): Promise<Map<string, ClaimRecord>>;
  /**
   * Appends serialised run records to each task's history, keeping the newest `limit`,
   * and writes the task facts given; one round trip.
   */
  appendRuns(
    records: readonly { task: string; record: string }[],
    limit: number,
    facts?: TaskFacts,
  ): Promise<void>;
  /** The tasks' stored facts, in one round trip. */
  taskFacts(tasks: readonly string[]): Promise<StoredTaskFacts>;
  /** A task's newest run records, serialised, newest first. */
  readRuns(task: string, limit: number): Promise<string[]>;
  /** The names of the paused tasks. */
  pausedTasks(): Promise<Set<string>>;
  /** Pauses or resumes a task for every process, and tells them. */
  setPaused(task: string, paused: boolean): Promise<void>;
  /**
   * Calls `changed` whenever any process pauses or resumes a task (and after a lost
   * subscription is restored, since changes may have been missed). Resolves to a stop function.
   */
  watchPaused(changed: () => void): Promise<() => Promise<void>>;
  /** Idempotent. */
  close(): Promise<void>;
}
