/**
 * The environment guard: task-level and module-level `environments`, `INTERACTORS_FORCE`
 * (names or `*`), the trigger side (a disabled cron task's ticks are neither claimed nor
 * enqueued nor run) and the boot line listing disabled tasks. Real Redis, so "no job" and
 * "no claim" are read from the keys BullMQ and the module would have written.
 */
import { Injectable } from '@nestjs/common';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import {
  Interactor,
  Interactors,
  InteractorsModule,
  type InteractorsModuleOptions,
  RunHooks,
  type RunResult,
  Task,
  TaskRun,
  type TaskClass,
} from '../../src/index.js';
import {
  Apps,
  BullQueues,
  CapturingLogger,
  isolateEnv,
  keysUnder,
  Prefixes,
  redis,
  REDIS_URL,
  settled,
  sleep,
  uniquePrefix,
  waitUntil,
} from './helpers.js';

isolateEnv();
const prefixes = new Prefixes(uniquePrefix('environment'));
const apps = new Apps();
const queues = new BullQueues();
afterEach(async () => {
  await apps.closeAll();
  await queues.closeAll();
});
afterAll(() => prefixes.cleanup());

/** Which task ran, with which trigger. */
@Injectable()
class Ran {
  readonly runs: string[] = [];
  record(): void {
    const run = TaskRun.current()!;
    this.runs.push(`${run.task}/${run.trigger}`);
  }
  of(task: string): string[] {
    return this.runs.filter((run) => run.startsWith(`${task}/`));
  }
}

@Task({ environments: ['production'] })
class ProductionOnly extends Interactor {
  constructor(private readonly ran: Ran) {
    super();
  }
  async call(): Promise<string> {
    this.ran.record();
    return 'ran';
  }
}

@Task({ environments: ['staging', 'production'] })
class StagingToo extends Interactor {
  constructor(private readonly ran: Ran) {
    super();
  }
  async call(): Promise<string> {
    this.ran.record();
    return 'ran';
  }
}

/** Names no environments: the module's default decides. */
@Task()
class Legacy extends Interactor {
  constructor(private readonly ran: Ran) {
    super();
  }
  async call(): Promise<string> {
    this.ran.record();
    return 'ran';
  }
}

@Task({ environments: ['development'] })
class DevelopmentTool extends Interactor {
  constructor(private readonly ran: Ran) {
    super();
  }
  async call(): Promise<string> {
    this.ran.record();
    return 'ran';
  }
}

@Task({ environments: ['production'], cron: '* * * * * *', run: 'queue' })
class DisabledTick extends Interactor {
  constructor(private readonly ran: Ran) {
    super();
  }
  async call(): Promise<void> {
    this.ran.record();
  }
}

@Task({ cron: '* * * * * *', run: 'queue' })
class EnabledTick extends Interactor {
  constructor(private readonly ran: Ran) {
    super();
  }
  async call(): Promise<void> {
    this.ran.record();
  }
}

@Task({ environments: ['production'], cron: '* * * * * *', run: 'inline' })
class DisabledInlineTick extends Interactor {
  constructor(private readonly ran: Ran) {
    super();
  }
  async call(): Promise<void> {
    this.ran.record();
  }
}

async function boot(tasks: Function[], options: InteractorsModuleOptions = {}) {
  const prefix = prefixes.next();
  const logger = new CapturingLogger();
  const app = await apps.boot(
    {
      imports: [InteractorsModule.forRoot({ redis: REDIS_URL, prefix, ...options })],
      providers: [...(tasks as never[]), Ran],
    },
    { logger },
  );
  return { app, prefix, logger, interactors: app.get(Interactors), ran: app.get(Ran) };
}

const disabledLines = (logger: CapturingLogger) =>
  logger.lines.filter((line) => line.includes('Disabled in environment'));

describe('environment guard', () => {
  it("task-level environments: ['production'] in development → skipped/environment; call() never entered", async () => {
    const { interactors, ran } = await boot([ProductionOnly, StagingToo, Legacy], {
      environment: 'development',
    });
    expect(await interactors.run(ProductionOnly)).toMatchObject({
      task: 'ProductionOnly',
      outcome: 'skipped',
      reason: 'environment',
    });
    expect(await interactors.run(StagingToo)).toMatchObject({
      outcome: 'skipped',
      reason: 'environment',
    });
    // Interactors.call resolves to undefined for a skipped run, and does not throw
    await expect(interactors.call(ProductionOnly)).resolves.toBeUndefined();
    expect(await interactors.run(Legacy)).toMatchObject({ outcome: 'success', value: 'ran' });
    expect(ran.runs).toEqual(['Legacy/call']);
  });

  it('task-level environments: runs in a listed environment', async () => {
    const { interactors, ran } = await boot([ProductionOnly, StagingToo], {
      environment: 'staging',
    });
    expect((await interactors.run(ProductionOnly)).reason).toBe('environment');
    expect(await interactors.run(StagingToo)).toMatchObject({ outcome: 'success', value: 'ran' });
    expect(ran.runs).toEqual(['StagingToo/call']);
  });

  it('module-level environments is the default of tasks that name none; a task’s own list wins', async () => {
    const dev = await boot([Legacy, DevelopmentTool, ProductionOnly], {
      environment: 'development',
      environments: ['production'],
    });
    expect(await dev.interactors.run(Legacy)).toMatchObject({
      outcome: 'skipped',
      reason: 'environment',
    });
    expect(await dev.interactors.run(DevelopmentTool)).toMatchObject({ outcome: 'success' });
    expect((await dev.interactors.run(ProductionOnly)).reason).toBe('environment');
    expect(dev.ran.runs).toEqual(['DevelopmentTool/call']);

    const prod = await boot([Legacy, DevelopmentTool], {
      environment: 'production',
      environments: ['production'],
    });
    expect(await prod.interactors.run(Legacy)).toMatchObject({ outcome: 'success' });
    expect((await prod.interactors.run(DevelopmentTool)).reason).toBe('environment');
  });

  it('no environment configured (a missing NODE_ENV) is outside every list', async () => {
    const { interactors, logger } = await boot([Legacy, ProductionOnly], {
      environments: ['production'],
    });
    expect((await interactors.run(Legacy)).reason).toBe('environment');
    expect((await interactors.run(ProductionOnly)).reason).toBe('environment');
    expect(disabledLines(logger)).toHaveLength(1);
    expect(disabledLines(logger)[0]).toContain('"(none)"');
  });

  it('INTERACTORS_FORCE=<name> forces that task on, and only that one', async () => {
    vi.stubEnv('INTERACTORS_FORCE', 'ProductionOnly');
    const { interactors, ran } = await boot([ProductionOnly, StagingToo, Legacy], {
      environment: 'development',
      environments: ['production'],
    });
    expect(await interactors.run(ProductionOnly)).toMatchObject({ outcome: 'success' });
    expect((await interactors.run(StagingToo)).reason).toBe('environment');
    expect((await interactors.run(Legacy)).reason).toBe('environment');
    expect(ran.runs).toEqual(['ProductionOnly/call']);
  });

  it('INTERACTORS_FORCE takes a comma list (spaces allowed)', async () => {
    vi.stubEnv('INTERACTORS_FORCE', 'ProductionOnly, Legacy');
    const { interactors } = await boot([ProductionOnly, StagingToo, Legacy], {
      environment: 'development',
      environments: ['production'],
    });
    expect((await interactors.run(ProductionOnly)).outcome).toBe('success');
    expect((await interactors.run(Legacy)).outcome).toBe('success');
    expect((await interactors.run(StagingToo)).reason).toBe('environment');
  });

  it('INTERACTORS_FORCE=* forces every task on', async () => {
    vi.stubEnv('INTERACTORS_FORCE', '*');
    const { interactors, ran, logger } = await boot([ProductionOnly, StagingToo, Legacy], {
      environment: 'development',
      environments: ['production'],
    });
    for (const task of [ProductionOnly, StagingToo, Legacy] as TaskClass[]) {
      expect((await interactors.run(task)).outcome).toBe('success');
    }
    expect(ran.runs).toHaveLength(3);
    expect(disabledLines(logger)).toEqual([]);
  });

  it('the environment is restored after a stubbed INTERACTORS_FORCE: the next boot is not forced', async () => {
    expect(process.env.INTERACTORS_FORCE).toBeUndefined();
    const { interactors } = await boot([ProductionOnly], { environment: 'development' });
    expect((await interactors.run(ProductionOnly)).reason).toBe('environment');
  });

  it("a disabled cron task (run: 'queue', every second): no claim, no job in Redis, no run after ~2.5 s", async () => {
    const { prefix, ran } = await boot([DisabledTick, EnabledTick, DisabledInlineTick], {
      environment: 'development',
    });
    const queue = queues.open(prefix, 'default');
    await sleep(2_500);

    // the control task in the same app was scheduled, claimed, enqueued and run
    expect(ran.of('EnabledTick').length).toBeGreaterThanOrEqual(1);
    const enabledJobs = await queue.getJobs([
      'completed',
      'waiting',
      'active',
      'delayed',
      'failed',
    ]);
    expect(enabledJobs.length).toBeGreaterThanOrEqual(1);
    expect(enabledJobs.every((job) => job.name === 'EnabledTick')).toBe(true);

    expect(ran.of('DisabledTick')).toEqual([]);
    expect(ran.of('DisabledInlineTick')).toEqual([]);
    const claims = await redis((client) => client.hgetall(`${prefix}:ticks`));
    // One claimed instant per task, with its "<task>|m" metadata field.
    expect(Object.keys(claims).toSorted()).toEqual(['EnabledTick', 'EnabledTick|m']);
    const keys = await keysUnder(prefix);
    expect(keys.filter((key) => key.includes('Disabled'))).toEqual([]);
  });

  it('a forced cron task does fire', async () => {
    vi.stubEnv('INTERACTORS_FORCE', 'DisabledInlineTick');
    const { ran } = await boot([DisabledInlineTick], { environment: 'development' });
    await waitUntil(() => ran.of('DisabledInlineTick').length >= 1, 4_000, 'a forced tick');
    expect(ran.of('DisabledInlineTick')[0]).toBe('DisabledInlineTick/cron');
  });

  it('a job of a disabled task that reaches a worker is skipped and completes (no retry)', async () => {
    const { app, prefix, interactors, ran } = await boot([ProductionOnly], {
      environment: 'development',
    });
    const seen: RunResult[] = [];
    app.get(RunHooks).onFinished((result) => void seen.push(result));
    const id = await interactors.enqueue(ProductionOnly);
    const job = await settled(queues.open(prefix, 'default'), id);
    expect(await job.getState()).toBe('completed');
    expect(job.attemptsMade).toBe(1);
    expect(ran.runs).toEqual([]);
    expect(seen).toMatchObject([
      { task: 'ProductionOnly', trigger: 'queue', outcome: 'skipped', reason: 'environment' },
    ]);
  });

  it('at boot, one info line lists the tasks disabled in this environment', async () => {
    const { logger } = await boot([ProductionOnly, StagingToo, Legacy, DevelopmentTool], {
      environment: 'development',
    });
    const lines = disabledLines(logger);
    expect(lines).toHaveLength(1);
    const [line] = lines as [string];
    expect(line.startsWith('log ')).toBe(true); // info level, not a warning or error
    expect(line).toContain('Disabled in environment "development": ProductionOnly, StagingToo');
    expect(line).toContain('INTERACTORS_FORCE');
    expect(line).not.toContain('Legacy');
    expect(line).not.toContain('DevelopmentTool');
  });

  it('the boot line leaves out forced tasks, and is absent when nothing is disabled', async () => {
    vi.stubEnv('INTERACTORS_FORCE', 'StagingToo');
    const some = await boot([ProductionOnly, StagingToo], { environment: 'development' });
    const lines = disabledLines(some.logger);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(': ProductionOnly ');
    expect(lines[0]).not.toContain('StagingToo');

    const none = await boot([ProductionOnly, Legacy], { environment: 'production' });
    expect(disabledLines(none.logger)).toEqual([]);
  });
});
