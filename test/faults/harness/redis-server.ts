import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, sleep } from '../../src/helpers.js';

/**
 * A redis-server of the scenario's own, on a free loopback port, that it may freeze
 * (SIGSTOP), thaw, kill and restart without touching the shared one. `persistent` turns
 * on the append-only file fsynced on every write, so a restart keeps every acknowledged
 * write.
 */
export class FaultRedis {
  port = 0;
  private child: ChildProcess | undefined;
  private exited: Promise<unknown> = Promise.resolve();
  private frozen = false;
  private readonly dir = mkdtempSync(join(tmpdir(), 'faults-redis-'));

  constructor(readonly options: { persistent?: boolean; password?: string } = {}) {}

  get url(): string {
    const auth = this.options.password ? `:${encodeURIComponent(this.options.password)}@` : '';
    return `redis://${auth}127.0.0.1:${this.port}`;
  }

  /** Starts (or restarts, on the same port and data directory) and waits for PONG. */
  async start(): Promise<void> {
    this.port ||= await freePort();
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir];
    args.push('--save', '');
    if (this.options.persistent) args.push('--appendonly', 'yes', '--appendfsync', 'always');
    else args.push('--appendonly', 'no');
    if (this.options.password) args.push('--requirepass', this.options.password);
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', resolve));
    for (let i = 0; ; i++) {
      if (await this.answers()) return;
      if (i >= 200 || child.exitCode !== null) {
        throw new Error(`own redis-server on ${this.port} did not start`);
      }
      await sleep(50);
    }
  }

  /** Whether it answers PING within a second. */
  async answers(): Promise<boolean> {
    const probe = this.client({ lazyConnect: true });
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      probe.disconnect();
    }
  }

  /** A client of the harness's own that fails fast rather than queueing through outages. */
  client(extra: { lazyConnect?: boolean } = {}): Redis {
    const client = new Redis(this.url, {
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 1_000,
      commandTimeout: 5_000,
      ...extra,
    });
    client.on('error', () => undefined);
    return client;
  }

  /** SIGSTOP: connections stay open and nothing is answered. */
  freeze(): void {
    this.child?.kill('SIGSTOP');
    this.frozen = true;
  }

  /** SIGCONT: it answers again. */
  thaw(): void {
    this.child?.kill('SIGCONT');
    this.frozen = false;
  }

  /** Ends the server with SIGKILL (thawed first) and waits until it is gone; data stays. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (this.frozen) this.thaw();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await this.exited;
  }

  /** Kills the server and removes its data directory. */
  async dispose(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
