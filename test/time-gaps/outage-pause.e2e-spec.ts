/**
 * Time I, part 2 (e), with a paused Redis (SIGSTOP, then SIGCONT) of the test's own: the
 * claim record survives (nothing restarts), and the wakes during the pause fail by the
 * command timeout. Claims sent while paused stay in the socket and Redis executes them
 * when it resumes, after the module has given them up: the winner must still judge the gap
 * right, and a tick whose claim timed out must still run when retried.
 */
import type { INestApplication } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import { Interactor, InteractorsModule, Task } from '../../src/index.js';
import { Apps, CapturingLogger, isolateEnv } from '../src/helpers.js';
import { RunLog } from '../src/run-log.js';
import {
  ManualClock,
  OwnRedis,
  aligned,
  containing,
  dispatcherOf,
  freshMetrics,
  iso,
  missedOf,
  moduleClient,
  sleep,
  timed,
  uniquePrefix,
  waitFor,
} from './support.js';

@Task({ every: '1 second', run: 'inline' })
class EverySecond extends Interactor {
  constructor(private readonly log: RunLog) {
    super();
  }

  call(): void {
    this.log.start();
  }
}

@Task({ every: '10 seconds', run: 'inline' })
class EveryTenSeconds extends Interactor {
  constructor(private readonly log: RunLog) {
    super();
  }

  call(): void {
    this.log.start();
  }
}

const COMMAND_TIMEOUT = 300;

describe('a paused Redis (own redis-server, SIGSTOP / SIGCONT)', () => {
  isolateEnv();
  const apps = new Apps();
  let own: OwnRedis | undefined;
  afterEach(async () => {
    own?.resume();
    await apps.closeAll();
    await own?.dispose();
    own = undefined;
  });

  async function boot(task: Function, clock: ManualClock) {
    const server = new OwnRedis();
    own = server;
    await server.start();
    const logger = new CapturingLogger();
    const prefix = uniquePrefix('time-gaps-pause');
    const app: INestApplication = await apps.boot(
      {
        imports: [
          InteractorsModule.forRoot({
            redis: server.url,
            prefix,
            roles: ['scheduler'],
            clock,
            commandTimeout: COMMAND_TIMEOUT,
            reconnectMaxDelay: 100,
            ...freshMetrics(),
          }),
        ],
        providers: [RunLog, task as never],
      },
      logger,
    );
    return { app, logger, prefix, server, dispatcher: dispatcherOf(app), log: app.get(RunLog) };
  }

  it('t1..t6 down (woken at t1..t5 + 300 ms), back at t6 + 300 ms: t6 runs once, t1..t5 are counted missed', async () => {
    const start = aligned(1_000);
    const t = (k: number) => start + k * 1_000;
    const clock = new ManualClock(t(0) - 500);
    const { app, logger, prefix, server, dispatcher, log } = await boot(EverySecond, clock);
    clock.set(t(0));
    await dispatcher.wake();
    await waitFor(() => log.runs.length >= 1, 2_000, 'the run of t0');

    server.pause();
    for (let k = 1; k <= 5; k++) {
      clock.set(t(k) + 300);
      expect(await timed(dispatcher.wake())).toBeLessThan(COMMAND_TIMEOUT + 1_000);
    }
    server.resume();
    expect(containing(logger.lines, 'error', 'Could not claim ticks of EverySecond')).toHaveLength(
      1,
    );
    await waitFor(() => moduleClient(app).status === 'ready', 5_000, 'the client');

    const record = await server.hget(`${prefix}:ticks`, 'EverySecond');

    clock.set(t(6) + 300);
    await dispatcher.wake();
    await waitFor(() => log.runs.length >= 2, 2_000, 'the run of t6');
    await sleep(200);
    expect(log.runs.map((run) => run.dueAt)).toEqual([t(0), t(6)]);
    expect(
      await missedOf(app, 'EverySecond'),
      `claim record after the pause: ${record} (t0 = ${t(0)})`,
    ).toBe(5);
    expect(
      containing(logger.lines, 'warn', `5 tick(s) after ${iso(t(0))} missed`, iso(t(6))),
    ).toHaveLength(1);
  });

  it('a tick whose claim timed out while Redis was paused runs when the claim is retried (every 10 seconds)', async () => {
    const start = aligned(10_000);
    const t = (k: number) => start + k * 10_000;
    const clock = new ManualClock(t(0) + 5_000);
    const { app, logger, prefix, server, dispatcher, log } = await boot(EveryTenSeconds, clock);

    server.pause();
    clock.set(t(1) + 100);
    await dispatcher.wake(); // the claim of t1 times out; retried at t1 + 1.1 s
    server.resume();
    expect(
      containing(logger.lines, 'error', 'Could not claim ticks of EveryTenSeconds'),
    ).toHaveLength(1);
    await waitFor(() => moduleClient(app).status === 'ready', 5_000, 'the client');
    // what Redis holds now: the timed-out claim was executed when it resumed
    const record = await server.hget(`${prefix}:ticks`, 'EveryTenSeconds');

    clock.set(t(1) + 1_100);
    await dispatcher.wake();
    await sleep(300);
    // t1 is 1.1 s late, well within its catchUp (one interval, 10 s): it must run, or at
    // least be counted as missed; it must not vanish
    const ran = log.runs.map((run) => run.dueAt);
    const missed = (await missedOf(app, 'EveryTenSeconds')) ?? 0;
    expect({ ran, missed }, `claim record after the pause: ${record}`).toEqual({
      ran: [t(1)],
      missed: 0,
    });
  });
});
