import type { TaskBackoff } from '../task/task-options.interface.js';
import type { JobEnvelope } from './job-envelope.js';
import type { WorkerSettings } from '../interactors.config.js';

/** @internal */
export interface JobAddOptions {
  readonly jobId?: string;
  readonly delay?: number;
  readonly priority?: number;
  readonly attempts: number;
  readonly backoff?: TaskBackoff;
  /**
   * While a job added with this id is waiting, delayed or active in the queue, adding
   * another adds nothing and resolves to the first one's id (BullMQ deduplication).
   */
  readonly deduplicationId?: string;
}

/** A job as a worker receives it, whatever the adapter. @internal */
export interface IncomingJob {
  readonly id: string;
  readonly name: string;
  readonly data: unknown;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** When it became due (epoch ms): enqueued, plus its delay. */
  readonly readyAt: number;
}

/** What becomes of a job after a worker handled it. @internal */
export type JobVerdict =
  | { readonly kind: 'done' }
  /** The run failed: retried while attempts remain. */
  | { readonly kind: 'failed'; readonly error: unknown }
  /** The job can never run: failed at once, no retry. */
  | { readonly kind: 'reject'; readonly reason: string }
  /** Not now: run again after `delay` ms without using an attempt. */
  | { readonly kind: 'later'; readonly delay: number };

/** @internal */
export type JobHandler = (queue: string, job: IncomingJob) => Promise<JobVerdict>;

/** A job that exhausted its attempts. @publicApi */
export interface FailedJob {
  readonly queue: string;
  readonly id: string;
  readonly task: string;
  /** Why its last attempt failed. */
  readonly reason: string;
  readonly attempts: number;
  /** Epoch ms of the last failure. */
  readonly failedAt: number | undefined;
}

/** What one worker loop of this process is doing, for the liveness check. @internal */
export interface WorkerLoop {
  readonly queue: string;
  /** The loop runs (BullMQ's `isRunning()`): false once it stopped, paused or closed. */
  readonly running: boolean;
  /** Shutdown has begun: the loop is stopping on purpose. */
  readonly stopping: boolean;
  /** Jobs of this loop in progress, and how many it may run at once. */
  readonly active: number;
  readonly concurrency: number;
  /**
   * Real time (epoch ms) by which the loop should have taken its next step: the end of
   * the blocking wait it is in, or its last step when it is not waiting. Past it (plus a
   * grace) while it has a free slot, the loop is stuck, or Redis is not answering.
   */
  readonly dueBy: number;
}

/** The queue port, with a BullMQ and an in-memory adapter. @internal */
export interface JobQueue {
  /** Adds a job; resolves to its id. Adding an id that exists is a no-op returning that id. */
  add(queue: string, envelope: JobEnvelope, options: JobAddOptions): Promise<string>;
  /** Starts one worker per queue, each with its concurrency. */
  start(queues: ReadonlyMap<string, WorkerSettings>, handler: JobHandler): void;
  /** Stops taking jobs and waits for active ones, at most `graceMs`; idempotent. */
  stopWorkers(graceMs: number): Promise<void>;
  /** Closes queues and connections; idempotent. */
  close(): Promise<void>;
  /** Failed jobs (newest first, at most `limit` per queue), of one task or all. */
  failed(task: string | undefined, limit: number): Promise<FailedJob[]>;
  /** Moves a failed job back to waiting, with fresh attempts; false if no such failed job. */
  retry(queue: string, id: string): Promise<boolean>;
  /** Jobs per declared queue and state, for the scrape-time gauge. */
  depths(): Promise<Array<{ queue: string; state: string; count: number }>>;
  /** The worker loops started in this process (for liveness); none where nothing loops. */
  loops?(): WorkerLoop[];
  /** Whether the queues' Redis answers a PING within `timeoutMs` (for liveness). */
  answers?(timeoutMs: number): Promise<boolean>;
}

/** Delay before attempt `attempt + 1` after `attempt` failed. @internal */
export function backoffDelay(backoff: TaskBackoff | undefined, attempt: number): number {
  if (backoff === undefined) return 0;
  if (typeof backoff === 'number') return backoff;
  return backoff.type === 'fixed' ? backoff.delay : backoff.delay * 2 ** (attempt - 1);
}
