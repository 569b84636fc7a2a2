import type { INestApplication } from '@nestjs/common';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  Interactor,
  InteractorsModule,
  Task,
  type InteractorsModuleOptions,
} from '../src/index.js';
import { INTERACTORS_TRANSPORT } from '../src/interactors.constants.js';
import { TaskDispatcher } from '../src/scheduling/task.dispatcher.js';
import type { InteractorsTransport } from '../src/transport/transport.interface.js';
import { Apps, ManualClock, isolateEnv, midSecond, sleep, waitFor } from './src/helpers.js';
import { RunLog } from './src/run-log.js';

/** Every second, in the scheduler process itself. */
@Task({ cron: '* * * * * *', run: 'inline' })
export class EverySecond extends Interactor {
  constructor(private readonly log: RunLog) {
    super();
  }

  call(): void {
    this.log.start().finishedAt = Date.now();
  }
}

/** What differs between the transports; everything else is this one spec. */
export interface DispatcherTransport {
  readonly kind: InteractorsTransport['kind'];
  /** Module options selecting the transport, under the given key prefix. */
  options(prefix: string): InteractorsModuleOptions;
  /** A key prefix for one test; unique per test, so claims never carry over. */
  prefix(): string;
  /** Runs once after the file, e.g. to delete its Redis keys. */
  cleanup?(): Promise<void>;
  /** Whether separate apps share claims (true for Redis: they are separate processes' view). */
  readonly sharedClaims: boolean;
}

/**
 * The dispatcher's behaviour, written once and run against each transport so that the
 * in-memory twin and Redis cannot drift apart.
 */
export function dispatcherSpec(transport: DispatcherTransport): void {
  describe(`dispatcher on the ${transport.kind} transport`, () => {
    isolateEnv();
    const apps = new Apps();
    afterEach(() => apps.closeAll());
    if (transport.cleanup) afterAll(() => transport.cleanup!());

    async function boot(
      options: InteractorsModuleOptions = {},
      prefix = transport.prefix(),
    ): Promise<INestApplication> {
      const app = await apps.boot({
        imports: [InteractorsModule.forRoot({ ...transport.options(prefix), ...options })],
        providers: [RunLog, EverySecond],
      });
      expect(app.get<InteractorsTransport>(INTERACTORS_TRANSPORT, { strict: false }).kind).toBe(
        transport.kind,
      );
      return app;
    }

    it('fires an every-second inline task on time with the real clock', async () => {
      const bootedAt = Date.now();
      const app = await boot();
      const log = app.get(RunLog);

      await waitFor(() => log.runs.length >= 2, 4_500, 'two runs');
      const runs = log.runs.slice(0, 2);
      for (const run of runs) {
        expect(run.task).toBe('EverySecond');
        expect(run.trigger).toBe('cron');
        expect(run.attempt).toBe(1);
        expect(run.dueAt! % 1000).toBe(0);
        // never early, and not far behind (a generous bound: the machine is shared)
        expect(run.startedAt).toBeGreaterThanOrEqual(run.dueAt!);
        expect(run.startedAt - run.dueAt!).toBeLessThan(1_500);
        // no tick from before the boot is fired
        expect(run.dueAt!).toBeGreaterThan(bootedAt - 1_000);
      }
      // distinct ticks, in order (normally one second apart; a starved timer may skip one)
      expect(runs[1]!.dueAt!).toBeGreaterThan(runs[0]!.dueAt!);
      expect(runs[1]!.runId).not.toBe(runs[0]!.runId);
    });

    it('never starts the same tick twice when woken twice for it (manual clock)', async () => {
      const clock = new ManualClock(midSecond());
      const app = await boot({ clock });
      const dispatcher = app.get(TaskDispatcher, { strict: false });
      const log = app.get(RunLog);

      const due = dispatcher.nextDueAt('EverySecond')!;
      expect(due).toBe(clock.now() + 500);

      // not due yet: nothing fires
      await dispatcher.wake();
      await sleep(100);
      expect(log.runs).toHaveLength(0);

      clock.set(due);
      await Promise.all([dispatcher.wake(), dispatcher.wake()]);
      await dispatcher.wake();
      await waitFor(() => log.runs.length >= 1, 2_000, 'the run of the due tick');
      await dispatcher.wake();
      await sleep(300);
      expect(log.runs.map((run) => run.dueAt)).toEqual([due]);
      expect(log.runs[0]!.startedAt).toBeGreaterThan(0);

      // the next second is a new tick: it fires once too, however often woken
      clock.set(due + 1_000);
      await Promise.all([dispatcher.wake(), dispatcher.wake(), dispatcher.wake()]);
      await dispatcher.wake();
      await waitFor(() => log.runs.length >= 2, 2_000, 'the run of the next tick');
      await sleep(300);
      expect(log.runs.map((run) => run.dueAt)).toEqual([due, due + 1_000]);
      expect(dispatcher.nextDueAt('EverySecond')).toBe(due + 2_000);
    });

    it('does not fire a tick again once its instant has passed and been claimed (clock held still)', async () => {
      const clock = new ManualClock(midSecond());
      const app = await boot({ clock });
      const dispatcher = app.get(TaskDispatcher, { strict: false });
      const log = app.get(RunLog);
      const due = dispatcher.nextDueAt('EverySecond')!;

      clock.set(due + 250);
      await dispatcher.wake();
      await waitFor(() => log.runs.length >= 1, 2_000, 'the run');
      // the real timer keeps waking the dispatcher; with the clock held still nothing more is due
      await sleep(1_500);
      expect(log.runs.map((run) => run.dueAt)).toEqual([due]);
    });

    if (transport.sharedClaims) {
      it('runs a tick once in total when two apps sharing a prefix are woken for it', async () => {
        const prefix = transport.prefix();
        const clock = new ManualClock(midSecond());
        const first = await boot({ clock }, prefix);
        const second = await boot({ clock }, prefix);
        const dispatchers = [first, second].map((app) =>
          app.get(TaskDispatcher, { strict: false }),
        );
        const logs = [first, second].map((app) => app.get(RunLog));
        const runs = () => logs.flatMap((log) => log.runs);

        const due = dispatchers[0]!.nextDueAt('EverySecond')!;
        expect(dispatchers[1]!.nextDueAt('EverySecond')).toBe(due);

        clock.set(due);
        await Promise.all(
          dispatchers.flatMap((dispatcher) => [dispatcher.wake(), dispatcher.wake()]),
        );
        await waitFor(() => runs().length >= 1, 2_000, 'one run');
        await sleep(300);
        expect(runs().map((run) => run.dueAt)).toEqual([due]);

        // woken one after the other for the next tick: still once
        clock.set(due + 1_000);
        await dispatchers[1]!.wake();
        await dispatchers[0]!.wake();
        await waitFor(() => runs().length >= 2, 2_000, 'the second run');
        await sleep(300);
        expect(
          runs()
            .map((run) => run.dueAt)
            .toSorted(),
        ).toEqual([due, due + 1_000]);
      });

      it('lets a later app claim nothing that an earlier app already claimed', async () => {
        const prefix = transport.prefix();
        const clock = new ManualClock(midSecond());
        const first = await boot({ clock }, prefix);
        const due = first.get(TaskDispatcher, { strict: false }).nextDueAt('EverySecond')!;
        clock.set(due);
        await first.get(TaskDispatcher, { strict: false }).wake();
        await waitFor(
          () => first.get(RunLog).runs.length >= 1,
          2_000,
          'the first app to run the tick',
        );
        await first.close();

        // a replacement process whose clock lags half a second behind
        const lagging = new ManualClock(due - 500);
        const second = await boot({ clock: lagging }, prefix);
        const dispatcher = second.get(TaskDispatcher, { strict: false });
        expect(dispatcher.nextDueAt('EverySecond')).toBe(due);
        lagging.set(due);
        await dispatcher.wake();
        await sleep(300);
        expect(second.get(RunLog).runs).toHaveLength(0);
      });
    }
  });
}
