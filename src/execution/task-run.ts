import { AsyncLocalStorage } from 'node:async_hooks';

/** What started a run. @publicApi */
export type RunTrigger = 'call' | 'cron' | 'queue';

/** The run a piece of code is part of, readable anywhere inside it. @publicApi */
export interface TaskRunContext {
  readonly task: string;
  readonly runId: string;
  readonly trigger: RunTrigger;
  /** The due instant (epoch ms) of the tick this run belongs to, for cron-fired runs. */
  readonly dueAt: number | undefined;
  /** 1 for the first attempt of a queued job, then 2, 3, ...; 1 for other runs. */
  readonly attempt: number;
}

const storage = new AsyncLocalStorage<TaskRunContext>();

/** Access to the current run. @publicApi */
export const TaskRun = {
  /** The run the calling code is part of, or undefined outside any run. */
  current(): TaskRunContext | undefined {
    return storage.getStore();
  },
};

/** @internal */
export function runInContext<T>(context: TaskRunContext, fn: () => T): T {
  return storage.run(context, fn);
}
