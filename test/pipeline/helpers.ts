import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { INestApplication, LoggerService, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, vi } from 'vitest';

/** The Redis the run-pipeline tests talk to (CI may export REDIS_URL). */
export const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

/** A key prefix no other file or run uses: `test:p-<name>:<random>`. */
export function uniquePrefix(name: string): string {
  return `test:p-${name}:${randomBytes(5).toString('hex')}`;
}

/** One fresh prefix per test under a file prefix; `cleanup()` deletes all of them. */
export class Prefixes {
  private count = 0;
  constructor(readonly root: string) {}

  next(): string {
    return `${this.root}:${++this.count}`;
  }

  /** SCAN + DEL of `<root>:*` (never FLUSHALL: other files share this Redis). */
  cleanup(): Promise<void> {
    return deleteKeys(this.root);
  }
}

/** Runs a command on a short-lived client. */
export async function redis<T>(fn: (client: Redis) => Promise<T>): Promise<T> {
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
  return redis(async (client) => {
    const keys = await scanKeys(client, prefix);
    for (let i = 0; i < keys.length; i += 500) await client.del(...keys.slice(i, i + 500));
  });
}

/** Every key under `<prefix>:`, sorted. */
export function keysUnder(prefix: string): Promise<string[]> {
  return redis(async (client) => (await scanKeys(client, prefix)).toSorted());
}

/**
 * Runs every test with `INTERACTORS_ROLES`, `INTERACTORS_QUEUES` and `INTERACTORS_FORCE`
 * unset (so the shell cannot change the outcome); tests stub further variables with
 * `vi.stubEnv`, and everything is restored afterwards.
 */
export function isolateEnv(): void {
  beforeEach(() => {
    vi.stubEnv('INTERACTORS_ROLES', undefined);
    vi.stubEnv('INTERACTORS_QUEUES', undefined);
    vi.stubEnv('INTERACTORS_FORCE', undefined);
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });
}

/** A Nest logger that keeps every line (with its extra arguments, e.g. a stack) instead of printing it. */
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

  /** Lines of one level (`error`, `log`, ...). */
  at(level: string): string[] {
    return this.lines.filter((line) => line.startsWith(`${level} `));
  }

  /** Lines that contain every one of the given fragments. */
  containing(...fragments: string[]): string[] {
    return this.lines.filter((line) => fragments.every((fragment) => line.includes(fragment)));
  }

  private keep(level: string, message: unknown, rest: unknown[]): void {
    const text = [message, ...rest]
      .map((part) => (part instanceof Error ? `${part.message}\n${part.stack}` : String(part)))
      .join(' ');
    this.lines.push(`${level} ${text}`);
  }
}

/** Apps a test file boots; `closeAll()` in `afterEach` closes every one of them. */
export class Apps {
  private readonly open: INestApplication[] = [];

  /** Compiles and initialises an app (and listens on a free port with `listen: true`). */
  async boot(
    metadata: ModuleMetadata,
    options: { logger?: LoggerService; listen?: boolean } = {},
  ): Promise<INestApplication> {
    const logger = options.logger ?? new CapturingLogger();
    const moduleRef = await Test.createTestingModule(metadata).setLogger(logger).compile();
    const app = moduleRef.createNestApplication({ logger });
    this.open.push(app);
    if (options.listen) await app.listen(0, '127.0.0.1');
    else await app.init();
    return app;
  }

  /** Closes one app now (and forgets it). */
  async close(app: INestApplication): Promise<void> {
    const index = this.open.indexOf(app);
    if (index >= 0) this.open.splice(index, 1);
    await app.close();
  }

  async closeAll(): Promise<void> {
    const apps = this.open.splice(0);
    await Promise.all(apps.map((app) => app.close()));
  }
}

/** BullMQ queues the test opens itself to read what the module wrote; `closeAll()` closes them. */
export class BullQueues {
  private readonly queues: Queue[] = [];

  open(prefix: string, name: string): Queue {
    const url = new URL(REDIS_URL);
    const queue = new Queue(name, {
      prefix,
      connection: { host: url.hostname, port: Number(url.port || 6379) },
    });
    this.queues.push(queue);
    return queue;
  }

  async closeAll(): Promise<void> {
    const queues = this.queues.splice(0);
    await Promise.all(queues.map((queue) => queue.close()));
  }
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

/** One sample of the Prometheus text format. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** GETs `/metrics` of a listening app over HTTP and returns the body. */
export async function scrapeText(app: INestApplication): Promise<string> {
  const { port } = (app.getHttpServer() as { address(): AddressInfo }).address();
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`);
  return response.text();
}

/** Parses the Prometheus text exposition format (the subset prom-client writes). */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key!] = value!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** Scrapes `/metrics` over HTTP and parses it. */
export async function scrape(app: INestApplication): Promise<Metrics> {
  return new Metrics(parseMetrics(await scrapeText(app)));
}

/** Lookups over one scrape. */
export class Metrics {
  constructor(readonly samples: readonly Sample[]) {}

  /** Samples of a name whose labels include the given ones. */
  find(name: string, labels: Record<string, string> = {}): Sample[] {
    return this.samples.filter(
      (sample) =>
        sample.name === name &&
        Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
    );
  }

  /** The value of the one sample matching exactly these labels, or undefined when absent. */
  value(name: string, labels: Record<string, string>): number | undefined {
    const found = this.samples.filter(
      (sample) =>
        sample.name === name &&
        Object.keys(sample.labels).length === Object.keys(labels).length &&
        Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
    );
    if (found.length > 1) throw new Error(`${found.length} samples of ${name} match`);
    return found[0]?.value;
  }

  /** Every sample naming the task (in any `interactor_*` metric). */
  ofTask(task: string): Sample[] {
    return this.samples.filter((sample) => sample.labels.task === task);
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

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
