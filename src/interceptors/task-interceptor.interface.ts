import type { TaskDefinition } from '../discovery/task-definition.js';
import type { RunResult } from '../execution/run-result.js';
import type { ActiveRun } from '../execution/task-run.js';

/** The rest of the chain. @internal */
export type RunNext = (run: ActiveRun) => Promise<RunResult>;

/** One step of a task's chain: calls `next(run)`, or ends the run without it. @internal */
export type RunStep = (run: ActiveRun, next: RunNext) => Promise<RunResult>;

/**
 * A built-in run wrapper (metrics, environment guard, lock), the same shape as Nest's
 * `NestInterceptor` but outside Nest's enhancer machinery, so it runs before the app's
 * global guards and interceptors. Bound once per task, so per-run work stays minimal.
 * @internal
 */
export interface TaskInterceptor {
  /** This task's step, or undefined when the interceptor does nothing for it. */
  bind(task: TaskDefinition): RunStep | undefined;
}

/** Builds a run's result from its state. @internal */
export function finish(
  run: ActiveRun,
  outcome: RunResult['outcome'],
  extra: Pick<RunResult, 'reason' | 'value' | 'error'> = {},
): RunResult {
  return {
    task: run.task,
    runId: run.runId,
    trigger: run.trigger,
    dueAt: run.dueAt,
    attempt: run.attempt,
    outcome,
    ...extra,
    durationMs: performance.now() - run.startedAt,
  };
}
