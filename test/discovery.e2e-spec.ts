import type { INestApplication } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import { Interactors, InteractorsModule, UnknownTaskError } from '../src/index.js';
import {
  AliasedFirstTask,
  AliasedTask,
  BaseReport,
  BerlinMidnight,
  BoomError,
  ContextTask,
  CustomNamedTask,
  DerivedReport,
  EchoTask,
  EmailNotifier,
  FailingTask,
  FeatureModule,
  FeatureTask,
  Greeter,
  InterceptedTask,
  ModuleZoneTask,
  NestedTask,
  Notifier,
  ScheduledReport,
  TagInterceptor,
  UnprovidedTask,
  UseClassTask,
  UseFactoryTask,
  UseValueTask,
} from './src/discovery.fixtures.js';
import { Apps, isolateEnv } from './src/helpers.js';

isolateEnv();

const apps = new Apps();
afterEach(() => apps.closeAll());

/** Every fixture at once; the module's own default zone is not UTC, to see it applied. */
function bootAll(): Promise<INestApplication> {
  return apps.boot({
    imports: [
      InteractorsModule.forRoot({ timeZone: 'America/New_York', roles: [] }),
      FeatureModule,
    ],
    providers: [
      Greeter,
      BaseReport,
      DerivedReport,
      ScheduledReport,
      { provide: 'USE_CLASS', useClass: UseClassTask },
      { provide: Notifier, useClass: EmailNotifier },
      {
        provide: 'USE_FACTORY',
        inject: [Greeter],
        useFactory: (greeter: Greeter) => new UseFactoryTask(greeter),
      },
      { provide: 'USE_VALUE', useValue: new UseValueTask('forty-two') },
      AliasedTask,
      { provide: 'ALIAS', useExisting: AliasedTask },
      // the alias is listed before the class it points to
      { provide: 'ALIAS_FIRST', useExisting: AliasedFirstTask },
      AliasedFirstTask,
      CustomNamedTask,
      BerlinMidnight,
      ModuleZoneTask,
      EchoTask,
      FailingTask,
      ContextTask,
      TagInterceptor,
      InterceptedTask,
    ],
  });
}

describe('discovery', () => {
  describe('with every fixture registered', () => {
    it('finds a task in a module two imports down, and one in the module between', async () => {
      const interactors = (await bootAll()).get(Interactors);
      const list = interactors.list();
      expect(list.map((task) => task.name)).toEqual(
        expect.arrayContaining(['NestedTask', 'FeatureTask']),
      );
      await expect(interactors.call(NestedTask, 'world')).resolves.toBe('hello world');
      await expect(interactors.call(FeatureTask)).resolves.toBe('feature');
    });

    it('lists every task exactly once, aliases included only once', async () => {
      const interactors = (await bootAll()).get(Interactors);
      const names = interactors.list().map((task) => task.name);
      expect(names.toSorted()).toEqual(
        [
          'AliasedFirstTask',
          'AliasedTask',
          'BaseReport',
          'BerlinMidnight',
          'ContextTask',
          'DerivedReport',
          'EchoTask',
          'EmailNotifier',
          'FailingTask',
          'FeatureTask',
          'InterceptedTask',
          'ModuleZoneTask',
          'NestedTask',
          'ScheduledReport',
          'UseClassTask',
          'UseFactoryTask',
          'UseValueTask',
          'reports.daily_v2-1',
        ].toSorted(),
      );
    });

    it("describes each task: name, class, cron, zone (task's own, else the module's), run mode, queue", async () => {
      const list = (await bootAll()).get(Interactors).list();
      expect(list).toContainEqual(
        expect.objectContaining({
          name: 'BerlinMidnight',
          className: 'BerlinMidnight',
          cron: '0 0 * * *',
          timeZone: 'Europe/Berlin',
          run: 'inline',
          queue: 'default',
        }),
      );
      expect(list).toContainEqual(
        expect.objectContaining({
          name: 'ModuleZoneTask',
          className: 'ModuleZoneTask',
          cron: '30 * * * * *',
          timeZone: 'America/New_York',
          run: 'inline',
          queue: 'default',
        }),
      );
      expect(list).toContainEqual(
        expect.objectContaining({
          name: 'reports.daily_v2-1',
          className: 'CustomNamedTask',
          cron: undefined,
          timeZone: undefined,
          run: 'queue',
          queue: 'default',
        }),
      );
    });

    it('makes a subclass of a task class its own task, named after the concrete class', async () => {
      const app = await bootAll();
      const interactors = app.get(Interactors);
      const list = interactors.list();
      expect(list).toContainEqual(
        expect.objectContaining({ name: 'BaseReport', className: 'BaseReport', cron: undefined }),
      );
      expect(list).toContainEqual(
        expect.objectContaining({
          name: 'DerivedReport',
          className: 'DerivedReport',
          cron: undefined,
        }),
      );
      expect(list).toContainEqual(
        expect.objectContaining({
          name: 'ScheduledReport',
          className: 'ScheduledReport',
          cron: '0 * * * *',
          run: 'inline',
        }),
      );
      await expect(interactors.call(BaseReport)).resolves.toBe('report by BaseReport');
      await expect(interactors.call(DerivedReport)).resolves.toBe('report by DerivedReport');
      await expect(interactors.call('DerivedReport')).resolves.toBe('report by DerivedReport');
      await expect(interactors.call(ScheduledReport)).resolves.toBe('report by ScheduledReport');
    });

    it('finds useClass, useFactory and useValue providers under the concrete class name', async () => {
      const interactors = (await bootAll()).get(Interactors);
      await expect(interactors.call(UseClassTask)).resolves.toBe('hello useClass');
      await expect(interactors.call(EmailNotifier, 'ops')).resolves.toBe('mail to ops');
      await expect(interactors.call('EmailNotifier', 'dev')).resolves.toBe('mail to dev');
      await expect(interactors.call(UseFactoryTask)).resolves.toBe('hello useFactory');
      await expect(interactors.call(UseValueTask)).resolves.toBe('value forty-two');
      const list = interactors.list();
      expect(list).toContainEqual(
        expect.objectContaining({ name: 'UseClassTask', className: 'UseClassTask' }),
      );
      expect(list).toContainEqual(
        expect.objectContaining({ name: 'EmailNotifier', className: 'EmailNotifier' }),
      );
      expect(list).toContainEqual(
        expect.objectContaining({ name: 'UseFactoryTask', className: 'UseFactoryTask' }),
      );
      expect(list).toContainEqual(
        expect.objectContaining({ name: 'UseValueTask', className: 'UseValueTask' }),
      );
    });

    it('does not register a useExisting alias as a second task, whichever comes first', async () => {
      const interactors = (await bootAll()).get(Interactors);
      const names = interactors.list().map((task) => task.name);
      expect(names.filter((name) => name === 'AliasedTask')).toHaveLength(1);
      expect(names.filter((name) => name === 'AliasedFirstTask')).toHaveLength(1);
      await expect(interactors.call(AliasedTask)).resolves.toBe('aliased');
      await expect(interactors.call(AliasedFirstTask)).resolves.toBe('aliased first');
    });
  });

  it('registers a subclass provided without its base class', async () => {
    const app = await apps.boot({
      imports: [InteractorsModule.forRoot({ roles: [] })],
      providers: [DerivedReport],
    });
    const interactors = app.get(Interactors);
    expect(interactors.list().map((task) => task.name)).toEqual(['DerivedReport']);
    await expect(interactors.call(DerivedReport)).resolves.toBe('report by DerivedReport');
    await expect(interactors.call(BaseReport)).rejects.toBeInstanceOf(UnknownTaskError);
  });

  it('lists nothing, and boots, when no task is provided', async () => {
    const app = await apps.boot({ imports: [InteractorsModule.forRoot({ roles: [] })] });
    expect(app.get(Interactors).list()).toEqual([]);
  });
});

describe('Interactors.call', () => {
  async function boot(): Promise<Interactors> {
    const app = await apps.boot({
      imports: [InteractorsModule.forRoot({ roles: [] })],
      providers: [
        EchoTask,
        FailingTask,
        ContextTask,
        CustomNamedTask,
        TagInterceptor,
        InterceptedTask,
      ],
    });
    return app.get(Interactors);
  }

  it("passes the arguments and resolves to the call's value", async () => {
    const interactors = await boot();
    await expect(interactors.call(EchoTask, 3, 'gates')).resolves.toEqual({
      count: 3,
      word: 'gates',
    });
  });

  it('rethrows the very error the call threw', async () => {
    const interactors = await boot();
    const error = await interactors.call(FailingTask, 'gate 7 jammed').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BoomError);
    expect((error as BoomError).detail).toBe('gate 7 jammed');
    expect((error as BoomError).message).toBe('boom: gate 7 jammed');
  });

  it('calls a task by its string name, default or custom', async () => {
    const interactors = await boot();
    await expect(interactors.call('EchoTask', 1, 'one')).resolves.toEqual({
      count: 1,
      word: 'one',
    });
    await expect(interactors.call('reports.daily_v2-1')).resolves.toBe('custom');
    await expect(interactors.call('FailingTask', 'by name')).rejects.toBeInstanceOf(BoomError);
  });

  it('runs the call inside a run context with trigger "call"', async () => {
    const interactors = await boot();
    const context = await interactors.call(ContextTask);
    // the context may carry more (later issues add to it); these are what Core I promises
    expect(context).toMatchObject({
      task: 'ContextTask',
      runId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      trigger: 'call',
      dueAt: undefined,
      attempt: 1,
    });
    const again = await interactors.call(ContextTask);
    expect(again!.runId).not.toBe(context!.runId);
  });

  it("goes through the task's own Nest interceptors, with context type 'interactor'", async () => {
    const interactors = await boot();
    TagInterceptor.contextTypes = [];
    await expect(interactors.call(InterceptedTask)).resolves.toBe('tagged plain');
    expect(TagInterceptor.contextTypes).toEqual(['interactor']);
  });

  it('rejects an unknown task name with UnknownTaskError listing the registered tasks', async () => {
    const interactors = await boot();
    const error = await interactors.call('NoSuchTask').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownTaskError);
    expect((error as UnknownTaskError).task).toBe('NoSuchTask');
    expect((error as Error).message).toContain('Task "NoSuchTask" is not registered');
    expect((error as Error).message).toContain('EchoTask');
    expect((error as Error).message).toContain('reports.daily_v2-1');
  });

  it('rejects a task class no module provides with UnknownTaskError', async () => {
    const interactors = await boot();
    const error = await interactors.call(UnprovidedTask).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownTaskError);
    expect((error as Error).message).toContain('Task "UnprovidedTask" is not registered');
  });

  it('does not accept the custom-named task under its class name', async () => {
    const interactors = await boot();
    await expect(interactors.call('CustomNamedTask')).rejects.toBeInstanceOf(UnknownTaskError);
    await expect(interactors.call(CustomNamedTask)).resolves.toBe('custom');
  });
});

describe('InteractorsModule.forRootAsync', () => {
  it('discovers and calls tasks with options from a factory', async () => {
    const app = await apps.boot({
      imports: [
        InteractorsModule.forRootAsync({
          useFactory: async () => ({ roles: [], timeZone: 'Asia/Tokyo' }),
        }),
      ],
      providers: [EchoTask, ModuleZoneTask],
    });
    const interactors = app.get(Interactors);
    await expect(interactors.call(EchoTask, 2, 'async')).resolves.toEqual({
      count: 2,
      word: 'async',
    });
    expect(interactors.list()).toContainEqual(
      expect.objectContaining({ name: 'ModuleZoneTask', timeZone: 'Asia/Tokyo' }),
    );
  });
});
