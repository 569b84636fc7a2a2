/** Redis chores of the bench: its own keys, a private server, command counts. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { sleep } from './measure.js';

/** A key prefix of this bench run alone: `bench:<random>`. */
export function benchPrefix(): string {
  return `bench:${randomBytes(4).toString('hex')}`;
}

/** A short-lived client for the bench's own commands. */
export function client(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: false });
}

/** Deletes every key under `<prefix>:` (SCAN + DEL; never FLUSHALL: the Redis is shared). */
export async function deleteKeys(url: string, prefix: string): Promise<number> {
  const redis = client(url);
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/** Calls and server time per command, from `INFO commandstats`. */
export type CommandStats = Map<string, { calls: number; usec: number }>;

export async function commandStats(redis: Redis): Promise<CommandStats> {
  const info = await redis.info('commandstats');
  const stats: CommandStats = new Map();
  for (const line of info.split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim());
    if (match) stats.set(match[1]!, { calls: Number(match[2]), usec: Number(match[3]) });
  }
  return stats;
}

/** after − before, per command, leaving out commands that did not change. */
export function statsDelta(before: CommandStats, after: CommandStats): CommandStats {
  const delta: CommandStats = new Map();
  for (const [command, { calls, usec }] of after) {
    const was = before.get(command) ?? { calls: 0, usec: 0 };
    if (calls > was.calls) delta.set(command, { calls: calls - was.calls, usec: usec - was.usec });
  }
  return delta;
}

/** A redis-server of the bench's own, for clean command counts; stopped by its pid. */
export interface PrivateRedis {
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts a non-persistent redis-server on a free port, or resolves to undefined if none is installed. */
export async function startPrivateRedis(): Promise<PrivateRedis | undefined> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'bench-redis-'));
  let child: ChildProcess;
  try {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { cwd: dir, stdio: 'ignore' },
    );
  } catch {
    await rm(dir, { recursive: true, force: true });
    return undefined;
  }
  const failed = new Promise<'failed'>((resolve) => {
    child.once('error', () => resolve('failed'));
    child.once('exit', () => resolve('failed'));
  });
  const url = `redis://127.0.0.1:${port}`;
  // However the bench ends (an error, Ctrl-C), its server does not outlive it.
  const killOnExit = () => {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', killOnExit);
  const stop = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  for (let attempt = 0; attempt < 50; attempt++) {
    const outcome = await Promise.race([failed, ping(url)]);
    if (outcome === 'failed') {
      await stop();
      return undefined;
    }
    if (outcome) return { url, stop };
    await sleep(100);
  }
  await stop();
  return undefined;
}

async function ping(url: string): Promise<boolean> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}
