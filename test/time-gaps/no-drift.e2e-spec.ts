/**
 * Time I, part 1: the next tick is computed from the due instant, never from the wake.
 * Thousands of successive ticks, each woken at its due instant plus a random lateness of
 * 0–900 ms (and sometimes woken early, or twice at once), give `dueAt`s exactly one second
 * apart: no drift, none skipped, none twice. On the in-memory transport (the `redis` option
 * absent) and on Redis (each claim a round trip to the shared server, under this file's prefix).
 */
import { Injectable } from '@nestjs/common';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Interactor, InteractorsModule, Task, TaskRun } from '../../src/index.js';
import { Apps, isolateEnv } from '../src/helpers.js';
import {
  ManualClock,
  Prefixes,
  QuietLogger,
  REDIS_URL,
  aligned,
  dispatcherOf,
  freshMetrics,
  missedOf,
  runsOf,
  deleteKeys,
  seededRandom,
  uniquePrefix,
  waitFor,
  waitUntil,
} from './support.js';

const prefixes = new Prefixes(uniquePrefix('time-gaps-drift'));

/** Records only the due instant of each run: the loop runs thousands of them. */
@Injectable()
class DueLog {
  readonly dueAts: number[] = [];
}

@Task({ every: '1 second', run: 'inline', overlap: 'allow' })
class EverySecondInterval extends Interactor {
  constructor(private readonly log: DueLog) {
    super();
  }

  call(): void {
    this.log.dueAts.push(TaskRun.current()!.dueAt!);
  }
}

@Task({ cron: '* * * * * *', run: 'inline', overlap: 'allow' })
class EverySecondCron extends Interactor {
  constructor(private readonly log: DueLog) {
    super();
  }

  call(): void {
    this.log.dueAts.push(TaskRun.current()!.dueAt!);
  }
}

describe('successive ticks with random lateness', () => {
  isolateEnv();
  const apps = new Apps();
  afterEach(() => apps.closeAll());
  afterAll(() => deleteKeys(prefixes.root));

  async function drive(task: Function, name: string, count: number, transport: 'memory' | 'redis') {
    const start = aligned(1_000);
    const clock = new ManualClock(start + 500);
    const logger = new QuietLogger();
    const app = await apps.boot(
      {
        imports: [
          InteractorsModule.forRoot({
            clock,
            roles: ['scheduler'],
            ...(transport === 'redis' ? { redis: REDIS_URL, prefix: prefixes.next() } : {}),
            ...freshMetrics(),
          }),
        ],
        providers: [DueLog, task as never],
      },
      logger,
    );
    const dispatcher = dispatcherOf(app);
    const log = app.get(DueLog);
    const seed = Date.now() % 1_000_000;
    const random = seededRandom(seed);
    const first = start + 1_000;
    expect(dispatcher.nextDueAt(name)).toBe(first);

    let due = first;
    const wrongNext: string[] = [];
    for (let i = 0; i < count; i++) {
      if (i % 10 === 3) {
        // an early wake (up to 999 ms before the tick) fires nothing and keeps the next tick
        clock.set(due - 1 - Math.floor(random() * 999));
        await dispatcher.wake();
        if (dispatcher.nextDueAt(name) !== due || log.dueAts.length !== i)
          wrongNext.push(`an early wake before tick ${i} moved the schedule or ran something`);
      }
      clock.set(due + Math.floor(random() * 901));
      if (i % 7 === 5) await Promise.all([dispatcher.wake(), dispatcher.wake()]);
      else await dispatcher.wake();
      const next = dispatcher.nextDueAt(name);
      if (next !== due + 1_000 && wrongNext.length < 5)
        wrongNext.push(`after tick ${i} (due ${due}) the next was ${next}`);
      due = next ?? due + 1_000;
    }
    await waitFor(() => log.dueAts.length >= count, 10_000, `${count} runs`);
    // the outcome is counted just after call() returns
    await waitUntil(async () => (await runsOf(app, name, 'success')) === count, 2_000, 'metrics');

    expect(wrongNext, `seed ${seed}`).toEqual([]);
    expect(log.dueAts.length, `seed ${seed}`).toBe(count);
    const offBy: string[] = [];
    log.dueAts.forEach((dueAt, i) => {
      if (dueAt !== first + i * 1_000 && offBy.length < 5)
        offBy.push(`run ${i}: dueAt ${dueAt}, expected ${first + i * 1_000}`);
    });
    expect(offBy, `seed ${seed}`).toEqual([]);
    expect(await runsOf(app, name, 'success')).toBe(count);
    expect(await missedOf(app, name)).toBeUndefined();
    // no missed-ticks warning, no error (the in-memory transport's boot warning aside)
    expect(logger.lines.filter((line) => !line.includes('in-memory transport'))).toEqual([]);
  }

  it('10,000 ticks of every: "1 second" (in memory): dueAts exactly 1000 ms apart, none skipped, none twice', async () => {
    await drive(EverySecondInterval, 'EverySecondInterval', 10_000, 'memory');
  });

  it('10,000 ticks of every: "1 second" (Redis claims): the same', async () => {
    await drive(EverySecondInterval, 'EverySecondInterval', 10_000, 'redis');
  });

  it('2,000 ticks of the cron "* * * * * *" (in memory): the same', async () => {
    await drive(EverySecondCron, 'EverySecondCron', 2_000, 'memory');
  });
});
