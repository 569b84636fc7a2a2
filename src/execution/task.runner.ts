import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Injectable, Logger } from '@nestjs/common';
import { LOGGER_CONTEXT } from '../interactors.constants.js';
import type { TaskDefinition } from '../discovery/task-definition.js';
import { runInContext, type RunTrigger } from './task-run.js';

/** How one run ended. @internal */
export type RunResult =
  | { readonly outcome: 'success'; readonly value: unknown; readonly durationMs: number }
  | { readonly outcome: 'failure'; readonly error: unknown; readonly durationMs: number };

/** @internal */
export interface RunRequest {
  readonly trigger: RunTrigger;
  readonly args?: readonly unknown[];
  readonly dueAt?: number;
  readonly attempt?: number;
  readonly runId?: string;
}

/**
 * Runs one task once: builds the run context, calls the task through the user's Nest
 * enhancers, records the outcome. Every trigger goes through here; it never rejects.
 * @internal
 */
@Injectable()
export class TaskRunner {
  private readonly logger = new Logger(LOGGER_CONTEXT);
  private readonly inFlight = new Set<Promise<RunResult>>();

  run(task: TaskDefinition, request: RunRequest): Promise<RunResult> {
    const promise = this.execute(task, request);
    this.inFlight.add(promise);
    void promise.finally(() => this.inFlight.delete(promise));
    return promise;
  }

  /** Runs in flight in this process. */
  get running(): number {
    return this.inFlight.size;
  }

  /** Waits for runs in flight, at most `graceMs`; resolves to how many were still running. */
  async drain(graceMs: number): Promise<number> {
    if (this.inFlight.size === 0) return 0;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.allSettled(this.inFlight), timeout]);
    clearTimeout(timer);
    if (this.inFlight.size) {
      this.logger.warn(
        `${this.inFlight.size} run(s) still in flight after the ${graceMs} ms shutdown grace`,
      );
    }
    return this.inFlight.size;
  }

  private async execute(task: TaskDefinition, request: RunRequest): Promise<RunResult> {
    const context = {
      task: task.name,
      runId: request.runId ?? randomUUID(),
      trigger: request.trigger,
      dueAt: request.dueAt,
      attempt: request.attempt ?? 1,
    };
    const started = performance.now();
    try {
      const value = await runInContext(context, () => task.handler(...(request.args ?? [])));
      const durationMs = performance.now() - started;
      this.logger.log(`${task.name} success ${Math.round(durationMs)}ms`);
      return { outcome: 'success', value, durationMs };
    } catch (error) {
      const durationMs = performance.now() - started;
      this.logger.error(
        `${task.name} failure ${Math.round(durationMs)}ms: ${(error as Error)?.message ?? String(error)}`,
        (error as Error)?.stack,
      );
      return { outcome: 'failure', error, durationMs };
    }
  }
}
