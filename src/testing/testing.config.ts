import { resolveConfig, type InteractorsConfig } from '../interactors.config.js';
import type {
  InteractorsModuleOptions,
  QueueDeclarations,
} from '../interfaces/module-options.interface.js';

/**
 * Stands in for a configured Redis while the options are resolved. The production guard
 * refuses the in-memory transport because it serves one process; under the kit nothing
 * reaches Redis whatever the options say, so that guard has nothing to protect. The value
 * is dropped below and never used to connect.
 */
const NO_REDIS = 'redis://interactors-test-kit.invalid';

/**
 * The user's options resolved and validated exactly as in their app (a bad option still
 * fails the boot, with the same message), then cut off from Redis: no module connection,
 * no BullMQ connection, the app's `BullModule.forRoot` connection ignored. Neither role
 * starts anything: the kit fires ticks and works jobs only when the test asks. @internal
 */
export function testingConfig(
  options: InteractorsModuleOptions | undefined,
  queues: QueueDeclarations | undefined,
): InteractorsConfig {
  const given = options ?? {};
  const resolved = resolveConfig({ ...given, redis: given.redis || NO_REDIS }, queues);
  return {
    ...resolved,
    redis: undefined,
    queueConnection: undefined,
    scheduler: false,
    worker: false,
  };
}
