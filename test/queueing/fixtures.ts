import { Injectable } from '@nestjs/common';
import { Interactor, Task, TaskRun, type TaskRunContext } from '../../src/index.js';
import { deferred, sleep } from './helpers.js';

/** One observed run: the run context as the task saw it, its arguments, and its timing. */
export interface Run extends TaskRunContext {
  readonly args: unknown[];
  readonly startedAt: number;
  finishedAt?: number;
}

/** Per-app record of the runs its tasks made; every fixture task injects it. */
@Injectable()
export class Runs {
  readonly all: Run[] = [];
  /** Runs in progress now, and the most seen at once. */
  active = 0;
  maxActive = 0;
  /** BlockerTask waits on this until the test releases it. */
  blocker = deferred();

  start(args: unknown[]): Run {
    const context = TaskRun.current();
    if (!context) throw new Error('Runs.start() called outside a task run');
    const run: Run = { ...context, args, startedAt: Date.now() };
    this.all.push(run);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    return run;
  }

  finish(run: Run): void {
    run.finishedAt = Date.now();
    this.active--;
  }

  of(task: string): Run[] {
    return this.all.filter((run) => run.task === task);
  }
}

/** On the default queue; records its arguments. */
@Task()
export class EchoTask extends Interactor {
  constructor(private readonly runs: Runs) {
    super();
  }
  async call(...args: unknown[]): Promise<void> {
    this.runs.finish(this.runs.start(args));
  }
}

/** On the `gates` queue. */
@Task({ queue: 'gates' })
export class GateTask extends Interactor {
  constructor(private readonly runs: Runs) {
    super();
  }
  async call(gate?: string): Promise<void> {
    this.runs.finish(this.runs.start([gate]));
  }
}

/** On the `heavy` queue; takes `ms` milliseconds. */
@Task({ queue: 'heavy' })
export class HeavyTask extends Interactor {
  constructor(private readonly runs: Runs) {
    super();
  }
  async call(ms = 0): Promise<void> {
    const run = this.runs.start([ms]);
    await sleep(ms);
    this.runs.finish(run);
  }
}

/** On the default queue; holds its worker slot until the test resolves `runs.blocker`. */
@Task()
export class BlockerTask extends Interactor {
  constructor(private readonly runs: Runs) {
    super();
  }
  async call(): Promise<void> {
    const run = this.runs.start([]);
    await this.runs.blocker.promise;
    this.runs.finish(run);
  }
}

/** Fails its first two attempts, succeeds on the third. */
@Task({ attempts: 3, backoff: 150 })
export class FlakyTask extends Interactor {
  constructor(private readonly runs: Runs) {
    super();
  }
  async call(): Promise<string> {
    const run = this.runs.start([]);
    this.runs.finish(run);
    if (run.attempt < 3) throw new Error(`flaky attempt ${run.attempt}`);
    return 'ok';
  }
}

/** Always fails; 3 attempts with exponential backoff (150 ms, then 300 ms). */
@Task({ attempts: 3, backoff: { type: 'exponential', delay: 150 } })
export class DoomedTask extends Interactor {
  constructor(private readonly runs: Runs) {
    super();
  }
  async call(): Promise<void> {
    const run = this.runs.start([]);
    this.runs.finish(run);
    throw new Error(`doomed attempt ${run.attempt}`);
  }
}

/** Always fails, one attempt (the default). */
@Task()
export class OnceFailingTask extends Interactor {
  constructor(private readonly runs: Runs) {
    super();
  }
  async call(): Promise<void> {
    this.runs.finish(this.runs.start([]));
    throw new Error('fails once and for all');
  }
}

/** Every second, a tick enqueues a job (`run: 'queue'` is the default). */
@Task({ cron: '* * * * * *' })
export class QueuedTick extends Interactor {
  constructor(private readonly runs: Runs) {
    super();
  }
  async call(): Promise<void> {
    this.runs.finish(this.runs.start([]));
  }
}

/** Every second, a tick runs in the claiming process, without a job. */
@Task({ cron: '* * * * * *', run: 'inline' })
export class InlineTick extends Interactor {
  constructor(private readonly runs: Runs) {
    super();
  }
  async call(): Promise<void> {
    this.runs.finish(this.runs.start([]));
  }
}

/** Every task without a schedule. */
export const PLAIN_TASKS = [
  EchoTask,
  GateTask,
  HeavyTask,
  BlockerTask,
  FlakyTask,
  DoomedTask,
  OnceFailingTask,
];

/** Queues the fixtures use: `default` (implicit, concurrency 1), `gates`, `heavy` (concurrency 3). */
export const QUEUES = { gates: { concurrency: 1 }, heavy: { concurrency: 3 } };
