import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** What a catch-up fixture process reports (see fixture/catch-up-app.ts). */
export interface Report {
  readonly pid: number;
  readonly nextDueAt: number | null;
  readonly series: Record<string, number>;
}

/** A `catch-up-app` fixture running as its own OS process. */
export interface SchedulerProcess {
  readonly child: ChildProcess;
  /** Resolves when it printed READY; rejects if it exits first. */
  readonly ready: Promise<void>;
  output(): string;
  /** Asks for a report and resolves with it. */
  report(timeoutMs?: number): Promise<Report>;
  /** SIGTERM, SIGKILL after `killAfterMs`; resolves with the exit code or signal. */
  stop(killAfterMs?: number): Promise<number | string | null>;
}

/** Starts the compiled fixture (test/global-setup.ts compiles it into dist-test/). */
export function startScheduler(env: Record<string, string | number>): SchedulerProcess {
  const child = spawn(process.execPath, ['dist-test/test/time-ii/fixture/catch-up-app.js'], {
    cwd: root,
    env: {
      ...process.env,
      INTERACTORS_ROLES: 'scheduler',
      INTERACTORS_QUEUES: '',
      INTERACTORS_FORCE: '',
      ...Object.fromEntries(Object.entries(env).map(([key, value]) => [key, String(value)])),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  let pending = '';
  const reports: Array<(report: Report) => void> = [];
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  let onReady!: () => void;
  const ready = new Promise<void>((resolve, reject) => {
    onReady = resolve;
    void exited.then((code) =>
      reject(new Error(`catch-up-app exited (${String(code)}) before READY:\n${output}`)),
    );
  });
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
      if (line.startsWith('REPORT ')) reports.shift()?.(JSON.parse(line.slice(7)) as Report);
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return {
    child,
    ready,
    output: () => output,
    report(timeoutMs = 3_000) {
      return new Promise<Report>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no REPORT within ${timeoutMs} ms:\n${output}`)),
          timeoutMs,
        );
        reports.push((report) => {
          clearTimeout(timer);
          resolve(report);
        });
        child.stdin!.write('REPORT\n');
      });
    },
    async stop(killAfterMs = 5_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        const code = await exited;
        clearTimeout(timer);
        return code;
      }
      return exited;
    },
  };
}
