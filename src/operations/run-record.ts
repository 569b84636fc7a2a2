import type { RunOutcome, RunResult, SkipReason } from '../execution/run-result.js';

/** One finished run as the history keeps it (newest first in `Interactors.history`). @publicApi */
export interface RunRecord {
  readonly runId: string;
  readonly task: string;
  readonly trigger: RunResult['trigger'];
  /** The tick's due instant (epoch ms), for cron and queued tick runs. */
  readonly dueAt?: number;
  /** Epoch ms. */
  readonly startedAt: number;
  readonly durationMs: number;
  readonly outcome: RunOutcome;
  readonly reason?: SkipReason;
  /** The message of what a failed or timed-out run threw. */
  readonly error?: string;
  readonly attempt: number;
  readonly host: string;
  readonly pid: number;
  /** Only for tasks with `historyArgs: true`. */
  readonly args?: readonly unknown[];
}
