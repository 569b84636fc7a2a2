import { randomBytes } from 'node:crypto';
import type { INestApplication, LoggerService, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, vi } from 'vitest';
import type { Clock } from '../../src/index.js';

/** The Redis every queueing test talks to (CI may export REDIS_URL). */
export const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

/** A key prefix no other file or run uses: `test:q-<name>:<random>`. */
export function uniquePrefix(name: string): string {
  return `test:q-${name}:${randomBytes(5).toString('hex')}`;
}

/** Hands out one fresh prefix per test under a file prefix, and deletes all of them. */
export class Prefixes {
  private count = 0;
  constructor(readonly root: string) {}

  /** `<root>:<n>`: each test gets its own keys, so leftovers never leak into the next one. */
  next(): string {
    return `${this.root}:${++this.count}`;
  }

  /** SCAN + DEL of `<root>:*` (never FLUSHALL: other files share this Redis). */
  cleanup(): Promise<void> {
    return deleteKeys(this.root);
  }
}

async function withClient<T>(fn: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

async function scanKeys(client: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}

/** Deletes every key under `<prefix>:`. */
export function deleteKeys(prefix: string): Promise<void> {
  return withClient(async (client) => {
    const keys = await scanKeys(client, prefix);
    for (let i = 0; i < keys.length; i += 500) await client.del(...keys.slice(i, i + 500));
  });
}

/** Every key under `<prefix>:`, sorted. */
export function keysUnder(prefix: string): Promise<string[]> {
  return withClient(async (client) => (await scanKeys(client, prefix)).toSorted());
}

/**
 * Keys under `<prefix>:` that hold jobs or job state: every key but BullMQ's per-queue
 * `meta` hash, which a Queue writes on its own, asynchronously, some time after it is created.
 */
export async function jobKeysUnder(prefix: string): Promise<string[]> {
  return (await keysUnder(prefix)).filter((key) => !key.endsWith(':meta'));
}

/** Runs a command on a short-lived client. */
export function redis<T>(fn: (client: Redis) => Promise<T>): Promise<T> {
  return withClient(fn);
}

/**
 * BullMQ queues the test opens itself (to read what the module wrote, or to add raw jobs);
 * `closeAll()` in `afterEach` closes every one, with its connection.
 */
export class BullQueues {
  private readonly queues: Queue[] = [];

  open(prefix: string, name: string): Queue {
    const queue = new Queue(name, {
      prefix,
      connection: {
        host: new URL(REDIS_URL).hostname,
        port: Number(new URL(REDIS_URL).port || 6379),
      },
    });
    this.queues.push(queue);
    return queue;
  }

  async closeAll(): Promise<void> {
    const queues = this.queues.splice(0);
    await Promise.all(queues.map((queue) => queue.close()));
  }
}

/**
 * Runs every test with `INTERACTORS_ROLES` / `INTERACTORS_QUEUES` unset (so the shell cannot
 * change the outcome) and restores the environment afterwards.
 */
export function isolateEnv(): void {
  beforeEach(() => {
    vi.stubEnv('INTERACTORS_ROLES', undefined);
    vi.stubEnv('INTERACTORS_QUEUES', undefined);
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });
}

/** A Nest logger that keeps every line instead of printing it. */
export class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  log(message: unknown, ...rest: unknown[]): void {
    this.keep('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.keep('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.keep('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.keep('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.keep('verbose', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.keep('fatal', message, rest);
  }
  private keep(level: string, message: unknown, rest: unknown[]): void {
    const text = [message, ...rest]
      .map((part) => (part instanceof Error ? part.message : String(part)))
      .join(' ');
    this.lines.push(`${level} ${text}`);
  }
}

/** Apps a test boots; `closeAll()` in `afterEach` closes every one of them. */
export class Apps {
  private readonly open: INestApplication[] = [];

  async boot(
    metadata: ModuleMetadata,
    logger: LoggerService = new CapturingLogger(),
  ): Promise<INestApplication> {
    const moduleRef = await Test.createTestingModule(metadata).setLogger(logger).compile();
    const app = moduleRef.createNestApplication({ logger });
    this.open.push(app);
    await app.init();
    return app;
  }

  async closeAll(): Promise<void> {
    const apps = this.open.splice(0);
    await Promise.all(apps.map((app) => app.close()));
  }
}

/**
 * Boots an app that must fail (at compile or at `init()`), closes whatever was created and
 * returns the error. Throws if the boot succeeds.
 */
export async function bootError(metadata: ModuleMetadata): Promise<Error> {
  const logger = new CapturingLogger();
  let moduleRef;
  try {
    moduleRef = await Test.createTestingModule(metadata).setLogger(logger).compile();
  } catch (error) {
    return error as Error;
  }
  const app = moduleRef.createNestApplication({ logger });
  try {
    await app.init();
  } catch (error) {
    await app.close();
    return error as Error;
  }
  await app.close();
  throw new Error('expected the boot to fail, but it succeeded');
}

/** A clock the test sets by hand. */
export class ManualClock implements Clock {
  constructor(private instant: number) {}
  now(): number {
    return this.instant;
  }
  set(instant: number): void {
    this.instant = instant;
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

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
    await sleep(20);
  }
}

/** A promise with its resolver, to hold a task run open until the test lets it go. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Waits until a BullMQ job reaches a final state; returns it, re-read from Redis. */
export async function settled(queue: Queue, id: string, timeoutMs = 10_000): Promise<Job> {
  let job: Job | undefined;
  await waitUntil(
    async () => {
      job = await queue.getJob(id);
      return job !== undefined && job.finishedOn !== undefined;
    },
    timeoutMs,
    `job ${id} on "${queue.name}" to finish`,
  );
  return job!;
}
