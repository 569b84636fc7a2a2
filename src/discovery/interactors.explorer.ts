import { TaskLogger } from '../execution/task-logger.js';
import { Inject, Injectable, Scope, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, ExternalContextCreator } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import {
  DEFAULT_QUEUE,
  INTERACTORS_CONFIG,
  LOGGER_CONTEXT,
  TASK_DECORATED_TWICE,
  TASK_METADATA,
} from '../interactors.constants.js';
import type { InteractorsConfig } from '../interactors.config.js';
import type { ScheduleOverride } from '../interfaces/module-options.interface.js';
import { InvalidTaskDefinitionsError } from '../errors/invalid-task-definitions.error.js';
import { currentRun } from '../execution/task-run.js';
import type { Interactor } from '../task/interactor.js';
import type { TaskOptions } from '../task/task-options.interface.js';
import { taskNameProblem, validateTaskOptions } from '../task/task-options.validation.js';
import type { TaskDefinition } from './task-definition.js';
import { TaskRegistry } from './task.registry.js';

/**
 * Finds every `@Task` provider at `onModuleInit`, validates all of them and either
 * registers them or fails the boot with one error listing every bad definition.
 * @internal
 */
@Injectable()
export class InteractorsExplorer implements OnModuleInit {
  private readonly logger = new TaskLogger(LOGGER_CONTEXT);

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly externalContextCreator: ExternalContextCreator,
    private readonly registry: TaskRegistry,
    @Inject(INTERACTORS_CONFIG) private readonly config: InteractorsConfig,
  ) {}

  onModuleInit(): void {
    const problems: string[] = [];
    const definitions: TaskDefinition[] = [];
    const seenInstances = new Set<unknown>();
    const owners = new Map<string, string>();
    const now = this.config.clock.now();
    const warnings: string[] = [];
    const overridden = new Set<string>();

    for (const wrapper of this.discovery.getProviders()) {
      const type = taskClassOf(wrapper);
      if (!type) continue;
      const options: TaskOptions = Reflect.getMetadata(TASK_METADATA, type);
      const name = typeof options?.name === 'string' ? options.name : type.name;
      const where = `${type.name} in ${wrapper.host?.name ?? 'an unknown module'}`;
      const taskProblems: string[] = [];
      const problem = (text: string) => taskProblems.push(`Task "${name}": ${text}`);

      if (Reflect.getOwnMetadata(TASK_DECORATED_TWICE, type)) {
        problem(`@Task is applied more than once to class ${type.name}; keep one decorator`);
      }
      if (options?.name === undefined) {
        const nameProblem = taskNameProblem(name);
        if (nameProblem) problem(`class name "${name}" ${nameProblem}; set a valid "name" option`);
      }
      if (wrapper.isTransient) {
        problem(
          `the provider is transient; a task needs one shared instance — remove "scope: Scope.TRANSIENT"`,
        );
      } else if (!wrapper.isDependencyTreeStatic()) {
        problem(
          `the provider is request-scoped (${requestScopeChain(wrapper).join(' → ')}); ` +
            'a task runs outside any request — make that dependency a singleton or inject it elsewhere',
        );
      } else if (seenInstances.has(wrapper.instance)) {
        continue; // the same instance under another token (useExisting)
      } else if (
        typeof (wrapper.instance as Partial<Interactor> | undefined)?.call !== 'function'
      ) {
        problem(`class ${type.name} has no call() method; extend Interactor and implement call()`);
      }
      seenInstances.add(wrapper.instance);

      const owner = owners.get(name);
      if (owner)
        problem(`the name is used twice (${owner}; ${where}); give one of them another "name"`);
      else owners.set(name, where);

      const given = this.config.schedules.get(name);
      if (given !== undefined) overridden.add(name);
      const { override, problems: overrideProblems } = checkOverride(name, given);
      const effective = override ? withSchedule(options, override) : options;
      const validated = validateTaskOptions(name, effective, this.config, now);
      validated.problems.push(...overrideProblems);
      taskProblems.push(
        ...validated.problems.map((text) =>
          override
            ? text.replace(`Task "${name}": `, `Task "${name}" (with schedules.${name}): `)
            : text,
        ),
      );
      warnings.push(...validated.warnings);
      if (taskProblems.length) {
        problems.push(...taskProblems);
        continue;
      }
      const instance = wrapper.instance as Interactor;
      definitions.push({
        name,
        type,
        instance,
        options: effective,
        schedule: validated.schedule,
        scheduled: override?.enabled !== false,
        catchUp: validated.catchUp,
        run: options.run ?? 'queue',
        queue: options.queue ?? DEFAULT_QUEUE,
        overlap: options.overlap ?? 'skip',
        handler: this.externalContextCreator.create(
          instance as object,
          enterCall(instance),
          'call',
          undefined,
          undefined,
          undefined,
          undefined,
          // Errors are the runner's to record; Nest's external filter would log them twice.
          { guards: true, interceptors: true, filters: false },
          'interactor',
        ),
      });
    }

    for (const name of this.config.schedules.keys()) {
      if (!overridden.has(name)) {
        problems.push(
          `schedules.${name} names no task; tasks: ${[...owners.keys()].join(', ') || '(none)'}`,
        );
      }
    }
    if (problems.length) throw new InvalidTaskDefinitionsError(problems);
    this.registry.register(definitions);
    for (const warning of warnings) this.logger.warn(warning);
    for (const task of definitions) {
      const schedule = task.schedule;
      this.logger.verbose(
        `Task ${task.name} (${task.type.name}) → ${task.run === 'queue' ? `queue ${task.queue}` : 'inline'}` +
          (task.options.cron
            ? `, cron "${task.options.cron}" ${schedule!.timeZone}`
            : schedule
              ? `, ${schedule.expression}`
              : ''),
      );
      if (schedule) {
        const due = [schedule.next(now)];
        while (due.length < 3) due.push(schedule.next(due.at(-1)!));
        this.logger.debug(
          `Task ${task.name} is next due at ${due.map((at) => new Date(at).toISOString()).join(', ')}`,
        );
      }
    }
  }
}

/**
 * `call()` wrapped to mark the run as entered, so a refusal can be told apart from a
 * failure by where it happened. Method metadata is copied, so `@UseGuards` on `call()`
 * and `context.getHandler()` lookups see the same as on the method itself.
 */
function enterCall(instance: Interactor): (...args: unknown[]) => unknown {
  const call = instance.call;
  const enter = function (...args: unknown[]): unknown {
    const run = currentRun();
    if (run) run.entered = true;
    return call.apply(instance, args);
  };
  for (const key of Reflect.getMetadataKeys(call)) {
    Reflect.defineMetadata(key, Reflect.getMetadata(key, call), enter);
  }
  Object.defineProperty(enter, 'name', { value: 'call' });
  return enter;
}

/** The task class a provider holds, covering class, `useClass`, `useFactory` and `useValue`. */
function taskClassOf(wrapper: InstanceWrapper): Function | undefined {
  const type =
    !wrapper.metatype || wrapper.inject ? wrapper.instance?.constructor : wrapper.metatype;
  if (typeof type !== 'function') return undefined;
  return Reflect.getMetadata(TASK_METADATA, type) ? type : undefined;
}

/** The path from a provider to the request-scoped provider that makes it request-scoped. */
function requestScopeChain(wrapper: InstanceWrapper, seen = new Set<InstanceWrapper>()): string[] {
  const label = String(wrapper.name ?? wrapper.token?.toString());
  if (wrapper.scope === Scope.REQUEST || seen.has(wrapper)) return [label];
  seen.add(wrapper);
  // Nest leaves these undefined for a provider without such dependencies.
  const deps = [
    ...(wrapper.getCtorMetadata() ?? []),
    ...(wrapper.getPropertiesMetadata() ?? []).map((property) => property.wrapper),
    ...(wrapper.getEnhancersMetadata() ?? []),
  ];
  for (const dep of deps) {
    if (dep && !dep.isDependencyTreeStatic()) return [label, ...requestScopeChain(dep, seen)];
  }
  return [label];
}

/** A task's options with a schedule from configuration: `cron`/`every` replace the schedule. */
function withSchedule(options: TaskOptions, override: ScheduleOverride): TaskOptions {
  if (options === null || typeof options !== 'object') return options;
  const { enabled: _enabled, ...rest } = override;
  const merged: TaskOptions = { ...options };
  if (rest.cron !== undefined || rest.every !== undefined) {
    delete merged.cron;
    delete merged.every;
    delete merged.offset;
  }
  return { ...merged, ...rest };
}

const SCHEDULE_KEYS = ['cron', 'every', 'offset', 'timeZone', 'catchUp', 'enabled'];

/** A `schedules` entry's shape; its values are then checked as the task's options. */
function checkOverride(
  task: string,
  given: unknown,
): { override?: ScheduleOverride; problems: string[] } {
  if (given === undefined) return { problems: [] };
  const problem = (text: string) => `Task "${task}": ${text}`;
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    return {
      problems: [problem('its schedules entry must be an object such as { cron: "0 * * * *" }')],
    };
  }
  const problems: string[] = [];
  // An unset or empty variable (`config.get('GATES_CRON')`) keeps the decorator's value.
  const defined = Object.entries(given).filter(
    ([, value]) => value !== undefined && !(typeof value === 'string' && value.trim() === ''),
  );
  for (const [key] of defined) {
    if (!SCHEDULE_KEYS.includes(key)) {
      problems.push(problem(`"${key}" is not known; use ${SCHEDULE_KEYS.join(', ')}`));
    }
  }
  const override = Object.fromEntries(
    defined.filter(([key]) => SCHEDULE_KEYS.includes(key)),
  ) as ScheduleOverride;
  if (override.enabled !== undefined && typeof override.enabled !== 'boolean') {
    problems.push(
      problem(`enabled must be true or false, got ${JSON.stringify(override.enabled)}`),
    );
  }
  return { override, problems };
}
