/** Child processes of the bench, talking over Node's IPC channel: the bench's side. */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root (the bench runs from dist/apps/bench/src). */
export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** A message between the bench and a child: `{ type, ...fields }`. */
export interface Message {
  readonly type: string;
}

/** The environment of a child: ours without the module's role variables, plus `env`. */
export function childEnv(env: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const merged: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const name of ['INTERACTORS_ROLES', 'INTERACTORS_QUEUES', 'INTERACTORS_FORCE', 'NODE_ENV'])
    delete merged[name];
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete merged[key];
    else merged[key] = value;
  }
  return merged;
}

/** A running child script of the bench. */
export class BenchChild {
  private readonly inbox: Message[] = [];
  private readonly waiting: Array<{ type: string; resolve: (message: Message) => void }> = [];
  private stderr = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(script: string, config: unknown, env: Record<string, string | undefined> = {}) {
    this.child = fork(fileURLToPath(new URL(`./children/${script}`, import.meta.url)), [], {
      cwd: ROOT,
      env: childEnv({ ...env, BENCH_CHILD: JSON.stringify(config) }),
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4_000);
    });
    this.child.on('message', (message: Message) => {
      const index = this.waiting.findIndex((waiter) => waiter.type === message.type);
      if (index >= 0) this.waiting.splice(index, 1)[0]!.resolve(message);
      else this.inbox.push(message);
    });
    this.child.on('error', (error) => (this.stderr += `\n${error.message}`));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  send<T extends Message>(message: T): void {
    this.child.send(message);
  }

  /** The next message of that type; rejects if the child exits first or the time runs out. */
  receive<T extends Message>(type: string, timeoutMs = 120_000): Promise<T> {
    const queued = this.inbox.findIndex((message) => message.type === type);
    if (queued >= 0) return Promise.resolve(this.inbox.splice(queued, 1)[0] as T);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        reject(new Error(`child ${this.pid}: no "${type}" within ${timeoutMs} ms\n${this.stderr}`));
      }, timeoutMs);
      const waiter = {
        type,
        resolve: (message: Message) => {
          clearTimeout(timer);
          resolve(message as T);
        },
      };
      this.waiting.push(waiter);
      void this.exited.then((code) => {
        if (!this.waiting.includes(waiter)) return;
        clearTimeout(timer);
        reject(new Error(`child ${this.pid} exited (${code}) before "${type}":\n${this.stderr}`));
      });
    });
  }

  /** Asks the child to stop and waits for its exit; kills it (by pid) after `graceMs`. */
  async stop(graceMs = 15_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    // The child may be exiting already: a closed channel is not an error here.
    if (this.child.connected) this.child.send({ type: 'stop' }, () => undefined);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
