import { Injectable, Logger } from '@nestjs/common';
import { LOGGER_CONTEXT } from '../interactors.constants.js';
import { TaskRunner } from '../execution/task.runner.js';
import { TaskEnqueuer } from '../queueing/task.enqueuer.js';
import type { DueTick } from './task.dispatcher.js';

/** Starts a claimed tick: enqueues it or runs it inline, per the task's `run` option. @internal */
@Injectable()
export class TickFirer {
  private readonly logger = new Logger(LOGGER_CONTEXT);

  constructor(
    private readonly runner: TaskRunner,
    private readonly enqueuer: TaskEnqueuer,
  ) {}

  fire({ task, dueAt }: DueTick): void {
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
