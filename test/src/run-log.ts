import { Injectable } from '@nestjs/common';
import { TaskRun, type TaskRunContext } from '../../src/index.js';

/** One observed run: the run context as the task saw it, and when it started and ended. */
export interface RecordedRun extends TaskRunContext {
  readonly startedAt: number;
  finishedAt?: number;
}

/** Per-app record of the runs its tasks made; tasks inject it. */
@Injectable()
export class RunLog {
  readonly runs: RecordedRun[] = [];

  /** Records the current run as started; returns the record, to mark it finished later. */
  start(): RecordedRun {
    const context = TaskRun.current();
    if (!context) throw new Error('RunLog.start() called outside a task run');
    const run: RecordedRun = { ...context, startedAt: Date.now() };
    this.runs.push(run);
    return run;
  }

  of(task: string): RecordedRun[] {
    return this.runs.filter((run) => run.task === task);
  }
}
