import { Inject, Injectable } from '@nestjs/common';
import type { TaskDefinition } from '../discovery/task-definition.js';
import type { InteractorsConfig } from '../interactors.config.js';
import { INTERACTORS_CONFIG } from '../interactors.constants.js';
import { finish, type RunStep, type TaskInterceptor } from './task-interceptor.interface.js';

/**
 * Keeps a task out of environments it is not meant for: outside its `environments`
 * (or the module's default) a run is skipped with reason `environment`, unless the task
 * is named in `INTERACTORS_FORCE` (or it is `*`). @internal
 */
@Injectable()
export class EnvironmentInterceptor implements TaskInterceptor {
  constructor(@Inject(INTERACTORS_CONFIG) private readonly config: InteractorsConfig) {}

  /** Whether the task may run in this environment. */
  allows(task: TaskDefinition): boolean {
    const allowed = task.options.environments ?? this.config.environments;
    if (allowed === undefined) return true;
    if (this.config.environment !== undefined && allowed.includes(this.config.environment))
      return true;
    return this.config.force.has('*') || this.config.force.has(task.name);
  }

  bind(task: TaskDefinition): RunStep | undefined {
    // An allowed task gets no step at all: zero cost per run.
    if (this.allows(task)) return undefined;
    return async (run) => finish(run, 'skipped', { reason: 'environment' });
  }
}
