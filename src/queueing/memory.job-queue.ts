import { MAX_TIMEOUT } from '../utils/within.js';
import type { InteractorsConfig } from '../interactors.config.js';
import type { JobEnvelope } from './job-envelope.js';
import {
  type FailedJob,
  backoffDelay,
  type JobAddOptions,
  type JobHandler,
  type JobQueue,
  type WorkerLoop,
} from './job-queue.interface.js';

interface MemoryJob {
  readonly id: string;
  readonly queue: string;
  readonly envelope: JobEnvelope;
  readonly options: JobAddOptions;
  readonly readyAt: number;
  attemptsMade: number;
  state: 'delayed' | 'waiting' | 'active' | 'completed' | 'failed';
  failedReason?: string;
  finishedAt?: number;
}

/** The in-memory twin of the BullMQ adapter: one process, nothing survives a restart. @internal */
export class MemoryJobQueue implements JobQueue {
  private readonly jobs = new Map<string, MemoryJob>();
  /** Unfinished jobs by `<queue>/<deduplication id>`. */
  private readonly deduplicated = new Map<string, MemoryJob>();
  private readonly waiting = new Map<string, MemoryJob[]>();
  private readonly active = new Map<string, Set<Promise<void>>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Finished job ids, oldest first, for retention. */
  private readonly finished = { completed: [] as string[], failed: [] as string[] };
  private workers: ReadonlyMap<string, { concurrency: number }> = new Map();
  private handler: JobHandler | undefined;
  private closed = false;
  /** Job ids are numbered per queue, as in BullMQ. */
  private readonly sequences = new Map<string, number>();

  constructor(private readonly config: InteractorsConfig) {}

  async add(queue: string, envelope: JobEnvelope, options: JobAddOptions): Promise<string> {
    const sequence = (this.sequences.get(queue) ?? 0) + 1;
    const id = options.jobId ?? String(sequence);
    if (options.jobId === undefined) this.sequences.set(queue, sequence);
    if (this.jobs.has(`${queue}/${id}`)) return id;
    const duplicate =
      options.deduplicationId && this.deduplicated.get(`${queue}/${options.deduplicationId}`);
    if (duplicate) return duplicate.id;
    const job: MemoryJob = {
      id,
      queue,
      envelope,
      options,
      readyAt: Date.now() + (options.delay ?? 0),
      attemptsMade: 0,
      state: 'delayed',
    };
    this.jobs.set(`${queue}/${id}`, job);
    if (options.deduplicationId) this.deduplicated.set(`${queue}/${options.deduplicationId}`, job);
    this.later(job, options.delay ?? 0);
    return id;
  }

  async failed(task: string | undefined, limit: number): Promise<FailedJob[]> {
    return [...this.jobs.values()]
      .filter((job) => job.state === 'failed' && (task === undefined || job.envelope.task === task))
      .map((job) => ({
        queue: job.queue,
        id: job.id,
        task: job.envelope.task,
        reason: job.failedReason ?? '',
        attempts: job.attemptsMade,
        failedAt: job.finishedAt,
      }))
      .toSorted((a, b) => (b.failedAt ?? 0) - (a.failedAt ?? 0))
      .slice(0, limit);
  }

  async retry(queue: string, id: string): Promise<boolean> {
    const job = this.jobs.get(`${queue}/${id}`);
    if (!job || job.state !== 'failed') return false;
    job.attemptsMade = 0;
    const failed = this.finished.failed;
    failed.splice(failed.indexOf(`${queue}/${id}`), 1);
    this.enqueue(job);
    return true;
  }

  async depths(): Promise<Array<{ queue: string; state: string; count: number }>> {
    const counts = new Map<string, { queue: string; state: string; count: number }>();
    for (const { queue, state } of this.jobs.values()) {
      const key = `${queue}/${state}`;
      const entry = counts.get(key) ?? { queue, state, count: 0 };
      entry.count++;
      counts.set(key, entry);
    }
    return [...counts.values()];
  }

  start(queues: ReadonlyMap<string, { concurrency: number }>, handler: JobHandler): void {
    this.workers = queues;
    this.handler = handler;
    for (const queue of queues.keys()) this.pump(queue);
  }

  async close(): Promise<void> {
    await this.stopWorkers(0);
  }

  /** Nothing polls here (a job is pumped when it is added), so a loop lives until closed. */
  loops(): WorkerLoop[] {
    return [...this.workers].map(([queue, { concurrency }]) => ({
      queue,
      running: !this.closed,
      stopping: this.closed,
      active: this.active.get(queue)?.size ?? 0,
      concurrency,
      dueBy: Infinity,
    }));
  }

  async answers(): Promise<boolean> {
    return true;
  }

  async stopWorkers(graceMs: number): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const active = [...this.active.values()].flatMap((runs) => [...runs]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(active),
      new Promise((r) => (timer = setTimeout(r, graceMs))),
    ]);
    clearTimeout(timer);
  }

  private later(job: MemoryJob, delay: number): void {
    if (this.closed) return;
    if (delay <= 0) return this.enqueue(job);
    job.state = 'delayed';
    // Longer waits than Node's timer limit are taken in steps.
    const step = Math.min(delay, MAX_TIMEOUT);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (delay > step) this.later(job, delay - step);
      else this.enqueue(job);
    }, step);
    this.timers.add(timer);
  }

  private enqueue(job: MemoryJob): void {
    job.state = 'waiting';
    const list = this.waiting.get(job.queue) ?? [];
    // Lower priority numbers first, as in BullMQ; stable for equal priorities.
    const at = list.findIndex(
      (other) => (other.options.priority ?? 0) > (job.options.priority ?? 0),
    );
    list.splice(at < 0 ? list.length : at, 0, job);
    this.waiting.set(job.queue, list);
    this.pump(job.queue);
  }

  private pump(queue: string): void {
    const worker = this.workers.get(queue);
    if (!worker || !this.handler || this.closed) return;
    const active = this.active.get(queue) ?? new Set();
    this.active.set(queue, active);
    const list = this.waiting.get(queue) ?? [];
    while (active.size < worker.concurrency && list.length) {
      const run = this.process(list.shift()!).finally(() => {
        active.delete(run);
        this.pump(queue);
      });
      active.add(run);
    }
  }

  private async process(job: MemoryJob): Promise<void> {
    job.state = 'active';
    const verdict = await this.handler!(job.queue, {
      id: job.id,
      name: job.envelope.task,
      data: job.envelope,
      attempt: job.attemptsMade + 1,
      readyAt: job.readyAt,
    });
    if (verdict.kind === 'later') return this.later(job, verdict.delay);
    if (verdict.kind === 'failed') {
      job.attemptsMade++;
      if (job.attemptsMade < job.options.attempts) {
        return this.later(job, backoffDelay(job.options.backoff, job.attemptsMade));
      }
    }
    const state = verdict.kind === 'done' ? 'completed' : 'failed';
    job.state = state;
    job.finishedAt = Date.now();
    if (verdict.kind === 'reject') job.failedReason = verdict.reason;
    if (verdict.kind === 'failed') {
      job.failedReason = (verdict.error as Error | undefined)?.message ?? String(verdict.error);
    }
    const dedup = job.options.deduplicationId && `${job.queue}/${job.options.deduplicationId}`;
    if (dedup && this.deduplicated.get(dedup) === job) this.deduplicated.delete(dedup);
    // Keep at most the retention count of finished jobs per state, as BullMQ would.
    const ids = this.finished[state];
    ids.push(`${job.queue}/${job.id}`);
    while (ids.length > this.config.retention[state].count) this.jobs.delete(ids.shift()!);
  }
}
