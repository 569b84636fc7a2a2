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
import type { JobQueue } from './queueing/job-queue.interface.js';
import type { InteractorsConfig } from './interactors.config.js';
import { TaskRunner } from './execution/task.runner.js';
import { TaskDispatcher } from './scheduling/task.dispatcher.js';
import type { InteractorsTransport } from './transport/transport.interface.js';

/**
 * Owns start and stop order: nothing fires until every module is initialised; on
 * shutdown, stop firing, wait for runs in flight (up to the grace), then close connections.
 * @internal
 */
@Injectable()
export class TaskOrchestrator
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  constructor(
    private readonly dispatcher: TaskDispatcher,
    private readonly runner: TaskRunner,
    private readonly processor: JobProcessor,
    @Inject(INTERACTORS_JOB_QUEUE) private readonly jobs: JobQueue,
    @Inject(INTERACTORS_TRANSPORT) private readonly transport: InteractorsTransport,
    @Inject(INTERACTORS_CONFIG) private readonly config: InteractorsConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.worker) {
      const consumed = this.config.consume.map(
        (name) => [name, this.config.queues.get(name)!] as const,
      );
      this.jobs.start(new Map(consumed), this.processor.handle);
    }
    if (this.config.scheduler) this.dispatcher.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.dispatcher.stop();
    const grace = this.config.shutdownGrace;
    await Promise.all([this.jobs.stopWorkers(grace), this.runner.drain(grace)]);
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.jobs.close(), this.transport.close()]);
  }
}
