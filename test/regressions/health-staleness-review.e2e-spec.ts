/**
 * Regressions from the review of Health: staleness of a task re-enabled after a week, and
 * a resume of a task that was not paused (which must not silence its staleness).
 */
import type { INestApplication } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Interactor,
  Interactors,
  InteractorsHealthIndicator,
  InteractorsHealthModule,
  InteractorsModule,
  Task,
  type InteractorsModuleOptions,
} from '../../src/index.js';
import {
  Apps,
  deleteKeys,
  flushFacts,
  freshMetrics,
  isolateEnv,
  ManualClock,
  minute,
  REDIS_URL,
  uniquePrefix,
} from '../health/support.js';

@Task({ cron: '0 9 * * *', run: 'inline' })
class Daily extends Interactor {
  call(): void {}
}

@Task({ every: '1 minute', run: 'inline', staleAfter: '5 minutes' })
class FiveMinutes extends Interactor {
  call(): void {}
}

describe('health review: staleness', () => {
  isolateEnv();
  const apps = new Apps();
  const prefixes: string[] = [];
  afterEach(async () => {
    await apps.closeAll();
    await Promise.all(prefixes.splice(0).map((p) => deleteKeys(p)));
  });
  async function boot(
    tasks: Function[],
    clock: ManualClock,
    options: InteractorsModuleOptions = {},
    prefix = uniquePrefix('regressions-stale'),
  ) {
    prefixes.push(prefix);
    const app: INestApplication = await apps.boot({
      imports: [
        InteractorsModule.forRoot({
          redis: REDIS_URL,
          prefix,
          roles: [],
          clock,
          ...freshMetrics(),
          ...options,
        }),
        InteractorsHealthModule.forRoot({ staleGrace: 10_000 }),
      ],
      providers: tasks as never[],
    });
    await flushFacts(app);
    const health = app.get(InteractorsHealthIndicator);
    return { app, prefix, interactors: app.get(Interactors), check: () => health.staleness() };
  }

  it('a task re-enabled (schedules.enabled false -> true) after a week is not stale at once', async () => {
    const t = minute() - (minute() % 86_400_000) + 10 * 3_600_000; // 10:00 UTC some day
    const clock = new ManualClock(t);
    const prefix = uniquePrefix('regressions-stale');
    const first = await boot([Daily], clock, { schedules: { Daily: { enabled: false } } }, prefix);
    await first.app.close();
    clock.set(t + 7 * 86_400_000); // a week later, the task is turned back on at 10:00
    const { check } = await boot([Daily], clock, {}, prefix);
    const r = await check();
    console.log('re-enabled:', JSON.stringify(r));
    expect(r.interactors_tasks!.status).toBe('up'); // its first tick is tomorrow 09:00
  });

  it('resume() of a task that was not paused does not reset its staleness', async () => {
    const t = minute();
    const clock = new ManualClock(t);
    const { app, interactors, check } = await boot([FiveMinutes], clock);
    clock.set(t + 600_000);
    expect((await check()).interactors_tasks!.status).toBe('down');
    await interactors.resume(FiveMinutes);
    await flushFacts(app);
    const res = await check();
    console.log('resume-not-paused:', JSON.stringify(res));
    expect(res.interactors_tasks!.status).toBe('down');
  });
});
