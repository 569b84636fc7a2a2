import { Injectable, Logger } from '@nestjs/common';
import { LOGGER_CONTEXT } from '../interactors.constants.js';
import { TaskRunner } from '../execution/task.runner.js';
import type { DueTick } from './task.dispatcher.js';

/** Starts a claimed tick: runs it inline or enqueues it, per the task's `run` option. @internal */
@Injectable()
export class TickFirer {
  private readonly logger = new Logger(LOGGER_CONTEXT);

  constructor(private readonly runner: TaskRunner) {}

  fire({ task, dueAt }: DueTick): void {
    void this.runner.run(task, { trigger: 'cron', dueAt });
  }
}
