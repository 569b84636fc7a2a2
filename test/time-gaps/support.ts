/**
 * Helpers of the time-gaps tests (issue "Time I", parts 1, 2 and 6): a clock the test sets,
 * whole-interval instants far from the real time, metrics read from a per-app registry,
 * and a redis-server of the test's own that it can kill, restart or pause.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { InteractorsMetrics } from '../../src/index.js';
import { INTERACTORS_TRANSPORT } from '../../src/interactors.constants.js';
import { TaskDispatcher } from '../../src/scheduling/task.dispatcher.js';
import type { RedisTransport } from '../../src/transport/redis.transport.js';
import { freePort, sleep } from '../src/helpers.js';
import { Metrics, parseMetrics } from '../pipeline/helpers.js';

export {
  ManualClock,
  REDIS_URL,
  deleteKeys,
  sleep,
  uniquePrefix,
  waitFor,
} from '../src/helpers.js';

/**
 * A whole multiple of `interval` about a week from now: instants `base + k * interval` are
 * the ticks of an `every: interval` task. Far from the real time, so a test that passes
 * shows the scheduler reads the injected clock, never `Date.now()`.
 */
export function aligned(interval: number): number {
  const later = Date.now() + 7 * 86_400_000;
  return Math.floor(later / interval) * interval;
}

/** One fresh prefix per test under a file's root prefix. */
export class Prefixes {
  private count = 0;
  constructor(readonly root: string) {}

  next(): string {
    return `${this.root}:${++this.count}`;
  }
}

/** The dispatcher of an app (internal; the tests drive its wakes by hand). */
export function dispatcherOf(app: INestApplication): TaskDispatcher {
  return app.get(TaskDispatcher, { strict: false });
}

/** A fresh Prometheus registry per app, so two apps in one process never share series. */
export function freshMetrics(): { metrics: { registry: Registry } } {
  return { metrics: { registry: new Registry() } };
}

/** The app's metrics, read through the Prometheus text format as a scrape would see them. */
export async function metricsOf(app: INestApplication): Promise<Metrics> {
  const { registry } = app.get(InteractorsMetrics);
  return new Metrics(parseMetrics(await registry.metrics()));
}

/** `interactor_runs_total{task,outcome="skipped",reason="missed"}`; undefined when the series is absent. */
export async function missedOf(app: INestApplication, task: string): Promise<number | undefined> {
  return (await metricsOf(app)).value('interactor_runs_total', {
    task,
    outcome: 'skipped',
    reason: 'missed',
  });
}

/** `interactor_runs_total{task,outcome,reason=""}`; undefined when the series is absent. */
export async function runsOf(
  app: INestApplication,
  task: string,
  outcome: string,
): Promise<number | undefined> {
  return (await metricsOf(app)).value('interactor_runs_total', { task, outcome, reason: '' });
}

/** Polls until the (sync or async) predicate holds; throws after `timeoutMs`. */
export async function waitUntil(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Awaits a promise and tells how long it took in real time (ms). */
export async function timed(promise: Promise<unknown>): Promise<number> {
  const started = performance.now();
  await promise;
  return performance.now() - started;
}

/**
 * A Nest logger keeping only warnings and errors: the run-per-tick log lines of a long
 * loop would only cost memory.
 */
export class QuietLogger implements LoggerService {
  readonly lines: string[] = [];

  log(): void {}
  debug(): void {}
  verbose(): void {}
  warn(message: unknown, ...rest: unknown[]): void {
    this.lines.push(`warn ${[message, ...rest].map(String).join(' ')}`);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.lines.push(`error ${[message, ...rest].map(String).join(' ')}`);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.lines.push(`fatal ${[message, ...rest].map(String).join(' ')}`);
  }
}

/** Lines that contain every one of the given fragments. */
export function containing(lines: readonly string[], ...fragments: string[]): string[] {
  return lines.filter((line) => fragments.every((fragment) => line.includes(fragment)));
}

export const iso = (instant: number) => new Date(instant).toISOString();

/** A small seeded PRNG (mulberry32), so a failing random run can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The module's own (fail-fast) Redis client of an app on the Redis transport. */
export function moduleClient(app: INestApplication): Redis {
  return app.get<RedisTransport>(INTERACTORS_TRANSPORT, { strict: false }).client;
}

/**
 * A redis-server of the test's own on a free port, never the shared one on 6379. It can be
 * killed (SIGKILL) and started again on the same port, or paused (SIGSTOP) and resumed
 * (SIGCONT). Without `persistent` it keeps nothing on disk, so a restart starts empty; with
 * it, an append-only file fsynced on every write (in a temporary directory) brings every
 * acknowledged write back after a restart.
 */
export class OwnRedis {
  private child: ChildProcess | undefined;
  private exited: Promise<unknown> = Promise.resolve();
  private paused = false;
  private readonly dir: string | undefined;
  port = 0;

  constructor(private readonly persistent = false) {
    if (persistent) this.dir = mkdtempSync(join(tmpdir(), 'time-gaps-redis-'));
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.child) return;
    this.port ||= await freePort();
    const persistence = this.persistent
      ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.dir!]
      : ['--appendonly', 'no'];
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', ...persistence],
      { stdio: 'ignore' },
    );
    this.child = child;
    this.paused = false;
    this.exited = new Promise((resolve) => child.once('exit', resolve));
    const probe = new Redis(this.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on('error', () => undefined);
    try {
      for (let i = 0; ; i++) {
        try {
          await probe.connect();
          if ((await probe.ping()) === 'PONG') return;
        } catch (error) {
          if (i >= 100 || child.exitCode !== null)
            throw new Error(`own redis-server on ${this.port} did not start`, { cause: error });
          probe.disconnect();
          await sleep(50);
        }
      }
    } finally {
      probe.disconnect();
    }
  }

  /** SIGKILL: an abrupt outage; resolves once the process is gone and the port is free. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (this.paused) child.kill('SIGCONT');
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGSTOP: the server keeps its connections and data, but answers nothing. */
  pause(): void {
    this.child?.kill('SIGSTOP');
    this.paused = true;
  }

  /** SIGCONT: it answers again, and executes what was sent to it while paused. */
  resume(): void {
    this.child?.kill('SIGCONT');
    this.paused = false;
  }

  /** Reads one hash field with a short-lived client. */
  async hget(key: string, field: string): Promise<string | null> {
    const client = new Redis(this.url, { maxRetriesPerRequest: 1 });
    try {
      return await client.hget(key, field);
    } finally {
      client.disconnect();
    }
  }

  /** Kills the server and removes its files. */
  async dispose(): Promise<void> {
    await this.kill();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
