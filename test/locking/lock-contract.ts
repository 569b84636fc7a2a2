import { randomBytes } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { Registry } from 'prom-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  Interactor,
  Interactors,
  InteractorsLocks,
  InteractorsModule,
  Task,
  TaskRun,
  type InteractorsModuleOptions,
} from '../../src/index.js';
import { Apps, CapturingLogger, deferred, isolateEnv, sleep, waitFor } from '../src/helpers.js';
import { counterValue, deleteUnder, REDIS_URL, sharedRedis } from './support.js';

/** Where a test holds a run open until it lets it go; shared by every app of the test process. */
class Holds {
  private readonly open = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  entered: Array<{ task: string; key: string; token: number | undefined; at: number }> = [];

  /** Runs that pass `key` wait until `release(key)`. */
  hold(key: string): void {
    this.open.set(key, deferred());
  }

  release(key: string): void {
    this.open.get(key)?.resolve();
    this.open.delete(key);
  }

  async pass(key: string): Promise<void> {
    const run = TaskRun.current()!;
    this.entered.push({ task: run.task, key, token: run.fencingToken, at: Date.now() });
    await this.open.get(key)?.promise;
  }

  reset(): void {
    for (const open of this.open.values()) open.resolve();
    this.open.clear();
    this.entered = [];
  }
}

export const holds = new Holds();

@Task({ lock: true })
export class Singleton extends Interactor {
  async call(): Promise<string> {
    await holds.pass('singleton');
    return 'done';
  }
}

@Task({ lock: { key: (gate: string) => gate } })
export class PerGate extends Interactor {
  async call(gate: string): Promise<string> {
    await holds.pass(gate);
    return gate;
  }
}

export const LONG_TTL = 1_000;

/** Lasts `ms`: by default a little over 3 × its lock's ttl. */
@Task({ lock: { ttl: LONG_TTL } })
export class LongRun extends Interactor {
  async call(ms = 3 * LONG_TTL + 200): Promise<boolean> {
    await sleep(ms);
    return TaskRun.current()!.signal.aborted;
  }
}

@Task({ lock: { ttl: LONG_TTL }, timeout: 300 })
export class TimesOut extends Interactor {
  async call(): Promise<void> {
    await holds.pass('times-out');
  }
}

export const CONTRACT_TASKS = [Singleton, PerGate, LongRun, TimesOut];

export type TransportKind = 'redis' | 'memory';

export interface Side {
  readonly app: INestApplication;
  readonly interactors: Interactors;
  readonly locks: InteractorsLocks;
  readonly registry: Registry;
  /** Every app's log lines (Nest's logger is process-wide). */
  readonly logger: CapturingLogger;
}

/**
 * Boots two "processes" on one lock backend: on Redis two apps with the same prefix; in
 * memory, whose locks live in one app, the same app twice.
 */
export function lockHarness(kind: TransportKind, file: string) {
  isolateEnv();
  const root = `test:${file}-${kind}:${randomBytes(5).toString('hex')}`;
  let count = 0;
  const apps = new Apps();
  // Nest's Logger is static: the last app booted logs for all, so every app shares this one.
  const logger = new CapturingLogger();
  afterEach(async () => {
    holds.reset();
    await apps.closeAll();
    logger.lines.length = 0;
  });
  afterAll(async () => {
    const redis = sharedRedis();
    await deleteUnder(redis, root);
    await redis.quit();
  });

  async function bootOne(
    prefix: string,
    options: InteractorsModuleOptions,
    tasks: unknown[],
  ): Promise<Side> {
    const registry = new Registry();
    const app = await apps.boot(
      {
        imports: [
          InteractorsModule.forRoot({
            ...(kind === 'redis' ? { redis: REDIS_URL } : {}),
            prefix,
            roles: [],
            metrics: { registry },
            shutdownGrace: 5_000,
            ...options,
          }),
        ],
        providers: tasks as never[],
      },
      logger,
    );
    return {
      app,
      interactors: app.get(Interactors),
      locks: app.get(InteractorsLocks),
      registry,
      logger,
    };
  }

  async function boot(
    options: InteractorsModuleOptions = {},
    tasks: unknown[] = CONTRACT_TASKS,
  ): Promise<{ first: Side; second: Side; prefix: string }> {
    const prefix = `${root}:${++count}`;
    const first = await bootOne(prefix, options, tasks);
    const second = kind === 'redis' ? await bootOne(prefix, options, tasks) : first;
    return { first, second, prefix };
  }

  return { boot, apps };
}

/** The lock behaviour both transports share, run against each. */
export function lockContract(kind: TransportKind): void {
  const { boot } = lockHarness(kind, 'lock-contract');

  describe(`lock contract (${kind})`, () => {
    it('two runs at once: one success with its value, one locked (not a failure); then it runs again', async () => {
      const { first, second } = await boot();
      holds.hold('singleton');
      const holder = first.interactors.run(Singleton);
      await waitFor(() => holds.entered.length === 1, 5_000, 'the holder inside call()');
      const other = await second.interactors.run(Singleton);
      expect(other.outcome).toBe('locked');
      expect(other.value).toBeUndefined();
      expect(other.error).toBeUndefined();
      expect(await second.interactors.call(Singleton)).toBeUndefined();
      expect(holds.entered).toHaveLength(1);
      holds.release('singleton');
      const held = await holder;
      expect(held).toMatchObject({ outcome: 'success', value: 'done' });
      const again = await second.interactors.run(Singleton);
      expect(again).toMatchObject({ outcome: 'success', value: 'done' });
      expect(
        await counterValue(second.registry, 'interactor_runs_total', {
          task: 'Singleton',
          outcome: 'locked',
        }),
      ).toBe(2);
      expect(
        await counterValue(second.registry, 'interactor_runs_total', {
          task: 'Singleton',
          outcome: 'failure',
        }),
      ).toBe(0);
    });

    it('fencing tokens: every acquisition gets one, strictly increasing per key; a locked attempt gets none', async () => {
      const { first, second } = await boot();
      for (let i = 0; i < 10; i++) {
        holds.hold('singleton');
        const holder = first.interactors.run(Singleton);
        await waitFor(() => holds.entered.length === 2 * i + 1, 5_000, `holder ${i}`);
        expect((await second.interactors.run(Singleton)).outcome).toBe('locked');
        holds.release('singleton');
        expect((await holder).outcome).toBe('success');
        expect((await second.interactors.run(Singleton)).outcome).toBe('success');
      }
      const tokens = holds.entered.map((entry) => entry.token!);
      expect(tokens).toHaveLength(20);
      for (const token of tokens) expect(Number.isInteger(token) && token > 0).toBe(true);
      for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]!);
      // Another key has a counter of its own: its first token does not continue this one.
      expect((await first.interactors.run(PerGate, 'fresh-gate')).outcome).toBe('success');
      const fresh = holds.entered.at(-1)!;
      expect(fresh.key).toBe('fresh-gate');
      expect(fresh.token).toBe(1);
    });

    it('per-argument keys: different gates run at once, the same gate is locked', async () => {
      const { first, second } = await boot();
      holds.hold('gate-1');
      holds.hold('gate-2');
      const one = first.interactors.run(PerGate, 'gate-1');
      const two = second.interactors.run(PerGate, 'gate-2');
      await waitFor(() => holds.entered.length === 2, 5_000, 'both gates inside call()');
      expect((await second.interactors.run(PerGate, 'gate-1')).outcome).toBe('locked');
      expect((await first.interactors.run(PerGate, 'gate-2')).outcome).toBe('locked');
      // The task name alone is not the lock: a third gate runs while both are held.
      expect((await first.interactors.run(PerGate, 'gate-3')).outcome).toBe('success');
      holds.release('gate-1');
      holds.release('gate-2');
      expect(await Promise.all([one, two])).toMatchObject([
        { outcome: 'success', value: 'gate-1' },
        { outcome: 'success', value: 'gate-2' },
      ]);
      expect(holds.entered.map((entry) => entry.key).toSorted()).toEqual([
        'gate-1',
        'gate-2',
        'gate-3',
      ]);
    });

    it(`a run lasting 3 × ttl (${LONG_TTL} ms) keeps its lock throughout and is not aborted`, async () => {
      const { first, second } = await boot();
      const startedAt = Date.now();
      const long = first.interactors.run(LongRun);
      await sleep(50);
      const attempts: Array<{ at: number; outcome: string }> = [];
      while (Date.now() - startedAt < 3 * LONG_TTL) {
        attempts.push({
          at: Date.now() - startedAt,
          outcome: (await second.interactors.run(LongRun)).outcome,
        });
        await sleep(100);
      }
      const result = await long;
      expect(result).toMatchObject({ outcome: 'success', value: false });
      expect(attempts.filter((a) => a.at > 2 * LONG_TTL).length).toBeGreaterThan(3);
      expect(attempts.filter((a) => a.outcome !== 'locked')).toEqual([]);
      expect((await second.interactors.run(LongRun, 0)).outcome).toBe('success');
      expect(
        await counterValue(first.registry, 'interactor_lock_errors_total', {
          task: 'LongRun',
          kind: 'extend',
        }),
      ).toBe(0);
    });

    it('a timed-out run keeps its lock until its call() settles', async () => {
      const { first, second } = await boot();
      holds.hold('times-out');
      const result = await first.interactors.run(TimesOut);
      expect(result.outcome).toBe('timeout');
      // call() is still going, past the lock's first ttl: the lock is still extended.
      const until = Date.now() + LONG_TTL + 500;
      while (Date.now() < until) {
        expect((await second.interactors.run(TimesOut)).outcome).toBe('locked');
        await sleep(100);
      }
      expect(holds.entered).toHaveLength(1);
      holds.release('times-out');
      // Once call() settled the lock is released: the next run gets in (and returns at once).
      let next = await second.interactors.run(TimesOut);
      const deadline = Date.now() + 1_000;
      while (next.outcome === 'locked' && Date.now() < deadline) {
        await sleep(20);
        next = await second.interactors.run(TimesOut);
      }
      expect(next.outcome).toBe('success');
      expect(holds.entered).toHaveLength(2);
    });

    it('InteractorsLocks.withLock locks any code with the same semantics', async () => {
      const { first, second } = await boot();
      const inside = deferred();
      const letGo = deferred();
      const held = first.locks.withLock('nightly-report', async (signal, lease) => {
        inside.resolve();
        await letGo.promise;
        return { aborted: signal.aborted, token: lease.fencingToken, key: lease.key };
      });
      await inside.promise;
      let ran = false;
      expect(await second.locks.withLock('nightly-report', () => (ran = true))).toEqual({
        acquired: false,
      });
      expect(ran).toBe(false);
      expect(await second.locks.withLock('other-report', () => 'other')).toEqual({
        acquired: true,
        value: 'other',
      });
      letGo.resolve();
      const result = await held;
      expect(result).toMatchObject({
        acquired: true,
        value: { aborted: false, key: 'nightly-report' },
      });
      const firstToken = (result as { value: { token: number } }).value.token;
      expect(Number.isInteger(firstToken)).toBe(true);
      const again = await second.locks.withLock('nightly-report', (_, lease) => lease.fencingToken);
      expect(again.acquired).toBe(true);
      expect((again as { value: number }).value).toBeGreaterThan(firstToken);
    });
  });
}
