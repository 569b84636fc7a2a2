import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { QueueSettings, TaskLockOptions } from '../../../src/index.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/** Settings of one fault-app process (fixture/fault-app.ts), passed as JSON in FAULT_APP. */
export interface FaultAppConfig {
  redis: string;
  prefix: string;
  /** Directory of the run records (one JSONL file per pid). */
  records: string;
  roles?: Array<'scheduler' | 'worker'>;
  /** The every-second task `FaultTick`; without it no ticks are fired. */
  tick?: {
    cron?: string;
    run?: 'inline' | 'queue';
    lock?: boolean | TaskLockOptions;
    overlap?: 'skip' | 'allow';
    /** How long each run lasts (awaited sleep). */
    ms?: number;
    /** The n-th run of this process blocks the event loop for `blockMs`. */
    blockOnRun?: number;
    blockMs?: number;
  };
  /** Added to the process's `Date.now()`, in ms: a host whose clock is off. */
  clockOffset?: number;
  /** Settings of the `default` queue's worker. */
  queue?: QueueSettings;
  shutdownGrace?: number;
  commandTimeout?: number;
  reconnectMaxDelay?: number;
  connectTimeout?: number;
  /** Serve `/health`, `/health/live`, `/metrics` and `/times` on a free port. */
  http?: boolean;
  /** At boot, enqueue FaultJob `{ n, ms, followUpAt }` for n = 1..count, then print ENQUEUED. */
  enqueue?: { count: number; ms: number; followUpAt?: number };
}

/** One line of a process's run records. */
export interface RunLine {
  ev: 'start' | 'end' | 'follow-up';
  task: string;
  trigger: string;
  runId: string;
  dueAt?: number;
  attempt: number;
  /** Per-process run number (ticks) or the job's number (FaultJob). */
  n: number;
  pid: number;
  /** True time (the process's clock offset taken out) when written. */
  t: number;
}

/** A fault-app process. */
export class FaultApp {
  readonly child: ChildProcess;
  /** Resolves once the app printed READY. */
  readonly ready: Promise<void>;
  /** Resolves with the exit code and signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The HTTP port, with `http: true`. */
  port = 0;
  /** Job ids printed by an `enqueue` process. */
  enqueued: string[] = [];
  private text = '';

  /**
   * Starts `fixture` (a file of test/faults/fixture/, compiled by the global setup) with
   * `config` as JSON in FAULT_APP. A scenario needing another app writes its own fixture
   * that reads the same config and records the same lines.
   */
  constructor(
    readonly config: FaultAppConfig,
    env: Record<string, string> = {},
    fixture = 'fault-app',
  ) {
    this.child = spawn(process.execPath, [`dist-test/test/faults/fixture/${fixture}.js`], {
      cwd: root,
      env: {
        ...process.env,
        INTERACTORS_ROLES: undefined,
        INTERACTORS_QUEUES: undefined,
        ...env,
        FAULT_APP: JSON.stringify(config),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    this.ready = new Promise<void>((resolve, reject) => {
      this.child.stdout!.on('data', (chunk: Buffer) => {
        this.text += chunk.toString();
        const enqueued = /^ENQUEUED (.*)$/m.exec(this.text);
        if (enqueued) this.enqueued = enqueued[1]!.split(',');
        const ready = /^READY (\d+) (\d+)$/m.exec(this.text);
        if (ready) {
          this.port = Number(ready[2]);
          resolve();
        }
      });
      this.child.stderr!.on('data', (chunk: Buffer) => (this.text += chunk.toString()));
      void this.exited.then(({ code, signal }) =>
        reject(new Error(`fault app exited (${code ?? signal}) before READY:\n${this.text}`)),
      );
    });
    // A test that fails before awaiting `ready` must not leave an unhandled rejection.
    this.ready.catch(() => undefined);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Everything the process printed so far. */
  output(): string {
    return this.text;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends a signal (when still running). */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** SIGTERM, then the exit; SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** GET on the app's HTTP port: status and text. */
  async get(path: string): Promise<{ status: number; text: string }> {
    const response = await fetch(`http://127.0.0.1:${this.port}${path}`, {
      signal: AbortSignal.timeout(10_000),
    });
    return { status: response.status, text: await response.text() };
  }

  /** The value of one metric series from `/metrics` (0 when absent). */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const { text } = await this.get('/metrics');
    return metricValue(text, name, labels);
  }
}

/** Sums the samples of `name` whose labels include `labels`, in a Prometheus text exposition. */
export function metricValue(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) {
      sum += Number(match[4]);
    }
  }
  return sum;
}

/**
 * Log lines that mean something escaped: unhandled rejections, uncaught exceptions, and
 * error events nobody listened to (ioredis prints `Unhandled error event`).
 */
export function escapes(output: string): string[] {
  return output
    .split('\n')
    .filter((line) =>
      /Unhandled rejection|uncaughtException|UnhandledPromiseRejection|Unhandled error event/i.test(
        line,
      ),
    );
}
