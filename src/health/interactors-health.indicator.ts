import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import {
  HealthIndicatorService,
  type HealthIndicatorFunction,
  type HealthIndicatorResult,
} from '@nestjs/terminus';
import { INTERACTORS_HEALTH_OPTIONS } from './health.constants.js';
import type { ResolvedHealthOptions } from './health-options.interface.js';
import { InteractorsProbe, type ProbeVerdict } from './interactors.probe.js';

/**
 * Terminus health indicators for the module, to compose into your own health checks.
 * Each takes the key it reports under. Liveness (`scheduler`, `workers`) judges this
 * process's own progress and never Redis, so a Redis blip or a quiet night never restarts
 * a pod; readiness adds `redis`; `staleness` is the cluster-wide dead man's switch, for an
 * alerting endpoint rather than every pod's readiness. Bodies name tasks and queues,
 * never connection URLs, passwords or raw error text.
 *
 * @example
 * ```ts
 * @Controller('health')
 * export class HealthController {
 *   constructor(
 *     private readonly health: HealthCheckService,
 *     private readonly interactors: InteractorsHealthIndicator,
 *   ) {}
 *
 *   @Get() @HealthCheck()
 *   ready() {
 *     return this.health.check([...this.interactors.readiness(), () => this.db.pingCheck('db')]);
 *   }
 * }
 * ```
 * @publicApi
 */
@Injectable()
export class InteractorsHealthIndicator implements OnModuleInit {
  private found: InteractorsProbe | undefined;

  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly moduleRef: ModuleRef,
    @Inject(INTERACTORS_HEALTH_OPTIONS) private readonly options: ResolvedHealthOptions,
  ) {}

  onModuleInit(): void {
    this.found = this.probe;
  }

  /**
   * Liveness of this process's scheduler: down when its timer is overdue by more than the
   * grace, or a task's next tick is and the scheduler has not woken since. Up (with
   * `scheduling: false`) in a process without the scheduler role.
   */
  async scheduler(key = 'interactors_scheduler'): Promise<HealthIndicatorResult> {
    return this.result(key, this.probe.scheduler(this.options.grace));
  }

  /**
   * Liveness of this process's worker loops, one per consumed queue: down when a loop
   * stopped, or is late by more than the grace while Redis answers. Up (with
   * `working: false`) in a process without the worker role.
   */
  async workers(key = 'interactors_workers'): Promise<HealthIndicatorResult> {
    return this.result(key, await this.probe.workers(this.options.grace, this.options.pingTimeout));
  }

  /** Redis answers a PING through the module's fail-fast client within `pingTimeout`. */
  async redis(key = 'interactors_redis'): Promise<HealthIndicatorResult> {
    return this.result(key, await this.probe.redis(this.options.pingTimeout));
  }

  /**
   * Down, naming each task and its age, when a scheduled task's last success anywhere in
   * the cluster is older than its `staleAfter`. Reads Redis: one round trip.
   */
  async staleness(key = 'interactors_tasks'): Promise<HealthIndicatorResult> {
    return this.result(key, await this.probe.staleness(this.options.staleGrace));
  }

  /** The liveness indicators (restart me if this fails): `scheduler` and `workers`. */
  liveness(): HealthIndicatorFunction[] {
    return [() => this.scheduler(), () => this.workers()];
  }

  /** The readiness indicators (send me traffic): liveness plus `redis`. */
  readiness(): HealthIndicatorFunction[] {
    return [...this.liveness(), () => this.redis()];
  }

  private result(key: string, verdict: ProbeVerdict): HealthIndicatorResult {
    const session = this.indicators.check(key);
    return verdict.up ? session.up(verdict.data) : session.down(verdict.data);
  }

  /** The probe of the app's InteractorsModule, wherever it is imported (global or not). */
  private get probe(): InteractorsProbe {
    if (this.found) return this.found;
    try {
      this.found = this.moduleRef.get(InteractorsProbe, { strict: false });
    } catch {
      // Nest's own error would name an internal class.
    }
    if (!this.found) {
      throw new Error(
        'InteractorsHealthModule found no InteractorsModule in this app; import InteractorsModule.forRoot(...) or forRootAsync(...) too',
      );
    }
    return this.found;
  }
}
