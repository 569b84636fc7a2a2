import type { INestApplication, Provider } from '@nestjs/common';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  Interactor,
  Interactors,
  InteractorsModule,
  Task,
  type InteractorsModuleOptions,
} from '../src/index.js';
import { TaskDispatcher } from '../src/scheduling/task.dispatcher.js';
import {
  Apps,
  CapturingLogger,
  ManualClock,
  REDIS_URL,
  deferred,
  deleteKeys,
  isolateEnv,
  midSecond,
  sleep,
  uniquePrefix,
  waitFor,
} from './src/helpers.js';
import { RunLog } from './src/run-log.js';

/** Takes `ms` milliseconds. */
@Task()
class SlowTask extends Interactor {
  constructor(private readonly log: RunLog) {
    super();
  }

  async call(ms: number): Promise<string> {
    const run = this.log.start();
    await sleep(ms);
    run.finishedAt = Date.now();
    return 'done';
  }
}

/** Ends when the test opens its gate. */
@Task()
class GatedTask extends Interactor {
  static gate = deferred();

  constructor(private readonly log: RunLog) {
    super();
  }

  async call(): Promise<string> {
    const run = this.log.start();
    await GatedTask.gate.promise;
    run.finishedAt = Date.now();
    return 'released';
  }
}

/** A tick that takes half a second. */
@Task({ cron: '* * * * * *', run: 'inline' })
class SlowTick extends Interactor {
  constructor(private readonly log: RunLog) {
    super();
  }

  async call(): Promise<void> {
    const run = this.log.start();
    await sleep(500);
    run.finishedAt = Date.now();
  }
}

@Task({ cron: '* * * * * *', run: 'inline' })
class EverySecond extends Interactor {
  constructor(private readonly log: RunLog) {
    super();
  }

  call(): void {
    this.log.start().finishedAt = Date.now();
  }
}

isolateEnv();
const prefix = uniquePrefix('shutdown');
const apps = new Apps();
afterEach(() => apps.closeAll());
afterAll(() => deleteKeys(prefix));

function boot(
  providers: Provider[],
  options: InteractorsModuleOptions = {},
  logger = new CapturingLogger(),
): Promise<INestApplication> {
  return apps.boot(
    {
      imports: [InteractorsModule.forRoot({ prefix, ...options })],
      providers: [RunLog, ...providers],
    },
    logger,
  );
}

/** Closes the app and returns the instant close resolved. */
async function close(app: INestApplication): Promise<number> {
  await app.close();
  return Date.now();
}

describe('shutdown', () => {
  it('waits for a call in flight, which completes before close resolves', async () => {
    const app = await boot([SlowTask], { roles: [] });
    const log = app.get(RunLog);
    const pending = app.get(Interactors).call(SlowTask, 500);
    await waitFor(() => log.runs.length === 1, 2_000, 'the call to start');

    const closedAt = await close(app);
    expect(log.runs[0]!.finishedAt).toBeDefined();
    expect(log.runs[0]!.finishedAt!).toBeLessThanOrEqual(closedAt);
    await expect(pending).resolves.toBe('done');
  });

  it('waits for a tick-started run in flight', async () => {
    const clock = new ManualClock(midSecond());
    const app = await boot([SlowTick], { clock });
    const dispatcher = app.get(TaskDispatcher, { strict: false });
    const log = app.get(RunLog);
    clock.set(dispatcher.nextDueAt('SlowTick')!);
    await dispatcher.wake();
    await waitFor(() => log.runs.length === 1, 2_000, 'the tick to start');
    expect(log.runs[0]!.trigger).toBe('cron');

    const closedAt = await close(app);
    expect(log.runs[0]!.finishedAt).toBeDefined();
    expect(log.runs[0]!.finishedAt!).toBeLessThanOrEqual(closedAt);
    expect(log.runs).toHaveLength(1);
  });

  it('waits no longer than shutdownGrace for a run that outlasts it', async () => {
    GatedTask.gate = deferred();
    const logger = new CapturingLogger();
    const app = await boot([GatedTask], { roles: [], shutdownGrace: 300 }, logger);
    const log = app.get(RunLog);
    const pending = app.get(Interactors).call(GatedTask);
    await waitFor(() => log.runs.length === 1, 2_000, 'the call to start');

    const startedClosing = Date.now();
    const closedAt = await close(app);
    const waited = closedAt - startedClosing;
    expect(waited).toBeGreaterThanOrEqual(250); // it did wait...
    expect(waited).toBeLessThan(5_000); // ...but for the 300 ms grace, not the 10 s default
    expect(log.runs[0]!.finishedAt).toBeUndefined();
    expect(
      logger.lines.some((line) => line.startsWith('warn') && line.includes('still in flight')),
    ).toBe(true);

    GatedTask.gate.resolve();
    await expect(pending).resolves.toBe('released');
  });

  it('stops firing ticks before it waits for runs in flight', async () => {
    GatedTask.gate = deferred();
    const app = await boot([GatedTask, EverySecond], { shutdownGrace: 20_000 });
    const log = app.get(RunLog);
    await waitFor(() => log.of('EverySecond').length >= 1, 3_500, 'a tick');
    const pending = app.get(Interactors).call(GatedTask);
    await waitFor(() => log.of('GatedTask').length === 1, 2_000, 'the call to start');

    const closing = app.close();
    const ticksAtClose = log.of('EverySecond').length;
    await sleep(2_200); // two ticks would be due meanwhile
    expect(log.of('EverySecond')).toHaveLength(ticksAtClose);

    GatedTask.gate.resolve();
    await closing;
    await expect(pending).resolves.toBe('released');
  });

  it('fires no ticks after close, on its timer or when woken', async () => {
    const app = await boot([EverySecond]);
    const log = app.get(RunLog);
    const dispatcher = app.get(TaskDispatcher, { strict: false });
    await waitFor(() => log.runs.length >= 1, 3_500, 'a tick');

    await app.close();
    const runsAtClose = log.runs.length;
    await dispatcher.wake();
    await sleep(2_200);
    expect(log.runs).toHaveLength(runsAtClose);
  });

  it('fires no manual-clock tick after close', async () => {
    const clock = new ManualClock(midSecond());
    const app = await boot([EverySecond], { clock });
    const dispatcher = app.get(TaskDispatcher, { strict: false });
    const due = dispatcher.nextDueAt('EverySecond')!;

    await app.close();
    clock.set(due);
    await dispatcher.wake();
    await sleep(300);
    expect(app.get(RunLog).runs).toEqual([]);
  });

  describe('calling close() twice', () => {
    it('is harmless in memory, one after the other and at once', async () => {
      const first = await boot([EverySecond]);
      await first.close();
      await expect(first.close()).resolves.toBeUndefined();

      const second = await boot([EverySecond]);
      await expect(Promise.all([second.close(), second.close()])).resolves.toBeDefined();
    });

    it('is harmless on Redis, and the module closes its own connections', async () => {
      const observer = new Redis(REDIS_URL);
      const ownClients = async () =>
        ((await observer.client('LIST')) as string)
          .split('\n')
          .filter((line) => line.includes(`name=${prefix}`));
      try {
        const first = await boot([EverySecond], { redis: REDIS_URL });
        expect((await ownClients()).length).toBeGreaterThanOrEqual(1);
        await first.close();
        await expect(first.close()).resolves.toBeUndefined();
        await sleep(100);
        expect(await ownClients()).toEqual([]);

        const second = await boot([EverySecond], { redis: REDIS_URL });
        await expect(Promise.all([second.close(), second.close()])).resolves.toBeDefined();
        await sleep(100);
        expect(await ownClients()).toEqual([]);
      } finally {
        await observer.quit();
      }
    });

    it('leaves no socket or timer of its own open once closed (Redis, both roles, a tick fired)', async () => {
      const open = () => process.getActiveResourcesInfo().filter((kind) => kind !== 'PipeWrap');
      await sleep(50);
      const before = open();
      const app = await boot([EverySecond], { redis: REDIS_URL });
      await waitFor(() => app.get(RunLog).runs.length >= 1, 3_500, 'a tick');
      expect(open().filter((kind) => kind === 'TCPSocketWrap').length).toBeGreaterThan(0);
      await app.close();
      await waitFor(
        () => open().filter((kind) => kind === 'TCPSocketWrap').length === 0,
        2_000,
        'every socket to close',
      ).catch(() => undefined);
      expect(open().filter((kind) => kind === 'TCPSocketWrap')).toEqual([]);
      // timers: no more than before the app (Vitest keeps one of its own)
      expect(open().filter((kind) => kind === 'Timeout').length).toBeLessThanOrEqual(
        before.filter((kind) => kind === 'Timeout').length,
      );
    });
  });
});
