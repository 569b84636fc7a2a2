/**
 * Regression from the review (shutdown-race): app.close() that begins while a wake is claiming
 * its ticks waits for those ticks to be handed on. An inline tick's call() finishes before
 * close() resolves; a queued tick is enqueued, not lost.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Interactor, InteractorsModule, Task } from '../../src/index.js';
import { TaskDispatcher } from '../../src/scheduling/task.dispatcher.js';
import {
  Apps,
  CapturingLogger,
  ManualClock,
  REDIS_URL,
  deleteKeys,
  isolateEnv,
  keysUnder,
  midSecond,
  sleep,
  uniquePrefix,
} from '../src/helpers.js';

const events: string[] = [];

@Task({ cron: '* * * * * *', run: 'inline' })
class InlineTick extends Interactor {
  async call(): Promise<void> {
    events.push('call() started');
    await sleep(50);
    events.push('call() finished');
  }
}

@Task({ cron: '* * * * * *' })
class QueuedTick extends Interactor {
  call(): void {
    events.push('queued call()');
  }
}

describe('shutdown during a wake (shutdown-race)', () => {
  isolateEnv();
  const apps = new Apps();
  const prefixes: string[] = [];
  afterEach(async () => {
    await apps.closeAll();
    await Promise.all(prefixes.splice(0).map(deleteKeys));
  });

  async function closeDuringWake(task: typeof InlineTick | typeof QueuedTick) {
    events.length = 0;
    const prefix = uniquePrefix('regressions-shutdown');
    prefixes.push(prefix);
    const clock = new ManualClock(midSecond());
    const logger = new CapturingLogger();
    const app = await apps.boot(
      {
        imports: [
          InteractorsModule.forRoot({
            redis: REDIS_URL,
            prefix,
            clock,
            roles: ['scheduler'],
            metrics: false,
          }),
        ],
        providers: [task],
      },
      logger,
    );
    const dispatcher = app.get(TaskDispatcher, { strict: false });
    clock.set(dispatcher.nextDueAt(task.name)!);
    const woke = dispatcher.wake(); // the timer fires...
    await new Promise((resolve) => setImmediate(resolve)); // ...its claim leaves for Redis...
    await app.close(); // ...and SIGTERM arrives in the same moment
    events.push('app.close() resolved');
    await woke;
    await sleep(200);
    return { prefix, errors: logger.lines.filter((line) => line.startsWith('error')) };
  }

  it("an inline tick's call() finishes before app.close() resolves", async () => {
    const { errors } = await closeDuringWake(InlineTick);
    expect(events).toEqual(['call() started', 'call() finished', 'app.close() resolved']);
    expect(errors).toEqual([]);
  });

  it('a queued tick claimed during app.close() is enqueued, not lost', async () => {
    const { prefix, errors } = await closeDuringWake(QueuedTick);
    expect(errors).toEqual([]);
    // No worker role: the job waits in the queue under this prefix.
    const keys = await keysUnder(prefix);
    const due = keys.filter((key) => key.startsWith(`${prefix}:default:QueuedTick-`));
    expect(due).toHaveLength(1);
    expect(keys).toContain(`${prefix}:default:wait`);
    expect(events).toEqual(['app.close() resolved']);
  });
});
