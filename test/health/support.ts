import { spawn, type ChildProcess } from 'node:child_process';
import type { INestApplication } from '@nestjs/common';
import type { SchedulerRegistry } from '@nestjs/schedule';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { INTERACTORS_TIMERS } from '../../src/interactors.constants.js';
import { RunHistory } from '../../src/operations/run-history.js';
import { TaskDispatcher } from '../../src/scheduling/task.dispatcher.js';
import { freePort, sleep } from '../src/helpers.js';

export {
  Apps,
  CapturingLogger,
  deleteKeys,
  isolateEnv,
  ManualClock,
  REDIS_URL,
  sleep,
  uniquePrefix,
  waitFor,
} from '../src/helpers.js';

/** A whole minute a week from now: far from the real time, so only the injected clock counts. */
export function minute(): number {
  return Math.floor(Date.now() / 60_000) * 60_000 + 7 * 86_400_000;
}

/** A fresh Prometheus registry per app, so apps in one process never share series. */
export function freshMetrics(): { metrics: { registry: Registry } } {
  return { metrics: { registry: new Registry() } };
}

export function dispatcherOf(app: INestApplication): TaskDispatcher {
  return app.get(TaskDispatcher, { strict: false });
}

/** The registry holding the dispatcher's one timer (named `interactors:dispatcher`). */
export function timersOf(app: INestApplication): SchedulerRegistry {
  return app.get<SchedulerRegistry>(INTERACTORS_TIMERS, { strict: false });
}

/** Writes the run history's buffer now (records, last successes, first-seen marks). */
export function flushFacts(app: INestApplication): Promise<void> {
  return app.get(RunHistory, { strict: false }).flush();
}

/** An HTTP answer: its status and body (parsed when JSON), and the raw text. */
export interface Answer {
  readonly status: number;
  readonly body: any;
  readonly text: string;
}

/** Serves the app on a free loopback port; returns a GET function for its paths. */
export async function serve(app: INestApplication): Promise<(path: string) => Promise<Answer>> {
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  return async (path) => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body, text };
  };
}

/**
 * A redis-server of the test's own on a free port (never the shared one), optionally with
 * a password, that the test can freeze (SIGSTOP) and thaw (SIGCONT), or kill.
 */
export class OwnRedis {
  private child: ChildProcess | undefined;
  private exited: Promise<unknown> = Promise.resolve();
  private frozen = false;
  port = 0;

  constructor(readonly password?: string) {}

  /** The URL the app is given: with the password in it, when there is one. */
  get url(): string {
    const auth = this.password ? `:${encodeURIComponent(this.password)}@` : '';
    return `redis://${auth}127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.port ||= await freePort(); // the same port on a restart, so clients reconnect
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
    ];
    if (this.password) args.push('--requirepass', this.password);
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', resolve));
    for (let i = 0; ; i++) {
      const probe = new Redis(this.url, {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        if ((await probe.ping()) === 'PONG') return;
      } catch (error) {
        if (i >= 100 || child.exitCode !== null)
          throw new Error(`own redis-server on ${this.port} did not start`, { cause: error });
        await sleep(50);
      } finally {
        probe.disconnect();
      }
    }
  }

  /** SIGSTOP: connections stay open, nothing is answered. */
  freeze(): void {
    this.child?.kill('SIGSTOP');
    this.frozen = true;
  }

  /** SIGCONT: it answers again. */
  thaw(): void {
    this.child?.kill('SIGCONT');
    this.frozen = false;
  }

  /** Kills the server (thawed first, so SIGKILL is not held up) and waits until it is gone. */
  async dispose(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (this.frozen) this.thaw();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await this.exited;
  }
}
