/**
 * Helpers of the operations specs: a prefix per file, child processes of the fixture CLI
 * and of the long-lived fixture app (compiled by test/global-setup.ts into dist-test/),
 * each bounded in time so a hanging process fails the test instead of the run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

export { REDIS_URL } from '../pipeline/helpers.js';

/** The repository root: where `dist/` and `dist-test/` are. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export const FIXTURE_CLI = 'dist-test/test/operations/fixture/cli.js';
export const FIXTURE_APP = 'dist-test/test/operations/fixture/app.js';
export const DEMO_CLI = 'dist/apps/demo/src/cli.js';

/** A key prefix of this file alone: `test:ops-<name>:<random>`. */
export function opsPrefix(name: string): string {
  return `test:ops-${name}:${randomBytes(5).toString('hex')}`;
}

/** The environment of a child: ours without the role variables, plus `env` (undefined removes). */
function childEnv(env: Record<string, string | number | undefined>): NodeJS.ProcessEnv {
  const merged: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete merged.INTERACTORS_ROLES;
  delete merged.INTERACTORS_QUEUES;
  delete merged.INTERACTORS_FORCE;
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete merged[key];
    else merged[key] = String(value);
  }
  return merged;
}

/** How one CLI invocation ended. */
export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly pid: number;
  /** Wall time from spawn to exit. */
  readonly ms: number;
}

/**
 * Runs a CLI (the fixture's by default) as a child process and resolves when it exits.
 * Rejects, after killing it, if it has not exited within `timeoutMs`: a hanging handle.
 */
export function runCli(
  args: readonly string[],
  env: Record<string, string | number | undefined>,
  { script = FIXTURE_CLI, timeoutMs = 15_000 }: { script?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  const started = Date.now();
  const child = spawn(process.execPath, [script, ...args], {
    cwd: ROOT,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `"${args.join(' ')}" did not exit within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`,
        ),
      );
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, pid: child.pid!, ms: Date.now() - started });
    });
  });
}

/** A line `KIND <json>` a fixture app printed, with when the test received it. */
export interface AppLine {
  readonly kind: string;
  readonly data: Record<string, any>;
  readonly receivedAt: number;
}

/** The fixture app (fixture/app.ts) running as its own OS process. */
export interface AppProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves when it printed READY; rejects if it exits first. */
  readonly ready: Promise<void>;
  readonly lines: AppLine[];
  output(): string;
  /** SIGTERM (SIGKILL after 5 s); resolves with the exit code or signal. */
  stop(): Promise<number | string | null>;
}

/** Every app process a file started, so `afterAll` ends them even after a failure. */
export class AppProcesses {
  private readonly started: AppProcess[] = [];

  start(env: Record<string, string | number | undefined>): AppProcess {
    const app = startApp(env);
    this.started.push(app);
    return app;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.started.splice(0).map((app) => app.stop()));
  }
}

function startApp(env: Record<string, string | number | undefined>): AppProcess {
  const child = spawn(process.execPath, [FIXTURE_APP], {
    cwd: ROOT,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let pending = '';
  const lines: AppLine[] = [];
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  let onReady!: () => void;
  const ready = new Promise<void>((resolve, reject) => {
    onReady = resolve;
    void exited.then((code) => reject(new Error(`app exited (${code}) before READY:\n${output}`)));
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
      const match = /^([A-Z]+) (\{.*\})$/.exec(line);
      if (match)
        lines.push({ kind: match[1]!, data: JSON.parse(match[2]!), receivedAt: Date.now() });
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    pid: child.pid!,
    ready,
    lines,
    output: () => output,
    async stop() {
      if (!alive()) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => alive() && child.kill('SIGKILL'), 5_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
