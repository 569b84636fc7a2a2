import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import {
  Interactor,
  Interactors,
  InteractorsModule,
  LockLostError,
  Task,
  TaskRun,
} from '../../src/index.js';
import { Apps, CapturingLogger, deferred, isolateEnv, sleep, waitFor } from '../src/helpers.js';
import { counterValue, lockErrors, OwnRedis } from './support.js';

const calls = { guarded: 0, failOpen: 0, releasing: 0, watching: 0 };
let holdReleasing = deferred();

@Task({ lock: true })
class Guarded extends Interactor {
  async call(): Promise<string> {
    calls.guarded++;
    return 'ran';
  }
}

@Task({ lock: { failOpen: true } })
class FailsOpen extends Interactor {
  async call(): Promise<number | undefined> {
    calls.failOpen++;
    return TaskRun.current()!.fencingToken ?? -1;
  }
}

@Task({ lock: true })
class Releasing extends Interactor {
  async call(): Promise<string> {
    calls.releasing++;
    await holdReleasing.promise;
    return 'finished';
  }
}

/** Runs until its signal aborts (at most 5 s); extended every 200 ms. */
@Task({ lock: { ttl: 600 } })
class Watching extends Interactor {
  async call() {
    calls.watching++;
    const { signal } = TaskRun.current()!;
    for (const until = Date.now() + 5_000; !signal.aborted && Date.now() < until;) await sleep(10);
    return {
      aborted: signal.aborted,
      lost: signal.reason instanceof LockLostError,
      at: Date.now(),
    };
  }
}

/** The module's Redis is a redis-server of this file's own, which the tests stop and restart. */
describe('lock backend unreachable (own redis-server)', () => {
  isolateEnv();
  const own = new OwnRedis();
  const apps = new Apps();
  const logger = new CapturingLogger();

  beforeAll(() => own.start());
  afterEach(async () => {
    holdReleasing.resolve();
    // Redis back before closing, so that the app's connections close cleanly.
    await own.start();
    await apps.closeAll();
    logger.lines.length = 0;
  });
  afterAll(() => own.stop());

  async function boot() {
    const registry = new Registry();
    const app = await apps.boot(
      {
        imports: [
          InteractorsModule.forRoot({
            redis: own.url,
            prefix: 'test:lock-outage',
            roles: [],
            metrics: { registry },
            reconnectMaxDelay: 100,
            shutdownGrace: 2_000,
          }),
        ],
        providers: [Guarded, FailsOpen, Releasing, Watching],
      },
      logger,
    );
    return { interactors: app.get(Interactors), registry };
  }

  const outageLogs = () =>
    logger.lines.filter((line) => line.startsWith('error') && line.includes('lock_unavailable'));

  it('a locked task is skipped with reason lock_unavailable and never runs; a failOpen task runs', async () => {
    const { interactors, registry } = await boot();
    expect((await interactors.run(Guarded)).outcome).toBe('success');
    expect(calls.guarded).toBe(1);

    await own.stop();
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await interactors.run(Guarded));
    for (const result of results) {
      expect(result).toMatchObject({ outcome: 'skipped', reason: 'lock_unavailable' });
      expect(result.error).toBeUndefined();
    }
    expect(calls.guarded).toBe(1);
    await expect(interactors.call(Guarded)).resolves.toBeUndefined();
    expect(calls.guarded).toBe(1);
    expect(
      await counterValue(registry, 'interactor_runs_total', {
        task: 'Guarded',
        outcome: 'skipped',
        reason: 'lock_unavailable',
      }),
    ).toBe(4);
    // One error line for the burst, naming the task and the reason.
    expect(outageLogs()).toHaveLength(1);
    expect(outageLogs()[0]).toContain('Task "Guarded" skipped (lock_unavailable)');

    const open = await interactors.run(FailsOpen);
    expect(open.outcome).toBe('success');
    expect(calls.failOpen).toBe(1);
    // It ran without a lock, so without a fencing token.
    expect(open.value).toBe(-1);

    // Back: the lock works again, within the reconnect delay.
    await own.start();
    let again = await interactors.run(Guarded);
    for (
      const deadline = Date.now() + 5_000;
      again.outcome !== 'success' && Date.now() < deadline;
    ) {
      expect(again).toMatchObject({ outcome: 'skipped', reason: 'lock_unavailable' });
      await sleep(50);
      again = await interactors.run(Guarded);
    }
    expect(again.outcome).toBe('success');
    expect(calls.guarded).toBe(2);
  });

  it('a release that fails because Redis went away after call() leaves the outcome success, counted as release', async () => {
    const { interactors, registry } = await boot();
    holdReleasing = deferred();
    const running = interactors.run(Releasing);
    await waitFor(() => calls.releasing === 1, 5_000, 'the run inside call()');
    await own.stop();
    holdReleasing.resolve();
    const result = await running;
    expect(result).toMatchObject({ outcome: 'success', value: 'finished' });
    expect(result.error).toBeUndefined();
    expect(await lockErrors(registry, 'Releasing')).toEqual({ extend: 0, release: 1 });
    expect(
      logger.lines.some((line) => line.includes('Task "Releasing": releasing its lock failed')),
    ).toBe(true);
  });

  it('Redis gone mid-run: the next extension fails, the run signal aborts with a LockLostError, counted as extend', async () => {
    const { interactors, registry } = await boot();
    const running = interactors.run(Watching);
    await waitFor(() => calls.watching === 1, 5_000, 'the run inside call()');
    await sleep(250);
    const downAt = Date.now();
    await own.stop();
    const result = await running;
    expect(result.outcome).toBe('success');
    expect(result.value).toMatchObject({ aborted: true, lost: true });
    expect(result.value!.at - downAt).toBeLessThan(600);
    expect((await lockErrors(registry, 'Watching')).extend).toBe(1);
  });

  // Fails against src as committed: LockInterceptor (src/interceptors/lock.interceptor.ts) calls
  // reportOutage(), whose line says "skipped (lock_unavailable)", before it looks at failOpen.
  it('a failOpen run during an outage is not logged as skipped (it ran, without the lock)', async () => {
    const { interactors } = await boot();
    await own.stop();
    expect((await interactors.run(FailsOpen)).outcome).toBe('success');
    expect(calls.failOpen).toBeGreaterThan(0);
    // The outage is reported, but a run that went ahead must not be reported as skipped.
    expect(logger.lines.filter((line) => line.includes('Task "FailsOpen" skipped'))).toEqual([]);
    // Nor may it use up the burst's one log line: a fail-closed task skipped next is still reported.
    expect((await interactors.run(Guarded)).outcome).toBe('skipped');
    expect(
      outageLogs().filter((line) => line.includes('Task "Guarded" skipped (lock_unavailable)')),
    ).toHaveLength(1);
  });
});
