import { Worker, type Job, type JobJson } from 'bullmq';
import { UnreadableData } from './job-envelope.js';
import type { WorkerLoop } from './job-queue.interface.js';

/**
 * A BullMQ worker whose loop leaves a trace of every step, through BullMQ's protected
 * hooks (no patching): each blocking wait for a job announces its timeout
 * (`getBlockTimeout`), each fetch and each job marks a step. So the liveness check can
 * tell, in this process and without sending work through the shared queue (which any
 * process may take, behind any backlog), an idle loop that keeps polling from one that
 * stopped moving. Times are real time: BullMQ's blocking waits are. @internal
 */
export class WatchedWorker extends Worker {
  private steppedAt = Date.now();
  private waitingUntil = 0;
  private inProgress = 0;

  protected override getBlockTimeout(blockUntil: number): number {
    const seconds = super.getBlockTimeout(blockUntil);
    this.steppedAt = Date.now();
    this.waitingUntil = this.steppedAt + Math.max(seconds, 0) * 1000;
    return seconds;
  }

  protected override moveToActive(token: string, name?: string): Promise<Job> {
    this.steppedAt = Date.now();
    return super.moveToActive(token, name);
  }

  override async processJob(
    ...args: Parameters<Worker['processJob']>
  ): ReturnType<Worker['processJob']> {
    this.inProgress++;
    this.steppedAt = Date.now();
    try {
      return await super.processJob(...args);
    } finally {
      this.inProgress--;
      this.steppedAt = Date.now();
    }
  }

  /**
   * BullMQ parses a job's data as it fetches it; data that is not JSON (raw bytes written
   * by some producer) would throw there, surface as an error event, and leave the job
   * active and unprocessed until it stalled, again and again. It is handed on as
   * `UnreadableData` instead, so the processor fails it at once with a reason.
   */
  protected override createJob(data: JobJson, jobId: string): Job {
    try {
      return super.createJob(data, jobId);
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      const job = super.createJob({ ...data, data: '{}' }, jobId);
      job.data = new UnreadableData(String(data.data));
      return job;
    }
  }

  /** The loop's state now; `stopping` is the owner's to say. */
  loop(stopping: boolean): WorkerLoop {
    return {
      queue: this.name,
      running: this.isRunning(),
      stopping,
      active: this.inProgress,
      concurrency: this.concurrency,
      dueBy: Math.max(this.steppedAt, this.waitingUntil),
    };
  }
}
