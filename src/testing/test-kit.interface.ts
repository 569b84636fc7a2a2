import type { RunOutcome, RunResult } from '../execution/run-result.js';
import type { RunTrigger } from '../execution/task-run.js';
import type { TaskClass } from '../task/interactor.js';

/**
 * How the kit treats enqueued jobs:
 * - `'inline'`: an enqueue runs the job at once, through the whole pipeline, and resolves
 *   once it ran (delays are not waited for; a failed attempt is retried at once while
 *   `attempts` remain);
 * - `'fake'`: jobs are recorded and nothing runs until `drain()`.
 * @publicApi
 */
export type InteractorsTestMode = 'inline' | 'fake';

/** Options of `new InteractorsTestKit(options)`. @publicApi */
export interface InteractorsTestKitOptions {
  /** @default 'fake' */
  mode?: InteractorsTestMode;
}

/** A task by class or by name, as everywhere in the module. @publicApi */
export type TaskRef = TaskClass | string;

/**
 * Where a recorded job is: `pending` (not run yet, or waiting for its lock), `active`
 * (running now), `completed` or `failed` (no attempts left, or it could never run).
 * @publicApi
 */
export type TestJobState = 'pending' | 'active' | 'completed' | 'failed';

/** A job enqueued while the kit was in charge: plain data, a copy. @publicApi */
export interface TestJob {
  /** The job id `enqueue` resolved to; a tick's job is `<Task>-<due instant in ms>`. */
  readonly id: string;
  readonly queue: string;
  readonly task: string;
  /** The arguments as a worker receives them: after the JSON round trip (Dates are ISO strings). */
  readonly args: unknown[];
  readonly state: TestJobState;
  /** The due instant (epoch ms) of the tick that enqueued it, if a tick did. */
  readonly dueAt: number | undefined;
  /** Its delay in ms (`with({ delay })`, or `runAt` less the time of the enqueue). */
  readonly delay: number | undefined;
  readonly priority: number | undefined;
  /** Shared by every attempt's run. */
  readonly runId: string;
  /** How each attempt ended, in order. */
  readonly runs: RunResult[];
  /** Why it failed, when `state` is `failed`. */
  readonly failedReason: string | undefined;
}

/** Selects jobs: every key given must match. @publicApi */
export interface TestJobFilter {
  task?: TaskRef;
  queue?: string;
  state?: TestJobState;
}

/** Selects runs: every key given must match. @publicApi */
export interface TestRunFilter {
  task?: TaskRef;
  outcome?: RunOutcome;
  trigger?: RunTrigger;
}

/**
 * Why a tick did not fire: `disabled` (`schedules.<task>.enabled` is false),
 * `environment` (the task is off in this environment), `already_claimed` (this tick, or a
 * later one of the task, was claimed before: each tick fires at most once), `overlap`
 * (`run: 'queue'` with `overlap: 'skip'`: a job of an earlier tick is unfinished).
 * @publicApi
 */
export type TickSkip = 'disabled' | 'environment' | 'already_claimed' | 'overlap';

/** What `tick()` did. @publicApi */
export interface TickResult {
  readonly task: string;
  /** The tick's due instant (epoch ms, as `RunResult.dueAt`). */
  readonly dueAt: number;
  /** Whether the tick was claimed and handed on: run (`run: 'inline'`) or enqueued. */
  readonly fired: boolean;
  /** Set when `fired` is false. */
  readonly reason?: TickSkip;
  /** The job the tick enqueued (`run: 'queue'`). */
  readonly job?: TestJob;
  /** How the run ended, when it ran: an inline task, or a queued one in `inline` mode. */
  readonly run?: RunResult;
}

/** Options of `nextRuns()`. @publicApi */
export interface NextRunsOptions {
  /** The first instant considered (inclusive). @default the module's clock's now */
  from?: Date | number;
  /** How many due instants. @default 5 */
  count?: number;
}
