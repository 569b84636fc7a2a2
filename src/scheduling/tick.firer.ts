import { TaskLogger } from '../execution/task-logger.js';
import { Injectable } from '@nestjs/common';
import { LOGGER_CONTEXT } from '../interactors.constants.js';
import { TaskRunner } from '../execution/task.runner.js';
import { TaskEnqueuer } from '../queueing/task.enqueuer.js';
import { InteractorsMetrics } from '../metrics/interactors.metrics.js';
import { Inject } from '@nestjs/common';
import { INTERACTORS_CLOCK } from '../interactors.constants.js';
import type { Clock } from './clock.js';
import type { DueTick } from './task.dispatcher.js';

/** Starts a claimed tick: enqueues it or runs it inline, per the task's `run` option. @internal */
@Injectable()
export class TickFirer {
  private readonly logger = new TaskLogger(LOGGER_CONTEXT);

  constructor(
    private readonly runner: TaskRunner,
    private readonly enqueuer: TaskEnqueuer,
    private readonly metrics: InteractorsMetrics,
    @Inject(INTERACTORS_CLOCK) private readonly clock: Clock,
  ) {}

  fire({ task, dueAt }: DueTick): void {
    if (this.metrics.enabled && task.options.metrics !== false) {
      this.metrics.tickLag.labels(task.name).observe(Math.max(0, this.clock.now() - dueAt) / 1000);
    }
    if (task.run === 'inline') {
      void this.runner.run(task, { trigger: 'cron', dueAt });
      return;
    }
    this.enqueuer.enqueueTick(task, dueAt).catch((error: Error) => {
      // At most once: a claimed tick that cannot be enqueued is lost, and said so.
      this.logger.error(
        `Task "${task.name}": tick ${new Date(dueAt).toISOString()} was claimed but not enqueued: ${error.message}`,
      );
    });
  }
}
