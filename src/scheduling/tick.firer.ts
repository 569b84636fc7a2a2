import { Inject, Injectable } from '@nestjs/common';
import { TaskLogger } from '../execution/task-logger.js';
import { TaskRunner } from '../execution/task.runner.js';
import { INTERACTORS_CLOCK, LOGGER_CONTEXT } from '../interactors.constants.js';
import { InteractorsMetrics } from '../metrics/interactors.metrics.js';
import { TaskEnqueuer } from '../queueing/task.enqueuer.js';
import { PausedTasks } from '../operations/paused-tasks.js';
import type { Clock } from './clock.js';
import type { DueTick } from './task.dispatcher.js';
import type { TaskDefinition } from '../discovery/task-definition.js';

/** Starts a claimed tick: enqueues it or runs it inline, per the task's `run` option. @internal */
@Injectable()
export class TickFirer {
  private readonly logger = new TaskLogger(LOGGER_CONTEXT);
  /** Each task's tick-lag series, looked up once rather than at every tick. */
  private readonly lags = new Map<TaskDefinition, { observe(seconds: number): void }>();

  constructor(
    private readonly runner: TaskRunner,
    private readonly enqueuer: TaskEnqueuer,
    private readonly metrics: InteractorsMetrics,
    private readonly paused: PausedTasks,
    @Inject(INTERACTORS_CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * Resolves once the tick is handed on: enqueued, or started (the runner tracks it from
   * there). `now` is the scheduler's time (its host clock corrected to Redis's), for the lag.
   */
  async fire({ task, dueAt }: DueTick, now = this.clock.now()): Promise<void> {
    if (this.metrics.covers(task)) {
      let lag = this.lags.get(task);
      if (!lag) this.lags.set(task, (lag = this.metrics.tickLag.labels(task.name)));
      lag.observe(Math.max(0, now - dueAt) / 1000);
    }
    // A paused task's tick is recorded as skipped (`paused`) here, never enqueued.
    if (task.run === 'inline' || this.paused.isPaused(task.name)) {
      void this.runner.run(task, { trigger: 'cron', dueAt });
      return;
    }
    try {
      const { overlaps } = await this.enqueuer.enqueueTick(task, dueAt);
      if (overlaps === undefined) return;
      if (this.metrics.covers(task))
        this.metrics.runs.labels(task.name, 'skipped', 'overlap').inc();
      this.logger.log(
        `Task "${task.name}": tick ${new Date(dueAt).toISOString()} skipped (overlap): job ${overlaps} of an earlier tick is unfinished`,
      );
    } catch (error) {
      // At most once: a claimed tick that cannot be enqueued is lost, and said so.
      this.logger.error(
        `Task "${task.name}": tick ${new Date(dueAt).toISOString()} was claimed but not enqueued: ${(error as Error).message}`,
      );
    }
  }
}
