/**
 * Time I, part 6 (`Interactors.times(task)`): `{ task, lastDueAt, nextDueAt }`, where
 * lastDueAt is the last tick claimed by any scheduler sharing the key prefix (read from
 * Redis) and nextDueAt this scheduler's next tick. Read before any tick, after ticks, after
 * a gap, from a peer scheduler, and from an app with `roles: ['worker']` (no scheduler),
 * which computes the next tick from its own clock. Shared Redis, this file's prefix.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Interactor, Interactors, InteractorsModule, Task } from '../../src/index.js';
import { Apps, CapturingLogger, isolateEnv } from '../src/helpers.js';
import { RunLog } from '../src/run-log.js';
import {
  ManualClock,
  Prefixes,
  REDIS_URL,
  aligned,
  deleteKeys,
  dispatcherOf,
  freshMetrics,
  sleep,
  uniquePrefix,
  waitFor,
} from './support.js';

@Task({ every: '1 second', run: 'inline' })
class Timed extends Interactor {
  constructor(private readonly log: RunLog) {
    super();
  }

  call(): void {
    this.log.start();
  }
}

/** Called or enqueued only: no schedule. */
@Task()
class Unscheduled extends Interactor {
  call(): void {}
}

const prefixes = new Prefixes(uniquePrefix('time-gaps-times'));

describe('Interactors.times()', () => {
  isolateEnv();
  const apps = new Apps();
  afterEach(() => apps.closeAll());
  afterAll(() => deleteKeys(prefixes.root));

  const start = aligned(1_000);
  const t = (k: number) => start + k * 1_000;

  async function boot(
    prefix: string,
    clock: ManualClock,
    roles: ('scheduler' | 'worker')[],
    logger: CapturingLogger,
  ) {
    const app = await apps.boot(
      {
        imports: [
          InteractorsModule.forRoot({
            redis: REDIS_URL,
            prefix,
            roles,
            clock,
            ...freshMetrics(),
          }),
        ],
        providers: [RunLog, Timed, Unscheduled],
      },
      logger,
    );
    return { app, interactors: app.get(Interactors), log: app.get(RunLog) };
  }

  it('before any tick, after ticks, after a gap, from a peer scheduler and from a worker-only app', async () => {
    const prefix = prefixes.next();
    const logger = new CapturingLogger();
    const clock = new ManualClock(t(0) + 500);
    const scheduler = await boot(prefix, clock, ['scheduler'], logger);
    const dispatcher = dispatcherOf(scheduler.app);

    // before any tick: nothing claimed, the next tick is t1
    expect(await scheduler.interactors.times(Timed)).toEqual({
      task: 'Timed',
      lastDueAt: undefined,
      nextDueAt: t(1),
    });
    expect(await scheduler.interactors.times('Timed')).toEqual(
      await scheduler.interactors.times(Timed),
    );
    // an early wake changes neither
    clock.set(t(1) - 1);
    await dispatcher.wake();
    expect(await scheduler.interactors.times(Timed)).toEqual({
      task: 'Timed',
      lastDueAt: undefined,
      nextDueAt: t(1),
    });

    // after the tick t1, woken late
    clock.set(t(1) + 700);
    await dispatcher.wake();
    await waitFor(() => scheduler.log.runs.length >= 1, 2_000, 'the run of t1');
    expect(await scheduler.interactors.times(Timed)).toEqual({
      task: 'Timed',
      lastDueAt: t(1),
      nextDueAt: t(2),
    });

    // a worker-only app on the same prefix: the cluster's last tick from Redis, and the next
    // computed from its own clock (it schedules nothing)
    const workerClock = new ManualClock(t(1) + 200);
    const worker = await boot(prefix, workerClock, ['worker'], logger);
    expect(await worker.interactors.times(Timed)).toEqual({
      task: 'Timed',
      lastDueAt: t(1),
      nextDueAt: t(2),
    });

    // a peer scheduler claims t2: the last tick is the cluster's, the next still this scheduler's
    const peerClock = new ManualClock(t(1) + 500);
    const peer = await boot(prefix, peerClock, ['scheduler'], logger);
    peerClock.set(t(2));
    await dispatcherOf(peer.app).wake();
    await waitFor(() => peer.log.runs.length >= 1, 2_000, 'the peer to run t2');
    expect(await scheduler.interactors.times(Timed)).toEqual({
      task: 'Timed',
      lastDueAt: t(2),
      nextDueAt: t(2),
    });
    // woken for t2 after the peer took it: it runs nothing and moves on to t3
    clock.set(t(2) + 100);
    await dispatcher.wake();
    await sleep(100);
    expect(scheduler.log.runs).toHaveLength(1);
    expect(await scheduler.interactors.times(Timed)).toEqual({
      task: 'Timed',
      lastDueAt: t(2),
      nextDueAt: t(3),
    });

    // after a gap: the latest tick t6 is claimed, the next is t7
    clock.set(t(6) + 300);
    await dispatcher.wake();
    await waitFor(() => scheduler.log.runs.length >= 2, 2_000, 'the run of t6');
    expect(await scheduler.interactors.times(Timed)).toEqual({
      task: 'Timed',
      lastDueAt: t(6),
      nextDueAt: t(7),
    });
    workerClock.set(t(6) + 400);
    expect(await worker.interactors.times(Timed)).toEqual({
      task: 'Timed',
      lastDueAt: t(6),
      nextDueAt: t(7),
    });
    expect((await peer.interactors.times(Timed)).lastDueAt).toBe(t(6));
  });

  it('a task without a schedule has neither instant', async () => {
    const clock = new ManualClock(t(0) + 500);
    const { interactors } = await boot(
      prefixes.next(),
      clock,
      ['scheduler'],
      new CapturingLogger(),
    );
    expect(await interactors.times(Unscheduled)).toEqual({
      task: 'Unscheduled',
      lastDueAt: undefined,
      nextDueAt: undefined,
    });
  });

  it('another prefix shares nothing', async () => {
    const logger = new CapturingLogger();
    const clock = new ManualClock(t(0) + 500);
    const first = await boot(prefixes.next(), clock, ['scheduler'], logger);
    const other = await boot(prefixes.next(), clock, ['worker'], logger);
    clock.set(t(1));
    await dispatcherOf(first.app).wake();
    await waitFor(() => first.log.runs.length >= 1, 2_000, 'the run of t1');
    expect((await first.interactors.times(Timed)).lastDueAt).toBe(t(1));
    expect((await other.interactors.times(Timed)).lastDueAt).toBeUndefined();
  });
});
