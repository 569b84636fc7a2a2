import { ModuleRef } from '@nestjs/core';
import type { TaskDefinition } from '../discovery/task-definition.js';
import { TaskRegistry } from '../discovery/task.registry.js';
import { UnknownTaskError } from '../errors/unknown-task.error.js';
import { RunHooks } from '../execution/run-hooks.js';
import type { RunOutcome, RunResult } from '../execution/run-result.js';
import type { RunTrigger } from '../execution/task-run.js';
import type { InteractorsConfig } from '../interactors.config.js';
import {
  INTERACTORS_BULL_CONNECTION,
  INTERACTORS_CONFIG,
  INTERACTORS_JOB_QUEUE,
  INTERACTORS_QUEUES,
  INTERACTORS_TRANSPORT,
} from '../interactors.constants.js';
import { INTERACTORS_MODULE_OPTIONS } from '../interactors.module-definition.js';
import { EnvironmentInterceptor } from '../interceptors/environment.interceptor.js';
import { JobProcessor } from '../queueing/job.processor.js';
import { nextTick, type Schedule } from '../scheduling/schedule.js';
import { TickFirer } from '../scheduling/tick.firer.js';
import { RecordingJobQueue, type RecordedJob } from './recording.job-queue.js';
import { InteractorsTestKitError } from './test-kit.error.js';
import type {
  InteractorsTestKitOptions,
  InteractorsTestMode,
  NextRunsOptions,
  TaskRef,
  TestJob,
  TestJobFilter,
  TestJobState,
  TestRunFilter,
  TickResult,
} from './test-kit.interface.js';
import { testingConfig } from './testing.config.js';
import { TestingTransport } from './testing.transport.js';

/**
 * What the kit needs of Nest's `TestingModuleBuilder`, typed by shape so that this entry
 * point imports nothing from `@nestjs/testing` (any version's builder fits).
 * @publicApi
 */
export interface OverridableModuleBuilder<B> {
  overrideProvider(token: unknown): {
    useFactory(options: { factory: (...args: any[]) => unknown; inject?: unknown[] }): B;
  };
}

const MODES: readonly InteractorsTestMode[] = ['inline', 'fake'];
const STATES: readonly TestJobState[] = ['pending', 'active', 'completed', 'failed'];
const OUTCOMES: readonly RunOutcome[] = ['success', 'failure', 'locked', 'skipped', 'timeout'];
const TRIGGERS: readonly RunTrigger[] = ['call', 'cron', 'queue'];
/** Jobs one `drain()` works at most: a task that enqueues itself would never end. */
const MAX_DRAINED = 10_000;
const MAX_NEXT_RUNS = 10_000;

/** The testing module a kit serves. */
interface Binding {
  readonly moduleRef: ModuleRef;
  readonly config: InteractorsConfig;
  readonly queue: RecordingJobQueue;
  /** Every finished run since the module was compiled (or the last `clear()`). */
  readonly results: RunResult[];
  readonly waiters: Set<(result: RunResult) => void>;
  closed: boolean;
}

/**
 * Runs `InteractorsModule` inside a Nest testing module without Redis and without
 * timers: jobs are recorded and run when the test says (`inline` or `fake` mode), ticks
 * fire only through `tick()`, and `nextRuns()` tells a task's due instants by the
 * scheduler's own rules.
 *
 * It works wherever the app imports `InteractorsModule.forRoot(...)` or `forRootAsync(...)`,
 * however deep: `override()` replaces the module's configuration, transport, BullMQ
 * connection and job queue by their tokens, which Nest applies in every module.
 *
 * @example
 * ```ts
 * const kit = new InteractorsTestKit({ mode: 'fake' });
 * const moduleRef = await kit.override(Test.createTestingModule({ imports: [AppModule] })).compile();
 * await moduleRef.init();
 * await moduleRef.get(Signups).signUp('ann@example.com');
 * expect(kit.jobs(SendWelcomeEmail).map((job) => job.args)).toEqual([['ann@example.com']]);
 * await kit.drain();
 * ```
 * @publicApi
 */
export class InteractorsTestKit {
  /** How enqueued jobs are treated; see `InteractorsTestMode`. */
  readonly mode: InteractorsTestMode;
  private binding: Binding | undefined;

  constructor(options: InteractorsTestKitOptions = {}) {
    const mode = options.mode ?? 'fake';
    if (!MODES.includes(mode)) {
      throw new InteractorsTestKitError(
        `InteractorsTestKit: mode ${JSON.stringify(mode)} is not known; use "inline" (an enqueue runs the job at once) or "fake" (jobs are recorded until drain())`,
      );
    }
    this.mode = mode;
  }

  /**
   * Overrides the module's providers in a testing module under construction; call it
   * before `compile()`. The app's options are still read and validated as in production,
   * but no Redis connection is opened (the module's, BullMQ's and the queues under
   * `getQueueToken(name)`, which are `null`), the `scheduler` and `worker` roles start
   * nothing, and this kit serves the resulting module. One kit serves one testing module
   * at a time.
   */
  override<B extends OverridableModuleBuilder<B>>(builder: B): B {
    return builder
      .overrideProvider(INTERACTORS_CONFIG)
      .useFactory({
        factory: testingConfig,
        inject: [INTERACTORS_MODULE_OPTIONS, INTERACTORS_QUEUES],
      })
      .overrideProvider(INTERACTORS_TRANSPORT)
      .useFactory({ factory: () => new TestingTransport() })
      .overrideProvider(INTERACTORS_BULL_CONNECTION)
      .useFactory({ factory: () => null })
      .overrideProvider(INTERACTORS_JOB_QUEUE)
      .useFactory({
        factory: (config: InteractorsConfig, hooks: RunHooks, moduleRef: ModuleRef) =>
          this.bind(config, hooks, moduleRef),
        inject: [INTERACTORS_CONFIG, RunHooks, ModuleRef],
      });
  }

  /**
   * The jobs enqueued so far, in order, optionally of one task (class or name) or by
   * `{ task, queue, state }`. Plain copies: arguments as a worker receives them.
   */
  jobs(filter?: TaskRef | TestJobFilter): TestJob[] {
    const binding = this.bound('jobs');
    const matches = this.jobMatcher(binding, filter, 'jobs', ['task', 'queue', 'state']);
    return binding.queue.jobs.filter(matches).map((job) => snapshot(binding, job));
  }

  /**
   * How the runs that happened ended, in the order they finished: calls, ticks and jobs
   * alike, optionally of one task or by `{ task, outcome, trigger }`.
   */
  runs(filter?: TaskRef | TestRunFilter): RunResult[] {
    const binding = this.bound('runs');
    const given = normalize(filter, 'runs', ['task', 'outcome', 'trigger']);
    const task = given.task === undefined ? undefined : this.resolve(binding, given.task, 'runs');
    oneOf(given.outcome, OUTCOMES, 'runs', 'outcome');
    oneOf(given.trigger, TRIGGERS, 'runs', 'trigger');
    return binding.results
      .filter(
        (run) =>
          (task === undefined || run.task === task.name) &&
          (given.outcome === undefined || run.outcome === given.outcome) &&
          (given.trigger === undefined || run.trigger === given.trigger),
      )
      .map((run) => ({ ...run }));
  }

  /**
   * Works every pending job (optionally of one task, or by `{ task, queue }`) in the order
   * they were enqueued, delayed ones included, through the module's worker path; jobs they
   * enqueue are worked too. A failed attempt is retried at once while `attempts` remain; a
   * job told to wait (its lock held elsewhere) stays pending for the next `drain()`.
   * Resolves, once nothing is being worked, to the runs that ended meanwhile.
   */
  async drain(filter?: TaskRef | Omit<TestJobFilter, 'state'>): Promise<RunResult[]> {
    const binding = this.live('drain');
    const matches = this.jobMatcher(binding, filter, 'drain', ['task', 'queue']);
    const first = binding.results.length;
    let worked = 0;
    // Jobs enqueued meanwhile are appended, so the walk reaches them too.
    for (let i = 0; i < binding.queue.jobs.length; i++) {
      const job = binding.queue.jobs[i]!;
      if (job.state !== 'pending' || !matches(job)) continue;
      if (++worked > MAX_DRAINED) {
        throw new InteractorsTestKitError(
          `InteractorsTestKit.drain(): worked ${MAX_DRAINED} jobs and more keep coming (does a task enqueue itself?); drain one task at a time with drain(Task)`,
        );
      }
      await binding.queue.work(job);
    }
    await binding.queue.idle();
    return binding.results.slice(first).map((run) => ({ ...run }));
  }

  /**
   * Fires one tick of a scheduled task the way the scheduler does: claims it on the
   * in-memory transport (each tick fires at most once), then runs it (`run: 'inline'`) or
   * enqueues it (`run: 'queue'`; the job then follows the kit's mode), through the whole
   * pipeline. `at` must be a due instant of the task (see `nextRuns`); without it, the
   * first one after both the clock's now and the task's last claimed tick, so repeated
   * calls walk the schedule. Tasks the scheduler would not fire here (disabled, or off in
   * this environment) are not fired. Catch-up and missed-tick counting are the
   * dispatcher's timing and are not simulated.
   */
  async tick(task: TaskRef, at?: Date | number): Promise<TickResult> {
    const binding = this.live('tick');
    const definition = this.resolve(binding, task, 'tick');
    const schedule = scheduleOf(definition, 'tick');
    const name = definition.name;
    const transport = binding.moduleRef.get<TestingTransport>(INTERACTORS_TRANSPORT);
    let dueAt: number;
    if (at === undefined) {
      const last = (await transport.lastClaimed([name])).get(name) ?? -Infinity;
      dueAt = nextTick(schedule, Math.max(binding.config.clock.now(), last));
    } else {
      dueAt = instantOf(at, `InteractorsTestKit.tick(${name}, at)`);
      const due = nextTick(schedule, dueAt - 1);
      if (due !== dueAt) {
        throw new InteractorsTestKitError(
          `InteractorsTestKit.tick(${name}, at): ${iso(dueAt)} is not a due instant of ${describeSchedule(schedule)}; ` +
            `the next one is ${iso(due)} (kit.nextRuns(${name}, { from }) lists them)`,
        );
      }
    }
    if (!definition.scheduled) return { task: name, dueAt, fired: false, reason: 'disabled' };
    if (!binding.moduleRef.get(EnvironmentInterceptor).allows(definition)) {
      return { task: name, dueAt, fired: false, reason: 'environment' };
    }
    const [claim] = await transport.claimTicks([{ task: name, dueAt }]);
    if (!claim!.won) return { task: name, dueAt, fired: false, reason: 'already_claimed' };

    const firer = binding.moduleRef.get(TickFirer);
    if (definition.run === 'inline') {
      // The firer starts an inline run without waiting for it; its result says when it ended.
      const run = await this.nextRun(
        binding,
        (result) => result.task === name && result.trigger === 'cron' && result.dueAt === dueAt,
        () => firer.fire({ task: definition, dueAt }),
      );
      return { task: name, dueAt, fired: true, run: { ...run } };
    }
    await firer.fire({ task: definition, dueAt });
    // Found by what it carries, not by how tick job ids are spelled.
    const job = binding.queue.jobs.find(
      (each) => each.envelope.task === name && each.envelope.dueAt === dueAt,
    );
    // Not added: deduplicated against an unfinished job of an earlier tick.
    if (!job) return { task: name, dueAt, fired: false, reason: 'overlap' };
    const recorded = snapshot(binding, job);
    return { task: name, dueAt, fired: true, job: recorded, run: recorded.runs.at(-1) };
  }

  /**
   * A task's due instants at or after `from` (default: the module clock's now), as Dates,
   * computed by the scheduler's own code (`schedules` overrides, time zone and DST rule
   * included). It tells the schedule, whether or not this process would fire it.
   */
  nextRuns(task: TaskRef, options: NextRunsOptions = {}): Date[] {
    const binding = this.bound('nextRuns');
    const definition = this.resolve(binding, task, 'nextRuns');
    const schedule = scheduleOf(definition, 'nextRuns');
    const given = normalize(options, 'nextRuns', ['from', 'count']) as NextRunsOptions;
    const what = `InteractorsTestKit.nextRuns(${definition.name})`;
    const from =
      given.from === undefined
        ? binding.config.clock.now()
        : instantOf(given.from, `${what}: option "from"`);
    const count = given.count ?? 5;
    if (!Number.isInteger(count) || count < 1 || count > MAX_NEXT_RUNS) {
      throw new InteractorsTestKitError(
        `${what}: option "count" must be a whole number from 1 to ${MAX_NEXT_RUNS}, got ${String(count)}`,
      );
    }
    const due: Date[] = [];
    // `from` itself counts when it is due: a tick at `from` is the first after `from - 1`.
    for (let after = from - 1; due.length < count;) {
      after = nextTick(schedule, after);
      due.push(new Date(after));
    }
    return due;
  }

  /** Forgets the recorded jobs (pending ones included), the runs and the claimed ticks. */
  clear(): void {
    const binding = this.bound('clear');
    binding.queue.clear();
    binding.results.length = 0;
    binding.moduleRef.get<TestingTransport>(INTERACTORS_TRANSPORT).reset();
  }

  private bind(config: InteractorsConfig, hooks: RunHooks, moduleRef: ModuleRef) {
    if (this.binding && !this.binding.closed) {
      throw new InteractorsTestKitError(
        'InteractorsTestKit: this kit already serves a testing module that is not closed (or the app imports InteractorsModule twice); ' +
          'close the previous one (await moduleRef.close()) or create one kit per testing module, e.g. in beforeEach',
      );
    }
    const queue = new RecordingJobQueue(
      this.mode,
      () => moduleRef.get(JobProcessor).handle,
      () => (binding.closed = true),
    );
    const binding: Binding = {
      moduleRef,
      config,
      queue,
      results: [],
      waiters: new Set(),
      closed: false,
    };
    hooks.onFinished((result) => {
      binding.results.push(result);
      for (const waiter of binding.waiters) waiter(result);
    });
    this.binding = binding;
    return queue;
  }

  private bound(method: string): Binding {
    if (!this.binding) {
      throw new InteractorsTestKitError(
        `InteractorsTestKit.${method}(): the kit serves no testing module; pass the builder through ` +
          'kit.override(Test.createTestingModule({ ... })) before compile(), and import ' +
          'InteractorsModule.forRoot(...) or forRootAsync(...) in the modules under test',
      );
    }
    return this.binding;
  }

  /** The binding, for methods that run something: refused once the module closed. */
  private live(method: string): Binding {
    const binding = this.bound(method);
    if (binding.closed) {
      throw new InteractorsTestKitError(
        `InteractorsTestKit.${method}(): the testing module was closed; recorded jobs and runs can still be read`,
      );
    }
    return binding;
  }

  private resolve(binding: Binding, task: unknown, method: string): TaskDefinition {
    if (typeof task !== 'string' && typeof task !== 'function') {
      throw new InteractorsTestKitError(
        `InteractorsTestKit.${method}(): expected a task class or a task name, got ${String(task)}`,
      );
    }
    const registry = binding.moduleRef.get(TaskRegistry);
    try {
      return registry.resolve(task as TaskRef);
    } catch (error) {
      if (!(error instanceof UnknownTaskError) || registry.all().length > 0) throw error;
      throw new InteractorsTestKitError(
        `InteractorsTestKit.${method}(): task "${error.task}" is not registered, and no task is: ` +
          'the testing module is not initialised yet; await moduleRef.init() (or app.init()) first',
        { cause: error },
      );
    }
  }

  private jobMatcher(
    binding: Binding,
    filter: TaskRef | TestJobFilter | undefined,
    method: string,
    keys: readonly string[],
  ): (job: RecordedJob) => boolean {
    const given = normalize(filter, method, keys) as TestJobFilter;
    const task = given.task === undefined ? undefined : this.resolve(binding, given.task, method);
    if (given.queue !== undefined && !binding.config.queues.has(given.queue)) {
      throw new InteractorsTestKitError(
        `InteractorsTestKit.${method}(): queue ${JSON.stringify(given.queue)} is not declared; declared queues: ${[...binding.config.queues.keys()].join(', ')}`,
      );
    }
    oneOf(given.state, STATES, method, 'state');
    return (job) =>
      (task === undefined || job.envelope.task === task.name) &&
      (given.queue === undefined || job.queue === given.queue) &&
      (given.state === undefined || job.state === given.state);
  }

  /** Starts `start` and resolves to the first finished run it is waiting for. */
  private async nextRun(
    binding: Binding,
    wanted: (result: RunResult) => boolean,
    start: () => Promise<void>,
  ): Promise<RunResult> {
    let waiter!: (result: RunResult) => void;
    const finished = new Promise<RunResult>((resolve) => {
      waiter = (result) => wanted(result) && resolve(result);
    });
    binding.waiters.add(waiter);
    try {
      await start();
      return await finished;
    } finally {
      binding.waiters.delete(waiter);
    }
  }
}

function snapshot(binding: Binding, job: RecordedJob): TestJob {
  return {
    id: job.id,
    queue: job.queue,
    task: job.envelope.task,
    // Parsed afresh: the caller gets its own copy, as a worker would.
    args: JSON.parse(job.envelope.args) as unknown[],
    state: job.state,
    dueAt: job.envelope.dueAt,
    delay: job.options.delay,
    priority: job.options.priority,
    runId: job.envelope.runId,
    runs: binding.results
      .filter((run) => run.runId === job.envelope.runId)
      .map((run) => ({ ...run })),
    failedReason: job.failedReason,
  };
}

/** A filter given as a task, or as an object of known keys. */
function normalize(
  filter: unknown,
  method: string,
  keys: readonly string[],
): Record<string, unknown> {
  if (filter === undefined) return {};
  if (typeof filter === 'string' || typeof filter === 'function') return { task: filter };
  if (filter === null || typeof filter !== 'object' || Array.isArray(filter)) {
    throw new InteractorsTestKitError(
      `InteractorsTestKit.${method}(): expected a task class, a task name or { ${keys.join(', ')} }, got ${String(filter)}`,
    );
  }
  for (const key of Object.keys(filter)) {
    if (!keys.includes(key)) {
      throw new InteractorsTestKitError(
        `InteractorsTestKit.${method}(): "${key}" is not known; use ${keys.join(', ')}`,
      );
    }
  }
  return filter as Record<string, unknown>;
}

function oneOf(value: unknown, allowed: readonly string[], method: string, key: string): void {
  if (value !== undefined && !allowed.includes(value as string)) {
    throw new InteractorsTestKitError(
      `InteractorsTestKit.${method}(): ${key} ${JSON.stringify(value)} is not known; use ${allowed.join(', ')}`,
    );
  }
}

function scheduleOf(task: TaskDefinition, method: string): Schedule {
  if (task.schedule) return task.schedule;
  throw new InteractorsTestKitError(
    `InteractorsTestKit.${method}(${task.name}): task "${task.name}" has no schedule (no "cron" or "every"), so it has no ticks; ` +
      `run it with interactors.run(${task.name}) or enqueue it instead`,
  );
}

function instantOf(value: unknown, what: string): number {
  const instant = value instanceof Date ? value.getTime() : value;
  if (typeof instant !== 'number' || !Number.isFinite(instant)) {
    throw new InteractorsTestKitError(
      `${what} must be a valid Date or epoch milliseconds, got ${String(value)}`,
    );
  }
  return instant;
}

function describeSchedule(schedule: Schedule): string {
  return schedule.timeZone === undefined
    ? schedule.expression
    : `cron "${schedule.expression}" (${schedule.timeZone})`;
}

const iso = (instant: number) => new Date(instant).toISOString();
