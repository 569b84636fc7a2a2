import { TaskLogger } from '../execution/task-logger.js';
import { Inject, Injectable } from '@nestjs/common';
import { TaskRegistry } from '../discovery/task.registry.js';
import { TaskRunner } from '../execution/task.runner.js';
import type { InteractorsConfig } from '../interactors.config.js';
import { INTERACTORS_CONFIG, LOGGER_CONTEXT } from '../interactors.constants.js';
import { InteractorsMetrics } from '../metrics/interactors.metrics.js';
import { decodeEnvelope } from './job-envelope.js';
import { PausedTasks } from '../operations/paused-tasks.js';
import type { IncomingJob, JobVerdict } from './job-queue.interface.js';

/**
 * Turns a job into a run: checks its name and envelope, finds the task, runs it.
 * Shared by both queue adapters, so they judge jobs the same way. @internal
 */
@Injectable()
export class JobProcessor {
  private readonly logger = new TaskLogger(LOGGER_CONTEXT);
  /** Each queue's wait series, looked up once rather than at every job. */
  private readonly waits = new Map<string, { observe(seconds: number): void }>();

  constructor(
    private readonly registry: TaskRegistry,
    private readonly runner: TaskRunner,
    private readonly metrics: InteractorsMetrics,
    private readonly paused: PausedTasks,
    @Inject(INTERACTORS_CONFIG) private readonly config: InteractorsConfig,
  ) {}

  readonly handle = async (queue: string, job: IncomingJob): Promise<JobVerdict> => {
    const decoded = decodeEnvelope(job.name, job.data);
    if ('problem' in decoded) {
      const reason = `Job ${job.id} on queue "${queue}" cannot run: ${decoded.problem}`;
      this.logger.error(reason);
      return { kind: 'reject', reason };
    }
    const task = this.registry.find(job.name);
    if (!task) {
      const { retryDelay, window } = this.config.unknownTask;
      if (Date.now() - job.readyAt < window) return { kind: 'later', delay: retryDelay };
      const reason =
        `Task "${job.name}" is not known to this worker (job ${job.id} on queue "${queue}", waited ${window} ms); ` +
        'deploy a version that has this task on the workers of this queue';
      this.logger.error(reason);
      return { kind: 'reject', reason };
    }
    const { envelope, args } = decoded;
    if (this.metrics.enabled) {
      let wait = this.waits.get(queue);
      if (!wait) this.waits.set(queue, (wait = this.metrics.queueWait.labels(queue)));
      wait.observe(Math.max(0, Date.now() - job.readyAt) / 1000);
    }
    const result = await this.runner.run(task, {
      trigger: 'queue',
      args,
      dueAt: envelope.dueAt,
      attempt: job.attempt,
      runId: envelope.runId,
      // A tick's job holds its task's deduplication until it finishes: with overlap
      // 'skip', it must not finish while a timed-out call() still runs.
      settle: envelope.dueAt !== undefined && task.overlap === 'skip',
    });
    switch (result.outcome) {
      case 'failure':
      case 'timeout':
        return { kind: 'failed', error: result.error };
      case 'locked':
      case 'skipped':
        // An explicit job of a paused task stays queued until resumed; a tick's is done.
        if (result.reason === 'paused') {
          return envelope.dueAt === undefined
            ? { kind: 'later', delay: this.config.pausedJob.retryDelay }
            : { kind: 'done' };
        }
        if (result.outcome === 'skipped' && result.reason !== 'lock_unavailable')
          return { kind: 'done' };
        return this.waitForLock(job, queue, envelope.dueAt !== undefined, result.outcome);
      default:
        // Skipped runs complete: retrying would only skip them again.
        return { kind: 'done' };
    }
  };

  /**
   * A tick's job that finds its lock held is that tick's run done elsewhere: it completes.
   * Otherwise (an explicit enqueue, or the lock backend unreachable, which says nothing about
   * the work) the job waits and tries again, without using an attempt, up to a window.
   */
  private waitForLock(
    job: IncomingJob,
    queue: string,
    fromTick: boolean,
    outcome: string,
  ): JobVerdict {
    if (fromTick && outcome === 'locked') return { kind: 'done' };
    const { retryDelay, window } = this.config.lockedJob;
    // Time spent paused does not count against the window: it starts at the resume.
    const since = Math.max(job.readyAt, this.paused.resumedAt(job.name) ?? 0);
    if (Date.now() - since < window) return { kind: 'later', delay: retryDelay };
    const why =
      outcome === 'locked' ? 'stayed locked' : 'could not take its lock (backend unreachable)';
    const reason = `Task "${job.name}" ${why} for ${window} ms (job ${job.id} on queue "${queue}"); giving up`;
    this.logger.error(reason);
    return { kind: 'reject', reason };
  }
}
