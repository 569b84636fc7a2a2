import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { INTERACTORS_CONFIG, INTERACTORS_TRANSPORT } from './interactors.constants.js';
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
    @Inject(INTERACTORS_TRANSPORT) private readonly transport: InteractorsTransport,
    @Inject(INTERACTORS_CONFIG) private readonly config: InteractorsConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.scheduler) this.dispatcher.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.dispatcher.stop();
    await this.runner.drain(this.config.shutdownGrace);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.transport.close();
  }
}
