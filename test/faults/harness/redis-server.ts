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

  /**
   * Starts (or restarts, on the same port and data directory) and waits until the server
   * answers as itself: its own child, alive, is the process behind the port.
   */
  async start(): Promise<void> {
    if (!this.port) {
      // Nothing holds the URL yet, so a port taken between the pick and the bind (by another
      // scenario's pick, or an ephemeral socket) is simply picked again, once.
      this.port = await freePort();
      const refused = await this.launch();
      if (refused === undefined) return;
      this.port = await freePort();
      const again = await this.launch();
      if (again === undefined) return;
      throw new Error(
        `own redis-server could not start on two free ports: ${refused}; ${again}${await this.occupant()}`,
      );
    }
    // A restart must keep the port: the fault apps hold the URL. A port taken meanwhile by
    // an ephemeral socket is often let go soon, so one more try; a listener stays.
    const refused = await this.launch();
    if (refused === undefined) return;
    await sleep(500);
    const again = await this.launch();
    if (again === undefined) return;
    const tries =
      refused === again ? `${again}, twice 500 ms apart` : `${again} (first: ${refused})`;
    throw new Error(
      `own redis-server could not restart on its port ${this.port}, which the fault apps hold: ${tries}${await this.occupant()}`,
    );
  }

  /**
   * Spawns redis-server on `port` and waits until it answers as itself. Returns undefined
   * once it does, or why it exited (a bind failure, mostly); throws if it stays up and
   * silent for 10 s.
   */
  private async launch(): Promise<string | undefined> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir];
    args.push('--save', '');
    if (this.options.persistent) args.push('--appendonly', 'yes', '--appendfsync', 'always');
    else args.push('--appendonly', 'no');
    if (this.options.password) args.push('--requirepass', this.options.password);
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', resolve));
    const closed = new Promise((resolve) => child.once('close', resolve));
    // Its last words say why it could not start ("Address already in use").
    let said = '';
    const hear = (chunk: Buffer) => (said = (said + chunk.toString()).slice(-2_000));
    child.stdout.on('data', hear);
    child.stderr.on('data', hear);
    const alive = () => child.exitCode === null && child.signalCode === null;
    for (let i = 0; i < 200; i++) {
      if (!alive()) break;
      // Checked after the answer too: the child may have died while the probe ran.
      if ((await this.answers()) && alive()) return undefined;
      await sleep(50);
    }
    if (alive()) {
      await this.kill();
      throw new Error(`own redis-server on port ${this.port} did not answer within 10 s`);
    }
    // 'close' comes once its output is read to the end, after 'exit'.
    await closed;
    this.child = undefined;
    // The line naming the cause, without the log prefix ("pid:M date time # ").
    const lines = said
      .split('\n')
      .map((line) => line.replace(/^\d+:\w \S+ \S+ \S+ \S+ [#*.-] /, ''));
    const cause = lines.find((line) => /bind|in use/i.test(line)) ?? lines.findLast(Boolean);
    return `redis-server on port ${this.port} exited (${child.exitCode ?? child.signalCode}): ${cause ?? 'no output'}`;
  }

  /** Who answers on the port instead, for the error. */
  private async occupant(): Promise<string> {
    const pid = await this.answeringPid();
    return pid === undefined ? '' : `; a Redis of pid ${pid} answers there`;
  }

  /**
   * Whether the scenario's own server answers within a second: PING, and `INFO server`'s
   * process_id is its child's. A foreign server on the port (taken while ours was down)
   * would answer PING as well.
   */
  async answers(): Promise<boolean> {
    const pid = this.child?.pid;
    return pid !== undefined && (await this.answeringPid()) === pid;
  }

  /** The process id of whatever Redis answers on the port with these credentials. */
  private async answeringPid(): Promise<number | undefined> {
    const probe = this.client({ lazyConnect: true });
    try {
      await probe.connect();
      if ((await probe.ping()) !== 'PONG') return undefined;
      const pid = /^process_id:(\d+)/m.exec(await probe.info('server'))?.[1];
      return pid === undefined ? undefined : Number(pid);
    } catch {
      return undefined;
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
