/**
 * Regressions for defects found while writing test/time: macros normalised before the
 * parser sees them, never-firing dates over several months found at once, and Vixie's
 * AND rule for a day field that starts with "*".
 */
import { describe, expect, it } from 'vitest';
import { CronSchedule } from '../../src/scheduling/cron-schedule.js';
import { cronNext } from './helpers.js';

describe('macros with blanks around them or in capitals', () => {
  it.each([['@daily '], [' @daily'], ['@daily\n']])(
    '%j (blanks around it) works like "@daily", as " 0 0 * * * " works like "0 0 * * *"',
    (expression) => {
      expect(cronNext(expression, 'UTC', '2026-01-01T00:00:00.000Z', 2)).toEqual([
        '2026-01-02T00:00:00.000Z',
        '2026-01-03T00:00:00.000Z',
      ]);
    },
  );

  it('"@HOURLY" either works like "@hourly" or is rejected with a reason, not "cannot resolve alias"', () => {
    let message: string | undefined;
    try {
      new CronSchedule('@HOURLY', 'UTC').next(Date.parse('2026-01-01T00:00:00.000Z'));
    } catch (error) {
      message = (error as Error).message;
    }
    // Actual: 'cannot resolve alias "hou"'.
    expect(message ?? 'accepted').not.toMatch(/cannot resolve alias/);
  });
});

describe('never-firing dates over several months', () => {
  // Actual: "Invalid expression, loop limit exceeded", after 50–140 ms of cron-parser's search.
  it.each([['0 0 31 4,6,9,11 *'], ['0 0 31 2,4 *'], ['0 0 0 31 4,6 *']])(
    '"%s" is rejected saying it can never fire',
    (expression) => {
      const started = performance.now();
      expect(() =>
        new CronSchedule(expression, 'UTC').next(Date.parse('2026-01-01T00:00:00.000Z')),
      ).toThrow('it can never fire: no month has the day(s) of month it names');
      expect(performance.now() - started).toBeLessThan(20);
    },
  );
});

describe('Vixie: a day field starting with "*" (a step) is a wildcard for the OR rule', () => {
  // Vixie cron (and cronie) set DOM_STAR/DOW_STAR from the field's first character, so
  // `*/2` in day-of-month with a day of week means AND: odd days that are Mondays.
  // Actual: OR (Jan 3, 5, 7, ... and every Monday). A deviation to decide on.
  it('0 0 */2 * 1 runs on odd-numbered Mondays (2026-01-05, 01-19, 02-09)', () => {
    expect(cronNext('0 0 */2 * 1', 'UTC', '2026-01-01T00:00:00.000Z', 3)).toEqual([
      '2026-01-05T00:00:00.000Z',
      '2026-01-19T00:00:00.000Z',
      '2026-02-09T00:00:00.000Z',
    ]);
  });
});
