import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A line the lock worker printed: `KIND <json>`, with when the test received it. */
export interface WorkerLine {
  readonly kind: string;
  readonly data: Record<string, any>;
  readonly receivedAt: number;
}

/** A `lock-worker` fixture running as its own OS process (see fixture/lock-worker.ts). */
export interface LockWorker {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves when the worker printed READY; rejects if it exits first. */
  readonly ready: Promise<void>;
  /** Resolves with the exit code, or the signal's name, when the process ends. */
  readonly exited: Promise<number | string | null>;
  /** Every `KIND <json>` line so far. */
  readonly lines: WorkerLine[];
  output(): string;
  alive(): boolean;
  /** Tells a READY worker to start its runs. */
  go(): void;
  /** Resolves with the first line of that kind (now or later); rejects if the process exits first. */
  next(kind: string, timeoutMs?: number): Promise<WorkerLine>;
  /** SIGTERM, SIGKILL after `killAfterMs`, then waits for the exit. */
  stop(killAfterMs?: number): Promise<number | string | null>;
}

/** Every worker a test file started, so `afterAll` can end them even when a test failed. */
export class Workers {
  private readonly started: LockWorker[] = [];

  start(env: Record<string, string | number>): LockWorker {
    const worker = startWorker(env);
    this.started.push(worker);
    return worker;
  }

  /** Stops every worker still running. */
  async stopAll(): Promise<void> {
    const workers = this.started.splice(0);
    await Promise.all(workers.map((worker) => worker.stop(3_000)));
  }
}

/** Starts the compiled fixture (test/global-setup.ts compiles it into dist-test/). */
export function startWorker(env: Record<string, string | number>): LockWorker {
  const child = spawn(process.execPath, ['dist-test/test/locking/fixture/lock-worker.js'], {
    cwd: root,
    env: {
      ...process.env,
      INTERACTORS_ROLES: '',
      INTERACTORS_QUEUES: '',
      ...Object.fromEntries(Object.entries(env).map(([key, value]) => [key, String(value)])),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  let pending = '';
  const lines: WorkerLine[] = [];
  const waiters: Array<{ kind: string; resolve: (line: WorkerLine) => void }> = [];
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  let onReady!: () => void;
  const ready = new Promise<void>((resolve, reject) => {
    onReady = resolve;
    void exited.then((code) =>
      reject(new Error(`lock-worker exited (${code}) before READY:\n${output}`)),
    );
  });
  // A failing test must not leave an unobserved rejection behind.
  ready.catch(() => undefined);
  child.stdout!.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    output += text;
    pending += text;
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (line.startsWith('READY')) onReady();
      const match = /^([A-Z]+) (\{.*\})$/.exec(line);
      if (!match) continue;
      const parsed: WorkerLine = {
        kind: match[1]!,
        data: JSON.parse(match[2]!),
        receivedAt: Date.now(),
      };
      lines.push(parsed);
      for (const waiter of waiters.filter((w) => w.kind === parsed.kind)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(parsed);
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // Writing GO to a worker that already died must not crash the test process.
  child.stdin!.on('error', () => undefined);
  const alive = () => child.exitCode === null && child.signalCode === null;

  return {
    child,
    pid: child.pid!,
    ready,
    exited,
    lines,
    output: () => output,
    alive,
    go: () => void child.stdin!.write('GO\n'),
    next(kind, timeoutMs = 20_000) {
      const found = lines.find((line) => line.kind === kind);
      if (found) return Promise.resolve(found);
      return new Promise<WorkerLine>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `no ${kind} line from lock-worker ${child.pid} within ${timeoutMs} ms:\n${output}`,
              ),
            ),
          timeoutMs,
        );
        const waiter = {
          kind,
          resolve: (line: WorkerLine) => {
            clearTimeout(timer);
            resolve(line);
          },
        };
        waiters.push(waiter);
        void exited.then((code) => {
          if (!waiters.includes(waiter)) return;
          waiters.splice(waiters.indexOf(waiter), 1);
          clearTimeout(timer);
          reject(
            new Error(
              `lock-worker ${child.pid} exited (${code}) before printing ${kind}:\n${output}`,
            ),
          );
        });
      });
    },
    async stop(killAfterMs = 5_000) {
      if (!alive()) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => alive() && child.kill('SIGKILL'), killAfterMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
