import { Injectable } from '@nestjs/common';
import { UnknownTaskError } from '../errors/unknown-task.error.js';
import type { TaskClass } from '../task/interactor.js';
import type { TaskDefinition, TaskInfo } from './task-definition.js';

/** Runtime lookup of discovered tasks by name or class. @internal */
@Injectable()
export class TaskRegistry {
  private readonly byName = new Map<string, TaskDefinition>();
  private readonly byType = new Map<Function, TaskDefinition>();

  register(definitions: readonly TaskDefinition[]): void {
    for (const definition of definitions) {
      this.byName.set(definition.name, definition);
      this.byType.set(definition.type, definition);
    }
  }

  /** The task of that name, or undefined. */
  find(name: string): TaskDefinition | undefined {
    return this.byName.get(name);
  }

  /** @throws UnknownTaskError */
  resolve(task: string | TaskClass): TaskDefinition {
    const found = typeof task === 'string' ? this.byName.get(task) : this.byType.get(task);
    if (found) return found;
    throw new UnknownTaskError(typeof task === 'string' ? task : task.name, [
      ...this.byName.keys(),
    ]);
  }

  all(): TaskDefinition[] {
    return [...this.byName.values()];
  }

  info(): TaskInfo[] {
    return this.all().map((task) => ({
      name: task.name,
      className: task.type.name,
      cron: task.options.cron,
      every: task.options.every,
      timeZone: task.schedule?.timeZone,
      run: task.run,
      queue: task.queue,
    }));
  }
}
