import type { Interactor } from '../task/interactor.js';
import type { TaskOptions, TaskRunMode } from '../task/task-options.interface.js';
import type { Schedule } from '../scheduling/schedule.js';

/** A validated task, as discovery registers it. @internal */
export interface TaskDefinition {
  readonly name: string;
  /** The concrete class. */
  readonly type: Function;
  readonly instance: Interactor;
  readonly options: Readonly<TaskOptions>;
  readonly schedule: Schedule | undefined;
  readonly run: TaskRunMode;
  readonly queue: string;
  /** `call()` through the user's Nest guards and interceptors (context type `'interactor'`). */
  readonly handler: (...args: unknown[]) => Promise<unknown>;
}

/** What `Interactors.list()` tells about a task. @publicApi */
export interface TaskInfo {
  readonly name: string;
  readonly className: string;
  readonly cron: string | undefined;
  readonly every: string | number | undefined;
  readonly timeZone: string | undefined;
  readonly run: TaskRunMode;
  readonly queue: string;
}
