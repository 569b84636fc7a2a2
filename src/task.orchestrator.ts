import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import {
  INTERACTORS_CONFIG,
  INTERACTORS_JOB_QUEUE,
  INTERACTORS_TRANSPORT,
} from './interactors.constants.js';
import { JobProcessor } from './queueing/job.processor.js';
import { PausedTasks } from './operations/paused-tasks.js';
import { RunHistory } from './operations/run-history.js';
import { TaskRegistry } from './discovery/task.registry.js';
import { TaskLogger } from './execution/task-logger.js';
import { within } from './utils/within.js';
import { guardUnhandledRejections } from './execution/unhandled-rejections.js';
import { EnvironmentInterceptor } from './interceptors/environment.interceptor.js';
import { InteractorsMetrics } from './metrics/interactors.metrics.js';
import { LOGGER_CONTEXT } from './interactors.constants.js';
import type { JobQueue } from './queueing/job-queue.interface.js';
import type { InteractorsConfig } from './interactors.config.js';
import { TaskRunner } from './execution/task.runner.js';
import { TaskDispatcher } from './scheduling/task.dispatcher.js';
import { QUIT_WAIT_MS } from './transport/redis-connection.js';
import { InteractorsLocks } from './locking/interactors.locks.js';
import type { InteractorsTransport } from './transport/transport.interface.js';

/** How long shutdown waits for the locks of abandoned runs to be released. */
const RELEASE_WAIT = 500;

/**
 * Owns start and stop order: nothing fires until every module is initialised; on
 * shutdown, stop firing, wait for runs in flight (up to the grace), then close connections.
 * @internal
 */
@Injectable()
export class TaskOrchestrator
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new TaskLogger(LOGGER_CONTEXT);
  private releaseRejectionGuard: () => void = () => undefined;

  constructor(
    private readonly registry: TaskRegistry,
    private readonly environment: EnvironmentInterceptor,
    private readonly metrics: InteractorsMetrics,
    private readonly dispatcher: TaskDispatcher,
    private readonly runner: TaskRunner,
    private readonly processor: JobProcessor,
    private readonly history: RunHistory,
    private readonly paused: PausedTasks,
    private readonly locks: InteractorsLocks,
    @Inject(INTERACTORS_JOB_QUEUE) private readonly jobs: JobQueue,
    @Inject(INTERACTORS_TRANSPORT) private readonly transport: InteractorsTransport,
    @Inject(INTERACTORS_CONFIG) private readonly config: InteractorsConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Node ends the process on an unhandled rejection; a task's stray promise must not.
    if (this.config.catchUnhandledRejections)
      this.releaseRejectionGuard = guardUnhandledRejections();
    this.metrics.addDepthSource(this.jobs);
    const tasks = this.registry.all();
    const disabled = tasks
      .filter((task) => !this.environment.allows(task))
      .map((task) => task.name);
    if (disabled.length) {
      this.logger.log(
        `Disabled in environment "${this.config.environment ?? '(none)'}": ${disabled.join(', ')} ` +
          '(their ticks are not fired; INTERACTORS_FORCE=<names or *> turns them on)',
      );
    }
    const unscheduled = tasks.filter((task) => !task.scheduled).map((task) => task.name);
    if (unscheduled.length && this.config.scheduler) {
      this.logger.log(
        `Not scheduled (schedules.<task>.enabled is false): ${unscheduled.join(', ')}`,
      );
    }
    if (this.config.worker) {
      const consumed = this.config.consume.map(
        (name) => [name, this.config.queues.get(name)!] as const,
      );
      this.jobs.start(new Map(consumed), this.processor.handle);
    }
    if (this.config.scheduler)
      await this.dispatcher.start(
        tasks.filter((task) => task.scheduled && this.environment.allows(task)),
      );
  }

  async beforeApplicationShutdown(): Promise<void> {
    const grace = this.config.shutdownGrace;
    // One deadline for every step, so that the process exits within about the grace.
    const deadline = Date.now() + grace;
    const left = () => Math.max(deadline - Date.now(), 0);
    // Nothing new starts from here: the workers stop fetching jobs while the dispatcher
    // hands on the ticks a wake already claimed (a slow Redis can hold a claim for up to
    // its commandTimeout; the workers must not go on fetching meanwhile). In memory, a
    // tick handed on now is not run: the in-memory queue goes with the process anyway.
    const workers = this.jobs.stopWorkers(grace);
    await within(this.dispatcher.stop(), grace);
    // Runs that start while this waits (an HTTP request still served) are waited for too.
    await this.runner.drain(left(), grace);
    // Runs still going past the grace are abandoned: free their locks now, while the
    // connection is open, rather than leave them held until their ttl runs out. Bounded,
    // and side by side with forcing the workers closed: a Redis that does not answer lets
    // them expire anyway. From here a run that still tries to take a lock gives it back.
    const abandoned = this.locks.releaseAll(
      new Error(`abandoned: still running when the shutdown grace (${grace} ms) ended`),
    );
    const [released] = await Promise.all([
      within(abandoned, RELEASE_WAIT).then((done) => (done ? abandoned : 0)),
      workers,
    ]);
    if (released) {
      this.logger.warn(
        `Released ${released} lock(s) of run(s) still in flight after the shutdown grace`,
      );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.releaseRejectionGuard();
    // The last history records need the connection; a Redis that does not answer loses them
    // rather than hold the exit.
    await within(this.history.flush(), QUIT_WAIT_MS);
    await Promise.all([this.paused.close(), this.jobs.close(), this.transport.close()]);
  }
}
