import { Injectable } from '@nestjs/common';
import type { TaskDefinition } from '../discovery/task-definition.js';
import { PausedTasks } from '../operations/paused-tasks.js';
import { finish, type RunStep, type TaskInterceptor } from './task-interceptor.interface.js';

/**
 * A paused task's ticks and queued jobs are skipped (reason `paused`) in every process
 * until resumed; a direct `call()` still runs — that is an operator acting on purpose.
 * @internal
 */
@Injectable()
export class PauseInterceptor implements TaskInterceptor {
  constructor(private readonly paused: PausedTasks) {}

  bind(task: TaskDefinition): RunStep {
    return async (run, next) =>
      run.trigger !== 'call' && this.paused.isPaused(task.name)
        ? finish(run, 'skipped', { reason: 'paused' })
        : next(run);
  }
}
