/**
 * Regressions from the review: scheduling.
 * - importing InteractorsModule must not start a second scheduler for the app's own @Cron jobs;
 * - the dispatcher's timer is armed for at most a minute, so a wall clock stepped forward is noticed;
 * - "ms" intervals parse as milliseconds.
 */
import { Injectable, Module } from '@nestjs/common';
import { Cron, ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import { afterEach, describe, expect, it } from 'vitest';
import { Interactor, InteractorsModule, Task } from '../../src/index.js';
import { parseInterval } from '../../src/scheduling/schedule.js';
import { Apps, ManualClock, isolateEnv, sleep } from '../src/helpers.js';

let userCronFired = 0;

@Injectable()
class UserCron {
  @Cron('* * * * * *', { name: 'regressions:user-cron' })
  tick(): void {
    userCronFired++;
  }
}

@Task({ cron: '0 0 * * *', run: 'inline' })
class Nightly extends Interactor {
  call(): void {}
}

describe('scheduling regressions', () => {
  isolateEnv();
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  it("an app's own every-second @Cron fires once per second next to InteractorsModule (schedule-dup)", async () => {
    @Module({
      imports: [ScheduleModule.forRoot(), InteractorsModule.forRoot({ roles: [], metrics: false })],
      providers: [UserCron],
    })
    class AppModule {}
    await apps.boot({ imports: [AppModule] });
    userCronFired = 0;
    await sleep(2_500);
    await apps.closeAll();
    // One scheduler: 2 or 3 firings in 2.5 s; a doubled one fires 4 to 6 times.
    expect(userCronFired).toBeGreaterThanOrEqual(1);
    expect(userCronFired).toBeLessThanOrEqual(3);
  });

  it('the dispatcher re-arms within a minute for a daily task, so a forward clock step is noticed (clock-jump)', async () => {
    // Noon: the next midnight is 12 h away, far beyond the one-minute bound.
    const noon = new Date();
    noon.setUTCHours(12, 0, 0, 0);
    const clock = new ManualClock(noon.getTime() + 7 * 86_400_000);
    // The app's own ScheduleModule: the dispatcher keeps its timer in the app's SchedulerRegistry.
    const app = await apps.boot({
      imports: [ScheduleModule.forRoot(), InteractorsModule.forRoot({ clock, metrics: false })],
      providers: [Nightly],
    });
    const timers = app.get(SchedulerRegistry, { strict: false });
    const names = timers.getTimeouts();
    expect(names).toContain('interactors:dispatcher');
    const timer = timers.getTimeout('interactors:dispatcher') as { _idleTimeout: number };
    expect(timer._idleTimeout).toBeGreaterThan(0);
    expect(timer._idleTimeout).toBeLessThanOrEqual(60_000);
  });

  it('"1500 ms" and "5000ms" are milliseconds (interval)', () => {
    expect(parseInterval('1500 ms')).toBe(1_500);
    expect(parseInterval('5000ms')).toBe(5_000);
    expect(parseInterval('2500 milliseconds')).toBe(2_500);
    expect(parseInterval('90s')).toBe(90_000);
    expect(parseInterval('15 minutes')).toBe(900_000);
    expect(parseInterval('2 days')).toBe(172_800_000);
  });
});
