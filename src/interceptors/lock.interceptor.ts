import { Injectable } from '@nestjs/common';
import type { TaskDefinition } from '../discovery/task-definition.js';
import { LockUnavailableError } from '../errors/lock.errors.js';
import { LOGGER_CONTEXT } from '../interactors.constants.js';
import { TaskLogger } from '../execution/task-logger.js';
import { InteractorsLocks } from '../locking/interactors.locks.js';
import { InteractorsMetrics } from '../metrics/interactors.metrics.js';
import type { RunResult } from '../execution/run-result.js';
import { OutageLog } from '../utils/outage-log.js';
import { finish, type RunStep, type TaskInterceptor } from './task-interceptor.interface.js';

export const DEFAULT_LOCK_TTL = 30_000;
/** One error line per burst of lock outages, not one per run. */
const OUTAGE_LOG_INTERVAL = 30_000;

/**
 * Third built-in step: makes a `lock` task a cluster-wide singleton. Held elsewhere →
 * `locked`; backend unreachable → `skipped` / `lock_unavailable` (fail closed) unless the
 * task opts into `failOpen`. A timed-out run keeps its lock until `call()` settles. @internal
 */
@Injectable()
export class LockInterceptor implements TaskInterceptor {
  private readonly logger = new TaskLogger(LOGGER_CONTEXT);
  private lastOutageLog = 0;
  private readonly failOpenOutage = new OutageLog(this.logger, 'The lock backend');

  constructor(
    private readonly locks: InteractorsLocks,
    private readonly metrics: InteractorsMetrics,
  ) {}

  bind(task: TaskDefinition): RunStep | undefined {
    const option = task.options.lock;
    if (!option) return undefined;
    const settings = option === true ? {} : option;
    const ttl = settings.ttl ?? DEFAULT_LOCK_TTL;
    const key = settings.key;
    const keyOf =
      typeof key === 'function'
        ? (args: readonly unknown[]) => `${task.name}:${key(...args)}`
        : () => key ?? task.name;
    const count = (kind: 'extend' | 'release') =>
      this.metrics.covers(task) && this.metrics.lockErrors.labels(task.name, kind).inc();

    return async (run, next) => {
      let lost = false;
      let kept;
      try {
        kept = await this.locks.keep(
          keyOf(run.args),
          ttl,
          (error) => {
            lost = true;
            count('extend');
            this.logger.warn(`Task "${task.name}": ${error.message}; its run's signal is aborted`);
            run.abort(error);
          },
          (reason) => run.abort(reason),
        );
      } catch (error) {
        if (!(error instanceof LockUnavailableError)) throw error;
        if (settings.failOpen) {
          this.failOpenOutage.failed(
            `task "${task.name}" runs without its lock (failOpen): ${error.message}`,
          );
          return next(run);
        }
        this.reportOutage(task.name, error);
        return finish(run, 'skipped', { reason: 'lock_unavailable' });
      }
      this.failOpenOutage.recovered();
      if (!kept) return finish(run, 'locked');
      run.fencingToken = kept.lease.fencingToken;
      const release = () =>
        kept.release().catch((error: Error) => {
          // A lost lock was counted once, as `extend`; its release cannot succeed.
          if (lost) return;
          count('release');
          this.logger.warn(
            `Task "${task.name}": releasing its lock failed (${error.message}); it expires within ${ttl} ms`,
          );
        });
      let result: RunResult | undefined;
      try {
        result = await next(run);
        return result;
      } finally {
        // call() may outlive a timeout: keep the lock until it really settles. Released
        // too when a later step throws, or its extension loop would hold it for ever.
        if (result?.outcome === 'timeout') void run.settled.then(release);
        else await release();
      }
    };
  }

  private reportOutage(task: string, error: LockUnavailableError): void {
    const now = Date.now();
    if (now - this.lastOutageLog < OUTAGE_LOG_INTERVAL) return;
    this.lastOutageLog = now;
    this.logger.error(`Task "${task}" skipped (lock_unavailable): ${error.message}`);
  }
}
