/**
 * Time I, parts 1 and 6 together: once the dispatcher has unscheduled a task whose schedule
 * gave a next instant not after the current one (an error naming the task), this scheduler
 * has no next tick for it, and `Interactors.times()` must not report one (least of all an
 * instant that is not in the future). Shared Redis, this file's prefix.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Interactor, Interactors, InteractorsModule, Task } from '../../src/index.js';
import { TaskRegistry } from '../../src/discovery/task.registry.js';
import { IntervalSchedule } from '../../src/scheduling/schedule.js';
import { Apps, CapturingLogger, isolateEnv } from '../src/helpers.js';
import { RunLog } from '../src/run-log.js';
import {
  ManualClock,
  REDIS_URL,
  aligned,
  containing,
  deleteKeys,
  dispatcherOf,
  freshMetrics,
  uniquePrefix,
  waitFor,
} from './support.js';

@Task({ every: '1 second', run: 'inline' })
class Breaks extends Interactor {
  constructor(private readonly log: RunLog) {
    super();
  }

  call(): void {
    this.log.start();
  }
}

/** Every second, except that its next instant is its argument: never later. */
class StuckSchedule extends IntervalSchedule {
  constructor() {
    super('every second, stuck', 1_000);
  }

  override next(after: number): number {
    return after;
  }
}

const prefix = uniquePrefix('time-gaps-times-unscheduled');

describe('Interactors.times() of a task the dispatcher unscheduled', () => {
  isolateEnv();
  const apps = new Apps();
  afterEach(() => apps.closeAll());
  afterAll(() => deleteKeys(prefix));

  it('reports no next tick', async () => {
    const start = aligned(1_000);
    const clock = new ManualClock(start + 500);
    const logger = new CapturingLogger();
    const app = await apps.boot(
      {
        imports: [
          InteractorsModule.forRoot({
            redis: REDIS_URL,
            prefix,
            roles: ['scheduler'],
            clock,
            ...freshMetrics(),
          }),
        ],
        providers: [RunLog, Breaks],
      },
      logger,
    );
    const dispatcher = dispatcherOf(app);
    const definition = app.get(TaskRegistry, { strict: false }).find('Breaks')!;
    Object.defineProperty(definition, 'schedule', { value: new StuckSchedule() });

    clock.set(start + 1_000);
    await dispatcher.wake();
    await waitFor(() => app.get(RunLog).runs.length >= 1, 2_000, 'the run of the due tick');
    expect(containing(logger.lines, 'error', 'Task "Breaks" is unscheduled')).toHaveLength(1);
    expect(dispatcher.nextDueAt('Breaks')).toBeUndefined();

    clock.set(start + 1_500);
    const times = await app.get(Interactors).times(Breaks);
    expect(times.lastDueAt).toBe(start + 1_000);
    expect(times.nextDueAt, `now is ${clock.now()}`).toBeUndefined();
  });
});
