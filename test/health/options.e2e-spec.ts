/**
 * Boot errors of the health feature: a bad `staleAfter` is listed with the other task
 * definition problems, naming the task, the option and the fix; bad
 * `InteractorsHealthModule` options are listed in one error; no route is mounted unless
 * asked; the module without InteractorsModule says what to import. In memory: no Redis.
 */
import { Controller, Get, Module } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Interactor,
  InteractorsHealthIndicator,
  InteractorsHealthModule,
  InteractorsModule,
  InvalidHealthOptionsError,
  InvalidTaskDefinitionsError,
  Task,
  type InteractorsHealthOptions,
} from '../../src/index.js';
import { bootFailure } from '../src/helpers.js';
import { Apps, freshMetrics, isolateEnv, serve } from './support.js';

@Task({ every: '1 hour', staleAfter: 'soon' })
class NotADuration extends Interactor {
  call(): void {}
}

@Task({ every: '1 hour', staleAfter: '30 minutes' })
class ShorterThanInterval extends Interactor {
  call(): void {}
}

/** Weekdays at 09:00: the longest gap, over the weekend, is three days. */
@Task({ cron: '0 9 * * 1-5', staleAfter: '1 day' })
class ShorterThanWeekend extends Interactor {
  call(): void {}
}

@Task({ staleAfter: '1 hour' })
class NoSchedule extends Interactor {
  call(): void {}
}

@Task({ cron: '0 9 * * 1-5', staleAfter: '3 days' })
class Weekdays extends Interactor {
  call(): void {}
}

@Task({ every: '1 hour', staleAfter: false })
class NeverStale extends Interactor {
  call(): void {}
}

/** An app's own health controller composing the indicators with one of its own. */
@Controller('status')
class StatusController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly interactors: InteractorsHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([
      ...this.interactors.readiness(),
      () => this.interactors.staleness('jobs'),
      () => ({ app: { status: 'up' as const } }),
    ]);
  }
}

describe('health options and staleAfter', () => {
  isolateEnv();
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  const interactors = () => InteractorsModule.forRoot({ ...freshMetrics() });

  it('a bad staleAfter fails the boot, naming task, option and fix', async () => {
    const { error } = await bootFailure({
      imports: [interactors()],
      providers: [NotADuration, ShorterThanInterval, ShorterThanWeekend, NoSchedule],
    });
    expect(error).toBeInstanceOf(InvalidTaskDefinitionsError);
    expect((error as InvalidTaskDefinitionsError).problems.toSorted()).toEqual([
      'Task "NoSchedule": "staleAfter" goes with "cron" or "every" (only scheduled tasks go stale); remove it or add a schedule',
      'Task "NotADuration": staleAfter "soon" is invalid: "soon" is not an interval; use e.g. "30 seconds", "15 minutes", "1 hour", "1 day" or milliseconds; or false never to report the task stale',
      'Task "ShorterThanInterval": staleAfter "30 minutes" is shorter than the longest gap between its ticks (1h): the task would be reported stale while it waits for its next tick; use at least "1 hour"',
      'Task "ShorterThanWeekend": staleAfter "1 day" is shorter than the longest gap between its ticks (3d): the task would be reported stale while it waits for its next tick; use at least "3 days"',
    ]);
  });

  it('a staleAfter covering the longest gap, or false, boots', async () => {
    await apps.boot({ imports: [interactors()], providers: [Weekdays, NeverStale] });
  });

  it('bad InteractorsHealthModule options fail the boot, each named with its fix', async () => {
    const { error } = await bootFailure({
      imports: [
        interactors(),
        InteractorsHealthModule.forRoot({
          grace: -1,
          pingTimeout: 'fast',
          staleness: true,
          route: 'health',
        } as unknown as InteractorsHealthOptions),
      ],
    });
    expect(error).toBeInstanceOf(InvalidHealthOptionsError);
    expect((error as InvalidHealthOptionsError).problems).toEqual([
      'option "route" is not known; remove it (known: routes, staleness, grace, staleGrace, pingTimeout)',
      'option "staleness" mounts GET /<path>/tasks beside the routes; set "routes" too (e.g. routes: true)',
      'option "grace" must be a positive number of milliseconds, got -1',
      'option "pingTimeout" must be a positive number of milliseconds, got "fast"',
    ]);
  });

  it('mounts no route unless asked; routes: "<path>" mounts them there', async () => {
    const silent = await apps.boot({
      imports: [interactors(), InteractorsHealthModule.forRoot()],
    });
    const getSilent = await serve(silent);
    expect((await getSilent('/health')).status).toBe(404);
    expect((await getSilent('/health/live')).status).toBe(404);

    const mounted = await apps.boot({
      imports: [interactors(), InteractorsHealthModule.forRoot({ routes: '/probes/' })],
    });
    const get = await serve(mounted);
    expect((await get('/probes')).status).toBe(200);
    expect((await get('/probes/live')).status).toBe(200);
    expect((await get('/probes/tasks')).status).toBe(404); // staleness not asked for
  });

  it('the indicators compose into an app’s own controller, under keys of its choosing', async () => {
    @Module({
      imports: [interactors(), InteractorsHealthModule.forRoot()],
      controllers: [StatusController],
    })
    class AppModule {}
    const app = await apps.boot({ imports: [AppModule] });
    const answer = await (await serve(app))('/status');
    expect(answer.status).toBe(200);
    expect(answer.body.details).toEqual({
      interactors_scheduler: { status: 'up', tasks: 0 },
      interactors_workers: { status: 'up', queues: { default: 'running' } },
      interactors_redis: { status: 'up', transport: 'memory' },
      jobs: { status: 'up', watched: 0 },
      app: { status: 'up' },
    });
  });

  it('without InteractorsModule, the health module says what to import', async () => {
    const { error } = await bootFailure({ imports: [InteractorsHealthModule.forRoot()] });
    expect(error.message).toBe(
      'InteractorsHealthModule found no InteractorsModule in this app; import InteractorsModule.forRoot(...) or forRootAsync(...) too',
    );
  });
});
