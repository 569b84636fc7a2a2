/**
 * Time II, overlap of inline ticks: `overlap: 'skip'` (the default) skips a tick whose task
 * still has a run in flight in this process; `'allow'` lets them overlap; with `lock: true`
 * the held lock says `locked` across processes instead. Schedules are driven by a manual
 * clock and explicit wakes; only the runs themselves are awaited.
 */
import type { INestApplication, Type } from '@nestjs/common';
import { Registry } from 'prom-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  Interactor,
  Interactors,
  InteractorsModule,
  Task,
  type InteractorsModuleOptions,
} from '../../src/index.js';
import {
  Apps,
  ManualClock,
  REDIS_URL,
  deleteKeys,
  isolateEnv,
  sleep,
  uniquePrefix,
  waitFor,
} from '../src/helpers.js';
import { Gate, MINUTE, Results, at, dispatcherOf, runSeries, runsTotal } from './support.js';

/** Every minute, inline, default overlap ('skip'). */
@Task({ every: '1 minute', run: 'inline' })
class SkipInline extends Interactor {
  constructor(private readonly gate: Gate) {
    super();
  }
  call(): Promise<string> {
    return this.gate.pass();
  }
}

/** Every minute, inline, overlap 'skip' spelled out, and a short timeout. */
@Task({ every: '1 minute', run: 'inline', overlap: 'skip', timeout: 50 })
class SkipWithTimeout extends Interactor {
  constructor(private readonly gate: Gate) {
    super();
  }
  call(): Promise<string> {
    return this.gate.pass();
  }
}

/** Every minute, inline, runs may overlap. */
@Task({ every: '1 minute', run: 'inline', overlap: 'allow' })
class AllowInline extends Interactor {
  constructor(private readonly gate: Gate) {
    super();
  }
  call(): Promise<string> {
    return this.gate.pass();
  }
}

/** Every minute, inline, a cluster-wide singleton. */
@Task({ every: '1 minute', run: 'inline', lock: true })
class LockedInline extends Interactor {
  constructor(private readonly gate: Gate) {
    super();
  }
  call(): Promise<string> {
    return this.gate.pass();
  }
}

/** Half a minute before the first tick of the every-minute tasks. */
const START = at('2031-05-05T12:00:30Z');
const TICK = (n: number) => at('2031-05-05T12:00:00Z') + n * MINUTE;

isolateEnv();
const root = uniquePrefix('time-ii-overlap');
let count = 0;
const apps = new Apps();
const gates: Gate[] = [];
afterEach(async () => {
  // Let every held call go first, so closing does not wait out the shutdown grace.
  for (const gate of gates.splice(0)) gate.releaseAll();
  await apps.closeAll();
});
afterAll(() => deleteKeys(root));

interface Booted {
  readonly app: INestApplication;
  readonly clock: ManualClock;
  readonly gate: Gate;
  readonly results: Results;
  readonly registry: Registry;
  readonly prefix: string;
}

async function boot(
  task: Type<Interactor>,
  transport: 'redis' | 'memory',
  options: { prefix?: string; clock?: ManualClock } & InteractorsModuleOptions = {},
): Promise<Booted> {
  const clock = options.clock ?? new ManualClock(START);
  const registry = new Registry();
  const prefix = options.prefix ?? `${root}:${++count}`;
  const app = await apps.boot({
    imports: [
      InteractorsModule.forRoot({
        ...(transport === 'redis' ? { redis: REDIS_URL } : {}),
        prefix,
        clock,
        metrics: { registry },
        shutdownGrace: 1_000,
      }),
    ],
    providers: [Gate, task],
  });
  const gate = app.get(Gate);
  gates.push(gate);
  return { app, clock, gate, results: new Results(app), registry, prefix };
}

/** Sets the clock to tick `n` and wakes the dispatcher for it. */
async function tick({ app, clock }: Booted, n: number): Promise<void> {
  clock.set(TICK(n));
  await dispatcherOf(app).wake();
}

describe.each(['redis', 'memory'] as const)('inline overlap in one process (%s)', (transport) => {
  it("'skip' is the default: a tick while the previous run is in flight is skipped (overlap); the next one after it finished runs", async () => {
    const booted = await boot(SkipInline, transport);
    const { gate, results, registry, app } = booted;
    expect(dispatcherOf(app).nextDueAt('SkipInline')).toBe(TICK(1));

    await tick(booted, 1);
    await waitFor(() => gate.entered.length === 1, 2_000, 'the first tick to enter call()');
    expect(gate.entered[0]).toMatchObject({ trigger: 'cron', dueAt: TICK(1) });

    // The first run is still in flight: tick 2 is skipped, without entering call().
    await tick(booted, 2);
    await waitFor(() => results.of('SkipInline').length === 1, 2_000, 'the skipped tick');
    expect(results.of('SkipInline')[0]).toMatchObject({
      outcome: 'skipped',
      reason: 'overlap',
      trigger: 'cron',
      dueAt: TICK(2),
    });
    expect(gate.entered).toHaveLength(1);
    expect(await runsTotal(registry, 'SkipInline', 'skipped', 'overlap')).toBe(1);

    // The first run ends; tick 3 finds nothing in flight and runs.
    gate.releaseOne();
    await waitFor(() => results.of('SkipInline').length === 2, 2_000, 'the first run to end');
    expect(results.of('SkipInline')[1]).toMatchObject({ outcome: 'success', dueAt: TICK(1) });

    await tick(booted, 3);
    await waitFor(() => gate.entered.length === 2, 2_000, 'tick 3 to enter call()');
    expect(gate.entered[1]).toMatchObject({ trigger: 'cron', dueAt: TICK(3) });
    gate.releaseAll();
    await waitFor(() => results.of('SkipInline').length === 3, 2_000, 'tick 3 to end');
    expect(results.outcomes('SkipInline')).toEqual(['skipped/overlap', 'success', 'success']);
    expect(results.of('SkipInline').map((r) => r.dueAt)).toEqual([TICK(2), TICK(1), TICK(3)]);
    expect(await runSeries(registry, 'SkipInline')).toEqual({
      success: 2,
      'skipped/overlap': 1,
    });
  });

  it('a run started by Interactors.call() is in flight for a tick; a tick never blocks call()', async () => {
    const booted = await boot(SkipInline, transport);
    const { gate, results, registry, app } = booted;
    const interactors = app.get(Interactors);

    // An explicit call holds the task: the tick that comes meanwhile is skipped.
    const called = interactors.call(SkipInline);
    await waitFor(() => gate.entered.length === 1, 2_000, 'the call to enter call()');
    await tick(booted, 1);
    await waitFor(() => results.of('SkipInline').length === 1, 2_000, 'the skipped tick');
    expect(results.of('SkipInline')[0]).toMatchObject({
      outcome: 'skipped',
      reason: 'overlap',
      dueAt: TICK(1),
    });
    gate.releaseAll();
    await expect(called).resolves.toMatch(/^done /);

    // A tick in flight: explicit calls still run, and overlap it and each other.
    await tick(booted, 2);
    await waitFor(() => gate.entered.length === 2, 2_000, 'tick 2 to enter call()');
    const second = interactors.run(SkipInline);
    const third = interactors.run(SkipInline);
    await waitFor(() => gate.entered.length === 4, 2_000, 'both calls to enter call()');
    expect(gate.entered.map((run) => run.trigger)).toEqual(['call', 'cron', 'call', 'call']);
    expect(gate.holding).toBe(3);
    gate.releaseAll();
    expect((await second).outcome).toBe('success');
    expect((await third).outcome).toBe('success');
    await waitFor(() => results.of('SkipInline').length === 5, 2_000, 'every run to end');
    expect(await runSeries(registry, 'SkipInline')).toEqual({
      success: 4,
      'skipped/overlap': 1,
    });
  });

  it('a run past its timeout is still in flight until call() settles: ticks stay skipped', async () => {
    const booted = await boot(SkipWithTimeout, transport);
    const { gate, results, registry } = booted;

    await tick(booted, 1);
    await waitFor(
      () => results.of('SkipWithTimeout').length === 1,
      2_000,
      'the first run to time out',
    );
    expect(results.outcomes('SkipWithTimeout')).toEqual(['timeout']);
    expect(gate.holding).toBe(1);

    await tick(booted, 2);
    await waitFor(() => results.of('SkipWithTimeout').length === 2, 2_000, 'tick 2');
    expect(results.outcomes('SkipWithTimeout')).toEqual(['timeout', 'skipped/overlap']);

    gate.releaseAll();
    await sleep(50); // call() settles; the run is no longer in flight
    await tick(booted, 3);
    await waitFor(() => gate.entered.length === 2, 2_000, 'tick 3 to enter call()');
    expect(gate.entered[1]!.dueAt).toBe(TICK(3));
    gate.releaseAll();
    expect(await runsTotal(registry, 'SkipWithTimeout', 'skipped', 'overlap')).toBe(1);
  });

  it("'allow': a tick while the previous run is in flight runs too, concurrently", async () => {
    const booted = await boot(AllowInline, transport);
    const { gate, results, registry } = booted;

    await tick(booted, 1);
    await waitFor(() => gate.entered.length === 1, 2_000, 'tick 1 to enter call()');
    await tick(booted, 2);
    await waitFor(() => gate.entered.length === 2, 2_000, 'tick 2 to enter call()');
    expect(gate.holding).toBe(2);
    expect(gate.entered.map((run) => run.dueAt)).toEqual([TICK(1), TICK(2)]);
    expect(results.of('AllowInline')).toEqual([]);

    gate.releaseAll();
    await waitFor(() => results.of('AllowInline').length === 2, 2_000, 'both runs to end');
    expect(results.outcomes('AllowInline')).toEqual(['success', 'success']);
    expect(await runSeries(registry, 'AllowInline')).toEqual({ success: 2 });
  });
});

describe('inline ticks of a task with lock: true (Redis)', () => {
  it('in one process, a tick while the previous run holds the lock is locked, not overlap', async () => {
    const booted = await boot(LockedInline, 'redis');
    const { gate, results, registry } = booted;

    await tick(booted, 1);
    await waitFor(() => gate.entered.length === 1, 2_000, 'tick 1 to enter call()');
    await tick(booted, 2);
    await waitFor(() => results.of('LockedInline').length === 1, 2_000, 'tick 2');
    expect(results.of('LockedInline')[0]).toMatchObject({ outcome: 'locked', dueAt: TICK(2) });
    expect(results.of('LockedInline')[0]!.reason).toBeUndefined();
    gate.releaseAll();
    await waitFor(() => results.of('LockedInline').length === 2, 2_000, 'tick 1 to end');
    expect(await runSeries(registry, 'LockedInline')).toEqual({ success: 1, locked: 1 });
  });

  it('two apps sharing a prefix, each claiming its own tick: the second run while the first holds the lock is locked', async () => {
    const prefix = `${root}:${++count}`;
    const a = await boot(LockedInline, 'redis', { prefix });
    const b = await boot(LockedInline, 'redis', { prefix });

    // A claims tick 1 and holds the lock in call().
    await tick(a, 1);
    await waitFor(() => a.gate.entered.length === 1, 2_000, 'tick 1 to enter call() in A');
    // B claims tick 2 (a later tick, so the claim is won) while A still holds the lock.
    await tick(b, 2);
    await waitFor(() => b.results.of('LockedInline').length === 1, 2_000, 'tick 2 in B');
    expect(b.results.of('LockedInline')[0]).toMatchObject({
      outcome: 'locked',
      trigger: 'cron',
      dueAt: TICK(2),
    });
    expect(b.results.of('LockedInline')[0]!.reason).toBeUndefined();
    expect(b.gate.entered).toEqual([]);
    expect(await runSeries(b.registry, 'LockedInline')).toEqual({ locked: 1 });
    expect(await runsTotal(b.registry, 'LockedInline', 'skipped', 'overlap')).toBe(0);

    // A's run ends and frees the lock; B's next tick runs.
    a.gate.releaseAll();
    await waitFor(() => a.results.of('LockedInline').length === 1, 2_000, 'tick 1 to end in A');
    expect(a.results.outcomes('LockedInline')).toEqual(['success']);
    await tick(b, 3);
    await waitFor(() => b.gate.entered.length === 1, 2_000, 'tick 3 to enter call() in B');
    expect(b.gate.entered[0]!.dueAt).toBe(TICK(3));
    b.gate.releaseAll();
    await waitFor(() => b.results.of('LockedInline').length === 2, 2_000, 'tick 3 to end in B');
    expect(b.results.outcomes('LockedInline')).toEqual(['locked', 'success']);
    // Each tick ran (or was refused) once in total: A never fired ticks 2 and 3.
    await sleep(100);
    expect(a.results.of('LockedInline').map((r) => r.dueAt)).toEqual([TICK(1)]);
  });
});
