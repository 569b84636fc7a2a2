import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { freePort, REDIS_URL, sleep } from '../src/helpers.js';

export { REDIS_URL };

/** A short-lived client on the shared Redis, for a test to read and write keys itself. */
export function sharedRedis(): Redis {
  return new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
}

/** Every key matching `pattern` (SCAN, never KEYS on the shared Redis), sorted. */
export async function scanKeys(client: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found.toSorted();
}

/** Deletes every key under `<prefix>:` (SCAN + DEL; never FLUSHALL on the shared Redis). */
export async function deleteUnder(client: Redis, prefix: string): Promise<void> {
  const keys = await scanKeys(client, `${prefix}:*`);
  for (let i = 0; i < keys.length; i += 500) await client.del(...keys.slice(i, i + 500));
}

/** A counter's value for exactly these labels (0 when the series does not exist). */
export async function counterValue(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  const match = values.find((value) =>
    Object.entries(labels).every(([key, expected]) => String(value.labels[key]) === expected),
  );
  return match?.value ?? 0;
}

/** Counts of `interactor_lock_errors_total{task}` by kind. */
export async function lockErrors(registry: Registry, task: string) {
  return {
    extend: await counterValue(registry, 'interactor_lock_errors_total', { task, kind: 'extend' }),
    release: await counterValue(registry, 'interactor_lock_errors_total', {
      task,
      kind: 'release',
    }),
  };
}

/**
 * A redis-server of the test's own, on a free port, without persistence, that the test may
 * stop and start again (on the same port). Never the shared one on 6379.
 */
export class OwnRedis {
  private child: ChildProcess | undefined;
  private exited: Promise<unknown> = Promise.resolve();
  port = 0;

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.child) return;
    this.port ||= await freePort();
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    this.child = child;
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
          await sleep(50);
        }
      }
    } finally {
      probe.disconnect();
    }
  }

  /** Kills it (SIGKILL: an abrupt outage) and waits until it is gone. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await this.exited;
  }
}
