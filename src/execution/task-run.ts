import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';

/** What started a run. @publicApi */
export type RunTrigger = 'call' | 'cron' | 'queue';

/** The run a piece of code is part of, readable anywhere inside it. @publicApi */
export interface TaskRunContext {
  readonly task: string;
  readonly runId: string;
  readonly trigger: RunTrigger;
  /** The due instant (epoch ms) of the tick this run belongs to: cron-fired runs, inline or queued. */
  readonly dueAt: number | undefined;
  /** 1 for the first attempt of a queued job, then 2, 3, ...; 1 for other runs. */
  readonly attempt: number;
  /**
   * Aborts when the run times out (or, with a lock, loses it). JavaScript cannot stop a
   * promise: long-running `call()`s should watch it and stop early.
   */
  readonly signal: AbortSignal;
  /** With `lock` on a single Redis: a number that strictly increases per lock key. */
  readonly fencingToken: number | undefined;
}

/** The mutable state of one run, behind `TaskRunContext`. @internal */
export class ActiveRun implements TaskRunContext {
  readonly startedAt = performance.now();
  fencingToken: number | undefined = undefined;
  /** Set when the task's `timeout` ran out (the signal may have aborted for another reason first). */
  timedOut = false;
  /** Set once the user's `call()` was entered (past the guards). */
  entered = false;
  /** Settles when `call()` really settled, even after a timeout. */
  settled: Promise<unknown> = Promise.resolve();
  // Created on first use: an AbortController per run costs more than all the metrics.
  private controller: AbortController | undefined;

  constructor(
    readonly task: string,
    readonly runId: string,
    readonly trigger: RunTrigger,
    readonly dueAt: number | undefined,
    readonly attempt: number,
    readonly args: readonly unknown[],
  ) {}

  get signal(): AbortSignal {
    return (this.controller ??= new AbortController()).signal;
  }

  abort(reason: unknown): void {
    (this.controller ??= new AbortController()).abort(reason);
  }
}

const storage = new AsyncLocalStorage<ActiveRun>();

/** Access to the current run. @publicApi */
export const TaskRun = {
  /** The run the calling code is part of, or undefined outside any run. */
  current(): TaskRunContext | undefined {
    return storage.getStore();
  },
};

/** @internal */
export function currentRun(): ActiveRun | undefined {
  return storage.getStore();
}

/** @internal */
export function runInContext<T>(run: ActiveRun, fn: () => T): T {
  return storage.run(run, fn);
}
