import { TaskLogger } from '../execution/task-logger.js';
import { type Provider } from '@nestjs/common';
import {
  INTERACTORS_CONFIG,
  INTERACTORS_TRANSPORT,
  LOGGER_CONTEXT,
} from '../interactors.constants.js';
import type { InteractorsConfig } from '../interactors.config.js';
import { OutageLog } from '../utils/outage-log.js';
import { MemoryTransport } from './memory.transport.js';
import {
  connectRedis,
  createRedisClient,
  describeRedis,
  redisSecrets,
  scrub,
} from './redis-connection.js';
import { RedisTransport } from './redis.transport.js';
import type { InteractorsTransport } from './transport.interface.js';

/** Connects the transport while the module initialises, so a bad Redis fails the boot. @internal */
export const transportProvider: Provider = {
  provide: INTERACTORS_TRANSPORT,
  inject: [INTERACTORS_CONFIG],
  useFactory: async (config: InteractorsConfig): Promise<InteractorsTransport> => {
    const logger = new TaskLogger(LOGGER_CONTEXT);
    if (config.redis === undefined) {
      logger.warn(
        'No "redis" configured: using the in-memory transport (one process, nothing survives a restart)',
      );
      return new MemoryTransport();
    }
    const client = createRedisClient(config.redis, {
      lazyConnect: true,
      enableOfflineQueue: false,
      // A lock and its fencing INCR leave in one write.
      enableAutoPipelining: true,
      commandTimeout: config.commandTimeout,
      maxRetriesPerRequest: 1,
      retryStrategy: (attempt) => Math.min(attempt * 200, config.reconnectMaxDelay),
      connectionName: `${config.prefix}:module`,
    });
    await connectRedis(client, config.redis, config.connectTimeout);
    // Without a listener ioredis prints every reconnect error; say once per outage instead.
    const outage = new OutageLog(logger, `Redis at ${describeRedis(config.redis)}`);
    const secrets = redisSecrets(config.redis);
    client.on('error', (error: Error & { code?: string }) =>
      outage.failed(scrub(error.code ?? error.message, secrets)),
    );
    client.on('ready', () => outage.recovered());
    return new RedisTransport(client, config.prefix);
  },
};
