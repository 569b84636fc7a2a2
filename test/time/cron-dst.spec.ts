/**
 * The DST rule of `CronSchedule`, asserted against instants computed by hand (each comment
 * shows the wall clock and offset an instant was derived from). Zone transitions used:
 * - America/New_York 2026-03-08 02:00 EST→03:00 EDT at 07:00Z; 2026-11-01 02:00 EDT→01:00 EST at 06:00Z;
 *   2027-03-14 at 07:00Z; 2027-11-07 at 06:00Z.
 * - Europe/Berlin 2026-03-29 02:00 CET→03:00 CEST at 01:00Z; 2026-10-25 03:00 CEST→02:00 CET at 01:00Z;
 *   2027-03-28 and 2027-10-31, both at 01:00Z.
 * - Australia/Lord_Howe (30-minute shift): 2026-04-05 02:00 +11→01:30 +10:30 at 2026-04-04T15:00Z;
 *   2026-10-04 02:00 +10:30→02:30 +11 at 2026-10-03T15:30Z; 2027: Apr 4 (15:00Z on Apr 3), Oct 3 (15:30Z on Oct 2).
 * - Antarctica/Troll (2-hour shift): 2026-03-29 01:00 +00→03:00 +02 and 2026-10-25 03:00 +02→01:00 +00, both at 01:00Z.
 * - America/Santiago (midnight shifts): 2026-04-05 00:00 -03→2026-04-04 23:00 -04 at 03:00Z;
 *   2026-09-06 00:00 -04→01:00 -03 at 04:00Z.
 */
import { describe, expect, it } from 'vitest';
import { CronSchedule } from '../../src/scheduling/cron-schedule.js';
import { at, cronNext, gaps, iso, strictWalk, walk } from './helpers.js';

const NY = 'America/New_York';
const BERLIN = 'Europe/Berlin';
const LORD_HOWE = 'Australia/Lord_Howe';
const TROLL = 'Antarctica/Troll';
const SANTIAGO = 'America/Santiago';
const MINUTE = 60_000;

describe('UTC (the module default)', () => {
  it('reads the expression on UTC walls, with no DST anywhere', () => {
    expect(cronNext('30 2 * * *', 'UTC', '2026-03-07T12:00:00.000Z', 3)).toEqual([
      '2026-03-08T02:30:00.000Z',
      '2026-03-09T02:30:00.000Z',
      '2026-03-10T02:30:00.000Z',
    ]);
    expect(cronNext('30 1 * * *', 'UTC', '2026-10-31T12:00:00.000Z', 2)).toEqual([
      '2026-11-01T01:30:00.000Z',
      '2026-11-02T01:30:00.000Z',
    ]);
  });

  it('gives the first instant strictly after the given one', () => {
    expect(cronNext('*/15 * * * *', 'UTC', '2026-01-01T00:15:00.000Z', 1)).toEqual([
      '2026-01-01T00:30:00.000Z',
    ]);
    expect(cronNext('*/15 * * * *', 'UTC', '2026-01-01T00:14:59.999Z', 1)).toEqual([
      '2026-01-01T00:15:00.000Z',
    ]);
  });
});

describe('spring forward: slots in the gap collapse into one run at its end', () => {
  it('New York 2026: 30 2 * * * runs at 07:00Z on the transition day', () => {
    expect(cronNext('30 2 * * *', NY, '2026-03-06T12:00:00.000Z', 4)).toEqual([
      '2026-03-07T07:30:00.000Z', // 02:30 EST
      '2026-03-08T07:00:00.000Z', // 02:30 skipped → 03:00 EDT
      '2026-03-09T06:30:00.000Z', // 02:30 EDT
      '2026-03-10T06:30:00.000Z',
    ]);
    // The same expression with seconds first.
    expect(cronNext('0 30 2 * * *', NY, '2026-03-07T12:00:00.000Z', 2)).toEqual([
      '2026-03-08T07:00:00.000Z',
      '2026-03-09T06:30:00.000Z',
    ]);
  });

  it('New York 2026: */30 * * * * gives 06:00Z, 06:30Z, 07:00Z, 07:30Z (2:00 and 2:30 merge into 3:00)', () => {
    expect(cronNext('*/30 * * * *', NY, '2026-03-08T05:45:00.000Z', 5)).toEqual([
      '2026-03-08T06:00:00.000Z', // 01:00 EST
      '2026-03-08T06:30:00.000Z', // 01:30 EST
      '2026-03-08T07:00:00.000Z', // 02:00, 02:30 skipped, merged with 03:00 EDT
      '2026-03-08T07:30:00.000Z', // 03:30 EDT
      '2026-03-08T08:00:00.000Z',
    ]);
  });

  it('New York 2026: a gap slot merges with a slot exactly at the gap end', () => {
    expect(cronNext('0 2,3 * * *', NY, '2026-03-07T12:00:00.000Z', 4)).toEqual([
      '2026-03-08T07:00:00.000Z', // 02:00 (skipped) and 03:00 EDT: one run
      '2026-03-09T06:00:00.000Z', // 02:00 EDT
      '2026-03-09T07:00:00.000Z', // 03:00 EDT
      '2026-03-10T06:00:00.000Z',
    ]);
    expect(cronNext('0 3 * * *', NY, '2026-03-07T12:00:00.000Z', 1)).toEqual([
      '2026-03-08T07:00:00.000Z',
    ]);
  });

  it('New York 2026: every minute jumps from 01:59 EST to 03:00 EDT once', () => {
    expect(cronNext('* * * * *', NY, '2026-03-08T06:58:00.000Z', 3)).toEqual([
      '2026-03-08T06:59:00.000Z',
      '2026-03-08T07:00:00.000Z',
      '2026-03-08T07:01:00.000Z',
    ]);
    expect(cronNext('*/15 * * * *', NY, '2026-03-08T06:40:00.000Z', 3)).toEqual([
      '2026-03-08T06:45:00.000Z',
      '2026-03-08T07:00:00.000Z',
      '2026-03-08T07:15:00.000Z',
    ]);
  });

  it('New York 2026: the collapsed run is not given again', () => {
    expect(cronNext('0 2 * * *', NY, '2026-03-08T06:59:59.999Z', 1)).toEqual([
      '2026-03-08T07:00:00.000Z',
    ]);
    expect(cronNext('0 2 * * *', NY, '2026-03-08T07:00:00.000Z', 1)).toEqual([
      '2026-03-09T06:00:00.000Z',
    ]);
    expect(cronNext('*/30 * * * *', NY, '2026-03-08T07:00:00.000Z', 1)).toEqual([
      '2026-03-08T07:30:00.000Z',
    ]);
  });

  it('Berlin 2026', () => {
    expect(cronNext('30 2 * * *', BERLIN, '2026-03-28T00:00:00.000Z', 3)).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:00:00.000Z', // 02:30 skipped → 03:00 CEST
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
    ]);
    expect(cronNext('*/30 * * * *', BERLIN, '2026-03-28T23:45:00.000Z', 4)).toEqual([
      '2026-03-29T00:00:00.000Z', // 01:00 CET
      '2026-03-29T00:30:00.000Z', // 01:30 CET
      '2026-03-29T01:00:00.000Z', // 02:00, 02:30 merged into 03:00 CEST
      '2026-03-29T01:30:00.000Z', // 03:30 CEST
    ]);
    expect(cronNext('0 2,3 * * *', BERLIN, '2026-03-28T12:00:00.000Z', 3)).toEqual([
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:00:00.000Z', // 02:00 CEST
      '2026-03-30T01:00:00.000Z', // 03:00 CEST
    ]);
  });

  it('New York and Berlin 2027', () => {
    expect(cronNext('30 2 * * *', NY, '2027-03-13T00:00:00.000Z', 3)).toEqual([
      '2027-03-13T07:30:00.000Z', // 02:30 EST
      '2027-03-14T07:00:00.000Z', // collapsed to 03:00 EDT
      '2027-03-15T06:30:00.000Z', // 02:30 EDT
    ]);
    expect(cronNext('30 2 * * *', BERLIN, '2027-03-27T00:00:00.000Z', 3)).toEqual([
      '2027-03-27T01:30:00.000Z',
      '2027-03-28T01:00:00.000Z',
      '2027-03-29T00:30:00.000Z',
    ]);
  });

  it('Lord Howe 2026 and 2027: a 30-minute gap (02:00–02:30)', () => {
    expect(cronNext('15 2 * * *', LORD_HOWE, '2026-10-02T00:00:00.000Z', 3)).toEqual([
      '2026-10-02T15:45:00.000Z', // Oct 3 02:15 +10:30
      '2026-10-03T15:30:00.000Z', // Oct 4 02:15 skipped → 02:30 +11
      '2026-10-04T15:15:00.000Z', // Oct 5 02:15 +11
    ]);
    expect(cronNext('*/15 * * * *', LORD_HOWE, '2026-10-03T15:05:00.000Z', 4)).toEqual([
      '2026-10-03T15:15:00.000Z', // 01:45 +10:30
      '2026-10-03T15:30:00.000Z', // 02:00, 02:15 skipped, merged with 02:30 +11
      '2026-10-03T15:45:00.000Z', // 02:45 +11
      '2026-10-03T16:00:00.000Z',
    ]);
    expect(cronNext('0,30 2 * * *', LORD_HOWE, '2026-10-03T12:00:00.000Z', 3)).toEqual([
      '2026-10-03T15:30:00.000Z', // 02:00 (skipped) and 02:30 +11: one run
      '2026-10-04T15:00:00.000Z', // Oct 5 02:00 +11
      '2026-10-04T15:30:00.000Z',
    ]);
    expect(cronNext('15 2 * * *', LORD_HOWE, '2027-10-01T00:00:00.000Z', 3)).toEqual([
      '2027-10-01T15:45:00.000Z',
      '2027-10-02T15:30:00.000Z',
      '2027-10-03T15:15:00.000Z',
    ]);
  });

  it('Troll: a 2-hour gap (01:00–03:00) collapses into 03:00 +02', () => {
    expect(cronNext('30 1 * * *', TROLL, '2026-03-28T00:00:00.000Z', 3)).toEqual([
      '2026-03-28T01:30:00.000Z', // 01:30 +00
      '2026-03-29T01:00:00.000Z', // skipped → 03:00 +02
      '2026-03-29T23:30:00.000Z', // Mar 30 01:30 +02
    ]);
    expect(cronNext('0 1,2,3 * * *', TROLL, '2026-03-28T12:00:00.000Z', 2)).toEqual([
      '2026-03-29T01:00:00.000Z', // 01:00, 02:00 (skipped) and 03:00 +02: one run
      '2026-03-29T23:00:00.000Z', // Mar 30 01:00 +02
    ]);
  });

  it('Santiago: a gap at midnight moves the day’s first run to 01:00', () => {
    expect(cronNext('0 0 * * *', SANTIAGO, '2026-09-04T12:00:00.000Z', 3)).toEqual([
      '2026-09-05T04:00:00.000Z', // Sep 5 00:00 -04
      '2026-09-06T04:00:00.000Z', // Sep 6 00:00 skipped → 01:00 -03
      '2026-09-07T03:00:00.000Z', // Sep 7 00:00 -03
    ]);
    // Sunday midnight: Sep 6 2026 is the Sunday of the gap.
    expect(cronNext('0 0 * * 0', SANTIAGO, '2026-09-01T00:00:00.000Z', 2)).toEqual([
      '2026-09-06T04:00:00.000Z',
      '2026-09-13T03:00:00.000Z',
    ]);
    expect(cronNext('0 0 6 9 *', SANTIAGO, '2026-01-01T00:00:00.000Z', 1)).toEqual([
      '2026-09-06T04:00:00.000Z',
    ]);
  });
});

describe('fall back: fixed-time expressions run once, at the first occurrence', () => {
  it('New York 2026: 30 1 * * *', () => {
    expect(cronNext('30 1 * * *', NY, '2026-10-31T00:00:00.000Z', 3)).toEqual([
      '2026-10-31T05:30:00.000Z', // 01:30 EDT
      '2026-11-01T05:30:00.000Z', // 01:30 EDT, first of two
      '2026-11-02T06:30:00.000Z', // 01:30 EST
    ]);
    // From the first occurrence, or from inside the repeated hour, the next run is the next day.
    for (const after of [
      '2026-11-01T05:30:00.000Z',
      '2026-11-01T05:45:00.000Z',
      '2026-11-01T06:10:00.000Z', // 01:10 EST, before the second 01:30
      '2026-11-01T06:30:00.000Z', // the second 01:30
    ]) {
      expect(cronNext('30 1 * * *', NY, after, 1), after).toEqual(['2026-11-02T06:30:00.000Z']);
    }
    expect(cronNext('0 30 1 * * *', NY, '2026-11-01T00:00:00.000Z', 2)).toEqual([
      '2026-11-01T05:30:00.000Z',
      '2026-11-02T06:30:00.000Z',
    ]);
  });

  it('New York 2026: 0 1-2 * * * runs 01:00 EDT and 02:00 EST', () => {
    expect(cronNext('0 1-2 * * *', NY, '2026-10-30T12:00:00.000Z', 6)).toEqual([
      '2026-10-31T05:00:00.000Z', // 01:00 EDT
      '2026-10-31T06:00:00.000Z', // 02:00 EDT
      '2026-11-01T05:00:00.000Z', // 01:00 EDT (not again at 01:00 EST, 06:00Z)
      '2026-11-01T07:00:00.000Z', // 02:00 EST
      '2026-11-02T06:00:00.000Z', // 01:00 EST
      '2026-11-02T07:00:00.000Z', // 02:00 EST
    ]);
    expect(cronNext('0 1-2 * * *', NY, '2026-11-01T06:10:00.000Z', 1)).toEqual([
      '2026-11-01T07:00:00.000Z',
    ]);
    expect(cronNext('0 2 * * *', NY, '2026-10-31T00:00:00.000Z', 3)).toEqual([
      '2026-10-31T06:00:00.000Z',
      '2026-11-01T07:00:00.000Z', // 02:00 happens once, in EST
      '2026-11-02T07:00:00.000Z',
    ]);
  });

  it('Berlin 2026: 30 2 * * * and 0 2 * * * run in CEST on the repeated night', () => {
    expect(cronNext('30 2 * * *', BERLIN, '2026-10-24T00:00:00.000Z', 3)).toEqual([
      '2026-10-24T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T00:30:00.000Z', // 02:30 CEST, first of two
      '2026-10-26T01:30:00.000Z', // 02:30 CET
    ]);
    expect(cronNext('0 2 * * *', BERLIN, '2026-10-24T12:00:00.000Z', 2)).toEqual([
      '2026-10-25T00:00:00.000Z',
      '2026-10-26T01:00:00.000Z',
    ]);
    expect(cronNext('0 3 * * *', BERLIN, '2026-10-24T12:00:00.000Z', 2)).toEqual([
      '2026-10-25T02:00:00.000Z', // 03:00 CET (03:00 CEST never shows)
      '2026-10-26T02:00:00.000Z',
    ]);
  });

  it('New York and Berlin 2027', () => {
    expect(cronNext('30 1 * * *', NY, '2027-11-06T00:00:00.000Z', 3)).toEqual([
      '2027-11-06T05:30:00.000Z',
      '2027-11-07T05:30:00.000Z',
      '2027-11-08T06:30:00.000Z',
    ]);
    expect(cronNext('30 2 * * *', BERLIN, '2027-10-30T00:00:00.000Z', 3)).toEqual([
      '2027-10-30T00:30:00.000Z',
      '2027-10-31T00:30:00.000Z',
      '2027-11-01T01:30:00.000Z',
    ]);
  });

  it('Lord Howe 2026 and 2027: a repeated half hour (01:30–02:00)', () => {
    expect(cronNext('45 1 * * *', LORD_HOWE, '2026-04-03T00:00:00.000Z', 3)).toEqual([
      '2026-04-03T14:45:00.000Z', // Apr 4 01:45 +11
      '2026-04-04T14:45:00.000Z', // Apr 5 01:45 +11, first of two
      '2026-04-05T15:15:00.000Z', // Apr 6 01:45 +10:30
    ]);
    expect(cronNext('30 1 * * *', LORD_HOWE, '2026-04-04T12:00:00.000Z', 2)).toEqual([
      '2026-04-04T14:30:00.000Z',
      '2026-04-05T15:00:00.000Z',
    ]);
    expect(cronNext('0 1-2 * * *', LORD_HOWE, '2026-04-04T12:00:00.000Z', 4)).toEqual([
      '2026-04-04T14:00:00.000Z', // 01:00 +11
      '2026-04-04T15:30:00.000Z', // 02:00 +10:30
      '2026-04-05T14:30:00.000Z', // Apr 6 01:00 +10:30
      '2026-04-05T15:30:00.000Z',
    ]);
    expect(cronNext('45 1 * * *', LORD_HOWE, '2027-04-02T00:00:00.000Z', 3)).toEqual([
      '2027-04-02T14:45:00.000Z',
      '2027-04-03T14:45:00.000Z',
      '2027-04-04T15:15:00.000Z',
    ]);
  });

  it('Troll: a repeated 2 hours (01:00–03:00)', () => {
    expect(cronNext('30 1 * * *', TROLL, '2026-10-23T12:00:00.000Z', 3)).toEqual([
      '2026-10-23T23:30:00.000Z', // Oct 24 01:30 +02
      '2026-10-24T23:30:00.000Z', // Oct 25 01:30 +02, first of two
      '2026-10-26T01:30:00.000Z', // Oct 26 01:30 +00
    ]);
    expect(cronNext('30 1 * * *', TROLL, '2026-10-25T02:30:00.000Z', 1)).toEqual([
      '2026-10-26T01:30:00.000Z',
    ]);
  });

  it('Santiago: a repeated hour before midnight (23:00–24:00 on Saturday Apr 4)', () => {
    expect(cronNext('30 23 * * *', SANTIAGO, '2026-04-03T12:00:00.000Z', 3)).toEqual([
      '2026-04-04T02:30:00.000Z', // Apr 3 23:30 -03
      '2026-04-05T02:30:00.000Z', // Apr 4 23:30 -03, first of two
      '2026-04-06T03:30:00.000Z', // Apr 5 23:30 -04
    ]);
    expect(cronNext('0 23 * * 6', SANTIAGO, '2026-04-01T00:00:00.000Z', 2)).toEqual([
      '2026-04-05T02:00:00.000Z',
      '2026-04-12T03:00:00.000Z',
    ]);
  });
});

describe('fall back: wildcard expressions follow real time through the repeated hour', () => {
  it('New York 2026: */30 * * * *', () => {
    expect(cronNext('*/30 * * * *', NY, '2026-11-01T04:45:00.000Z', 6)).toEqual([
      '2026-11-01T05:00:00.000Z', // 01:00 EDT
      '2026-11-01T05:30:00.000Z', // 01:30 EDT
      '2026-11-01T06:00:00.000Z', // 01:00 EST
      '2026-11-01T06:30:00.000Z', // 01:30 EST
      '2026-11-01T07:00:00.000Z', // 02:00 EST
      '2026-11-01T07:30:00.000Z',
    ]);
    expect(cronNext('*/30 * * * *', NY, '2026-11-01T05:40:00.000Z', 1)).toEqual([
      '2026-11-01T06:00:00.000Z',
    ]);
    expect(cronNext('*/30 * * * *', NY, '2026-11-01T06:10:00.000Z', 1)).toEqual([
      '2026-11-01T06:30:00.000Z',
    ]);
  });

  it('New York 2026: 0 * * * * (wildcard hours)', () => {
    expect(cronNext('0 * * * *', NY, '2026-11-01T03:30:00.000Z', 5)).toEqual([
      '2026-11-01T04:00:00.000Z',
      '2026-11-01T05:00:00.000Z',
      '2026-11-01T06:00:00.000Z',
      '2026-11-01T07:00:00.000Z',
      '2026-11-01T08:00:00.000Z',
    ]);
  });

  it('New York 2026: a wildcard minutes field with a fixed hour runs in both occurrences', () => {
    expect(cronNext('*/30 1 * * *', NY, '2026-11-01T00:00:00.000Z', 6)).toEqual([
      '2026-11-01T05:00:00.000Z',
      '2026-11-01T05:30:00.000Z',
      '2026-11-01T06:00:00.000Z',
      '2026-11-01T06:30:00.000Z',
      '2026-11-02T06:00:00.000Z',
      '2026-11-02T06:30:00.000Z',
    ]);
  });

  it('Berlin 2026 and 2027: */30 * * * * and 0 * * * *', () => {
    expect(cronNext('*/30 * * * *', BERLIN, '2026-10-24T23:45:00.000Z', 5)).toEqual([
      '2026-10-25T00:00:00.000Z', // 02:00 CEST
      '2026-10-25T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T01:00:00.000Z', // 02:00 CET
      '2026-10-25T01:30:00.000Z', // 02:30 CET
      '2026-10-25T02:00:00.000Z', // 03:00 CET
    ]);
    expect(cronNext('0 * * * *', BERLIN, '2026-10-24T23:30:00.000Z', 3)).toEqual([
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T01:00:00.000Z',
      '2026-10-25T02:00:00.000Z',
    ]);
    expect(cronNext('*/30 * * * *', BERLIN, '2027-10-30T23:45:00.000Z', 5)).toEqual([
      '2027-10-31T00:00:00.000Z',
      '2027-10-31T00:30:00.000Z',
      '2027-10-31T01:00:00.000Z',
      '2027-10-31T01:30:00.000Z',
      '2027-10-31T02:00:00.000Z',
    ]);
    expect(cronNext('*/30 * * * *', NY, '2027-11-07T04:45:00.000Z', 5)).toEqual([
      '2027-11-07T05:00:00.000Z',
      '2027-11-07T05:30:00.000Z',
      '2027-11-07T06:00:00.000Z',
      '2027-11-07T06:30:00.000Z',
      '2027-11-07T07:00:00.000Z',
    ]);
  });

  it('Lord Howe 2026: */15 * * * * runs the repeated half hour twice', () => {
    expect(cronNext('*/15 * * * *', LORD_HOWE, '2026-04-04T14:20:00.000Z', 6)).toEqual([
      '2026-04-04T14:30:00.000Z', // 01:30 +11
      '2026-04-04T14:45:00.000Z', // 01:45 +11
      '2026-04-04T15:00:00.000Z', // 01:30 +10:30
      '2026-04-04T15:15:00.000Z', // 01:45 +10:30
      '2026-04-04T15:30:00.000Z', // 02:00 +10:30
      '2026-04-04T15:45:00.000Z',
    ]);
  });

  it('Troll: 0 * * * * runs the 2 repeated hours twice', () => {
    expect(cronNext('0 * * * *', TROLL, '2026-10-24T22:30:00.000Z', 6)).toEqual([
      '2026-10-24T23:00:00.000Z', // 01:00 +02
      '2026-10-25T00:00:00.000Z', // 02:00 +02
      '2026-10-25T01:00:00.000Z', // 01:00 +00
      '2026-10-25T02:00:00.000Z', // 02:00 +00
      '2026-10-25T03:00:00.000Z', // 03:00 +00
      '2026-10-25T04:00:00.000Z',
    ]);
    expect(cronNext('0 * * * *', TROLL, '2026-10-25T00:30:00.000Z', 1)).toEqual([
      '2026-10-25T01:00:00.000Z',
    ]);
  });

  it('Santiago: a wildcard restricted to Saturdays runs its repeated last hour twice', () => {
    expect(cronNext('*/30 * * * 6', SANTIAGO, '2026-04-05T01:45:00.000Z', 5)).toEqual([
      '2026-04-05T02:00:00.000Z', // Sat 23:00 -03
      '2026-04-05T02:30:00.000Z', // Sat 23:30 -03
      '2026-04-05T03:00:00.000Z', // Sat 23:00 -04
      '2026-04-05T03:30:00.000Z', // Sat 23:30 -04
      '2026-04-11T04:00:00.000Z', // next Saturday 00:00 -04
    ]);
  });
});

describe('sequences across transitions: strictly increasing, right count, no duplicates', () => {
  it('* * * * * walks 200 steps across the New York fall-back hour, one minute apart', () => {
    const ticks = strictWalk(new CronSchedule('* * * * *', NY), '2026-11-01T04:00:00.000Z', 200);
    expect(new Set(ticks).size).toBe(200);
    expect(gaps(ticks).every((gap) => gap === MINUTE)).toBe(true);
    expect(iso(ticks[0]!)).toBe('2026-11-01T04:01:00.000Z');
    expect(iso(ticks.at(-1)!)).toBe('2026-11-01T07:20:00.000Z');
    // 120 runs in the two real hours that show 01:xx.
    expect(
      ticks.filter(
        (t) => t >= at('2026-11-01T05:00:00.000Z') && t < at('2026-11-01T07:00:00.000Z'),
      ),
    ).toHaveLength(120);
  });

  it('* * * * * walks 200 steps across the New York spring gap', () => {
    const ticks = strictWalk(new CronSchedule('* * * * *', NY), '2026-03-08T05:00:00.000Z', 200);
    expect(new Set(ticks).size).toBe(200);
    expect(gaps(ticks).every((gap) => gap === MINUTE)).toBe(true);
    expect(iso(ticks.at(-1)!)).toBe('2026-03-08T08:20:00.000Z');
  });

  it('*/10 * * * * * walks 800 steps across the Berlin fall-back, ten seconds apart', () => {
    const ticks = strictWalk(
      new CronSchedule('*/10 * * * * *', BERLIN),
      '2026-10-24T23:30:00.000Z',
      800,
    );
    expect(new Set(ticks).size).toBe(800);
    expect(gaps(ticks).every((gap) => gap === 10_000)).toBe(true);
  });

  it('a fixed seconds-precise expression runs its hour once; a wildcard one twice', () => {
    const fixed = strictWalk(
      new CronSchedule('0 0-59 1 * * *', NY),
      '2026-11-01T04:00:00.000Z',
      61,
    );
    expect(iso(fixed[0]!)).toBe('2026-11-01T05:00:00.000Z');
    expect(iso(fixed[59]!)).toBe('2026-11-01T05:59:00.000Z');
    expect(iso(fixed[60]!)).toBe('2026-11-02T06:00:00.000Z');

    const wildcard = strictWalk(new CronSchedule('* 1 * * *', NY), '2026-11-01T04:00:00.000Z', 121);
    expect(iso(wildcard[0]!)).toBe('2026-11-01T05:00:00.000Z');
    expect(iso(wildcard[119]!)).toBe('2026-11-01T06:59:00.000Z');
    expect(iso(wildcard[120]!)).toBe('2026-11-02T06:00:00.000Z');
    expect(new Set(wildcard).size).toBe(121);
  });

  // Local days: [start, end) as instants.
  const days = {
    nyNormal: ['2026-10-31T04:00:00.000Z', '2026-11-01T04:00:00.000Z'], // 24 h
    nyFall: ['2026-11-01T04:00:00.000Z', '2026-11-02T05:00:00.000Z'], // 25 h
    nySpring: ['2026-03-08T05:00:00.000Z', '2026-03-09T04:00:00.000Z'], // 23 h
    berlinFall: ['2026-10-24T22:00:00.000Z', '2026-10-25T23:00:00.000Z'], // 25 h
    berlinSpring: ['2026-03-28T23:00:00.000Z', '2026-03-29T22:00:00.000Z'], // 23 h
    lhFall: ['2026-04-04T13:00:00.000Z', '2026-04-05T13:30:00.000Z'], // 24.5 h
    lhSpring: ['2026-10-03T13:30:00.000Z', '2026-10-04T13:00:00.000Z'], // 23.5 h
  } as const;

  it.each([
    // zone, day, expression, runs that local day
    [NY, 'nyNormal', '*/15 * * * *', 96],
    [NY, 'nyFall', '*/15 * * * *', 100], // 4 extra in the repeated hour
    [NY, 'nyFall', '0,15,30,45 0-23 * * *', 96], // fixed: none extra
    [NY, 'nyFall', '0 * * * *', 25],
    [NY, 'nyFall', '0 0-23 * * *', 24],
    [NY, 'nyFall', '0 1 * * *', 1],
    [NY, 'nySpring', '*/15 * * * *', 92],
    [NY, 'nySpring', '0,15,30,45 0-23 * * *', 92], // 02:00–02:45 merged into 03:00
    [NY, 'nySpring', '0 0-23 * * *', 23],
    [NY, 'nySpring', '30 2 * * *', 1],
    [BERLIN, 'berlinFall', '*/15 * * * *', 100],
    [BERLIN, 'berlinFall', '0,15,30,45 0-23 * * *', 96],
    [BERLIN, 'berlinSpring', '*/15 * * * *', 92],
    [BERLIN, 'berlinSpring', '0,15,30,45 0-23 * * *', 92],
    [LORD_HOWE, 'lhFall', '*/15 * * * *', 98], // 2 extra in the repeated half hour
    [LORD_HOWE, 'lhFall', '0,15,30,45 0-23 * * *', 96],
    [LORD_HOWE, 'lhSpring', '*/15 * * * *', 94],
    [LORD_HOWE, 'lhSpring', '0,15,30,45 0-23 * * *', 94], // 02:00, 02:15 merged into 02:30
  ] as const)('%s %s: "%s" runs %i times', (zone, day, expression, count) => {
    const [from, to] = days[day];
    const ticks = walk(new CronSchedule(expression, zone), from, to);
    expect(ticks).toHaveLength(count);
    expect(new Set(ticks).size).toBe(count);
    expect(gaps(ticks).every((gap) => gap > 0)).toBe(true);
  });

  it('the repeated New York hour holds 4 extra */15 runs and no extra fixed ones', () => {
    const repeated = ['2026-11-01T05:00:00.000Z', '2026-11-01T07:00:00.000Z'] as const;
    expect(walk(new CronSchedule('*/15 * * * *', NY), ...repeated).map(iso)).toEqual([
      '2026-11-01T05:00:00.000Z',
      '2026-11-01T05:15:00.000Z',
      '2026-11-01T05:30:00.000Z',
      '2026-11-01T05:45:00.000Z',
      '2026-11-01T06:00:00.000Z',
      '2026-11-01T06:15:00.000Z',
      '2026-11-01T06:30:00.000Z',
      '2026-11-01T06:45:00.000Z',
    ]);
    expect(walk(new CronSchedule('0,15,30,45 0-23 * * *', NY), ...repeated).map(iso)).toEqual([
      '2026-11-01T05:00:00.000Z',
      '2026-11-01T05:15:00.000Z',
      '2026-11-01T05:30:00.000Z',
      '2026-11-01T05:45:00.000Z',
    ]);
  });

  it.each([
    // zone, local year 2026 as instants, fixed-time count (17,520 slots; NY's gap merges
    // 02:00 and 02:30 into 03:00, Lord Howe's merges 02:00 into 02:30; repeats add none)
    [NY, '2026-01-01T05:00:00.000Z', '2027-01-01T05:00:00.000Z', 17_518],
    [LORD_HOWE, '2025-12-31T13:00:00.000Z', '2026-12-31T13:00:00.000Z', 17_519],
    // Troll's gap merges 01:00, 01:30, 02:00 and 02:30 into 03:00: four runs fewer.
    [TROLL, '2026-01-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z', 17_516],
  ] as const)(
    '%s from %s to %s: */30 runs every real half hour; fixed half hours %i times',
    (zone, from, to, fixedCount) => {
      const wildcard = walk(new CronSchedule('*/30 * * * *', zone), from, to);
      expect(wildcard).toHaveLength(365 * 48);
      expect(gaps(wildcard).every((gap) => gap === 30 * MINUTE)).toBe(true);
      const fixed = walk(new CronSchedule('0,30 0-23 * * *', zone), from, to);
      expect(fixed).toHaveLength(fixedCount);
      expect(gaps(fixed).every((gap) => gap > 0)).toBe(true);
    },
  );
});
