/**
 * Time II, schedules from configuration: `schedules: { <task>: { cron | every | offset |
 * timeZone | catchUp | enabled } }` in the module options (here from a `forRootAsync`
 * factory) overrides the `@Task` literal; mistakes fail the boot, listed in one error.
 */
import type { INestApplication } from '@nestjs/common';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Interactor,
  Interactors,
  InteractorsModule,
  InvalidModuleOptionsError,
  InvalidTaskDefinitionsError,
  Task,
  TaskRun,
  type InteractorsModuleOptions,
} from '../../src/index.js';
import {
  Apps,
  CapturingLogger,
  ManualClock,
  bootFailure,
  isolateEnv,
  sleep,
  waitFor,
} from '../src/helpers.js';
import { MINUTE, ResultLog, at, dispatcherOf, runSeries } from './support.js';

abstract class Recorded extends Interactor {
  call(): string {
    return `${TaskRun.current()!.task} ${TaskRun.current()!.trigger}`;
  }
}

@Task({ cron: '0 * * * *', run: 'inline' })
class Hourly extends Recorded {}

@Task({ cron: '0 0 * * *', run: 'inline' })
class DailyByCron extends Recorded {}

@Task({ every: '1 hour', offset: 5 * MINUTE, run: 'inline' })
class HourlyByEvery extends Recorded {}

@Task({ every: '1 hour', offset: 5 * MINUTE, run: 'inline' })
class HourlyOffset extends Recorded {}

@Task({ cron: '0 9 * * *', run: 'inline' })
class NineAm extends Recorded {}

@Task({ cron: '30 * * * *', run: 'inline' })
class KeepsItsCron extends Recorded {}

@Task({ every: '1 minute', run: 'inline' })
class Disabled extends Recorded {}

@Task({ name: 'renamed-task', cron: '0 * * * *', run: 'inline' })
class Renamed extends Recorded {}

const TASKS = [Hourly, DailyByCron, HourlyByEvery, HourlyOffset, NineAm, KeepsItsCron, Disabled];

/** 12:03 UTC on a January day: New York is at UTC-5. */
const NOW = at('2034-01-10T12:03:00Z');

isolateEnv();
const apps = new Apps();
afterEach(() => apps.closeAll());

interface Booted {
  readonly app: INestApplication;
  readonly clock: ManualClock;
  readonly results: ResultLog;
  readonly registry: Registry;
  readonly logger: CapturingLogger;
}

/** Boots on the in-memory transport with options from a forRootAsync factory. */
async function bootAsync(
  schedules: InteractorsModuleOptions['schedules'],
  providers: Array<new (...args: never[]) => unknown> = TASKS,
): Promise<Booted> {
  const clock = new ManualClock(NOW);
  const registry = new Registry();
  const logger = new CapturingLogger();
  const app = await apps.boot(
    {
      imports: [
        InteractorsModule.forRootAsync({
          useFactory: async () => ({ clock, metrics: { registry }, schedules }),
        }),
      ],
      providers: [ResultLog, ...providers],
    },
    logger,
  );
  return { app, clock, results: app.get(ResultLog), registry, logger };
}

const infoOf = (app: INestApplication, name: string) =>
  app
    .get(Interactors)
    .list()
    .find((info) => info.name === name);

describe('schedules from configuration (forRootAsync)', () => {
  it('override cron, every, offset and timeZone of the decorator; cron: undefined keeps it', async () => {
    const { app } = await bootAsync({
      Hourly: { cron: '*/10 * * * *' },
      DailyByCron: { every: '15 minutes' },
      HourlyByEvery: { cron: '30 2 * * *' },
      HourlyOffset: { offset: 20 * MINUTE },
      NineAm: { timeZone: 'America/New_York' },
      KeepsItsCron: { cron: undefined },
    });
    const dispatcher = dispatcherOf(app);

    // cron replaces the decorator's cron
    expect(infoOf(app, 'Hourly')).toMatchObject({
      cron: '*/10 * * * *',
      every: undefined,
      timeZone: 'UTC',
    });
    expect(dispatcher.nextDueAt('Hourly')).toBe(at('2034-01-10T12:10:00Z'));

    // every replaces a decorator's cron
    expect(infoOf(app, 'DailyByCron')).toMatchObject({
      cron: undefined,
      every: '15 minutes',
      timeZone: undefined,
    });
    expect(dispatcher.nextDueAt('DailyByCron')).toBe(at('2034-01-10T12:15:00Z'));

    // cron replaces a decorator's every, and its offset goes with it
    expect(infoOf(app, 'HourlyByEvery')).toMatchObject({
      cron: '30 2 * * *',
      every: undefined,
      timeZone: 'UTC',
    });
    expect(dispatcher.nextDueAt('HourlyByEvery')).toBe(at('2034-01-11T02:30:00Z'));

    // offset alone keeps the decorator's every
    expect(infoOf(app, 'HourlyOffset')).toMatchObject({ cron: undefined, every: '1 hour' });
    expect(dispatcher.nextDueAt('HourlyOffset')).toBe(at('2034-01-10T12:20:00Z'));

    // timeZone alone applies to the decorator's cron: 09:00 in New York is 14:00 UTC
    expect(infoOf(app, 'NineAm')).toMatchObject({
      cron: '0 9 * * *',
      timeZone: 'America/New_York',
    });
    expect(dispatcher.nextDueAt('NineAm')).toBe(at('2034-01-10T14:00:00Z'));

    // an unset value keeps the decorator's schedule
    expect(infoOf(app, 'KeepsItsCron')).toMatchObject({ cron: '30 * * * *', timeZone: 'UTC' });
    expect(dispatcher.nextDueAt('KeepsItsCron')).toBe(at('2034-01-10T12:30:00Z'));

    // And Interactors.times() agrees.
    expect(await app.get(Interactors).times(Hourly)).toEqual({
      task: 'Hourly',
      lastDueAt: undefined,
      nextDueAt: at('2034-01-10T12:10:00Z'),
    });
  });

  it('the overriding schedule is the one that fires, not the decorator’s', async () => {
    const booted = await bootAsync({ Hourly: { cron: '*/10 * * * *' } }, [Hourly]);
    booted.clock.set(at('2034-01-10T12:10:00Z'));
    await dispatcherOf(booted.app).wake();
    await waitFor(() => booted.results.all.length === 1, 2_000, 'the 12:10 tick');
    expect(booted.results.all[0]).toMatchObject({
      task: 'Hourly',
      trigger: 'cron',
      dueAt: at('2034-01-10T12:10:00Z'),
      outcome: 'success',
    });
    expect(dispatcherOf(booted.app).nextDueAt('Hourly')).toBe(at('2034-01-10T12:20:00Z'));
  });

  it('a task named by its "name" option is overridden under that name', async () => {
    const { app } = await bootAsync({ 'renamed-task': { every: '5 minutes' } }, [Renamed]);
    expect(infoOf(app, 'renamed-task')).toMatchObject({
      className: 'Renamed',
      cron: undefined,
      every: '5 minutes',
    });
    expect(dispatcherOf(app).nextDueAt('renamed-task')).toBe(at('2034-01-10T12:05:00Z'));
  });

  it('enabled: false fires no ticks, but Interactors.call still runs the task', async () => {
    const booted = await bootAsync({ Disabled: { enabled: false } }, [Disabled, Hourly]);
    const { app, clock, results, registry, logger } = booted;
    expect(infoOf(app, 'Disabled')).toMatchObject({ every: '1 minute' });
    expect(dispatcherOf(app).nextDueAt('Disabled')).toBeUndefined();
    expect(dispatcherOf(app).nextDueAt('Hourly')).toBe(at('2034-01-10T13:00:00Z'));
    expect(logger.lines.join('\n')).toContain(
      'Not scheduled (schedules.<task>.enabled is false): Disabled',
    );

    // Minutes pass, and an hour: only the enabled task fires.
    for (const instant of [
      '2034-01-10T12:04:00Z',
      '2034-01-10T12:05:00Z',
      '2034-01-10T13:00:00Z',
    ]) {
      clock.set(at(instant));
      await dispatcherOf(app).wake();
    }
    await waitFor(() => results.all.length === 1, 2_000, 'the hourly tick');
    await sleep(200);
    expect(results.all.map((r) => r.task)).toEqual(['Hourly']);
    expect(await runSeries(registry, 'Disabled')).toEqual({});

    await expect(app.get(Interactors).call(Disabled)).resolves.toBe('Disabled call');
    expect(await runSeries(registry, 'Disabled')).toEqual({ success: 1 });
  });

  it('enabled: true changes nothing', async () => {
    const { app } = await bootAsync({ Disabled: { enabled: true } }, [Disabled]);
    expect(dispatcherOf(app).nextDueAt('Disabled')).toBe(at('2034-01-10T12:04:00Z'));
  });
});

describe('mistakes in schedules fail the boot', () => {
  async function failure(schedules: unknown, options: Record<string, unknown> = {}) {
    return bootFailure({
      imports: [
        InteractorsModule.forRootAsync({
          useFactory: () =>
            ({ roles: [], schedules, ...options }) as unknown as InteractorsModuleOptions,
        }),
      ],
      providers: TASKS,
    });
  }

  it('an unknown task, an invalid cron and enabled: "no" are listed in one error', async () => {
    const { error } = await failure({
      Nope: { cron: '0 * * * *' },
      Hourly: { cron: '*/61 * * * *' },
      Disabled: { enabled: 'no' },
    });
    expect(error).toBeInstanceOf(InvalidTaskDefinitionsError);
    const { problems } = error as InvalidTaskDefinitionsError;
    expect(problems).toHaveLength(3);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^schedules\.Nope names no task; tasks: .*\bHourly\b/),
        expect.stringMatching(
          /^Task "Hourly" \(with schedules\.Hourly\): cron "\*\/61 \* \* \* \*" is invalid/,
        ),
        'Task "Disabled" (with schedules.Disabled): enabled must be true or false, got "no"',
      ]),
    );
    expect(error.message).toContain('3 invalid task definitions');
    expect(error.message).toContain('schedules.Nope');
    expect(error.message).toContain('with schedules.Hourly');
  });

  it('an invalid every, timeZone and catchUp in overrides name the override', async () => {
    const { error } = await failure({
      DailyByCron: { every: 'fortnightly' },
      NineAm: { timeZone: 'Mars/Olympus' },
      Hourly: { catchUp: 'soon' },
    });
    expect(error).toBeInstanceOf(InvalidTaskDefinitionsError);
    const { problems } = error as InvalidTaskDefinitionsError;
    expect(problems).toHaveLength(3);
    for (const task of ['DailyByCron', 'NineAm', 'Hourly']) {
      expect(
        problems.filter((p) => p.startsWith(`Task "${task}" (with schedules.${task}): `)),
      ).toHaveLength(1);
    }
  });

  it('an unknown key in an override is a task definition error naming it', async () => {
    const { error } = await failure({ Hourly: { cron: '*/10 * * * *', cronn: '0 * * * *' } });
    expect(error).toBeInstanceOf(InvalidTaskDefinitionsError);
    expect((error as InvalidTaskDefinitionsError).problems).toEqual([
      'Task "Hourly" (with schedules.Hourly): "cronn" is not known; use cron, every, offset, timeZone, catchUp, enabled',
    ]);
  });

  it('every kind of mistake in schedules at once is reported in one boot error listing each', async () => {
    const { error } = await failure({
      Nope: { cron: '0 * * * *' },
      Hourly: { cron: '*/61 * * * *' },
      NineAm: { colour: 'blue' },
      Disabled: { enabled: 'no' },
    });
    expect(error).toBeInstanceOf(InvalidTaskDefinitionsError);
    const { problems } = error as InvalidTaskDefinitionsError;
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(/schedules\.Nope names no task/);
    expect(problems.join('\n')).toMatch(/Task "Hourly" \(with schedules\.Hourly\): cron/);
    expect(problems.join('\n')).toMatch(
      /Task "NineAm" \(with schedules\.NineAm\): "colour" is not known/,
    );
    expect(problems.join('\n')).toMatch(/Task "Disabled" \(with schedules\.Disabled\): enabled/);
  });

  it('schedules: { T: undefined } (an unset variable) keeps the decorator schedule', async () => {
    const { app } = await bootAsync({
      Hourly: undefined,
    } as unknown as InteractorsModuleOptions['schedules']);
    expect(infoOf(app, 'Hourly')).toMatchObject({ cron: '0 * * * *' });
  });

  it('schedules that is not an object is an option error listed with the others; an override that is not one is a task error', async () => {
    const { error } = await failure('Hourly=*/10 * * * *', { shutdownGrace: -1 });
    expect(error).toBeInstanceOf(InvalidModuleOptionsError);
    const { problems } = error as InvalidModuleOptionsError;
    expect(problems).toHaveLength(2);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('option "schedules" must be an object'),
        expect.stringContaining('option "shutdownGrace"'),
      ]),
    );
    for (const bad of [[], null, 42]) {
      const { error: again } = await failure(bad);
      expect(again).toBeInstanceOf(InvalidModuleOptionsError);
      expect(again.message).toContain('option "schedules" must be an object');
    }

    const { error: inner } = await failure({
      Hourly: '*/10 * * * *',
      NineAm: { colour: 'blue' },
    });
    expect(inner).toBeInstanceOf(InvalidTaskDefinitionsError);
    expect((inner as InvalidTaskDefinitionsError).problems).toEqual([
      'Task "Hourly": its schedules entry must be an object such as { cron: "0 * * * *" }',
      'Task "NineAm" (with schedules.NineAm): "colour" is not known; use cron, every, offset, timeZone, catchUp, enabled',
    ]);
  });
});
