import { Inject, Injectable } from '@nestjs/common';
import { TaskRegistry } from './discovery/task.registry.js';
import type { TaskDefinition, TaskInfo, TaskTimes } from './discovery/task-definition.js';
import { nextTick } from './scheduling/schedule.js';
import {
  INTERACTORS_CLOCK,
  INTERACTORS_CONFIG,
  INTERACTORS_JOB_QUEUE,
  INTERACTORS_TRANSPORT,
} from './interactors.constants.js';
import type { FailedJob, JobQueue } from './queueing/job-queue.interface.js';
import type { InteractorsConfig } from './interactors.config.js';
import { PausedTasks } from './operations/paused-tasks.js';
import { EnvironmentInterceptor } from './interceptors/environment.interceptor.js';
import { RunHistory } from './operations/run-history.js';
import type { RunRecord } from './operations/run-record.js';
import type { Clock } from './scheduling/clock.js';
import { TaskDispatcher } from './scheduling/task.dispatcher.js';
import type { InteractorsTransport } from './transport/transport.interface.js';
import { TaskRunner } from './execution/task.runner.js';
import type { RunResult } from './execution/run-result.js';
import { TaskEnqueuer, type JobOptions } from './queueing/task.enqueuer.js';
import type { Interactor, TaskArgs, TaskClass, TaskResult } from './task/interactor.js';

/**
 * Enqueues of one kind of job options, from `Interactors.with(options)`.
 * @publicApi
 */
export interface JobEnqueuer {
  /** Enqueues to the task's own queue; resolves to the job id. */
  enqueue<T extends Interactor>(task: TaskClass<T>, ...args: TaskArgs<T>): Promise<string>;
  enqueue(task: string, ...args: unknown[]): Promise<string>;
  /** Enqueues to a declared queue of your choice; resolves to the job id. */
  enqueueTo<T extends Interactor>(
    queue: string,
    task: TaskClass<T>,
    ...args: TaskArgs<T>
  ): Promise<string>;
  enqueueTo(queue: string, task: string, ...args: unknown[]): Promise<string>;
}

/**
 * Runs, enqueues and lists tasks by class or by name.
 * @publicApi
 */
@Injectable()
export class Interactors implements JobEnqueuer {
  constructor(
    private readonly registry: TaskRegistry,
    private readonly runner: TaskRunner,
    private readonly enqueuer: TaskEnqueuer,
    private readonly dispatcher: TaskDispatcher,
    @Inject(INTERACTORS_TRANSPORT) private readonly transport: InteractorsTransport,
    @Inject(INTERACTORS_CLOCK) private readonly clock: Clock,
    @Inject(INTERACTORS_CONFIG) private readonly config: InteractorsConfig,
    private readonly runHistory: RunHistory,
    private readonly paused: PausedTasks,
    @Inject(INTERACTORS_JOB_QUEUE) private readonly jobs: JobQueue,
    private readonly environment: EnvironmentInterceptor,
  ) {}

  /**
   * Runs a task now, in this process, through the whole pipeline, and resolves to what
   * its `call()` returned (undefined when the run was skipped or locked); rejects with
   * what it threw, or a `TaskTimeoutError`.
   */
  call<T extends Interactor>(task: TaskClass<T>, ...args: TaskArgs<T>): Promise<TaskResult<T>>;
  call(task: string, ...args: unknown[]): Promise<unknown>;
  async call(task: string | TaskClass, ...args: unknown[]): Promise<unknown> {
    const result = await this.run(task as string, ...args);
    if (result.outcome === 'failure' || result.outcome === 'timeout') throw result.error;
    return result.value;
  }

  /**
   * Runs a task now, in this process, through the whole pipeline, and resolves to how the
   * run ended — `success`, `failure`, `locked`, `skipped` (with a reason) or `timeout` —
   * never rejecting.
   */
  run<T extends Interactor>(
    task: TaskClass<T>,
    ...args: TaskArgs<T>
  ): Promise<RunResult<TaskResult<T>>>;
  run(task: string, ...args: unknown[]): Promise<RunResult>;
  async run(task: string | TaskClass, ...args: unknown[]): Promise<RunResult> {
    return this.runner.run(this.registry.resolve(task), { trigger: 'call', args });
  }

  /**
   * Enqueues a run to the task's own queue and resolves to the job id. Arguments travel
   * as JSON and must come back equal (Dates arrive as ISO strings); others are rejected.
   */
  enqueue<T extends Interactor>(task: TaskClass<T>, ...args: TaskArgs<T>): Promise<string>;
  enqueue(task: string, ...args: unknown[]): Promise<string>;
  enqueue(task: string | TaskClass, ...args: unknown[]): Promise<string> {
    return this.with({}).enqueue(task as string, ...args);
  }

  /** Enqueues a run to a declared queue of your choice and resolves to the job id. */
  enqueueTo<T extends Interactor>(
    queue: string,
    task: TaskClass<T>,
    ...args: TaskArgs<T>
  ): Promise<string>;
  enqueueTo(queue: string, task: string, ...args: unknown[]): Promise<string>;
  enqueueTo(queue: string, task: string | TaskClass, ...args: unknown[]): Promise<string> {
    return this.with({}).enqueueTo(queue, task as string, ...args);
  }

  /**
   * Enqueues with per-job options: `interactors.with({ delay: 60_000 }).enqueue(OpenTheGates, 'gate-7')`.
   */
  with(options: JobOptions): JobEnqueuer {
    const enqueueTo = async (
      queue: string | undefined,
      task: string | TaskClass,
      args: unknown[],
    ) => {
      const definition = this.registry.resolve(task);
      return this.enqueuer.enqueue(definition, queue ?? definition.queue, args, options);
    };
    return {
      enqueue: (task: string | TaskClass, ...args: unknown[]) => enqueueTo(undefined, task, args),
      enqueueTo: (queue: string, task: string | TaskClass, ...args: unknown[]) =>
        enqueueTo(queue, task, args),
    } as JobEnqueuer;
  }

  /** Every registered task. */
  list(): TaskInfo[] {
    return this.registry.info();
  }

  /** A task's newest runs, newest first, from every process (the last 50 by default). */
  async history(task: string | TaskClass, options: { limit?: number } = {}): Promise<RunRecord[]> {
    const definition = this.registry.resolve(task);
    const limit = options.limit ?? (this.config.history === false ? 0 : this.config.history.limit);
    if (!Number.isInteger(limit) || limit < 1) return [];
    return this.runHistory.read(definition.name, limit);
  }

  /**
   * Pauses a task in every process, until resumed (also across restarts): its ticks and
   * queued tick jobs are skipped (`paused`); explicitly enqueued jobs wait. `call()` runs.
   */
  async pause(task: string | TaskClass): Promise<void> {
    await this.paused.set(this.registry.resolve(task).name, true);
  }

  /** Resumes a paused task in every process. */
  async resume(task: string | TaskClass): Promise<void> {
    const name = this.registry.resolve(task).name;
    const wasPaused = this.paused.isPaused(name);
    await this.paused.set(name, false);
    // A task paused for a day is not stale the moment it resumes: count from now. Resuming
    // a task that was not paused must not silence its staleness.
    if (wasPaused) this.runHistory.markResumed(name);
  }

  /** Whether a task is paused (this process's copy, refreshed on every change). */
  isPaused(task: string | TaskClass): boolean {
    return this.paused.isPaused(this.registry.resolve(task).name);
  }

  /** Jobs that exhausted their attempts, newest first: of one task, or of all. */
  async failed(task?: string | TaskClass, options: { limit?: number } = {}): Promise<FailedJob[]> {
    const name = task === undefined ? undefined : this.registry.resolve(task).name;
    return this.jobs.failed(name, options.limit ?? 1_000);
  }

  /**
   * Retries failed jobs with fresh attempts: every failed job of a task (given by class or
   * name), or the job with that id (ids are per queue: name the queue when it is ambiguous).
   * Resolves to the jobs retried. @throws Error when a job id matches in several queues.
   */
  async retry(
    taskOrJobId: string | TaskClass,
    options: { queue?: string } = {},
  ): Promise<FailedJob[]> {
    const task = typeof taskOrJobId === 'string' ? this.registry.find(taskOrJobId) : undefined;
    const inQueue = (job: FailedJob) => options.queue === undefined || job.queue === options.queue;
    const candidates = (
      typeof taskOrJobId !== 'string' || task
        ? await this.failed(task?.name ?? taskOrJobId)
        : (await this.jobs.failed(undefined, 10_000)).filter((job) => job.id === taskOrJobId)
    ).filter(inQueue);
    const queues = new Set(candidates.map((job) => job.queue));
    if (!task && typeof taskOrJobId === 'string' && queues.size > 1) {
      throw new Error(
        `Job id "${taskOrJobId}" is a failed job in several queues (${[...queues].join(', ')}); name the queue (CLI: --queue <name>)`,
      );
    }
    const retried: FailedJob[] = [];
    for (const job of candidates) if (await this.jobs.retry(job.queue, job.id)) retried.push(job);
    return retried;
  }

  /**
   * A task's due instants: the last tick claimed anywhere in the cluster (read from Redis)
   * and the next one (this process's scheduler's, or computed from the schedule).
   */
  async times(task: string | TaskClass): Promise<TaskTimes> {
    const definition = this.registry.resolve(task);
    const last = await this.transport.lastClaimed([definition.name]);
    return {
      task: definition.name,
      lastDueAt: last.get(definition.name),
      nextDueAt: this.dispatcher.schedules(definition.name)
        ? this.dispatcher.nextDueAt(definition.name)
        : this.nextFromSchedule(definition),
    };
  }

  /** Where no scheduler of this process has the task: computed as the scheduler would. */
  private nextFromSchedule(task: TaskDefinition): number | undefined {
    if (!task.schedule || !task.scheduled || !this.environment.allows(task)) return undefined;
    try {
      return nextTick(task.schedule, this.clock.now());
    } catch {
      return undefined;
    }
  }
}
