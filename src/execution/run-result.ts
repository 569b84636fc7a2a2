/** How a run ended. @publicApi */
export type RunOutcome = 'success' | 'failure' | 'locked' | 'skipped' | 'timeout';

/** Why a run was skipped: a bounded set, safe as a metric label. @publicApi */
export type SkipReason =
  'environment' | 'guard' | 'overlap' | 'paused' | 'missed' | 'lock_unavailable';

/**
 * What `Interactors.run` resolves to, and what run hooks receive.
 * @publicApi
 */
export interface RunResult<T = unknown> {
  readonly task: string;
  readonly runId: string;
  readonly trigger: 'call' | 'cron' | 'queue';
  /** The due instant (epoch ms) of the tick the run belongs to, if any. */
  readonly dueAt: number | undefined;
  readonly attempt: number;
  readonly outcome: RunOutcome;
  /** Set when `outcome` is `skipped`. */
  readonly reason?: SkipReason;
  /** What `call()` returned, when `outcome` is `success`. */
  readonly value?: T;
  /** What `call()` threw (`failure`) or a `TaskTimeoutError` (`timeout`). */
  readonly error?: unknown;
  readonly durationMs: number;
}
