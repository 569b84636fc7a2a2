import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { INestApplication, LoggerService, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, vi } from 'vitest';
import type { Clock } from '../../src/index.js';

/** The Redis every e2e test talks to (CI exports REDIS_URL; the default is the local one). */
export const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

/** A key prefix no other test file or run uses: `test:<file>:<random>`. */
export function uniquePrefix(file: string): string {
  return `test:${file}:${randomBytes(6).toString('hex')}`;
}

/** Deletes every key under a prefix (SCAN + DEL, never FLUSHALL: other files share this Redis). */
export async function deleteKeys(prefix: string): Promise<void> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

/** Keys currently stored under a prefix. */
export async function keysUnder(prefix: string): Promise<string[]> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
    return found;
  } finally {
    client.disconnect();
  }
}

/**
 * Runs every test of the file with `INTERACTORS_ROLES` / `INTERACTORS_QUEUES` unset (so a
 * developer's shell cannot change the outcome) and restores the environment afterwards.
 * Tests stub further variables with `vi.stubEnv`.
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
      .map((part) => (part instanceof Error ? `${part.message}\n${part.stack}` : String(part)))
      .join(' ');
    this.lines.push(`${level} ${text}`);
  }
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

/**
 * The middle of a second a week from now, for a manual clock: its next whole second is the
 * first due instant of an every-second task. Being far from the real time, it also shows
 * that the scheduler reads the injected clock and not `Date.now()`.
 */
export function midSecond(): number {
  return Math.floor(Date.now() / 1000) * 1000 + 7 * 86_400_000 + 500;
}

/** Apps a test file boots; `closeAll()` in `afterEach` closes every one of them. */
export class Apps {
  private readonly open: INestApplication[] = [];

  /** Compiles and initialises an app; an app whose init fails is closed before rethrowing. */
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

/** Where a boot failed and with what. */
export interface BootFailure {
  readonly error: Error;
  readonly stage: 'compile' | 'init';
}

/**
 * Boots an app that is expected to fail, wherever the failure surfaces (module compile or
 * `app.init()`), and closes whatever was created. Throws if the boot succeeds.
 */
export async function bootFailure(
  metadata: ModuleMetadata,
  logger: LoggerService = new CapturingLogger(),
): Promise<BootFailure> {
  let moduleRef;
  try {
    moduleRef = await Test.createTestingModule(metadata).setLogger(logger).compile();
  } catch (error) {
    return { error: error as Error, stage: 'compile' };
  }
  const app = moduleRef.createNestApplication({ logger });
  try {
    await app.init();
  } catch (error) {
    await app.close();
    return { error: error as Error, stage: 'init' };
  }
  await app.close();
  throw new Error('expected the boot to fail, but it succeeded');
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until the predicate holds; throws after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean,
  timeoutMs: number,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
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

/** A TCP port on 127.0.0.1 where nothing listens (it was free a moment ago). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
