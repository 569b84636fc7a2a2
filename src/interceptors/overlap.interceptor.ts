import { Injectable } from '@nestjs/common';
import type { TaskDefinition } from '../discovery/task-definition.js';
import { finish, type RunStep, type TaskInterceptor } from './task-interceptor.interface.js';

/**
 * `overlap: 'skip'` within one process: a cron tick run inline while a run of the same
 * task is still in flight here (its `call()` not settled, even past a timeout) is skipped
 * with reason `overlap`. Tasks with a lock are left to the lock, which says `locked`
 * across the cluster; queued ticks are deduplicated when enqueued. @internal
 */
@Injectable()
export class OverlapInterceptor implements TaskInterceptor {
  bind(task: TaskDefinition): RunStep | undefined {
    if (task.overlap === 'allow' || task.options.lock) return undefined;
    let inFlight = 0;
    return async (run, next) => {
      if (run.trigger === 'cron' && inFlight > 0) {
        return finish(run, 'skipped', { reason: 'overlap' });
      }
      inFlight++;
      try {
        return await next(run);
      } finally {
        // After a timeout call() may still run: the run is in flight until it settles.
        void run.settled.finally(() => inFlight--);
      }
    };
  }
}
