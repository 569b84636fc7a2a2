/**
 * The host's `TZ` never matters: the same schedules give the same instants whatever the
 * process's own zone is. Node re-reads `process.env.TZ` when it is assigned at runtime.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CronSchedule } from '../../src/scheduling/cron-schedule.js';
import { IntervalSchedule, parseInterval } from '../../src/scheduling/schedule.js';
import { at, cronNext, iso, strictWalk, withHostZone } from './helpers.js';

let savedTz: string | undefined;
beforeEach(() => {
  savedTz = process.env.TZ;
});
afterEach(() => {
  if (savedTz === undefined) delete process.env.TZ;
  else process.env.TZ = savedTz;
});

/** Cases whose instants are written out literally below (computed by hand). */
const CASES = [
  {
    expression: '*/30 * * * *',
    zone: 'America/New_York',
    after: '2026-11-01T04:45:00.000Z',
    expected: [
      '2026-11-01T05:00:00.000Z',
      '2026-11-01T05:30:00.000Z',
      '2026-11-01T06:00:00.000Z',
      '2026-11-01T06:30:00.000Z',
      '2026-11-01T07:00:00.000Z',
    ],
  },
  {
    expression: '30 1 * * *',
    zone: 'America/New_York',
    after: '2026-10-31T00:00:00.000Z',
    expected: ['2026-10-31T05:30:00.000Z', '2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z'],
  },
  {
    expression: '*/30 * * * *',
    zone: 'America/New_York',
    after: '2026-03-08T05:45:00.000Z',
    expected: [
      '2026-03-08T06:00:00.000Z',
      '2026-03-08T06:30:00.000Z',
      '2026-03-08T07:00:00.000Z',
      '2026-03-08T07:30:00.000Z',
    ],
  },
  {
    expression: '30 2 * * *',
    zone: 'Europe/Berlin',
    after: '2026-03-28T00:00:00.000Z',
    expected: ['2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z'],
  },
  {
    expression: '30 2 * * *',
    zone: 'Europe/Berlin',
    after: '2026-10-24T00:00:00.000Z',
    expected: ['2026-10-24T00:30:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z'],
  },
  {
    expression: '*/15 * * * *',
    zone: 'Australia/Lord_Howe',
    after: '2026-04-04T14:20:00.000Z',
    expected: [
      '2026-04-04T14:30:00.000Z',
      '2026-04-04T14:45:00.000Z',
      '2026-04-04T15:00:00.000Z',
      '2026-04-04T15:15:00.000Z',
      '2026-04-04T15:30:00.000Z',
    ],
  },
  {
    // UTC walls: Tehran's own midnight (20:30Z) must not leak in.
    expression: '0 0 * * *',
    zone: 'UTC',
    after: '2026-06-01T12:00:00.000Z',
    expected: ['2026-06-02T00:00:00.000Z', '2026-06-03T00:00:00.000Z'],
  },
  {
    // Tehran as the task's zone: +03:30 all year, midnight is 20:30Z the day before.
    expression: '0 0 * * *',
    zone: 'Asia/Tehran',
    after: '2026-06-01T12:00:00.000Z',
    expected: ['2026-06-01T20:30:00.000Z', '2026-06-02T20:30:00.000Z'],
  },
  {
    expression: '0 0 * * 0',
    zone: 'UTC',
    after: '2026-01-01T00:00:00.000Z',
    expected: ['2026-01-04T00:00:00.000Z', '2026-01-11T00:00:00.000Z'],
  },
  {
    expression: '0 0 29 2 *',
    zone: 'UTC',
    after: '2026-01-01T00:00:00.000Z',
    expected: ['2028-02-29T00:00:00.000Z'],
  },
] as const;

function sequences(): string[][] {
  return CASES.map(({ expression, zone, after, expected }) =>
    cronNext(expression, zone, after, expected.length),
  );
}

/** 200 minutes across the New York fall-back, 1,000 ten-second ticks across Berlin's. */
function walks(): number[][] {
  return [
    strictWalk(new CronSchedule('* * * * *', 'America/New_York'), '2026-11-01T04:00:00.000Z', 200),
    strictWalk(new CronSchedule('0 1-2 * * *', 'America/New_York'), '2026-10-30T00:00:00.000Z', 8),
    strictWalk(
      new CronSchedule('*/10 * * * * *', 'Europe/Berlin'),
      '2026-10-25T00:30:00.000Z',
      1000,
    ),
  ];
}

describe('the host TZ is irrelevant', () => {
  it('gives the literal expectations with the host on UTC', () => {
    const got = withHostZone('UTC', () => {
      expect(new Date(0).getTimezoneOffset()).toBe(0);
      return sequences();
    });
    expect(got).toEqual(CASES.map(({ expected }) => expected));
  });

  it('gives identical sequences with the host on Asia/Tehran (+03:30)', () => {
    const onUtc = withHostZone('UTC', () => ({ sequences: sequences(), walks: walks() }));
    const onTehran = withHostZone('Asia/Tehran', () => {
      // Proof that the runtime change took effect: +03:30 is an offset of -210 minutes.
      expect(new Date(0).getTimezoneOffset()).toBe(-210);
      expect(new Date(at('2026-06-01T00:00:00.000Z')).getHours()).toBe(3);
      return { sequences: sequences(), walks: walks() };
    });
    expect(onTehran.sequences).toEqual(CASES.map(({ expected }) => expected));
    expect(onTehran).toEqual(onUtc);
    expect(iso(onTehran.walks[0]!.at(-1)!)).toBe('2026-11-01T07:20:00.000Z');
    expect(onTehran.walks[1]!.map(iso)).toEqual([
      '2026-10-30T05:00:00.000Z',
      '2026-10-30T06:00:00.000Z',
      '2026-10-31T05:00:00.000Z',
      '2026-10-31T06:00:00.000Z',
      '2026-11-01T05:00:00.000Z',
      '2026-11-01T07:00:00.000Z',
      '2026-11-02T06:00:00.000Z',
      '2026-11-02T07:00:00.000Z',
    ]);
  });

  it('gives identical sequences with the host in a DST zone, even the task’s own', () => {
    const onUtc = withHostZone('UTC', () => ({ sequences: sequences(), walks: walks() }));
    for (const host of ['America/New_York', 'Europe/Berlin', 'Australia/Lord_Howe']) {
      const got = withHostZone(host, () => ({ sequences: sequences(), walks: walks() }));
      expect(got, host).toEqual(onUtc);
    }
  });

  it('a schedule built under one host zone gives the same instants under another', () => {
    const schedule = withHostZone('UTC', () => new CronSchedule('30 1 * * *', 'America/New_York'));
    const got = withHostZone('Asia/Tehran', () => {
      expect(new Date(0).getTimezoneOffset()).toBe(-210);
      return [1, 2, 3].reduce<number[]>(
        (list) => [...list, schedule.next(list.at(-1) ?? at('2026-10-31T00:00:00.000Z'))],
        [],
      );
    });
    expect(got.map(iso)).toEqual([
      '2026-10-31T05:30:00.000Z',
      '2026-11-01T05:30:00.000Z',
      '2026-11-02T06:30:00.000Z',
    ]);
  });

  it('intervals are zone-free: a day is a multiple of 86,400,000 ms since the epoch', () => {
    const days = withHostZone('Asia/Tehran', () => {
      expect(new Date(0).getTimezoneOffset()).toBe(-210);
      const schedule = new IntervalSchedule('every 1 day', parseInterval('1 day'));
      const first = schedule.next(at('2026-06-01T12:00:00.000Z'));
      return [first, schedule.next(first)];
    });
    expect(days.map(iso)).toEqual(['2026-06-02T00:00:00.000Z', '2026-06-03T00:00:00.000Z']);
  });
});
