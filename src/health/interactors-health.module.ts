import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { INTERACTORS_HEALTH_OPTIONS } from './health.constants.js';
import { healthController } from './health.controller.js';
import {
  healthPath,
  resolveHealthOptions,
  type InteractorsHealthOptions,
} from './health-options.interface.js';
import { InteractorsHealthIndicator } from './interactors-health.indicator.js';

/**
 * Health checks for the module on `@nestjs/terminus`: the indicators alone, to compose
 * into your own controller, or, with `routes`, `GET /health` (readiness) and
 * `GET /health/live` (liveness) in one line. It mounts no route unless asked. Import it
 * beside `InteractorsModule.forRoot(...)` (or `forRootAsync`).
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     InteractorsModule.forRoot({ redis: process.env.REDIS_URL }),
 *     InteractorsHealthModule.forRoot({ routes: true }), // GET /health, GET /health/live
 *   ],
 * })
 * export class AppModule {}
 * ```
 * @publicApi
 */
@Module({})
export class InteractorsHealthModule {
  static forRoot(options: InteractorsHealthOptions = {}): DynamicModule {
    const path = healthPath(options?.routes);
    return {
      module: InteractorsHealthModule,
      imports: [TerminusModule.forRoot()],
      providers: [
        // Validated at boot, so a bad option fails it with the usual list of problems.
        { provide: INTERACTORS_HEALTH_OPTIONS, useFactory: () => resolveHealthOptions(options) },
        InteractorsHealthIndicator,
      ],
      controllers: path === undefined ? [] : [healthController(path, options.staleness === true)],
      exports: [InteractorsHealthIndicator, TerminusModule],
    };
  }
}
