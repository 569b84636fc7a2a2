/**
 * Schedules through the module: boot errors and warnings for `@Task({ cron | every |
 * catchUp })`, and the debug line with each task's next three due instants. In memory
 * (no `redis`), with no roles, so nothing is scheduled and no Redis key is written; the
 * module's `clock` fixes "now", so nothing depends on the wall clock.
 */
import type { Provider } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Interactor,
  Interactors,
  InteractorsModule,
  InvalidModuleOptionsError,
  InvalidTaskDefinitionsError,
  Task,
  type InteractorsModuleOptions,
  type TaskOptions,
} from '../../src/index.js';
import { resolveConfig } from '../../src/interactors.config.js';
import { validateTaskOptions } from '../../src/task/task-options.validation.js';
import { Apps, CapturingLogger, bootFailure, isolateEnv } from '../src/helpers.js';
import { at, withHostZone } from './helpers.js';

isolateEnv();

const apps = new Apps();
afterEach(() => apps.closeAll());

const FIX = 'fix the expression (5 fields, or 6 with seconds first)';

/** A task class named `name` with the given options. */
function taskWith(name: string, options: TaskOptions): new () => Interactor {
  @Task(options)
  class Fixture extends Interactor {
    call(): string {
      return name;
    }
  }
  Object.defineProperty(Fixture, 'name', { value: name });
  return Fixture;
}

const base = (options: InteractorsModuleOptions = {}) =>
  InteractorsModule.forRoot({ metrics: false, roles: [], ...options });

async function taskError(
  providers: Provider[],
  options: InteractorsModuleOptions = {},
): Promise<InvalidTaskDefinitionsError> {
  const { error } = await bootFailure({ imports: [base(options)], providers });
  expect(error).toBeInstanceOf(InvalidTaskDefinitionsError);
  return error as InvalidTaskDefinitionsError;
}

async function boot(providers: Provider[], options: InteractorsModuleOptions = {}) {
  const logger = new CapturingLogger();
  const app = await apps.boot({ imports: [base(options)], providers }, logger);
  return { app, logger };
}

const lines = (logger: CapturingLogger, level: string, pattern: RegExp) =>
  logger.lines.filter((line) => line.startsWith(`${level} `) && pattern.test(line));

describe('an invalid cron is a boot error naming the task, the option and the fix', () => {
  it('lists every bad expression in one error', async () => {
    const cases: [string, string, string][] = [
      ['MinuteStep61', '*/61 * * * *', 'minute step 61 out of range 1-59'],
      ['Hour24', '0 24 * * *', 'hour value 24 out of range 0-23'],
      [
        'QuartzQuestion',
        '0 0 ? * MON',
        'Quartz syntax (?, L, W, #) is not supported; write standard (Vixie) cron: 5 fields, or 6 with seconds first',
      ],
      [
        'QuartzLast',
        '0 0 L * *',
        'Quartz syntax (?, L, W, #) is not supported; write standard (Vixie) cron: 5 fields, or 6 with seconds first',
      ],
      [
        'QuartzHash',
        '0 0 * * 5#3',
        'Quartz syntax (?, L, W, #) is not supported; write standard (Vixie) cron: 5 fields, or 6 with seconds first',
      ],
      [
        'JenkinsHash',
        'H/15 * * * *',
        "Jenkins' H is not supported; write standard (Vixie) cron: 5 fields, or 6 with seconds first",
      ],
      [
        'WithYears',
        '0 0 12 1 1 * 2027',
        'expected 5 fields (minute precision) or 6 (seconds first), got 7; years are not supported',
      ],
      [
        'OnReboot',
        '@reboot',
        '"@reboot" is not supported; the macros are @yearly, @annually, @monthly, @weekly, @daily, @hourly, @minutely, @secondly',
      ],
      ['February31', '0 0 31 2 *', 'it can never fire: no month has the day(s) of month it names'],
      ['February30', '0 0 30 2 *', 'it can never fire: no month has the day(s) of month it names'],
      ['April31', '0 0 31 4 *', 'it can never fire: no month has the day(s) of month it names'],
    ];
    const error = await taskError(
      cases.map(([name, cron]) => taskWith(name, { cron, run: 'inline' })),
    );
    expect(error.problems).toEqual(
      cases.map(
        // A reason that already names the supported dialect is not followed by the hint again.
        ([name, cron, reason]) =>
          `Task "${name}": cron "${cron}" is invalid (${reason})${reason.includes('5 fields') ? '' : `; ${FIX}`}`,
      ),
    );
    for (const [name] of cases) expect(error.message).toContain(`Task "${name}"`);
  });

  it('rejects the same never-firing dates when the cron is read in another zone', async () => {
    const error = await taskError(
      [taskWith('February31NY', { cron: '0 0 31 2 *', timeZone: 'America/New_York' })],
      { timeZone: 'Europe/Berlin' },
    );
    expect(error.problems).toEqual([
      `Task "February31NY": cron "0 0 31 2 *" is invalid (it can never fire: no month has the day(s) of month it names); ${FIX}`,
    ]);
  });

  it('finds a never-firing date in milliseconds (construction + validation < 200 ms)', () => {
    const config = resolveConfig({ roles: [], metrics: false }, undefined, undefined, {});
    const now = at('2026-01-01T00:00:00.000Z');
    for (const cron of ['0 0 31 2 *', '0 0 30 2 *', '0 0 31 4 *', '0 0 0 31 2 *']) {
      const started = performance.now();
      const { problems, schedule } = validateTaskOptions('Never', { cron }, config, now);
      const elapsed = performance.now() - started;
      expect(problems, cron).toEqual([expect.stringMatching(/can never fire/)]);
      expect(schedule, cron).toBeUndefined();
      expect(elapsed, cron).toBeLessThan(200);
    }
    // Its valid neighbour: Feb 29 fires in leap years.
    const leap = validateTaskOptions('Leap', { cron: '0 0 29 2 *' }, config, now);
    expect(leap.problems).toEqual([]);
    expect(new Date(leap.schedule!.next(now)).toISOString()).toBe('2028-02-29T00:00:00.000Z');
  });

  it('a module timeZone that is not a zone is a module error', async () => {
    const { error } = await bootFailure({ imports: [base({ timeZone: 'Mars/Olympus_Mons' })] });
    expect(error).toBeInstanceOf(InvalidModuleOptionsError);
    expect(error.message).toContain(
      'option "timeZone" "Mars/Olympus_Mons" is not a known IANA time zone',
    );
  });
});

describe('every, offset and catchUp', () => {
  it('giving both cron and every is a boot error', async () => {
    const error = await taskError([
      taskWith('Both', { cron: '*/15 * * * *', every: '15 minutes', run: 'inline' }),
    ]);
    expect(error.problems).toEqual(['Task "Both": give either "cron" or "every", not both']);
  });

  it('invalid intervals and offsets are boot errors', async () => {
    const error = await taskError([
      taskWith('Soon', { every: 'soon' }),
      taskWith('TooShort', { every: 999 }),
      taskWith('HalfSecond', { every: '0.5 seconds' }),
      taskWith('NegativeOffset', { every: '1 hour', offset: -1 }),
      taskWith('FractionalOffset', { every: '1 hour', offset: 1.5 }),
      taskWith('OffsetAlone', { offset: 60_000 }),
    ]);
    expect(error.problems).toEqual([
      'Task "Soon": every "soon" is invalid: "soon" is not an interval; use e.g. "30 seconds", "15 minutes", "1 hour", "1 day" or milliseconds',
      'Task "TooShort": every 999 is invalid: 999 is not a whole number of milliseconds ≥ 1000',
      'Task "HalfSecond": every "0.5 seconds" is invalid: "0.5 seconds" is shorter than one second or not a whole millisecond',
      'Task "NegativeOffset": every "1 hour" is invalid: offset -1 must be whole milliseconds ≥ 0',
      'Task "FractionalOffset": every "1 hour" is invalid: offset 1.5 must be whole milliseconds ≥ 0',
      'Task "OffsetAlone": "offset" goes with "every"; remove it or add an interval',
    ]);
  });

  it('catchUp without cron or every, or catchUp: "soon", is a boot error', async () => {
    const error = await taskError([
      taskWith('CatchUpAlone', { catchUp: '1 hour' }),
      taskWith('CatchUpSoon', { cron: '0 * * * *', catchUp: 'soon' }),
      taskWith('CatchUpTiny', { every: '1 hour', catchUp: 10 }),
    ]);
    expect(error.problems).toEqual([
      'Task "CatchUpAlone": "catchUp" goes with "cron" or "every"; remove it or add a schedule',
      'Task "CatchUpSoon": catchUp "soon" is invalid: "soon" is not an interval; use e.g. "30 seconds", "15 minutes", "1 hour", "1 day" or milliseconds; or false for no catch-up',
      'Task "CatchUpTiny": catchUp 10 is invalid: 10 is not a whole number of milliseconds ≥ 1000; or false for no catch-up',
    ]);
  });

  it('valid every, offset and catchUp values boot', async () => {
    const { app } = await boot(
      [
        taskWith('Quarterly', { every: '15 minutes', offset: 120_000, catchUp: '1 hour' }),
        taskWith('Hourly', { every: '1 hour', catchUp: false }),
        taskWith('NinetySeconds', { every: 90_000, catchUp: 90_000 }),
        taskWith('CronCatchUp', { cron: '*/5 * * * *', catchUp: '30 minutes' }),
      ],
      { clock: { now: () => at('2026-01-01T00:05:00.000Z') } },
    );
    const interactors = app.get(Interactors);
    const next = async (task: string) =>
      new Date((await interactors.times(task)).nextDueAt!).toISOString();
    expect(await next('Quarterly')).toBe('2026-01-01T00:17:00.000Z');
    expect(await next('Hourly')).toBe('2026-01-01T01:00:00.000Z');
    expect(await next('NinetySeconds')).toBe('2026-01-01T00:06:00.000Z');
    expect(await next('CronCatchUp')).toBe('2026-01-01T00:10:00.000Z');
  });
});

describe('boot warnings', () => {
  it('* * 1 * * * boots with a warning naming the task', async () => {
    const { logger } = await boot([
      taskWith('EverySecondAtOne', { cron: '* * 1 * * *', run: 'inline' }),
      taskWith('EveryMinuteAtOne', { cron: '* 1 * * *', run: 'inline' }),
      taskWith('OnceAtOne', { cron: '0 1 * * *', run: 'inline' }),
      taskWith('OfficeHours', { cron: '* 9-17 * * *', run: 'inline' }),
    ]);
    const warnings = lines(logger, 'warn', /Task "/);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain(
      'Task "EverySecondAtOne": cron "* * 1 * * *" runs every second during hour(s) 1 only; if you meant once at that hour, fix the seconds field (e.g. "0")',
    );
    expect(warnings[1]).toContain(
      'Task "EveryMinuteAtOne": cron "* 1 * * *" runs every minute during hour(s) 1 only; if you meant once at that hour, fix the minutes field (e.g. "0")',
    );
    expect(warnings.every((line) => !line.includes('\n'))).toBe(true);
  });
});

describe('the next three due instants, logged at debug level', () => {
  const nextDue = (logger: CapturingLogger, task: string) =>
    lines(logger, 'debug', new RegExp(`Task ${task} is next due at `));

  it('reads crons in the module zone unless the task names one; intervals are zone-free', async () => {
    const { app, logger } = await boot(
      [
        taskWith('HalfHourly', { cron: '*/30 * * * *', run: 'inline' }),
        taskWith('NightlyNY', { cron: '30 2 * * *', run: 'inline' }),
        taskWith('MidnightUtc', { cron: '0 0 * * *', timeZone: 'UTC', run: 'inline' }),
        taskWith('Quarterly', { every: '15 minutes', offset: 120_000, run: 'inline' }),
        taskWith('OnDemand', { run: 'inline' }),
      ],
      {
        timeZone: 'America/New_York',
        clock: { now: () => at('2026-03-08T05:45:00.000Z') },
      },
    );
    expect(nextDue(logger, 'HalfHourly')).toEqual([
      expect.stringContaining(
        'Task HalfHourly is next due at 2026-03-08T06:00:00.000Z, 2026-03-08T06:30:00.000Z, 2026-03-08T07:00:00.000Z',
      ),
    ]);
    expect(nextDue(logger, 'NightlyNY')).toEqual([
      expect.stringContaining(
        'Task NightlyNY is next due at 2026-03-08T07:00:00.000Z, 2026-03-09T06:30:00.000Z, 2026-03-10T06:30:00.000Z',
      ),
    ]);
    expect(nextDue(logger, 'MidnightUtc')).toEqual([
      expect.stringContaining(
        'Task MidnightUtc is next due at 2026-03-09T00:00:00.000Z, 2026-03-10T00:00:00.000Z, 2026-03-11T00:00:00.000Z',
      ),
    ]);
    expect(nextDue(logger, 'Quarterly')).toEqual([
      expect.stringContaining(
        'Task Quarterly is next due at 2026-03-08T05:47:00.000Z, 2026-03-08T06:02:00.000Z, 2026-03-08T06:17:00.000Z',
      ),
    ]);
    expect(nextDue(logger, 'OnDemand')).toEqual([]);
    expect(lines(logger, 'verbose', /Task NightlyNY \(NightlyNY\)/)).toEqual([
      expect.stringContaining('cron "30 2 * * *" America/New_York'),
    ]);
    const times = await app.get(Interactors).times('NightlyNY');
    expect(new Date(times.nextDueAt!).toISOString()).toBe('2026-03-08T07:00:00.000Z');
  });

  it('defaults to UTC', async () => {
    const { logger } = await boot([taskWith('NightlyUtc', { cron: '30 2 * * *' })], {
      clock: { now: () => at('2026-03-07T12:00:00.000Z') },
    });
    expect(nextDue(logger, 'NightlyUtc')).toEqual([
      expect.stringContaining(
        'Task NightlyUtc is next due at 2026-03-08T02:30:00.000Z, 2026-03-09T02:30:00.000Z, 2026-03-10T02:30:00.000Z',
      ),
    ]);
  });

  it('logs the same instants whatever the host TZ (Asia/Tehran)', async () => {
    const bootUnder = async (host: string) => {
      const saved = process.env.TZ;
      process.env.TZ = host;
      try {
        const { logger } = await boot(
          [
            taskWith('FallBackFixed', { cron: '30 1 * * *', timeZone: 'America/New_York' }),
            taskWith('FallBackWild', { cron: '*/30 * * * *', timeZone: 'America/New_York' }),
          ],
          { clock: { now: () => at('2026-11-01T05:10:00.000Z') } },
        );
        return {
          offset: new Date(0).getTimezoneOffset(),
          lines: lines(logger, 'debug', /next due/),
        };
      } finally {
        if (saved === undefined) delete process.env.TZ;
        else process.env.TZ = saved;
        await apps.closeAll();
      }
    };
    const onUtc = await bootUnder('UTC');
    const onTehran = await bootUnder('Asia/Tehran');
    expect(onUtc.offset).toBe(0);
    expect(onTehran.offset).toBe(-210);
    expect(onTehran.lines).toEqual(onUtc.lines);
    expect(onTehran.lines).toEqual([
      expect.stringContaining(
        'Task FallBackFixed is next due at 2026-11-01T05:30:00.000Z, 2026-11-02T06:30:00.000Z, 2026-11-03T06:30:00.000Z',
      ),
      expect.stringContaining(
        'Task FallBackWild is next due at 2026-11-01T05:30:00.000Z, 2026-11-01T06:00:00.000Z, 2026-11-01T06:30:00.000Z',
      ),
    ]);
    expect(withHostZone('UTC', () => new Date(0).getTimezoneOffset())).toBe(0);
  });
});
