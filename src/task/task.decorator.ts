import { Injectable } from '@nestjs/common';
import { SCOPE_OPTIONS_METADATA } from '@nestjs/common/constants.js';
import { TASK_DECORATED_TWICE, TASK_METADATA } from '../interactors.constants.js';
import type { TaskOptions } from './task-options.interface.js';

/**
 * Marks a class as a task and makes it injectable. Options are validated at bootstrap,
 * where every invalid definition is reported in one error.
 *
 * @example
 * ```ts
 * @Task({ cron: '0 * * * *', queue: 'gates' })
 * export class CloseTheGates extends Interactor {
 *   async call(): Promise<void> {}
 * }
 * ```
 * @publicApi
 */
export function Task(options: TaskOptions = {}): ClassDecorator {
  return (target) => {
    if (Reflect.hasOwnMetadata(TASK_METADATA, target)) {
      Reflect.defineMetadata(TASK_DECORATED_TWICE, true, target);
    }
    Reflect.defineMetadata(TASK_METADATA, options, target);
    // Keep a scope set by an @Injectable() applied before (below) @Task, so boot can report it.
    Injectable(Reflect.getOwnMetadata(SCOPE_OPTIONS_METADATA, target))(target);
  };
}
