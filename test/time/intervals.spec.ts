/**
 * `every` / `offset`: ticks on whole multiples of the interval since the Unix epoch, plus
 * the offset. 2026-01-01T00:00:00Z (1,767,225,600,000 ms, a Thursday, like the epoch) is a
 * multiple of every interval below that divides a day, and of 7 days.
 */
import { describe, expect, it } from 'vitest';
import { CronSchedule } from '../../src/scheduling/cron-schedule.js';
import {
  IntervalSchedule,
  latestTick,
  nextTick,
  parseInterval,
  ticksBetween,
  type Schedule,
} from '../../src/scheduling/schedule.js';
import { at, iso, nextInstants } from './helpers.js';

const every = (interval: string | number, offset = 0) =>
  new IntervalSchedule(`every ${interval}`, parseInterval(interval), offset);

describe('parseInterval', () => {
  it.each([
    ['15 minutes', 900_000],
    ['1 hour', 3_600_000],
    ['30 seconds', 30_000],
    ['1 day', 86_400_000],
    ['2 days', 172_800_000],
    ['90s', 90_000],
    ['90 seconds', 90_000],
    ['1.5 minutes', 90_000],
    ['90000 ms', 90_000],
    ['1500ms', 1_500],
    ['5 min', 300_000],
    ['10 sec', 10_000],
    ['1 h', 3_600_000],
    ['2 HOURS', 7_200_000],
    [' 15 minutes ', 900_000],
    [90_000, 90_000],
    [1_000, 1_000],
  ] as const)('%j → %i ms', (input, ms) => {
    expect(parseInterval(input)).toBe(ms);
  });

  it.each([[999], [0], [-1_000], [1_500.5], [Number.NaN], [Number.POSITIVE_INFINITY]])(
    'rejects the number %d',
    (input) => {
      expect(() => parseInterval(input)).toThrow(
        `${input} is not a whole number of milliseconds ≥ 1000`,
      );
    },
  );

  it.each([
    ['soon'],
    [''],
    ['15'],
    ['minutes'],
    ['15 fortnights'],
    ['-5 minutes'],
    ['15 minutes ago'],
    ['1e3 ms'],
  ])('rejects %j, saying what is accepted', (input) => {
    expect(() => parseInterval(input)).toThrow(
      `"${input}" is not an interval; use e.g. "30 seconds", "15 minutes", "1 hour", "1 day" or milliseconds`,
    );
  });

  it.each([['0.5 seconds'], ['0 seconds'], ['999 ms'], ['1.0005 seconds']])(
    'rejects %j as shorter than a second or not whole',
    (input) => {
      expect(() => parseInterval(input)).toThrow(
        `"${input}" is shorter than one second or not a whole millisecond`,
      );
    },
  );
});

describe('IntervalSchedule', () => {
  it("every '15 minutes' with offset 120000 ticks at :02, :17, :32, :47", () => {
    expect(nextInstants(every('15 minutes', 120_000), '2026-01-01T00:05:00.000Z', 3)).toEqual([
      '2026-01-01T00:17:00.000Z',
      '2026-01-01T00:32:00.000Z',
      '2026-01-01T00:47:00.000Z',
    ]);
    // Strictly after: from a tick, the next one.
    expect(nextInstants(every('15 minutes', 120_000), '2026-01-01T00:17:00.000Z', 1)).toEqual([
      '2026-01-01T00:32:00.000Z',
    ]);
    expect(nextInstants(every('15 minutes', 120_000), '2026-01-01T00:16:59.999Z', 1)).toEqual([
      '2026-01-01T00:17:00.000Z',
    ]);
  });

  it("every '1 hour', with and without an offset", () => {
    expect(nextInstants(every('1 hour'), '2026-01-01T00:05:00.000Z', 2)).toEqual([
      '2026-01-01T01:00:00.000Z',
      '2026-01-01T02:00:00.000Z',
    ]);
    expect(nextInstants(every('1 hour', 1_800_000), '2026-01-01T00:05:00.000Z', 2)).toEqual([
      '2026-01-01T00:30:00.000Z',
      '2026-01-01T01:30:00.000Z',
    ]);
  });

  it('every 90_000 ms: multiples of 90 s since the epoch', () => {
    expect(nextInstants(every(90_000), '2026-01-01T00:05:00.000Z', 3)).toEqual([
      '2026-01-01T00:06:00.000Z',
      '2026-01-01T00:07:30.000Z',
      '2026-01-01T00:09:00.000Z',
    ]);
  });

  it("every '7 days' falls on Thursdays at 00:00Z, like the epoch", () => {
    expect(nextInstants(every('7 days'), '2026-01-01T00:05:00.000Z', 2)).toEqual([
      '2026-01-08T00:00:00.000Z',
      '2026-01-15T00:00:00.000Z',
    ]);
  });

  it('ignores DST: one tick an hour through the New York fall-back', () => {
    expect(nextInstants(every('1 hour'), '2026-11-01T04:30:00.000Z', 4)).toEqual([
      '2026-11-01T05:00:00.000Z',
      '2026-11-01T06:00:00.000Z',
      '2026-11-01T07:00:00.000Z',
      '2026-11-01T08:00:00.000Z',
    ]);
    expect(every('1 hour').timeZone).toBeUndefined();
  });
});

describe('latestTick, ticksBetween, nextTick', () => {
  it('latestTick finds the latest tick at or before now', () => {
    const quarter = every('15 minutes', 120_000);
    const first = at('2026-01-01T00:02:00.000Z');
    expect(iso(latestTick(quarter, first, at('2026-01-01T05:00:00.000Z')))).toBe(
      '2026-01-01T04:47:00.000Z',
    );
    expect(iso(latestTick(quarter, first, at('2026-01-01T04:47:00.000Z')))).toBe(
      '2026-01-01T04:47:00.000Z',
    );
    expect(iso(latestTick(quarter, first, first))).toBe('2026-01-01T00:02:00.000Z');
    expect(iso(latestTick(quarter, first, at('2026-01-01T00:16:59.999Z')))).toBe(
      '2026-01-01T00:02:00.000Z',
    );
  });

  it('latestTick over a month of every-second ticks answers at once', () => {
    const started = performance.now();
    const latest = latestTick(
      every('1 second'),
      at('2026-01-01T00:00:00.000Z'),
      at('2026-01-31T12:34:56.789Z'),
    );
    expect(iso(latest)).toBe('2026-01-31T12:34:56.000Z');
    expect(performance.now() - started).toBeLessThan(200);
  });

  it('latestTick follows the DST rule of a cron', () => {
    const halfHourly = new CronSchedule('*/30 * * * *', 'America/New_York');
    expect(
      iso(latestTick(halfHourly, at('2026-11-01T04:30:00.000Z'), at('2026-11-01T06:10:00.000Z'))),
    ).toBe('2026-11-01T06:00:00.000Z'); // 01:00 EST, the second 01:00
    const fixed = new CronSchedule('30 1 * * *', 'America/New_York');
    expect(
      iso(latestTick(fixed, at('2026-10-31T05:30:00.000Z'), at('2026-11-02T06:00:00.000Z'))),
    ).toBe('2026-11-01T05:30:00.000Z');
    const spring = new CronSchedule('30 2 * * *', 'America/New_York');
    expect(
      iso(latestTick(spring, at('2026-03-01T07:30:00.000Z'), at('2026-03-08T12:00:00.000Z'))),
    ).toBe('2026-03-08T07:00:00.000Z');
  });

  it('ticksBetween counts ticks strictly between, up to the cap', () => {
    const quarter = new CronSchedule('*/15 * * * *', 'America/New_York');
    const fixedQuarter = new CronSchedule('0,15,30,45 0-23 * * *', 'America/New_York');
    // The New York fall-back day, 00:00 EDT (04:00Z) to 00:00 EST (05:00Z next day).
    const dayStart = at('2026-11-01T04:00:00.000Z');
    const dayEnd = at('2026-11-02T05:00:00.000Z');
    expect(ticksBetween(quarter, dayStart - 1, dayEnd, 1_000)).toEqual({
      count: 100,
      complete: true,
    });
    expect(ticksBetween(fixedQuarter, dayStart - 1, dayEnd, 1_000)).toEqual({
      count: 96,
      complete: true,
    });
    expect(ticksBetween(quarter, dayStart - 1, dayEnd, 10)).toEqual({ count: 10, complete: false });
    // Both ends are excluded: 04:15, 04:30, 04:45.
    expect(ticksBetween(quarter, dayStart, at('2026-11-01T05:00:00.000Z'), 1_000).count).toBe(3);
    // Intervals count by arithmetic, with no cap: a year of seconds at once.
    expect(
      ticksBetween(
        every('15 minutes'),
        at('2026-01-01T00:00:00.000Z'),
        at('2026-01-01T01:00:00.000Z'),
        1_000,
      ),
    ).toEqual({ count: 3, complete: true });
    expect(
      ticksBetween(
        every('1 second'),
        at('2026-01-01T00:00:00.000Z'),
        at('2027-01-01T00:00:00.000Z'),
        10,
      ),
    ).toEqual({ count: 365 * 86_400 - 1, complete: true });
    expect(
      ticksBetween(
        every('1 hour', 60_000),
        at('2026-01-01T00:01:00.000Z'),
        at('2026-01-01T00:01:00.000Z'),
        10,
      ),
    ).toEqual({ count: 0, complete: true });
    // A time budget stops a long walk: the count is then a lower bound.
    const seconds = new CronSchedule('* * * * * *', 'Europe/Berlin');
    const walked = ticksBetween(
      seconds,
      at('2026-10-24T00:00:00.000Z'),
      at('2026-10-26T00:00:00.000Z'),
      1e9,
      5,
    );
    expect(walked.complete).toBe(false);
    expect(walked.count).toBeGreaterThan(0);
  });

  it('nextTick refuses a next instant that is not later', () => {
    const stuck: Schedule = {
      expression: 'stuck',
      key: 'stuck',
      timeZone: undefined,
      next: (after) => after,
    };
    expect(() => nextTick(stuck, 1_000)).toThrow(
      '"stuck" gave 1000 as the tick after 1000, which is not later',
    );
    const backwards: Schedule = {
      expression: 'back',
      key: 'back',
      timeZone: 'UTC',
      next: (after) => after - 1,
    };
    expect(() => nextTick(backwards, 1_000)).toThrow('"back" gave 999 as the tick after 1000');
    const broken: Schedule = {
      expression: 'nan',
      key: 'nan',
      timeZone: 'UTC',
      next: () => Number.NaN,
    };
    expect(() => nextTick(broken, 1_000)).toThrow('which is not later');
    expect(nextTick(every('1 hour'), at('2026-01-01T00:00:00.000Z'))).toBe(
      at('2026-01-01T01:00:00.000Z'),
    );
  });
});
