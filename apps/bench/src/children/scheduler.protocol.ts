/** What the bench and a scheduler child say to each other. */
import type { Pattern } from '../tasks.js';
import type { TickReport } from './tick-recorder.js';

/**
 * `ours`: the module's scheduler (`run: 'inline'` no-op tasks); `cron`: one bare `CronJob`
 * per task; `floor`: one shared `setTimeout` over all tasks; `plain`: the same task classes
 * as plain Nest providers, with no module (a memory and start-up baseline).
 */
export type SchedulerImpl = 'ours' | 'cron' | 'floor' | 'plain';

export interface SchedulerChildConfig {
  readonly impl: SchedulerImpl;
  readonly tasks: number;
  readonly pattern: Pattern;
  readonly redisUrl: string;
  readonly prefix: string;
  /** ours: after the window, measure what the same runs cost without the scheduler. */
  readonly measureRuns: boolean;
}

/** bench → child: measure ticks due in [start, end) (epoch ms). */
export interface WindowMessage {
  readonly type: 'window';
  readonly start: number;
  readonly end: number;
}

/** child → bench, once booted. */
export interface ReadyMessage {
  readonly type: 'ready';
  /** From creating the app (or the jobs) to the scheduler armed, ms. */
  readonly bootMs: number;
}

/** child → bench, at the end. */
export interface ResultMessage {
  readonly type: 'result';
  readonly bootMs: number;
  /** Heap in use after a full GC, minus the same before booting (tasks already defined). */
  readonly heapBytes: number;
  /** The window's ticks; absent without a window. */
  readonly ticks?: TickReport;
  /** Process CPU over the window, µs, and the window's wall time, ms. */
  readonly cpuMicros?: number;
  readonly wallMs?: number;
  /** ours: CPU of the same runs (same count, same bursts) with no scheduler, µs. */
  readonly runs?: { readonly count: number; readonly cpuMicros: number };
}
