/**
 * `nextRuns()` tells what a schedule really means, by the scheduler's own code: the DST
 * rule on spring-forward and fall-back days (instants written out literally), the module
 * time zone, `schedules` overrides and intervals; and each instant it lists is one the
 * tick path accepts.
 */
import { Module, type Type } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import {
  Interactor,
  Interactors,
  InteractorsModule,
  Task,
  type InteractorsModuleOptions,
} from 'nestjs-interactors';
import { InteractorsTestKit } from 'nestjs-interactors/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, isolateEnv } from '../src/helpers.js';
import { boot } from './fixtures.js';

const NEW_YORK = 'America/New_York';

@Task({ cron: '30 2 * * *', timeZone: NEW_YORK, run: 'inline' })
class HalfPastTwo extends Interactor {
  call(): void {}
}

@Task({ cron: '*/30 * * * *', timeZone: NEW_YORK, run: 'inline' })
class EveryHalfHour extends Interactor {
  call(): void {}
}

@Task({ cron: '0 * * * *', timeZone: NEW_YORK, run: 'inline' })
class Hourly extends Interactor {
  call(): void {}
}

@Task({ cron: '30 1 * * *', timeZone: NEW_YORK, run: 'inline' })
class HalfPastOne extends Interactor {
  call(): void {}
}

/** No timeZone of its own: read in the module's (Europe/Berlin below). */
@Task({ cron: '30 2 * * *', run: 'inline' })
class BerlinNight extends Interactor {
  call(): void {}
}

/** Overridden by the schedules option below. */
@Task({ cron: '0 9 * * *', timeZone: NEW_YORK })
class Configured extends Interactor {
  call(): void {}
}

@Task({ every: '15 minutes', offset: 120_000 })
class Quarterly extends Interactor {
  call(): void {}
}

@Task()
class Unscheduled extends Interactor {
  call(): void {}
}

const clock = new ManualClock(Date.parse('2026-06-01T12:00:00Z'));

function appModule(): Type {
  const options: InteractorsModuleOptions = {
    redis: 'redis://127.0.0.1:1',
    timeZone: 'Europe/Berlin',
    metrics: false,
    clock,
    schedules: { Configured: { cron: '15 6 * * 1-5' } },
  };
  @Module({
    providers: [
      HalfPastTwo,
      EveryHalfHour,
      Hourly,
      HalfPastOne,
      BerlinNight,
      Configured,
      Quarterly,
      Unscheduled,
    ],
  })
  class ScheduleModule {}
  @Module({ imports: [InteractorsModule.forRoot(options), ScheduleModule] })
  class AppModule {}
  return AppModule;
}

isolateEnv();
const kit = new InteractorsTestKit();
let moduleRef: TestingModule;
beforeAll(async () => {
  moduleRef = await boot(kit, appModule());
});
afterAll(() => moduleRef.close());

const dates = (...iso: string[]) => iso.map((instant) => new Date(instant));

describe('spring forward: America/New_York, 2026-03-08 (02:00 EST → 03:00 EDT)', () => {
  it('"30 2 * * *" runs once, at the end of the gap: 03:00 EDT', () => {
    expect(kit.nextRuns(HalfPastTwo, { from: new Date('2026-03-08T05:00:00Z'), count: 2 })).toEqual(
      dates('2026-03-08T07:00:00.000Z', '2026-03-09T06:30:00.000Z'),
    );
  });

  it('"*/30 * * * *" runs at 01:30 EST, then once at 03:00 EDT for the skipped slots', () => {
    expect(
      kit.nextRuns(EveryHalfHour, { from: Date.parse('2026-03-08T06:30:00Z'), count: 3 }),
    ).toEqual(
      dates('2026-03-08T06:30:00.000Z', '2026-03-08T07:00:00.000Z', '2026-03-08T07:30:00.000Z'),
    );
  });
});

describe('fall back: America/New_York, 2026-11-01 (02:00 EDT → 01:00 EST)', () => {
  it('"0 * * * *" follows real time: 01:00 EDT, 01:00 EST, 02:00 EST', () => {
    expect(kit.nextRuns(Hourly, { from: new Date('2026-11-01T04:30:00Z'), count: 3 })).toEqual(
      dates('2026-11-01T05:00:00.000Z', '2026-11-01T06:00:00.000Z', '2026-11-01T07:00:00.000Z'),
    );
  });

  it('"30 1 * * *" runs the repeated wall time once, at its first occurrence: 05:30Z only', () => {
    expect(kit.nextRuns(HalfPastOne, { from: new Date('2026-11-01T04:00:00Z'), count: 2 })).toEqual(
      dates('2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z'),
    );
  });
});

describe('the rest of the scheduler’s rules', () => {
  it("reads a cron in the module's time zone; Europe/Berlin's fall-back runs 02:30 once", () => {
    expect(kit.nextRuns(BerlinNight, { from: new Date('2026-10-24T12:00:00Z'), count: 3 })).toEqual(
      dates(
        '2026-10-25T00:30:00.000Z', // 02:30 CEST, the first occurrence
        '2026-10-26T01:30:00.000Z', // 02:30 CET
        '2026-10-27T01:30:00.000Z',
      ),
    );
  });

  it('follows the schedules option over the @Task literal', () => {
    // Friday 2026-03-06 06:15 EST, then Monday 2026-03-09 06:15 EDT
    expect(kit.nextRuns(Configured, { from: new Date('2026-03-06T00:00:00Z'), count: 2 })).toEqual(
      dates('2026-03-06T11:15:00.000Z', '2026-03-09T10:15:00.000Z'),
    );
  });

  it('intervals fall on multiples of the interval since the epoch, plus the offset', () => {
    expect(kit.nextRuns(Quarterly, { from: new Date('2026-01-01T10:00:00Z'), count: 4 })).toEqual(
      dates(
        '2026-01-01T10:02:00.000Z',
        '2026-01-01T10:17:00.000Z',
        '2026-01-01T10:32:00.000Z',
        '2026-01-01T10:47:00.000Z',
      ),
    );
  });

  it('starts at the module clock by default (5 instants); `from` counts when it is due', () => {
    // The clock shows 12:00:00.000 exactly: a due instant of an hourly cron, so it is listed.
    expect(kit.nextRuns(Hourly)).toEqual(
      dates(
        '2026-06-01T12:00:00.000Z',
        '2026-06-01T13:00:00.000Z',
        '2026-06-01T14:00:00.000Z',
        '2026-06-01T15:00:00.000Z',
        '2026-06-01T16:00:00.000Z',
      ),
    );
    expect(kit.nextRuns(Hourly, { from: clock.now() + 1, count: 1 })).toEqual(
      dates('2026-06-01T13:00:00.000Z'),
    );
  });

  it('is the code the module itself uses: times() agrees, and tick() accepts every instant listed', async () => {
    const interactors = moduleRef.get(Interactors);
    for (const task of [HalfPastTwo, EveryHalfHour, Hourly, HalfPastOne, BerlinNight]) {
      const [next] = kit.nextRuns(task, { from: clock.now() + 1, count: 1 });
      expect((await interactors.times(task)).nextDueAt).toBe(next!.getTime());
    }
    const spring = kit.nextRuns(EveryHalfHour, {
      from: new Date('2026-03-08T05:00:00Z'),
      count: 6,
    });
    for (const instant of spring) {
      expect(await kit.tick(EveryHalfHour, instant)).toMatchObject({
        fired: true,
        dueAt: instant.getTime(),
        run: { dueAt: instant.getTime(), outcome: 'success' },
      });
    }
    await expect(kit.tick(EveryHalfHour, new Date('2026-03-08T07:10:00Z'))).rejects.toThrow(
      '2026-03-08T07:10:00.000Z is not a due instant of cron "*/30 * * * *" (America/New_York); the next one is 2026-03-08T07:30:00.000Z',
    );
  });

  it('says what is wrong with its input', () => {
    expect(() => kit.nextRuns(Hourly, { count: 0 })).toThrow(
      'InteractorsTestKit.nextRuns(Hourly): option "count" must be a whole number from 1 to 10000, got 0',
    );
    expect(() => kit.nextRuns(Hourly, { from: new Date('not a date') })).toThrow(
      'InteractorsTestKit.nextRuns(Hourly): option "from" must be a valid Date or epoch milliseconds',
    );
    expect(() => kit.nextRuns(Hourly, { start: 0 } as never)).toThrow(
      'InteractorsTestKit.nextRuns(): "start" is not known; use from, count',
    );
    expect(() => kit.nextRuns(Unscheduled)).toThrow(
      'InteractorsTestKit.nextRuns(Unscheduled): task "Unscheduled" has no schedule',
    );
  });
});
