import type { Interactor } from '../task/interactor.js';
import type { TaskOptions, TaskOverlap, TaskRunMode } from '../task/task-options.interface.js';
import type { Schedule } from '../scheduling/schedule.js';

/** A validated task, as discovery registers it. @internal */
export interface TaskDefinition {
  readonly name: string;
  /** The concrete class. */
  readonly type: Function;
  readonly instance: Interactor;
  readonly options: Readonly<TaskOptions>;
  readonly schedule: Schedule | undefined;
  /** Whether its ticks are fired (`schedules.<task>.enabled` in the module options). */
  readonly scheduled: boolean;
  /** How late the latest tick of a gap may run (ms); `false`: not at all; undefined: one interval. */
  readonly catchUp: number | false | undefined;
  readonly run: TaskRunMode;
  readonly queue: string;
  readonly overlap: TaskOverlap;
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

/** A task's due instants, from `Interactors.times()`. @publicApi */
export interface TaskTimes {
  readonly task: string;
  /** The last tick claimed by any scheduler sharing the key prefix (epoch ms). */
  readonly lastDueAt: number | undefined;
  /** The next tick (epoch ms); undefined for a task without a schedule. */
  readonly nextDueAt: number | undefined;
}
