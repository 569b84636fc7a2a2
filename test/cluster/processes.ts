import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A fixture app running as its own OS process. */
export interface AppProcess {
  readonly child: ChildProcess;
  /** Resolves when the app printed READY. */
  readonly ready: Promise<void>;
  readonly output: () => string;
  /** SIGTERM, then waits for the exit code. */
  stop(): Promise<number | null>;
}

/** Starts a compiled fixture (see test/global-setup.ts) with extra environment. */
export function startApp(fixture: string, env: Record<string, string>): AppProcess {
  const child = spawn(process.execPath, [`dist-test/test/cluster/fixture/${fixture}.js`], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('READY')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    void exited.then((code) =>
      reject(new Error(`${fixture} exited (${code}) before READY:\n${output}`)),
    );
  });
  return {
    child,
    ready,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
