import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { TaskDefinition } from '../discovery/task-definition.js';
import { InvalidJobOptionsError } from '../errors/invalid-job-options.error.js';
import { TaskArgumentsTooLargeError } from '../errors/task-arguments-too-large.error.js';
import { UnknownQueueError } from '../errors/unknown-queue.error.js';
import type { InteractorsConfig } from '../interactors.config.js';
import { INTERACTORS_CONFIG, INTERACTORS_JOB_QUEUE } from '../interactors.constants.js';
import { encodeArgs, type JobEnvelope } from './job-envelope.js';
import type { JobQueue } from './job-queue.interface.js';

/**
 * Per-job options of an enqueue.
 * @publicApi
 */
export interface JobOptions {
  /** Run no earlier than this many milliseconds from now. */
  delay?: number;
  /** Run no earlier than this instant (a Date or epoch ms); exclusive with `delay`. */
  runAt?: Date | number;
  /** BullMQ priority: 1 is the highest; jobs without one go first. */
  priority?: number;
  /**
   * The job's id, for idempotent enqueues: enqueueing an id that exists does nothing and
   * returns it. No `:`, not all digits.
   */
  jobId?: string;
}

/** Builds envelopes and job options, and adds jobs. @internal */
@Injectable()
export class TaskEnqueuer {
  constructor(
    @Inject(INTERACTORS_JOB_QUEUE) private readonly jobs: JobQueue,
    @Inject(INTERACTORS_CONFIG) private readonly config: InteractorsConfig,
  ) {}

  enqueue(
    task: TaskDefinition,
    queue: string,
    args: readonly unknown[],
    options: JobOptions = {},
  ): Promise<string> {
    if (!this.config.queues.has(queue)) {
      return Promise.reject(new UnknownQueueError(queue, [...this.config.queues.keys()]));
    }
    let envelope: JobEnvelope;
    try {
      const json = encodeArgs(task.name, args);
      checkArgsSize(task.name, json, this.config.maxArgsSize);
      envelope = this.envelope(task, json);
      checkJobOptions(task.name, options);
    } catch (error) {
      return Promise.reject(error);
    }
    const runAt = options.runAt instanceof Date ? options.runAt.getTime() : options.runAt;
    return this.jobs.add(queue, envelope, {
      jobId: options.jobId,
      delay: runAt !== undefined ? Math.max(0, runAt - Date.now()) : options.delay,
      priority: options.priority,
      attempts: task.options.attempts ?? 1,
      backoff: task.options.backoff,
    });
  }

  /**
   * Enqueues a claimed tick under an id made of task and due instant, so it is added once.
   * With `overlap: 'skip'`, not while a job of an earlier tick is unfinished: resolves to
   * that job's id instead.
   */
  async enqueueTick(
    task: TaskDefinition,
    dueAt: number,
  ): Promise<{ jobId: string; overlaps?: string }> {
    const jobId = `${task.name}-${dueAt}`;
    const added = await this.jobs.add(
      task.queue,
      { ...this.envelope(task, '[]'), dueAt },
      {
        jobId,
        attempts: task.options.attempts ?? 1,
        backoff: task.options.backoff,
        deduplicationId: task.overlap === 'skip' ? `tick:${task.name}` : undefined,
      },
    );
    return added === jobId ? { jobId } : { jobId, overlaps: added };
  }

  private envelope(task: TaskDefinition, args: string): JobEnvelope {
    return { v: 1, task: task.name, args, runId: randomUUID(), app: this.config.appVersion };
  }
}

/** Rejects arguments whose JSON is over `limit` bytes (UTF-8), before anything is stored. */
function checkArgsSize(task: string, json: string, limit: number): void {
  // A UTF-16 code unit is at most 3 bytes of UTF-8: small arguments need no measuring.
  if (json.length * 3 <= limit) return;
  const size = Buffer.byteLength(json, 'utf8');
  if (size > limit) throw new TaskArgumentsTooLargeError(task, size, limit);
}

function checkJobOptions(task: string, options: JobOptions): void {
  const { delay, runAt, priority, jobId } = options;
  if (delay !== undefined && !(typeof delay === 'number' && Number.isFinite(delay) && delay >= 0)) {
    throw new InvalidJobOptionsError(
      task,
      `job option "delay" must be a number of milliseconds ≥ 0, got ${String(delay)}`,
    );
  }
  if (runAt !== undefined) {
    const at = runAt instanceof Date ? runAt.getTime() : runAt;
    if (typeof at !== 'number' || !Number.isFinite(at)) {
      throw new InvalidJobOptionsError(
        task,
        'job option "runAt" must be a valid Date or epoch milliseconds',
      );
    }
    if (delay !== undefined)
      throw new InvalidJobOptionsError(task, 'give "delay" or "runAt", not both');
  }
  if (
    priority !== undefined &&
    !(Number.isInteger(priority) && priority >= 1 && priority <= 2_097_152)
  ) {
    throw new InvalidJobOptionsError(
      task,
      `job option "priority" must be a whole number from 1 to 2097152, got ${String(priority)}`,
    );
  }
  if (
    jobId !== undefined &&
    (typeof jobId !== 'string' || !jobId || jobId.includes(':') || /^\d+$/.test(jobId))
  ) {
    throw new InvalidJobOptionsError(
      task,
      `job option "jobId" ${JSON.stringify(jobId)} is not valid: use a non-empty string without ":" that is not all digits`,
    );
  }
}
