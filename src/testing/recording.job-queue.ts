import type { JobEnvelope } from '../queueing/job-envelope.js';
import type {
  FailedJob,
  IncomingJob,
  JobAddOptions,
  JobHandler,
  JobQueue,
} from '../queueing/job-queue.interface.js';
import type { InteractorsTestMode, TestJobState } from './test-kit.interface.js';

/** A job as the kit keeps it. @internal */
export interface RecordedJob {
  readonly id: string;
  readonly queue: string;
  readonly envelope: JobEnvelope;
  readonly options: JobAddOptions;
  /** When it became due (epoch ms): enqueued, plus its delay, as the worker judges it. */
  readonly readyAt: number;
  state: TestJobState;
  attemptsMade: number;
  failedReason: string | undefined;
  /** The attempts under way, so a job is never worked twice at once. */
  working: Promise<void> | undefined;
}

/**
 * The queue adapter under the kit: records every job and runs it only when told — at
 * once in `inline` mode, on `drain()` in `fake` mode — through the module's own job
 * handler, so a job is judged exactly as a worker would judge it. No timers: delays and
 * backoffs are recorded, not waited for. Same add rules as the other adapters: ids
 * numbered per queue, an existing id is a no-op, deduplication while unfinished. @internal
 */
export class RecordingJobQueue implements JobQueue {
  readonly jobs: RecordedJob[] = [];
  private readonly byKey = new Map<string, RecordedJob>();
  private readonly deduplicated = new Map<string, RecordedJob>();
  private readonly sequences = new Map<string, number>();
  private readonly working = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly mode: InteractorsTestMode,
    /** The module's job handler, looked up when first needed (it depends on this queue). */
    private readonly handler: () => JobHandler,
    private readonly onClose: () => void,
  ) {}

  async add(queue: string, envelope: JobEnvelope, options: JobAddOptions): Promise<string> {
    const sequence = (this.sequences.get(queue) ?? 0) + 1;
    const id = options.jobId ?? String(sequence);
    if (options.jobId === undefined) this.sequences.set(queue, sequence);
    if (this.byKey.has(`${queue}/${id}`)) return id;
    const dedup = options.deduplicationId && `${queue}/${options.deduplicationId}`;
    const duplicate = dedup ? this.deduplicated.get(dedup) : undefined;
    if (duplicate) return duplicate.id;
    const job: RecordedJob = {
      id,
      queue,
      envelope,
      options,
      readyAt: Date.now() + (options.delay ?? 0),
      state: 'pending',
      attemptsMade: 0,
      failedReason: undefined,
      working: undefined,
    };
    this.jobs.push(job);
    this.byKey.set(`${queue}/${id}`, job);
    if (dedup) this.deduplicated.set(dedup, job);
    if (this.mode === 'inline' && !this.closed) await this.work(job);
    return id;
  }

  /**
   * Works a job until it is done, failed, or told to wait (its lock held): a failed
   * attempt is retried at once while attempts remain. Resolves when it stopped.
   */
  work(job: RecordedJob): Promise<void> {
    if (job.working) return job.working;
    const working = this.attempts(job).finally(() => {
      job.working = undefined;
      this.working.delete(working);
    });
    job.working = working;
    this.working.add(working);
    return working;
  }

  /** Resolves when no job is being worked. */
  async idle(): Promise<void> {
    while (this.working.size) await Promise.allSettled(this.working);
  }

  /** Forgets every job; jobs being worked finish unrecorded. */
  clear(): void {
    this.jobs.length = 0;
    this.byKey.clear();
    this.deduplicated.clear();
    this.sequences.clear();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  start(): void {
    // Nothing runs by itself under the kit: jobs are worked on enqueue (inline) or drain().
  }

  async stopWorkers(graceMs: number): Promise<void> {
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.idle(),
      new Promise((resolve) => (timer = setTimeout(resolve, graceMs))),
    ]);
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.onClose();
  }

  async depths(): Promise<Array<{ queue: string; state: string; count: number }>> {
    const counts = new Map<string, { queue: string; state: string; count: number }>();
    for (const { queue, state, options } of this.jobs) {
      // In BullMQ's words, for the depth gauge.
      const named =
        state === 'pending' ? ((options.delay ?? 0) > 0 ? 'delayed' : 'waiting') : state;
      const key = `${queue}/${named}`;
      const entry = counts.get(key) ?? { queue, state: named, count: 0 };
      entry.count++;
      counts.set(key, entry);
    }
    return [...counts.values()];
  }

  private async attempts(job: RecordedJob): Promise<void> {
    for (;;) {
      job.state = 'active';
      const incoming: IncomingJob = {
        id: job.id,
        name: job.envelope.task,
        data: job.envelope,
        attempt: job.attemptsMade + 1,
        readyAt: job.readyAt,
      };
      const verdict = await this.handler()(job.queue, incoming);
      switch (verdict.kind) {
        case 'later':
          job.state = 'pending';
          return;
        case 'done':
          return this.finish(job, 'completed', undefined);
        case 'reject':
          return this.finish(job, 'failed', verdict.reason);
        case 'failed':
          job.attemptsMade++;
          if (job.attemptsMade < job.options.attempts) continue;
          return this.finish(job, 'failed', messageOf(verdict.error));
      }
    }
  }

  async failed(task: string | undefined, limit: number): Promise<FailedJob[]> {
    return this.jobs
      .filter((job) => job.state === 'failed' && (task === undefined || job.envelope.task === task))
      .toReversed()
      .slice(0, limit)
      .map((job) => ({
        queue: job.queue,
        id: job.id,
        task: job.envelope.task,
        reason: job.failedReason ?? '',
        attempts: job.attemptsMade,
        failedAt: undefined,
      }));
  }

  async retry(queue: string, id: string): Promise<boolean> {
    const job = this.byKey.get(`${queue}/${id}`);
    if (!job || job.state !== 'failed') return false;
    job.state = 'pending';
    job.attemptsMade = 0;
    job.failedReason = undefined;
    if (this.mode === 'inline' && !this.closed) await this.work(job);
    return true;
  }

  private finish(job: RecordedJob, state: 'completed' | 'failed', reason: string | undefined) {
    job.state = state;
    job.failedReason = reason;
    const dedup = job.options.deduplicationId && `${job.queue}/${job.options.deduplicationId}`;
    if (dedup && this.deduplicated.get(dedup) === job) this.deduplicated.delete(dedup);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
