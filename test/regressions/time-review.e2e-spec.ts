/**
 * Regressions from the fresh-eyes review of Time I/II:
 * - a changed schedule starts afresh: no catch-up run, nothing counted from the old one;
 * - a scheduler whose clock runs ahead is said (the healthy ones lose its future ticks);
 * - the task field of the claim record stays a plain number (the release before reads it);
 * - a claimant's own claims whose answers were lost never count as the previous claim;
 * - times() reports no next tick for a task not scheduled here;
 * - queued ticks of an overlap 'skip' task hold their deduplication while a timed-out
 *   call() still runs;
 * - never-firing dates under Vixie's AND rule are found at once; an empty cron is named.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Interactor, Interactors, InteractorsModule, Task } from '../../src/index.js';
import { CronSchedule } from '../../src/scheduling/cron-schedule.js';
import { TaskRegistry } from '../../src/discovery/task.registry.js';
import { TaskEnqueuer } from '../../src/queueing/task.enqueuer.js';
import { JobProcessor } from '../../src/queueing/job.processor.js';
import { RedisTransport } from '../../src/transport/redis.transport.js';
import { INTERACTORS_TRANSPORT } from '../../src/interactors.constants.js';
import {
  Apps,
  CapturingLogger,
  ManualClock,
  REDIS_URL,
  bootFailure,
  deleteKeys,
  isolateEnv,
  sleep,
  uniquePrefix,
} from '../src/helpers.js';
import { Redis } from 'ioredis';
import { aligned, dispatcherOf, freshMetrics, missedOf } from '../time-gaps/support.js';

const runs: number[] = [];

@Task({ name: 'Ticker', every: '1 second', run: 'inline' })
class Ticker extends Interactor {
  call(): void {
    runs.push(Date.now());
  }
}

const root = uniquePrefix('regressions-time-review');
let prefixCount = 0;
const nextPrefix = () => `${root}:${++prefixCount}`;

describe('time review regressions', () => {
  isolateEnv();
  const apps = new Apps();
  afterEach(async () => {
    await apps.closeAll();
    runs.length = 0;
  });
  afterAll(() => deleteKeys(root));

  const boot = (prefix: string, clock: ManualClock, extra: object = {}, logger?: CapturingLogger) =>
    apps.boot(
      {
        imports: [
          InteractorsModule.forRoot({
            redis: REDIS_URL,
            prefix,
            clock,
            ...freshMetrics(),
            ...extra,
          }),
        ],
        providers: [Ticker],
      },
      logger,
    );

  it('a changed schedule is a fresh start: no catch-up run at boot, nothing counted from the old one', async () => {
    const prefix = nextPrefix();
    const t0 = aligned(60_000);
    const clock = new ManualClock(t0 - 500);
    const first = await boot(prefix, clock);
    clock.set(t0);
    await dispatcherOf(first).wake();
    await sleep(100);
    expect(runs).toHaveLength(1);
    await first.close();

    // redeployed 30.5 s later with another schedule: its ticks are not the old one's
    clock.set(t0 + 30_500);
    const logger = new CapturingLogger();
    const second = await boot(
      prefix,
      clock,
      { schedules: { Ticker: { every: '10 seconds' } } },
      logger,
    );
    await dispatcherOf(second).wake();
    await sleep(100);
    expect(runs).toHaveLength(1);
    expect(dispatcherOf(second).nextDueAt('Ticker')).toBe(t0 + 40_000);
    expect(logger.lines.join('\n')).toContain('its schedule changed since the last claim');
    clock.set(t0 + 40_000);
    await dispatcherOf(second).wake();
    await sleep(100);
    expect(runs).toHaveLength(2);
    expect(await missedOf(second, 'Ticker')).toBeUndefined();
  });

  it('a lost claim far behind the recorded one says that a clock runs ahead, once', async () => {
    const prefix = nextPrefix();
    const t0 = aligned(1_000);
    const ahead = new ManualClock(t0 + 86_400_000 - 500);
    const fast = await boot(prefix, ahead);
    ahead.set(t0 + 86_400_000);
    await dispatcherOf(fast).wake();
    await fast.close();

    const logger = new CapturingLogger();
    const clock = new ManualClock(t0 - 500);
    const healthy = await boot(prefix, clock, {}, logger);
    for (let k = 0; k < 3; k++) {
      clock.set(t0 + k * 1_000);
      await dispatcherOf(healthy).wake();
    }
    await sleep(100);
    expect(runs).toHaveLength(1); // only the fast scheduler's tick ran
    const warnings = logger.lines.filter((line) => line.includes('runs ahead'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('Task "Ticker"');
  });

  it('the task field of the record stays a plain number; a claimant skips its own unanswered claims', async () => {
    const prefix = nextPrefix();
    const clock = new ManualClock(aligned(1_000));
    const app = await boot(prefix, clock, { roles: [] });
    const transport = app.get<RedisTransport>(INTERACTORS_TRANSPORT, { strict: false });
    const schedule = 'every 1000+0';
    const claim = (dueAt: number, first: number, claimant: string) =>
      transport.claimTicks([{ task: 'T', dueAt, first, schedule }], claimant);

    expect(await claim(1_000, 1_000, 'a')).toEqual([{ won: true, previous: undefined }]);
    const redis = new Redis(REDIS_URL);
    try {
      expect(await redis.hget(`${prefix}:ticks`, 'T')).toBe('1000');
    } finally {
      await redis.quit();
    }
    // a handled 1000; its claims of 2000 and 3000 landed but their answers were lost
    expect(await claim(2_000, 2_000, 'a')).toEqual([{ won: true, previous: 1_000 }]);
    expect(await claim(3_000, 2_000, 'a')).toEqual([{ won: true, previous: 1_000 }]);
    // retrying 3000 itself: won again, previous still 1000 (2000 never ran)
    expect(await claim(3_000, 2_000, 'a')).toEqual([{ won: true, previous: 1_000 }]);
    // a peer does not get that pass
    expect(await claim(3_000, 3_000, 'b')).toEqual([{ won: false, previous: 3_000 }]);
    // a record written under another schedule is no record
    expect(
      await transport.claimTicks(
        [{ task: 'T', dueAt: 9_000, first: 9_000, schedule: 'other' }],
        'b',
      ),
    ).toEqual([{ won: true, previous: undefined }]);
  });

  it('times() has no next tick for a task disabled by schedules', async () => {
    const clock = new ManualClock(aligned(1_000));
    const app = await boot(nextPrefix(), clock, { schedules: { Ticker: { enabled: false } } });
    expect(await app.get(Interactors).times('Ticker')).toMatchObject({ nextDueAt: undefined });
  });

  it("a tick's job of an overlap 'skip' task finishes only when its timed-out call() settled", async () => {
    let release!: () => void;
    let calls = 0;
    @Task({ name: 'Slow', every: '1 minute', timeout: 100 })
    class Slow extends Interactor {
      async call(): Promise<void> {
        calls++;
        await new Promise<void>((resolve) => (release = resolve));
      }
    }
    const app = await apps.boot({
      imports: [
        InteractorsModule.forRoot({
          clock: new ManualClock(aligned(60_000)),
          roles: [],
          metrics: false,
        }),
      ],
      providers: [Slow],
    });
    const task = app.get(TaskRegistry, { strict: false }).resolve('Slow');
    const processor = app.get(JobProcessor, { strict: false });
    const enqueuer = app.get(TaskEnqueuer, { strict: false });
    const { jobId } = await enqueuer.enqueueTick(task, 60_000);
    const envelope = { v: 1, task: 'Slow', args: '[]', runId: 'r1', dueAt: 60_000 };
    let verdict: unknown;
    const handled = processor
      .handle('default', {
        id: jobId,
        name: 'Slow',
        data: envelope,
        attempt: 1,
        readyAt: Date.now(),
      })
      .then((result) => (verdict = result));
    await sleep(300); // past the timeout
    expect(calls).toBe(1);
    expect(verdict).toBeUndefined(); // still holding its deduplication
    release();
    await handled;
    expect(verdict).toMatchObject({ kind: 'failed' });
  });

  it('never-firing dates under the AND rule are found at once; an empty cron is named', async () => {
    const started = performance.now();
    expect(() => new CronSchedule('0 0 31 2 */2', 'UTC')).toThrow('it can never fire');
    expect(() => new CronSchedule('0 0 31 4,6,9,11 */2', 'UTC')).toThrow('it can never fire');
    expect(performance.now() - started).toBeLessThan(100);

    @Task({ name: 'Empty', cron: '' })
    class Empty extends Interactor {
      call(): void {}
    }
    const { error } = await bootFailure({
      imports: [InteractorsModule.forRoot({ roles: [], metrics: false })],
      providers: [Empty],
    });
    expect(error.message).toContain('Task "Empty": cron is empty');
  });
});
