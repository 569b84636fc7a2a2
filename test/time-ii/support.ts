import { Injectable, type INestApplication } from '@nestjs/common';
import { Registry, type Counter } from 'prom-client';
import { RunHooks, TaskRun, type RunResult, type TaskRunContext } from '../../src/index.js';
import { INTERACTORS_JOB_QUEUE } from '../../src/interactors.constants.js';
import type { JobQueue } from '../../src/queueing/job-queue.interface.js';
import { TaskDispatcher } from '../../src/scheduling/task.dispatcher.js';

/** Epoch ms of a literal ISO instant. */
export const at = (iso: string): number => {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`not an instant: ${iso}`);
  return ms;
};

export const MINUTE = 60_000;
export const HOUR = 3_600_000;

/**
 * Holds every `call()` that passes through it until the test lets it go: the run stays in
 * flight (its `call()` unsettled) for as long as the test wants. One per app.
 */
@Injectable()
export class Gate {
  /** Run contexts of the calls that entered, in order. */
  readonly entered: TaskRunContext[] = [];
  /** Calls entered and not let go yet. */
  private readonly held: Array<() => void> = [];
  /** How many entered calls are still held. */
  get holding(): number {
    return this.held.length;
  }

  async pass(): Promise<string> {
    const run = TaskRun.current()!;
    this.entered.push(run);
    await new Promise<void>((resolve) => this.held.push(resolve));
    return `done ${run.runId}`;
  }

  /** Lets the oldest held call finish. */
  releaseOne(): void {
    this.held.shift()?.();
  }

  /** Lets every held call finish. */
  releaseAll(): void {
    for (const release of this.held.splice(0)) release();
  }
}

/** Every finished run of one app, from its `RunHooks`. */
export class Results {
  readonly all: RunResult[] = [];

  constructor(app?: INestApplication) {
    if (app) this.listen(app.get(RunHooks, { strict: false }));
  }

  protected listen(hooks: RunHooks): void {
    hooks.onFinished((result) => void this.all.push(result));
  }

  of(task: string): RunResult[] {
    return this.all.filter((result) => result.task === task);
  }

  /** `outcome` or `outcome/reason` of each run of the task, in order of finishing. */
  outcomes(task: string): string[] {
    return this.of(task).map((r) => (r.reason ? `${r.outcome}/${r.reason}` : r.outcome));
  }
}

/**
 * Every finished run of one app, recorded from the moment the app's providers are built (so
 * a run fired during boot, e.g. a catch-up, is not missed): add it to the app's providers.
 */
@Injectable()
export class ResultLog extends Results {
  constructor(hooks: RunHooks) {
    super();
    this.listen(hooks);
  }
}

/** Value of `interactor_runs_total{task, outcome, reason}` in a registry (0 when absent). */
export async function runsTotal(
  registry: Registry,
  task: string,
  outcome: string,
  reason = '',
): Promise<number> {
  const metric = registry.getSingleMetric('interactor_runs_total') as Counter | undefined;
  if (!metric) return 0;
  const { values } = await metric.get();
  return values
    .filter(
      ({ labels }) =>
        labels.task === task && labels.outcome === outcome && (labels.reason ?? '') === reason,
    )
    .reduce((sum, { value }) => sum + value, 0);
}

/** Every `interactor_runs_total` series of a task, as `outcome/reason → value` (reason may be empty). */
export async function runSeries(registry: Registry, task: string): Promise<Record<string, number>> {
  const metric = registry.getSingleMetric('interactor_runs_total') as Counter | undefined;
  if (!metric) return {};
  const { values } = await metric.get();
  const out: Record<string, number> = {};
  for (const { labels, value } of values) {
    if (labels.task !== task || value === 0) continue;
    const key = labels.reason ? `${labels.outcome}/${labels.reason}` : String(labels.outcome);
    out[key] = (out[key] ?? 0) + value;
  }
  return out;
}

/** The app's dispatcher (internal), to wake it by hand after setting its manual clock. */
export const dispatcherOf = (app: INestApplication): TaskDispatcher =>
  app.get(TaskDispatcher, { strict: false });

/** The app's job queue adapter (internal): BullMQ's or the in-memory twin. */
export const jobQueueOf = (app: INestApplication): JobQueue =>
  app.get<JobQueue>(INTERACTORS_JOB_QUEUE, { strict: false });

/** Jobs by state of one queue of the adapter (counts of 0 left out). */
export async function depthsOf(
  app: INestApplication,
  queue: string,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const depth of await jobQueueOf(app).depths()) {
    if (depth.queue === queue && depth.count > 0) out[depth.state] = depth.count;
  }
  return out;
}
