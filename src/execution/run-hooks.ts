import { Injectable } from '@nestjs/common';
import { LOGGER_CONTEXT } from '../interactors.constants.js';
import type { RunResult } from './run-result.js';
import { TaskLogger } from './task-logger.js';

/** A listener of finished runs. @publicApi */
export type RunListener = (result: RunResult) => void | Promise<void>;

/**
 * Observes every finished run — task, outcome, reason, duration, error — for error
 * reporters and audit logs, without writing an interceptor. A listener that throws is
 * logged and never changes the run.
 *
 * @example
 * ```ts
 * constructor(hooks: RunHooks) {
 *   hooks.onFinished((run) => run.outcome === 'failure' && Sentry.captureException(run.error));
 * }
 * ```
 * @publicApi
 */
@Injectable()
export class RunHooks {
  private readonly logger = new TaskLogger(LOGGER_CONTEXT);
  private readonly listeners = new Set<RunListener>();

  /** Adds a listener; returns a function that removes it. */
  onFinished(listener: RunListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** @internal */
  emit(result: RunResult): void {
    for (const listener of this.listeners) {
      try {
        const returned = listener(result);
        if (returned instanceof Promise) returned.catch((error) => this.report(error));
      } catch (error) {
        this.report(error);
      }
    }
  }

  private report(error: unknown): void {
    this.logger.error(
      `A run listener failed: ${(error as Error)?.message ?? String(error)}`,
      (error as Error)?.stack,
    );
  }
}
