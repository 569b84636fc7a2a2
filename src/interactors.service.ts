import { Injectable } from '@nestjs/common';
import { TaskRegistry } from './discovery/task.registry.js';
import type { TaskInfo } from './discovery/task-definition.js';
import { TaskRunner } from './execution/task.runner.js';
import type { Interactor, TaskArgs, TaskClass, TaskResult } from './task/interactor.js';

/**
 * Runs and lists tasks by class or by name.
 * @publicApi
 */
@Injectable()
export class Interactors {
  constructor(
    private readonly registry: TaskRegistry,
    private readonly runner: TaskRunner,
  ) {}

  /**
   * Runs a task now, in this process, through the whole pipeline, and resolves to what
   * its `call()` returned; rejects with what it threw.
   */
  call<T extends Interactor>(task: TaskClass<T>, ...args: TaskArgs<T>): Promise<TaskResult<T>>;
  call(task: string, ...args: unknown[]): Promise<unknown>;
  async call(task: string | TaskClass, ...args: unknown[]): Promise<unknown> {
    const result = await this.runner.run(this.registry.resolve(task), { trigger: 'call', args });
    if (result.outcome === 'failure') throw result.error;
    return result.value;
  }

  /** Every registered task. */
  list(): TaskInfo[] {
    return this.registry.info();
  }
}
