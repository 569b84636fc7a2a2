/**
 * Cron syntax accepted and rejected by `CronSchedule`, with expected instants computed by
 * hand (2026-01-01 is a Thursday; 2028 is the next leap year; UTC unless a zone is named).
 */
import { describe, expect, it } from 'vitest';
import { CronSchedule, cronMistake } from '../../src/scheduling/cron-schedule.js';
import { cronNext } from './helpers.js';

const NEW_YEAR = '2026-01-01T00:00:00.000Z';

/** The message `new CronSchedule(...)` plus a first `next` throw with, or undefined. */
function rejection(expression: string, zone = 'UTC'): string | undefined {
  try {
    new CronSchedule(expression, zone).next(Date.parse(NEW_YEAR));
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

describe('fields', () => {
  it('5 fields have minute precision, 6 put seconds first', () => {
    expect(cronNext('30 * * * *', 'UTC', NEW_YEAR, 2)).toEqual([
      '2026-01-01T00:30:00.000Z',
      '2026-01-01T01:30:00.000Z',
    ]);
    expect(cronNext('30 * * * * *', 'UTC', NEW_YEAR, 2)).toEqual([
      '2026-01-01T00:00:30.000Z',
      '2026-01-01T00:01:30.000Z',
    ]);
    expect(cronNext('*/20 * * * * *', 'UTC', '2026-01-01T00:00:05.000Z', 3)).toEqual([
      '2026-01-01T00:00:20.000Z',
      '2026-01-01T00:00:40.000Z',
      '2026-01-01T00:01:00.000Z',
    ]);
    // Extra blanks around and between fields are fine.
    expect(cronNext('  0   12 * *  * ', 'UTC', NEW_YEAR, 1)).toEqual(['2026-01-01T12:00:00.000Z']);
  });

  it('day of month and day of week combine with OR when both are restricted', () => {
    // Fridays (Jan 2, 9, 16, 23, 30, Feb 6, 13, 20) or the 13th (Tue Jan 13; Fri Feb 13 once).
    expect(cronNext('0 0 13 * 5', 'UTC', NEW_YEAR, 9)).toEqual([
      '2026-01-02T00:00:00.000Z',
      '2026-01-09T00:00:00.000Z',
      '2026-01-13T00:00:00.000Z',
      '2026-01-16T00:00:00.000Z',
      '2026-01-23T00:00:00.000Z',
      '2026-01-30T00:00:00.000Z',
      '2026-02-06T00:00:00.000Z',
      '2026-02-13T00:00:00.000Z',
      '2026-02-20T00:00:00.000Z',
    ]);
    // An impossible day of month with a day of week still fires on that weekday: Mondays of February.
    expect(cronNext('0 0 30 2 1', 'UTC', NEW_YEAR, 5)).toEqual([
      '2026-02-02T00:00:00.000Z',
      '2026-02-09T00:00:00.000Z',
      '2026-02-16T00:00:00.000Z',
      '2026-02-23T00:00:00.000Z',
      '2027-02-01T00:00:00.000Z',
    ]);
  });

  it('7, 0, SUN and sun all mean Sunday', () => {
    for (const sunday of ['0', '7', 'SUN', 'sun']) {
      expect(cronNext(`0 0 * * ${sunday}`, 'UTC', NEW_YEAR, 2), sunday).toEqual([
        '2026-01-04T00:00:00.000Z',
        '2026-01-11T00:00:00.000Z',
      ]);
    }
    expect(cronNext('0 0 * * 5-7', 'UTC', NEW_YEAR, 4)).toEqual([
      '2026-01-02T00:00:00.000Z', // Fri
      '2026-01-03T00:00:00.000Z', // Sat
      '2026-01-04T00:00:00.000Z', // Sun
      '2026-01-09T00:00:00.000Z',
    ]);
    expect(cronNext('0 0 1 JAN,jul *', 'UTC', NEW_YEAR, 2)).toEqual([
      '2026-07-01T00:00:00.000Z',
      '2027-01-01T00:00:00.000Z',
    ]);
  });

  it('0 0 29 2 * is valid and next gives 2028-02-29', () => {
    expect(cronNext('0 0 29 2 *', 'UTC', NEW_YEAR, 2)).toEqual([
      '2028-02-29T00:00:00.000Z',
      '2032-02-29T00:00:00.000Z',
    ]);
    expect(cronNext('0 0 29-31 2 *', 'UTC', NEW_YEAR, 1)).toEqual(['2028-02-29T00:00:00.000Z']);
    // Read in New York: midnight EST is 05:00Z.
    expect(cronNext('0 0 29 2 *', 'America/New_York', NEW_YEAR, 1)).toEqual([
      '2028-02-29T05:00:00.000Z',
    ]);
    expect(cronNext('0 0 31 2,3 *', 'UTC', NEW_YEAR, 1)).toEqual(['2026-03-31T00:00:00.000Z']);
  });
});

describe('never-firing expressions', () => {
  it.each([['0 0 31 2 *'], ['0 0 30 2 *'], ['0 0 31 4 *'], ['0 0 0 31 2 *'], ['0 0 30,31 2 *']])(
    '"%s" is rejected in milliseconds, saying it never fires',
    (expression) => {
      for (const zone of ['UTC', 'America/New_York']) {
        const started = performance.now();
        const message = rejection(expression, zone);
        const elapsed = performance.now() - started;
        expect(message, zone).toMatch(/never/i);
        expect(elapsed, zone).toBeLessThan(200);
      }
    },
  );
});

describe('never-firing expressions over several months', () => {
  // Rejected, though not (yet) with the "never fires" reason: see the report.
  it.each([['0 0 31 4,6,9,11 *'], ['0 0 31 2,4 *']])('"%s" is rejected', (expression) => {
    expect(rejection(expression)).toBeDefined();
  });
});

describe('other dialects are rejected, saying what is supported', () => {
  it.each([
    ['0 0 ? * MON', /Quartz/],
    ['0 0 0 ? * MON', /Quartz/],
    ['0 0 L * *', /Quartz/],
    ['0 0 LW * *', /Quartz/],
    ['0 0 15W * *', /Quartz/],
    ['0 0 L-3 * *', /Quartz/],
    ['0 0 * * 5#3', /Quartz/],
    ['0 0 * * 5L', /Quartz/],
    ['H * * * *', /Jenkins/],
    ['H/15 * * * *', /Jenkins/],
    ['H(0-29) * * * *', /Jenkins/],
    ['0 H * * *', /Jenkins/],
  ])('"%s"', (expression, dialect) => {
    const message = rejection(expression);
    expect(message).toMatch(dialect);
    expect(message).toMatch(/not supported/);
    expect(message).toContain('5 fields, or 6 with seconds first');
  });

  it.each([['0 0 12 * * ? 2026'], ['0 0 12 1 1 * 2027'], ['* * * * * * *']])(
    '7 fields (years): "%s"',
    (expression) => {
      expect(rejection(expression)).toBe(
        'expected 5 fields (minute precision) or 6 (seconds first), got 7; years are not supported',
      );
    },
  );

  it.each([['* * * *'], ['*'], ['']])('too few fields: "%s"', (expression) => {
    expect(rejection(expression)).toMatch(/expected 5 fields \(minute precision\) or 6/);
  });

  it.each([['@reboot'], ['@midnight'], ['@every 5m'], ['@hourly 5']])(
    'a macro that is not supported: "%s"',
    (expression) => {
      expect(rejection(expression)).toBe(
        `"${expression}" is not supported; the macros are @yearly, @annually, @monthly, @weekly, @daily, @hourly, @minutely, @secondly`,
      );
    },
  );
});

describe('out-of-range values and steps are rejected, naming the field', () => {
  it.each([
    ['61 * * * *', 'minute value 61 out of range 0-59'],
    ['70/5 * * * *', 'minute value 70 out of range 0-59'],
    ['0 24 * * *', 'hour value 24 out of range 0-23'],
    ['0 5,70 * * *', 'hour value 70 out of range 0-23'],
    ['0 0 32 * *', 'day-of-month value 32 out of range 1-31'],
    ['0 0 0 * *', 'day-of-month value 0 out of range 1-31'],
    ['0 0 1-32 * *', 'day-of-month value 32 out of range 1-31'],
    ['0 0 * 13 *', 'month value 13 out of range 1-12'],
    ['0 0 * 0 *', 'month value 0 out of range 1-12'],
    ['0 0 * * 8', 'day-of-week value 8 out of range 0-7'],
    ['60 * * * * *', 'second value 60 out of range 0-59'],
    ['0 60 * * * *', 'minute value 60 out of range 0-59'],
    ['*/61 * * * *', 'minute step 61 out of range 1-59'],
    ['*/60 * * * *', 'minute step 60 out of range 1-59'],
    ['*/0 * * * *', 'minute step 0 out of range 1-59'],
    ['0 */24 * * *', 'hour step 24 out of range 1-23'],
    ['0 0 */31 * *', 'day-of-month step 31 out of range 1-30'],
    ['0 0 * */12 *', 'month step 12 out of range 1-11'],
    ['0 0 * * */7', 'day-of-week step 7 out of range 1-6'],
    ['*/60 * * * * *', 'second step 60 out of range 1-59'],
    ['0 */60 * * * *', 'minute step 60 out of range 1-59'],
  ])('"%s": %s', (expression, reason) => {
    expect(rejection(expression)).toBe(reason);
  });

  it('accepts the largest steps and values of each field', () => {
    expect(rejection('*/59 */23 */30 */11 */6')).toBeUndefined();
    expect(rejection('59 59 23 31 12 7')).toBeUndefined();
    expect(cronNext('*/59 * * * *', 'UTC', NEW_YEAR, 3)).toEqual([
      '2026-01-01T00:59:00.000Z',
      '2026-01-01T01:00:00.000Z',
      '2026-01-01T01:59:00.000Z',
    ]);
  });
});

describe('macros', () => {
  it.each([
    ['@secondly', true, ['2026-01-01T00:05:01.000Z', '2026-01-01T00:05:02.000Z']],
    ['@minutely', true, ['2026-01-01T00:06:00.000Z', '2026-01-01T00:07:00.000Z']],
    ['@hourly', true, ['2026-01-01T01:00:00.000Z', '2026-01-01T02:00:00.000Z']],
    ['@daily', false, ['2026-01-02T00:00:00.000Z', '2026-01-03T00:00:00.000Z']],
    ['@weekly', false, ['2026-01-04T00:00:00.000Z', '2026-01-11T00:00:00.000Z']],
    ['@monthly', false, ['2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z']],
    ['@yearly', false, ['2027-01-01T00:00:00.000Z', '2028-01-01T00:00:00.000Z']],
    ['@annually', false, ['2027-01-01T00:00:00.000Z', '2028-01-01T00:00:00.000Z']],
  ] as const)('%s (wildcard: %s)', (macro, wildcard, instants) => {
    expect(new CronSchedule(macro, 'UTC').wildcard).toBe(wildcard);
    expect(cronNext(macro, 'UTC', '2026-01-01T00:05:00.000Z', 2)).toEqual(instants);
  });

  it('@hourly follows real time through the New York fall-back; @daily is at local midnight', () => {
    expect(cronNext('@hourly', 'America/New_York', '2026-11-01T04:30:00.000Z', 3)).toEqual([
      '2026-11-01T05:00:00.000Z',
      '2026-11-01T06:00:00.000Z',
      '2026-11-01T07:00:00.000Z',
    ]);
    expect(cronNext('@daily', 'America/New_York', '2026-10-31T12:00:00.000Z', 2)).toEqual([
      '2026-11-01T04:00:00.000Z', // 00:00 EDT
      '2026-11-02T05:00:00.000Z', // 00:00 EST
    ]);
  });
});

describe('wildcard (seconds, minutes or hours field starting with *)', () => {
  it.each([
    ['*/30 * * * *', true],
    ['0 * * * *', true],
    ['* 1 * * *', true],
    ['*/10 * * * * *', true],
    ['* 30 1 * * *', true],
    ['0 */2 * * *', true],
    ['0 0,30 * * * *', true],
    ['30 1 * * *', false],
    ['0 1-2 * * *', false],
    ['0,15,30,45 0-23 * * *', false],
    ['0 0-59 1 * * *', false],
    ['0 0 12 * * *', false],
    ['0 0 * * *', false],
    ['0 0 * * * ', false],
  ] as const)('"%s": %s', (expression, wildcard) => {
    expect(new CronSchedule(expression, 'UTC').wildcard).toBe(wildcard);
  });
});

describe('cronMistake', () => {
  it('warns about a fixed hour with a wildcard seconds or minutes field', () => {
    expect(cronMistake('* * 1 * * *')).toBe(
      'runs every second during hour(s) 1 only; if you meant once at that hour, fix the seconds field (e.g. "0")',
    );
    expect(cronMistake('* 1 * * *')).toBe(
      'runs every minute during hour(s) 1 only; if you meant once at that hour, fix the minutes field (e.g. "0")',
    );
    expect(cronMistake('0 * 1 * * *')).toMatch(/^runs every minute during hour\(s\) 1 only/);
  });

  it.each([
    ['0 1 * * *'],
    ['* * * * *'],
    ['* 9-17 * * *'],
    ['* 9,17 * * *'],
    ['*/5 1 * * *'],
    ['0 0 1 * * *'],
    ['@daily'],
    ['* * * *'],
  ])('says nothing about "%s"', (expression) => {
    expect(cronMistake(expression)).toBeUndefined();
  });
});
