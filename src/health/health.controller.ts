import { Controller, Get, Inject, type Type } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { InteractorsHealthIndicator } from './interactors-health.indicator.js';

/**
 * The controller `InteractorsHealthModule.forRoot({ routes })` mounts: a class made per
 * path, since a controller's path is fixed when its class is decorated. Terminus answers
 * 200 when every indicator is up, else 503 (and 503 with `shutting_down` once the app
 * closes). @internal
 */
export function healthController(path: string, staleness: boolean): Type {
  class InteractorsHealthController {
    constructor(
      @Inject(HealthCheckService) protected readonly health: HealthCheckService,
      @Inject(InteractorsHealthIndicator)
      protected readonly interactors: InteractorsHealthIndicator,
    ) {}

    /** Readiness: send me traffic. */
    @Get()
    @HealthCheck()
    readiness(): Promise<HealthCheckResult> {
      return this.health.check(this.interactors.readiness());
    }

    /** Liveness: restart me if this fails. */
    @Get('live')
    @HealthCheck()
    liveness(): Promise<HealthCheckResult> {
      return this.health.check(this.interactors.liveness());
    }
  }

  class InteractorsHealthAndTasksController extends InteractorsHealthController {
    /** The dead man's switch, for alerting. */
    @Get('tasks')
    @HealthCheck()
    staleness(): Promise<HealthCheckResult> {
      return this.health.check([() => this.interactors.staleness()]);
    }
  }

  const controller = staleness ? InteractorsHealthAndTasksController : InteractorsHealthController;
  Controller(path)(controller);
  return controller;
}
