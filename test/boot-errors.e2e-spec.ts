import { Scope, type Provider } from '@nestjs/common';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import {
  Interactors,
  InteractorsModule,
  InvalidModuleOptionsError,
  InvalidTaskDefinitionsError,
  type InteractorsModuleOptions,
} from '../src/index.js';
import {
  Apps,
  CapturingLogger,
  REDIS_URL,
  bootFailure,
  deleteKeys,
  isolateEnv,
  sleep,
  uniquePrefix,
} from './src/helpers.js';
import {
  AuditService,
  AuditedTask,
  BackupModule,
  BadBackoff,
  BillingModule,
  CleanupModule,
  ColonName,
  DecoratedTwice,
  DigitName,
  February31,
  LongName,
  LongestName,
  MinuteStep61,
  NumericCron,
  OutOfRangeMinute,
  PropertyAuditedTask,
  RequestContext,
  RequestScopedUnderTask,
  RequestTask,
  RunSometimes,
  SecondStep60,
  SevenFields,
  ShippingModule,
  TransientHelper,
  TransientTask,
  UndeclaredQueue,
  UnknownOption,
  UnknownZone,
  UsesTransientHelper,
  WithoutCall,
  ZeroAttempts,
} from './src/invalid-tasks.fixtures.js';

isolateEnv();

const prefix = uniquePrefix('boot-errors');
const apps = new Apps();
afterEach(() => apps.closeAll());
afterAll(() => deleteKeys(prefix));

/** Boots the given task providers (in-memory transport, no scheduling) and returns the boot error. */
async function taskError(
  providers: Provider[],
  imports: NonNullable<Parameters<typeof bootFailure>[0]['imports']> = [],
  options: InteractorsModuleOptions = {},
): Promise<InvalidTaskDefinitionsError> {
  const { error } = await bootFailure({
    imports: [InteractorsModule.forRoot({ roles: [], ...options }), ...imports],
    providers,
  });
  expect(error).toBeInstanceOf(InvalidTaskDefinitionsError);
  return error as InvalidTaskDefinitionsError;
}

async function moduleError(options: InteractorsModuleOptions): Promise<InvalidModuleOptionsError> {
  const { error } = await bootFailure({ imports: [InteractorsModule.forRoot(options)] });
  expect(error).toBeInstanceOf(InvalidModuleOptionsError);
  return error as InvalidModuleOptionsError;
}

describe('invalid task definitions', () => {
  describe('cron and time zone', () => {
    it('rejects a field value out of range, naming the field', async () => {
      const error = await taskError([OutOfRangeMinute]);
      expect(error.problems).toHaveLength(1);
      expect(error.message).toContain('Task "OutOfRangeMinute": cron "61 * * * *" is invalid (');
      // DESIGN/issue 2: "invalid cron (which field, why)"
      expect(error.problems[0]).toMatch(/minute/);
      expect(error.problems[0]).toMatch(/61/);
    });

    it('rejects a step larger than its field, which the cron package accepts', async () => {
      const error = await taskError([MinuteStep61]);
      expect(error.problems).toEqual([
        expect.stringContaining(
          'Task "MinuteStep61": cron "*/61 * * * *" is invalid (minute step 61 out of range 1-59)',
        ),
      ]);
    });

    it('rejects a seconds step of 60 in a 6-field cron', async () => {
      const error = await taskError([SecondStep60]);
      expect(error.message).toContain(
        'cron "*/60 * * * * *" is invalid (second step 60 out of range 1-59)',
      );
    });

    it('rejects a cron with 7 fields', async () => {
      const error = await taskError([SevenFields]);
      expect(error.message).toContain(
        'Task "SevenFields": cron "* * * * * * *" is invalid (expected 5 fields (minute precision) or 6 (seconds first), got 7; years are not supported)',
      );
    });

    it('rejects an impossible date', async () => {
      const error = await taskError([February31]);
      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]).toContain('Task "February31": cron "0 0 31 2 *" is invalid (');
      expect(error.problems[0]).toMatch(/no execution date|never/i);
      // The cron package's multi-line debug text does not leak into the message.
      expect(error.problems[0]).not.toContain('\n');
    });

    it('rejects an unknown time zone', async () => {
      const error = await taskError([UnknownZone]);
      expect(error.problems).toEqual([
        expect.stringContaining(
          'Task "UnknownZone": timeZone "Mars/Olympus_Mons" is not a known IANA time zone',
        ),
      ]);
    });
  });

  describe('names', () => {
    it('rejects two classes whose default names collide, naming both classes and modules', async () => {
      const error = await taskError([], [BillingModule, ShippingModule]);
      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]).toContain('Task "Report": the name is used twice');
      expect(error.problems[0]).toContain('Report in BillingModule');
      expect(error.problems[0]).toContain('Report in ShippingModule');
    });

    it('rejects two classes given the same name, naming both classes', async () => {
      const error = await taskError([], [CleanupModule, BackupModule]);
      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]).toContain('Task "nightly": the name is used twice');
      expect(error.problems[0]).toContain('NightlyCleanup in CleanupModule');
      expect(error.problems[0]).toContain('NightlyBackup in BackupModule');
      expect(error.problems[0]).toContain('give one of them another "name"');
    });

    it('rejects names outside the grammar: a colon, a leading digit, more than 128 characters', async () => {
      const error = await taskError([ColonName, DigitName, LongName]);
      expect(error.problems).toHaveLength(3);
      expect(error.message).toContain(
        'Task "reports:daily": name "reports:daily" must start with a letter',
      );
      expect(error.message).toContain('(no ":")');
      expect(error.message).toContain('Task "9lives": name "9lives" must start with a letter');
      expect(error.message).toContain(`name "T${'x'.repeat(128)}"`);
      expect(error.message).toContain('at most 128 characters');
    });

    it('accepts a name of exactly 128 characters', async () => {
      const app = await apps.boot({
        imports: [InteractorsModule.forRoot({ roles: [] })],
        providers: [LongestName],
      });
      await expect(app.get(Interactors).call(`T${'x'.repeat(127)}`)).resolves.toBe('LongestName');
    });
  });

  describe('decorator, class and scope', () => {
    it('rejects @Task applied twice to one class', async () => {
      const error = await taskError([DecoratedTwice]);
      expect(error.problems).toEqual([
        expect.stringContaining(
          'Task "DecoratedTwice": @Task is applied more than once to class DecoratedTwice',
        ),
      ]);
    });

    it('rejects a class without call()', async () => {
      const error = await taskError([WithoutCall]);
      expect(error.problems).toEqual([
        expect.stringContaining(
          'Task "WithoutCall": class WithoutCall has no call() method; extend Interactor and implement call()',
        ),
      ]);
    });

    it('rejects a transient task provider', async () => {
      const error = await taskError([
        { provide: TransientTask, useClass: TransientTask, scope: Scope.TRANSIENT },
      ]);
      expect(error.problems).toEqual([
        expect.stringContaining('Task "TransientTask": the provider is transient'),
      ]);
      expect(error.message).toContain('Scope.TRANSIENT');
    });

    it('rejects a request-scoped task provider', async () => {
      const error = await taskError([
        { provide: RequestTask, useClass: RequestTask, scope: Scope.REQUEST },
      ]);
      expect(error.problems).toEqual([
        expect.stringContaining('Task "RequestTask": the provider is request-scoped (RequestTask)'),
      ]);
    });

    it('rejects a task request-scoped through a dependency, naming the chain', async () => {
      const error = await taskError([AuditedTask, AuditService, RequestContext]);
      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]).toContain('Task "AuditedTask": the provider is request-scoped');
      expect(error.problems[0]).toContain('AuditedTask → AuditService → RequestContext');
    });

    it('rejects a task request-scoped through a property-injected dependency, naming the chain', async () => {
      const error = await taskError([PropertyAuditedTask, AuditService, RequestContext]);
      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]).toContain(
        'Task "PropertyAuditedTask": the provider is request-scoped',
      );
      expect(error.problems[0]).toContain('PropertyAuditedTask → AuditService → RequestContext');
    });

    it('rejects a task class marked @Injectable({ scope: Scope.REQUEST }) under @Task', async () => {
      // @Task() calls Injectable() itself; the scope written below it must not be silently dropped.
      const error = await taskError([RequestScopedUnderTask]);
      expect(error.problems).toEqual([
        expect.stringContaining('Task "RequestScopedUnderTask": the provider is request-scoped'),
      ]);
    });

    it('accepts a task that merely injects a transient provider', async () => {
      const app = await apps.boot({
        imports: [InteractorsModule.forRoot({ roles: [] })],
        providers: [TransientHelper, UsesTransientHelper],
      });
      const interactors = app.get(Interactors);
      expect(interactors.list().map((task) => task.name)).toEqual(['UsesTransientHelper']);
      await expect(interactors.call(UsesTransientHelper)).resolves.toBeGreaterThan(0);
    });
  });

  describe('options of the wrong type or value', () => {
    it('rejects an unknown option key', async () => {
      const error = await taskError([UnknownOption]);
      expect(error.problems).toEqual([
        expect.stringContaining('Task "UnknownOption": option "colour" is not known; remove it'),
      ]);
    });

    it('rejects run: "sometimes"', async () => {
      const error = await taskError([RunSometimes]);
      expect(error.problems).toEqual([
        expect.stringContaining(
          'Task "RunSometimes": run "sometimes" is not valid; use "queue" or "inline"',
        ),
      ]);
    });

    it('rejects attempts: 0', async () => {
      const error = await taskError([ZeroAttempts]);
      expect(error.problems).toEqual([
        expect.stringContaining('Task "ZeroAttempts": attempts 0 must be a whole number ≥ 1'),
      ]);
    });

    it('rejects a queue that is not declared, and accepts it once declared', async () => {
      const error = await taskError([UndeclaredQueue]);
      expect(error.problems).toEqual([
        expect.stringContaining(
          'Task "UndeclaredQueue": queue "billing" is not declared; add it to InteractorsModule.forRoot({ queues: [...] })',
        ),
      ]);
      expect(error.problems[0]).toContain('(declared: default)');

      const app = await apps.boot({
        imports: [InteractorsModule.forRoot({ roles: [], queues: ['billing'] })],
        providers: [UndeclaredQueue],
      });
      expect(app.get(Interactors).list()).toContainEqual(
        expect.objectContaining({ name: 'UndeclaredQueue', queue: 'billing' }),
      );
    });

    it('rejects a cron that is not a string and a backoff of unknown type', async () => {
      const error = await taskError([NumericCron, BadBackoff]);
      expect(error.problems).toHaveLength(2);
      expect(error.message).toContain('Task "NumericCron": cron must be a string');
      expect(error.message).toContain(
        'Task "BadBackoff": backoff {"type":"linear","delay":10} is not valid',
      );
    });
  });

  it('surfaces at app.init() with Redis too, and closing the failed app closes the module connection', async () => {
    const observer = new Redis(REDIS_URL);
    const named = async () =>
      ((await observer.client('LIST')) as string)
        .split('\n')
        .filter((line) => line.includes(`name=${prefix}:`));
    try {
      const { error, stage } = await bootFailure({
        imports: [InteractorsModule.forRoot({ redis: REDIS_URL, prefix, roles: [] })],
        providers: [MinuteStep61],
      });
      expect(error).toBeInstanceOf(InvalidTaskDefinitionsError);
      expect(stage).toBe('init');
      await sleep(100);
      expect(await named()).toEqual([]);
    } finally {
      await observer.quit();
    }
  });

  it('reports several problems at once in ONE error listing them all', async () => {
    const error = await taskError(
      [
        MinuteStep61,
        UnknownZone,
        WithoutCall,
        RunSometimes,
        ZeroAttempts,
        DecoratedTwice,
        UndeclaredQueue,
      ],
      [CleanupModule, BackupModule],
    );
    expect(error.problems).toHaveLength(8);
    expect(error.message.split('\n')[0]).toBe('8 invalid task definitions:');
    for (const expected of [
      'Task "MinuteStep61": cron "*/61 * * * *" is invalid (minute step 61 out of range 1-59)',
      'Task "UnknownZone": timeZone "Mars/Olympus_Mons" is not a known IANA time zone',
      'Task "WithoutCall": class WithoutCall has no call() method',
      'Task "RunSometimes": run "sometimes" is not valid',
      'Task "ZeroAttempts": attempts 0 must be a whole number ≥ 1',
      'Task "DecoratedTwice": @Task is applied more than once',
      'Task "UndeclaredQueue": queue "billing" is not declared',
      'Task "nightly": the name is used twice',
    ]) {
      expect(error.message).toContain(`  - ${expected}`);
    }
  });

  it('reports several problems of one task, each on its own line', async () => {
    const { taskWith } = await import('./src/invalid-tasks.fixtures.js');
    const Messy = taskWith('Messy', { cron: '*/61 * * * *', run: 'never', attempts: -1 } as never);
    const error = await taskError([Messy]);
    expect(error.problems).toHaveLength(3);
    expect(error.problems.every((problem) => problem.startsWith('Task "Messy": '))).toBe(true);
  });
});

describe('invalid module options', () => {
  it('rejects an unknown role in INTERACTORS_ROLES, saying where it came from', async () => {
    vi.stubEnv('INTERACTORS_ROLES', 'scheduler,cook');
    const error = await moduleError({});
    expect(error.problems).toEqual([
      expect.stringContaining(
        'role "cook" (INTERACTORS_ROLES) is not known; use "scheduler" and/or "worker"',
      ),
    ]);
  });

  it('rejects an unknown role in the roles option', async () => {
    const error = await moduleError({ roles: ['scheduler', 'baker' as never] });
    expect(error.message).toContain('role "baker" (option "roles") is not known');
  });

  it('refuses production without redis, and says why', async () => {
    const error = await moduleError({ environment: 'production' });
    expect(error.problems).toHaveLength(1);
    expect(error.message).toContain('no "redis" is configured and environment is "production"');
    expect(error.message).toContain(
      'in-memory transport serves one process only and loses everything on restart',
    );
    expect(error.message).toContain('set "redis"');
  });

  it('boots production with redis', async () => {
    const app = await apps.boot({
      imports: [
        InteractorsModule.forRoot({
          environment: 'production',
          redis: REDIS_URL,
          prefix,
          roles: [],
        }),
      ],
    });
    expect(app.get(Interactors).list()).toEqual([]);
  });

  it('boots without redis outside production, on the in-memory transport, with a one-line warning', async () => {
    const logger = new CapturingLogger();
    await apps.boot(
      { imports: [InteractorsModule.forRoot({ environment: 'staging', roles: [] })] },
      logger,
    );
    const warnings = logger.lines.filter(
      (line) => line.startsWith('warn') && /in-memory/.test(line),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).not.toContain('\n');
  });

  it('rejects an unknown option key but not the queues extra', async () => {
    const error = await moduleError({ colour: 'red' } as InteractorsModuleOptions);
    expect(error.problems).toEqual([
      expect.stringContaining('option "colour" is not known; remove it'),
    ]);
    const app = await apps.boot({
      imports: [InteractorsModule.forRoot({ roles: [], queues: ['billing'] })],
    });
    expect(app.get(Interactors).list()).toEqual([]);
  });

  it('reports several bad options in ONE error', async () => {
    const error = await moduleError({
      colour: 'red',
      roles: ['cook'],
      timeZone: 'Nowhere/Land',
      connectTimeout: 0,
      prefix: 'has space',
      environment: 'production',
    } as unknown as InteractorsModuleOptions);
    expect(error.problems).toHaveLength(6);
    expect(error.message).toContain('option "colour" is not known');
    expect(error.message).toContain('role "cook" (option "roles") is not known');
    expect(error.message).toContain(
      'option "timeZone" "Nowhere/Land" is not a known IANA time zone',
    );
    expect(error.message).toContain(
      'option "connectTimeout" must be a positive number of milliseconds, got 0',
    );
    expect(error.message).toContain('option "prefix" must be a non-empty string');
    expect(error.message).toContain('environment is "production"');
  });
});
