import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A fixture app running as its own OS process. */
export interface ChildApp {
  readonly child: ChildProcess;
  /** Resolves when the app printed READY; rejects if it exits first. */
  readonly ready: Promise<void>;
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  readonly exited: Promise<number | string | null>;
  /** stdout and stderr so far. */
  output(): string;
  alive(): boolean;
  /** SIGTERM (SIGKILL after `killAfterMs`), then waits for the exit. */
  stop(killAfterMs?: number): Promise<number | string | null>;
}

/** Starts a plain-ESM fixture (`test/pipeline/fixture/<name>.mjs`) under plain `node`. */
export function startChild(fixture: string, env: Record<string, string>): ChildApp {
  const child = spawn(process.execPath, [`test/pipeline/fixture/${fixture}.mjs`], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('READY')) resolve();
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    void exited.then((code) =>
      reject(new Error(`${fixture} exited (${code}) before READY:\n${output}`)),
    );
  });
  // A failing test must not leave an unobserved rejection behind.
  ready.catch(() => undefined);
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    ready,
    exited,
    output: () => output,
    alive,
    async stop(killAfterMs = 5_000) {
      if (!alive()) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => alive() && child.kill('SIGKILL'), killAfterMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
