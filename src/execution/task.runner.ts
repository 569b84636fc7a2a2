import { randomUUID } from 'node:crypto';
import { ForbiddenException, Injectable } from '@nestjs/common';
import type { TaskDefinition } from '../discovery/task-definition.js';
import { TaskTimeoutError } from '../errors/task-timeout.error.js';
import { EnvironmentInterceptor } from '../interceptors/environment.interceptor.js';
import { MetricsInterceptor } from '../interceptors/metrics.interceptor.js';
import { LockInterceptor } from '../interceptors/lock.interceptor.js';
import { OverlapInterceptor } from '../interceptors/overlap.interceptor.js';
import { PauseInterceptor } from '../interceptors/pause.interceptor.js';
import { RunHistory } from '../operations/run-history.js';
import {
  finish,
  type RunNext,
  type TaskInterceptor,
} from '../interceptors/task-interceptor.interface.js';
import { LOGGER_CONTEXT } from '../interactors.constants.js';
import type { RunResult } from './run-result.js';
import { RunHooks } from './run-hooks.js';
import { TaskLogger } from './task-logger.js';
import { ActiveRun, runInContext, type RunTrigger } from './task-run.js';
import { within } from '../utils/within.js';

/** @internal */
export interface RunRequest {
  readonly trigger: RunTrigger;
  readonly args?: readonly unknown[];
  readonly dueAt?: number;
  readonly attempt?: number;
  readonly runId?: string;
  /** Resolve only once `call()` itself settled, even past a timeout. */
  readonly settle?: boolean;
}

const noop = () => undefined;

/**
 * The one way any trigger runs a task: builds the run context, then the task's chain —
 * the built-in interceptors, outermost first (metrics → environment → pause → overlap → lock), then the user's
 * Nest guards and interceptors and `call()`. Every run ends as one result; it never rejects.
 * @internal
 */
@Injectable()
export class TaskRunner {
  private readonly logger = new TaskLogger(LOGGER_CONTEXT);
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly chains = new Map<TaskDefinition, RunNext>();
  private readonly interceptors: readonly TaskInterceptor[];

  constructor(
    metrics: MetricsInterceptor,
    environment: EnvironmentInterceptor,
    pause: PauseInterceptor,
    overlap: OverlapInterceptor,
    lock: LockInterceptor,
    private readonly hooks: RunHooks,
    private readonly history: RunHistory,
  ) {
    this.interceptors = [metrics, environment, pause, overlap, lock];
  }

  run(task: TaskDefinition, request: RunRequest): Promise<RunResult> {
    const run = new ActiveRun(
      task.name,
      request.runId ?? randomUUID(),
      request.trigger,
      request.dueAt,
      request.attempt ?? 1,
      request.args ?? [],
    );
    // Reported inside the run's context, so the outcome line carries its run id too.
    const result = runInContext(run, () =>
      this.chainOf(task)(run).then((outcome) => {
        // An explicit job deferred while its task is paused is not a run: recording each
        // deferral would push every real run out of the history.
        const deferred =
          outcome.reason === 'paused' && request.trigger === 'queue' && request.dueAt === undefined;
        if (!deferred) {
          this.report(outcome);
          this.history.record(task, outcome, run.args);
        }
        this.hooks.emit(outcome);
        return outcome;
      }),
    );
    // Shutdown waits for call() itself, which may outlive a timed-out run's result.
    const tracked = result.then(() => run.settled);
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
    return request.settle ? tracked.then(() => result) : result;
  }

  /**
   * Waits for runs in flight, those that start meanwhile included, at most `waitMs`;
   * resolves to how many were still running. `graceMs` is the grace the warning names.
   */
  async drain(waitMs: number, graceMs = waitMs): Promise<number> {
    const deadline = Date.now() + waitMs;
    // A run may start while others end (an HTTP request, a tick a wake hands on): wait
    // for each wave until none is left or the time is up.
    while (this.inFlight.size && Date.now() < deadline) {
      await within(Promise.allSettled(this.inFlight), deadline - Date.now());
    }
    if (this.inFlight.size) {
      this.logger.warn(
        `${this.inFlight.size} run(s) still in flight after the ${graceMs} ms shutdown grace`,
      );
    }
    return this.inFlight.size;
  }

  /** The task's chain, composed once. */
  private chainOf(task: TaskDefinition): RunNext {
    const cached = this.chains.get(task);
    if (cached) return cached;
    let composed: RunNext = this.invoke(task);
    for (const interceptor of this.interceptors.toReversed()) {
      const step = interceptor.bind(task);
      if (!step) continue;
      const next: RunNext = composed;
      composed = (run) => step(run, next);
    }
    const inner = composed;
    const chain: RunNext = (run) =>
      inner(run).catch((error: unknown) => finish(run, 'failure', { error }));
    this.chains.set(task, chain);
    return chain;
  }

  /** The innermost step: `call()` through the user's enhancers, with the task's timeout. */
  private invoke(task: TaskDefinition): RunNext {
    const timeout = task.options.timeout;
    return async (run) => {
      let call: Promise<unknown>;
      try {
        call = task.handler(...run.args);
      } catch (error) {
        call = Promise.reject(error);
      }
      run.settled = call.then(noop, noop);
      try {
        const value = await (timeout === undefined ? call : withTimeout(call, timeout, run));
        return finish(run, 'success', { value });
      } catch (error) {
        if (error instanceof TaskTimeoutError && run.timedOut) {
          return finish(run, 'timeout', { error });
        }
        // A refusal before call() was entered is the user's guard saying no, not a failure.
        if (!run.entered && error instanceof ForbiddenException) {
          return finish(run, 'skipped', { reason: 'guard' });
        }
        return finish(run, 'failure', { error });
      }
    };
  }

  private report(result: RunResult): void {
    const took = `${Math.round(result.durationMs)}ms`;
    if (result.outcome === 'failure' || result.outcome === 'timeout') {
      const error = result.error as Error | undefined;
      this.logger.error(
        `${result.task} ${result.outcome} ${took} (trigger ${result.trigger}` +
          (result.dueAt !== undefined ? `, due ${new Date(result.dueAt).toISOString()}` : '') +
          `, attempt ${result.attempt}): ${error?.message ?? String(error)}`,
        error?.stack,
      );
    } else {
      this.logger.log(
        `${result.task} ${result.outcome}${result.reason ? ` (${result.reason})` : ''} ${took}`,
      );
    }
  }
}

function withTimeout(call: Promise<unknown>, ms: number, run: ActiveRun): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      const error = new TaskTimeoutError(run.task, ms);
      run.timedOut = true;
      run.abort(error);
      reject(error);
    }, ms);
    call.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
