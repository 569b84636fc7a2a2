import { Module } from '@nestjs/common';
import { getSharedConfigToken } from '@nestjs/bullmq';
import { DiscoveryModule } from '@nestjs/core';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InteractorsExplorer } from './discovery/interactors.explorer.js';
import { TaskRegistry } from './discovery/task.registry.js';
import { TaskRunner } from './execution/task.runner.js';
import { resolveConfig } from './interactors.config.js';
import {
  INTERACTORS_CLOCK,
  INTERACTORS_CONFIG,
  INTERACTORS_LOCKS,
  INTERACTORS_QUEUES,
  INTERACTORS_TIMERS,
  INTERACTORS_TRANSPORT,
} from './interactors.constants.js';
import type { InteractorsConfig } from './interactors.config.js';
import {
  ConfigurableModuleClass,
  INTERACTORS_MODULE_OPTIONS,
} from './interactors.module-definition.js';
import { Interactors } from './interactors.service.js';
import { TaskDispatcher } from './scheduling/task.dispatcher.js';
import { TickFirer } from './scheduling/tick.firer.js';
import { TaskOrchestrator } from './task.orchestrator.js';
import { RunHooks } from './execution/run-hooks.js';
import { LockInterceptor } from './interceptors/lock.interceptor.js';
import { OverlapInterceptor } from './interceptors/overlap.interceptor.js';
import { PauseInterceptor } from './interceptors/pause.interceptor.js';
import { PausedTasks } from './operations/paused-tasks.js';
import { RunHistory } from './operations/run-history.js';
import { InteractorsLocks } from './locking/interactors.locks.js';
import { MemoryLockBackend } from './locking/memory.lock-backend.js';
import { RedisLockBackend } from './locking/redis.lock-backend.js';
import { RedisTransport } from './transport/redis.transport.js';
import type { InteractorsTransport } from './transport/transport.interface.js';
import { EnvironmentInterceptor } from './interceptors/environment.interceptor.js';
import { MetricsInterceptor } from './interceptors/metrics.interceptor.js';
import { InteractorsMetrics } from './metrics/interactors.metrics.js';
import { JobProcessor } from './queueing/job.processor.js';
import { TaskEnqueuer } from './queueing/task.enqueuer.js';
import { transportProvider } from './transport/transport.provider.js';
import { InteractorsProbe } from './health/interactors.probe.js';

/**
 * Discovers `@Task` classes, runs them in-process, through queues or by cron.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [InteractorsModule.forRoot({ redis: process.env.REDIS_URL, queues: ['gates'] })],
 * })
 * export class AppModule {}
 * ```
 * @publicApi
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    {
      provide: INTERACTORS_CONFIG,
      // An app's own BullModule.forRoot connection is reused when present.
      inject: [
        INTERACTORS_MODULE_OPTIONS,
        INTERACTORS_QUEUES,
        { token: getSharedConfigToken(), optional: true },
      ],
      useFactory: resolveConfig,
    },
    {
      provide: INTERACTORS_CLOCK,
      inject: [INTERACTORS_CONFIG],
      useFactory: (config: InteractorsConfig) => config.clock,
    },
    transportProvider,
    {
      provide: INTERACTORS_TIMERS,
      inject: [{ token: SchedulerRegistry, optional: true }],
      useFactory: (registry?: SchedulerRegistry) => registry ?? new SchedulerRegistry(),
    },
    TaskRegistry,
    InteractorsExplorer,
    TaskRunner,
    TickFirer,
    TaskDispatcher,
    TaskOrchestrator,
    InteractorsMetrics,
    MetricsInterceptor,
    EnvironmentInterceptor,
    RunHooks,
    LockInterceptor,
    OverlapInterceptor,
    PauseInterceptor,
    PausedTasks,
    RunHistory,
    InteractorsLocks,
    {
      provide: INTERACTORS_LOCKS,
      inject: [INTERACTORS_TRANSPORT, INTERACTORS_CONFIG],
      useFactory: (transport: InteractorsTransport, config: InteractorsConfig) =>
        transport instanceof RedisTransport
          ? new RedisLockBackend(transport.client, config.prefix)
          : new MemoryLockBackend(),
    },
    TaskEnqueuer,
    JobProcessor,
    Interactors,
    // Read by InteractorsHealthModule; it also records when each scheduled task was first seen.
    InteractorsProbe,
  ],
  exports: [Interactors, INTERACTORS_CLOCK, InteractorsMetrics, RunHooks, InteractorsLocks],
})
export class InteractorsModule extends ConfigurableModuleClass {}
