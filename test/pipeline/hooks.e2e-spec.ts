/**
 * Run hooks: `RunHooks.onFinished(listener)`, injected from the module into a user's
 * service, sees every finished run — whatever its trigger and outcome — with task, outcome,
 * reason, duration and error; a listener that throws (or rejects) never changes the run;
 * unsubscribing works. In-memory transport: the trigger's transport does not matter here.
 */
import { Injectable, UseGuards, type CanActivate } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Interactor,
  Interactors,
  InteractorsModule,
  RunHooks,
  type RunResult,
  Task,
  TaskTimeoutError,
  type TaskClass,
} from '../../src/index.js';
import { Apps, CapturingLogger, isolateEnv, sleep, uniquePrefix, waitUntil } from './helpers.js';

isolateEnv();
const apps = new Apps();
afterEach(() => apps.closeAll());

/** A user's error reporter, as one would write for Sentry. */
@Injectable()
class Reporter {
  readonly finished: RunResult[] = [];
  readonly unsubscribe: () => void;
  constructor(hooks: RunHooks) {
    this.unsubscribe = hooks.onFinished((result) => {
      this.finished.push(result);
    });
  }
}

@Injectable()
class Deny implements CanActivate {
  canActivate(): boolean {
    return false;
  }
}

@Task()
class Succeeds extends Interactor {
  async call(n = 1): Promise<number> {
    return n * 10;
  }
}

const failure = new Error('hooked boom');

@Task()
class Fails extends Interactor {
  async call(): Promise<void> {
    throw failure;
  }
}

@Task()
@UseGuards(Deny)
class Guarded extends Interactor {
  async call(): Promise<void> {}
}

@Task({ environments: ['production'] })
class ProductionOnly extends Interactor {
  async call(): Promise<void> {}
}

@Task({ timeout: 50 })
class TimesOut extends Interactor {
  async call(): Promise<void> {
    await sleep(150);
  }
}

@Task({ cron: '* * * * * *', run: 'inline' })
class Ticking extends Interactor {
  async call(): Promise<string> {
    return 'tick';
  }
}

async function boot(tasks: Function[]) {
  const logger = new CapturingLogger();
  const app = await apps.boot(
    {
      imports: [
        InteractorsModule.forRoot({ prefix: uniquePrefix('hooks'), environment: 'development' }),
      ],
      providers: [...(tasks as never[]), Reporter, Deny],
    },
    { logger },
  );
  return {
    app,
    logger,
    interactors: app.get(Interactors),
    hooks: app.get(RunHooks),
    reporter: app.get(Reporter),
  };
}

describe('RunHooks.onFinished', () => {
  it('sees every outcome with task, outcome, reason, durationMs and error — before run() resolves', async () => {
    const { interactors, reporter } = await boot([
      Succeeds,
      Fails,
      Guarded,
      ProductionOnly,
      TimesOut,
    ]);
    const results: RunResult[] = [];
    for (const task of [Succeeds, Fails, Guarded, ProductionOnly, TimesOut] as TaskClass[]) {
      const result = await interactors.run(task);
      // already reported when run() resolves
      expect(reporter.finished.at(-1)).toEqual(result);
      results.push(result);
    }
    expect(reporter.finished).toHaveLength(5);
    expect(reporter.finished.map((r) => [r.task, r.outcome, r.reason])).toEqual([
      ['Succeeds', 'success', undefined],
      ['Fails', 'failure', undefined],
      ['Guarded', 'skipped', 'guard'],
      ['ProductionOnly', 'skipped', 'environment'],
      ['TimesOut', 'timeout', undefined],
    ]);
    const [success, failed, guarded, environment, timedOut] = reporter.finished as [
      RunResult,
      RunResult,
      RunResult,
      RunResult,
      RunResult,
    ];
    expect(success.value).toBe(10);
    expect(success.error).toBeUndefined();
    expect(failed.error).toBe(failure);
    expect(guarded.error).toBeUndefined();
    expect(environment.error).toBeUndefined();
    expect(timedOut.error).toBeInstanceOf(TaskTimeoutError);
    expect(timedOut.durationMs).toBeGreaterThanOrEqual(45);
    for (const result of reporter.finished) {
      expect(typeof result.durationMs).toBe('number');
      expect(result.durationMs).toBeGreaterThanOrEqual(0);
      expect(result.trigger).toBe('call');
      expect(result.runId).toBe(results.find((r) => r.task === result.task)!.runId);
    }
  });

  it('sees runs of every trigger: call, cron and queue', async () => {
    const { interactors, reporter } = await boot([Succeeds, Ticking]);
    await interactors.call(Succeeds, 2);
    await interactors.enqueue(Succeeds, 3);
    await waitUntil(
      () =>
        reporter.finished.some((r) => r.trigger === 'queue') &&
        reporter.finished.some((r) => r.trigger === 'cron'),
      5_000,
      'a queued run and a tick',
    );
    const byTrigger = (trigger: string) => reporter.finished.find((r) => r.trigger === trigger)!;
    expect(byTrigger('call')).toMatchObject({ task: 'Succeeds', outcome: 'success', value: 20 });
    expect(byTrigger('queue')).toMatchObject({
      task: 'Succeeds',
      outcome: 'success',
      value: 30,
      attempt: 1,
    });
    const tick = byTrigger('cron');
    expect(tick).toMatchObject({ task: 'Ticking', outcome: 'success', value: 'tick' });
    expect(tick.dueAt! % 1000).toBe(0);
  });

  it('a listener that throws (or rejects) does not change the run; the others still hear it; it is logged', async () => {
    const { interactors, hooks, reporter, logger } = await boot([Succeeds, Fails]);
    hooks.onFinished(() => {
      throw new Error('listener exploded');
    });
    hooks.onFinished(async () => {
      await sleep(1);
      throw new Error('listener rejected');
    });
    const after: string[] = [];
    hooks.onFinished((result) => void after.push(result.outcome));

    expect(await interactors.run(Succeeds, 4)).toMatchObject({ outcome: 'success', value: 40 });
    await expect(interactors.call(Succeeds, 5)).resolves.toBe(50);
    // a failing run still rethrows its own error, not the listener's
    await expect(interactors.call(Fails)).rejects.toBe(failure);
    expect((await interactors.run(Fails)).error).toBe(failure);

    expect(after).toEqual(['success', 'success', 'failure', 'failure']);
    expect(reporter.finished).toHaveLength(4);
    await waitUntil(
      () => logger.lines.filter((line) => line.includes('listener rejected')).length === 4,
      2_000,
      'the rejections to be logged',
    );
    const failedListener = logger.lines.filter((line) => line.includes('A run listener failed'));
    expect(failedListener.filter((line) => line.includes('listener exploded'))).toHaveLength(4);
    expect(failedListener.every((line) => line.startsWith('error '))).toBe(true);
  });

  it('unsubscribe: the listener hears nothing more; others still do', async () => {
    const { interactors, hooks, reporter } = await boot([Succeeds]);
    const mine: RunResult[] = [];
    const off = hooks.onFinished((result) => void mine.push(result));
    await interactors.run(Succeeds);
    off();
    reporter.unsubscribe();
    await interactors.run(Succeeds);
    expect(mine).toHaveLength(1);
    expect(reporter.finished).toHaveLength(1);
    off(); // a second call is harmless
    const later: RunResult[] = [];
    hooks.onFinished((result) => void later.push(result));
    await interactors.run(Succeeds);
    expect(later).toHaveLength(1);
    expect(mine).toHaveLength(1);
  });
});
