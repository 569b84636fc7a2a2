import type { Provider } from '@nestjs/common';
import { getQueueToken } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { declaredQueues, type InteractorsConfig } from '../interactors.config.js';
import {
  INTERACTORS_BULL_CONNECTION,
  INTERACTORS_CONFIG,
  INTERACTORS_JOB_QUEUE,
  INTERACTORS_TRANSPORT,
} from '../interactors.constants.js';
import type { QueueDeclarations } from '../interfaces/module-options.interface.js';
import { createRedisClient } from '../transport/redis-connection.js';
import { BullJobQueue, type BullConnection } from './bull.job-queue.js';
import { MemoryJobQueue } from './memory.job-queue.js';
import { InteractorsMetrics } from '../metrics/interactors.metrics.js';

/** BullMQ's connection: waits out outages (no per-request retry limit), reconnects with a capped backoff. */
const bullConnectionProvider: Provider = {
  provide: INTERACTORS_BULL_CONNECTION,
  // After the transport: a Redis that failed the boot must not leave this one reconnecting.
  inject: [INTERACTORS_CONFIG, INTERACTORS_TRANSPORT],
  useFactory: (config: InteractorsConfig): BullConnection | null => {
    const connection = config.queueConnection;
    if (!connection) return null;
    // A client of the app's own is reused as it is only when workers can use it.
    if (
      connection.shared &&
      connection.input instanceof Redis &&
      connection.input.options.maxRetriesPerRequest === null
    ) {
      return { client: connection.input, owned: false };
    }
    const client = createRedisClient(connection.input, {
      maxRetriesPerRequest: null,
      retryStrategy: (attempt) => Math.min(attempt * 200, config.reconnectMaxDelay),
    });
    // Errors are reported by the workers and the module's own client; keep ioredis quiet.
    client.on('error', () => undefined);
    return { client, owned: true };
  },
};

/**
 * The providers of the declared queues: each under `@nestjs/bullmq`'s token, so
 * `@InjectQueue(name)` and bull-board find it (null with the in-memory transport),
 * and the queue adapter over them. Built when the module is defined. @internal
 */
export function queueProviders(declarations: QueueDeclarations | undefined): Provider[] {
  const names = [...declaredQueues(declarations).keys()];
  const queues = names.map((name): Provider => ({
    provide: getQueueToken(name),
    inject: [INTERACTORS_BULL_CONNECTION, INTERACTORS_CONFIG],
    useFactory: (connection: BullConnection | null, config: InteractorsConfig) =>
      connection ? new Queue(name, { connection: connection.client, prefix: config.prefix }) : null,
  }));
  const jobQueue: Provider = {
    provide: INTERACTORS_JOB_QUEUE,
    inject: [
      INTERACTORS_CONFIG,
      InteractorsMetrics,
      INTERACTORS_BULL_CONNECTION,
      ...names.map((name) => getQueueToken(name)),
    ],
    useFactory: (
      config: InteractorsConfig,
      metrics: InteractorsMetrics,
      connection: BullConnection | null,
      ...instances: Queue[]
    ) =>
      connection
        ? new BullJobQueue(
            new Map(names.map((name, i) => [name, instances[i]!])),
            connection,
            config,
            (queue) => metrics.enabled && metrics.stalled.labels(queue).inc(),
          )
        : new MemoryJobQueue(config),
  };
  return [bullConnectionProvider, ...queues, jobQueue];
}

/** Tokens of the declared queues, exported by the module. @internal */
export function queueTokens(declarations: QueueDeclarations | undefined): string[] {
  return [...declaredQueues(declarations).keys()].map((name) => getQueueToken(name));
}
