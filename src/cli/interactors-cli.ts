import { parseArgs } from 'node:util';
import type { DynamicModule, INestApplicationContext, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { distance } from 'fastest-levenshtein';
import { TaskRegistry } from '../discovery/task.registry.js';
import type { TaskDefinition } from '../discovery/task-definition.js';
import { EnvironmentInterceptor } from '../interceptors/environment.interceptor.js';
import { INTERACTORS_TRANSPORT } from '../interactors.constants.js';
import { Interactors } from '../interactors.service.js';
import { nextTick, parseInterval } from '../scheduling/schedule.js';
import type { InteractorsTransport } from '../transport/transport.interface.js';

/** Exit codes of the CLI. @publicApi */
export const CliExit = {
  ok: 0,
  /** The run failed or timed out; a command failed. */
  failed: 1,
  /** Bad usage: unknown command or task, bad arguments, a refused command. */
  usage: 2,
  /** The run was skipped or locked. */
  notRun: 3,
} as const;

/** Where the CLI writes; process.stdout / stderr by default. @publicApi */
export interface CliOutput {
  out(text: string): void;
  err(text: string): void;
}

const USAGE = `Usage: <cli> <command> [options]
  list [--json]                                   tasks, schedules, next due instants, last outcome
  run <task> [--args '<json array>']              run now, in this process, through the pipeline
  enqueue <task> [--queue q] [--args …] [--delay 30s]   enqueue a job; prints its id
  history <task> [--limit n] [--json]             the task's newest runs
  pause <task> | resume <task>                    for every process, until resumed
  failed [<task>] [--json]                        jobs that exhausted their attempts
  retry <task>|<job id> [--queue q]               retry failed jobs with fresh attempts
Exit codes: 0 ok, 1 failed, 2 bad usage or unknown task, 3 skipped or locked.`;

/** A refusal or a usage error, with its exit code. */
class CliError extends Error {
  constructor(
    message: string,
    readonly code: number = CliExit.usage,
  ) {
    super(message);
  }
}

/**
 * Runs one command against the app's tasks, for a `cli.ts` of your own:
 * `process.exitCode = await runInteractorsCli(AppModule)`. The app context boots with
 * neither the scheduler nor the worker role (`INTERACTORS_ROLES` is set empty), so a
 * command never fires ticks or takes jobs; the app's own `@Cron` jobs or consumers, if
 * any, still start with the context. Resolves to the exit code.
 * @publicApi
 */
export async function runInteractorsCli(
  appModule: Type | DynamicModule,
  argv: readonly string[] = process.argv.slice(2),
  output: CliOutput = {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
  },
): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    output.err(`${(error as Error).message}\n\n${USAGE}`);
    return CliExit.usage;
  }
  if (!parsed.command || parsed.values.help) {
    (parsed.values.help ? output.out : output.err)(USAGE);
    return parsed.values.help ? CliExit.ok : CliExit.usage;
  }
  process.env.INTERACTORS_ROLES = '';
  let app: INestApplicationContext | undefined;
  try {
    app = await NestFactory.createApplicationContext(appModule, {
      // Warnings and errors go to stderr, so that stdout stays the command's output
      // (`--json` parses); Nest's own console logger would print warnings on stdout.
      logger: {
        log: () => undefined,
        warn: (message: unknown) => output.err(`warn: ${String(message)}`),
        error: (message: unknown) => output.err(`error: ${String(message)}`),
      },
      abortOnError: false,
    });
    return await new Commands(app, output).run(parsed.command, parsed.positionals, parsed.values);
  } catch (error) {
    // A failed boot was logged by Nest already (through the logger above): say it once.
    if (app || error instanceof CliError) {
      output.err(error instanceof Error ? error.message : String(error));
    }
    return error instanceof CliError ? error.code : CliExit.failed;
  } finally {
    await app?.close();
  }
}

function parse(argv: readonly string[]) {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      args: { type: 'string' },
      queue: { type: 'string' },
      delay: { type: 'string' },
      limit: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...rest] = positionals;
  return { command, positionals: rest, values };
}

type Values = ReturnType<typeof parse>['values'];

/** How many words follow each command at most. */
const ARITY: Record<string, number> = {
  list: 0,
  run: 1,
  enqueue: 1,
  history: 1,
  pause: 1,
  resume: 1,
  failed: 1,
  retry: 1,
};

class Commands {
  private readonly interactors: Interactors;
  private readonly registry: TaskRegistry;
  private readonly transport: InteractorsTransport;

  constructor(
    private readonly app: INestApplicationContext,
    private readonly output: CliOutput,
  ) {
    this.interactors = app.get(Interactors, { strict: false });
    this.registry = app.get(TaskRegistry, { strict: false });
    this.transport = app.get(INTERACTORS_TRANSPORT, { strict: false });
  }

  async run(command: string, positionals: string[], values: Values): Promise<number> {
    // A stray word (`run OpenTheGates north`, meaning --args) must not be dropped silently.
    const takes = ARITY[command];
    if (takes !== undefined && positionals.length > takes) {
      throw new CliError(
        `"${command}" takes ${takes === 0 ? 'no words' : 'one word'} but got: ${positionals.join(' ')}` +
          (command === 'run' || command === 'enqueue' ? ` (arguments go in --args '["…"]')` : ''),
      );
    }
    switch (command) {
      case 'list':
        return this.list(values);
      case 'run':
        return this.runTask(this.task(positionals), values);
      case 'enqueue':
        return this.enqueue(this.task(positionals), values);
      case 'history':
        return this.history(this.task(positionals), values);
      case 'pause':
      case 'resume':
        return this.pause(this.task(positionals), command === 'pause');
      case 'failed':
        return this.failed(
          positionals[0] === undefined ? undefined : this.task(positionals),
          values,
        );
      case 'retry':
        return this.retry(positionals, values);
      default:
        throw new CliError(`Unknown command "${command}".\n\n${USAGE}`);
    }
  }

  private async list(values: Values): Promise<number> {
    const environment = this.app.get(EnvironmentInterceptor, { strict: false });
    const now = Date.now();
    const rows = await Promise.all(
      this.registry.all().map(async (task) => {
        const enabled = task.scheduled && environment.allows(task);
        const next: number[] = [];
        if (task.schedule && enabled) {
          while (next.length < 3) next.push(nextTick(task.schedule, next.at(-1) ?? now));
        }
        const [last] = await this.interactors.history(task.name, { limit: 1 });
        const lock = task.options.lock;
        return {
          name: task.name,
          schedule: task.schedule?.expression ?? null,
          timeZone: task.schedule?.timeZone ?? null,
          enabled,
          nextDueAt: next.map((at) => new Date(at).toISOString()),
          run: task.run,
          queue: task.queue,
          lock: lock
            ? typeof lock === 'object' && typeof lock.key === 'string'
              ? lock.key
              : 'yes'
            : 'no',
          environments: task.options.environments ?? null,
          paused: this.interactors.isPaused(task.name),
          lastOutcome: last ? `${last.outcome}${last.reason ? ` (${last.reason})` : ''}` : null,
          lastRunAt: last ? new Date(last.startedAt).toISOString() : null,
        };
      }),
    );
    if (values.json) {
      this.output.out(JSON.stringify(rows, null, 2));
      return CliExit.ok;
    }
    this.table(
      [
        'NAME',
        'SCHEDULE',
        'TZ',
        'NEXT DUE',
        'RUN',
        'QUEUE',
        'LOCK',
        'ENVIRONMENTS',
        'PAUSED',
        'LAST',
      ],
      rows.map((row) => [
        row.name,
        row.schedule ?? '-',
        row.timeZone ?? '-',
        row.schedule && !row.enabled
          ? '(disabled here)'
          : row.nextDueAt.slice(0, 2).join(', ') || '-',
        row.run,
        row.queue,
        row.lock,
        row.environments?.join(',') ?? 'all',
        row.paused ? 'yes' : 'no',
        row.lastOutcome ? `${row.lastOutcome} ${row.lastRunAt}` : '-',
      ]),
    );
    return CliExit.ok;
  }

  private async runTask(task: TaskDefinition, values: Values): Promise<number> {
    const result = await this.interactors.run(task.name, ...jsonArgs(values.args));
    const took = `${Math.round(result.durationMs)} ms`;
    const error = result.error as Error | undefined;
    const line =
      `${task.name} ${result.outcome}${result.reason ? ` (${result.reason})` : ''} in ${took}` +
      (error ? `: ${error.message ?? String(error)}` : '');
    if (result.outcome === 'success') {
      this.output.out(line);
      if (result.value !== undefined) this.output.out(JSON.stringify(result.value));
      return CliExit.ok;
    }
    this.output.err(line);
    return result.outcome === 'skipped' || result.outcome === 'locked'
      ? CliExit.notRun
      : CliExit.failed;
  }

  private async enqueue(task: TaskDefinition, values: Values): Promise<number> {
    this.refuseInMemory('enqueue');
    const args = jsonArgs(values.args);
    let delay: number | undefined;
    if (values.delay !== undefined) {
      try {
        delay = /^\d+$/.test(values.delay) ? Number(values.delay) : parseInterval(values.delay);
      } catch (error) {
        throw new CliError(`--delay: ${(error as Error).message}`);
      }
    }
    const enqueuer = this.interactors.with({ delay });
    const id = values.queue
      ? await enqueuer.enqueueTo(values.queue, task.name, ...args)
      : await enqueuer.enqueue(task.name, ...args);
    this.output.out(id);
    return CliExit.ok;
  }

  private async history(task: TaskDefinition, values: Values): Promise<number> {
    const limit = values.limit === undefined ? undefined : Number(values.limit);
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
      throw new CliError(`--limit must be a whole number ≥ 1, got "${values.limit}"`);
    }
    const runs = await this.interactors.history(task.name, { limit });
    if (values.json) {
      this.output.out(JSON.stringify(runs, null, 2));
      return CliExit.ok;
    }
    if (runs.length === 0) {
      this.output.out(`No runs of ${task.name} recorded.`);
      return CliExit.ok;
    }
    this.table(
      ['STARTED', 'TRIGGER', 'DUE', 'OUTCOME', 'TOOK', 'HOST', 'RUN ID', 'ERROR'],
      runs.map((run) => [
        new Date(run.startedAt).toISOString(),
        run.trigger,
        run.dueAt === undefined ? '-' : new Date(run.dueAt).toISOString(),
        `${run.outcome}${run.reason ? ` (${run.reason})` : ''}`,
        `${Math.round(run.durationMs)} ms`,
        `${run.host}:${run.pid}`,
        run.runId,
        run.error ?? '',
      ]),
    );
    return CliExit.ok;
  }

  private async pause(task: TaskDefinition, paused: boolean): Promise<number> {
    this.refuseInMemory(paused ? 'pause' : 'resume');
    await (paused ? this.interactors.pause(task.name) : this.interactors.resume(task.name));
    this.output.out(`${task.name} ${paused ? 'paused' : 'resumed'} in every process.`);
    return CliExit.ok;
  }

  private async failed(task: TaskDefinition | undefined, values: Values): Promise<number> {
    const jobs = await this.interactors.failed(task?.name);
    if (values.json) {
      this.output.out(JSON.stringify(jobs, null, 2));
      return CliExit.ok;
    }
    if (jobs.length === 0) {
      this.output.out(`No failed jobs${task ? ` of ${task.name}` : ''}.`);
      return CliExit.ok;
    }
    this.table(
      ['QUEUE', 'JOB ID', 'TASK', 'ATTEMPTS', 'FAILED AT', 'REASON'],
      jobs.map((job) => [
        job.queue,
        job.id,
        job.task,
        String(job.attempts),
        job.failedAt ? new Date(job.failedAt).toISOString() : '-',
        job.reason,
      ]),
    );
    return CliExit.ok;
  }

  private async retry(positionals: string[], values: Values): Promise<number> {
    const target = positionals[0];
    if (!target) throw new CliError('retry needs a task name or a job id');
    this.refuseInMemory('retry');
    let retried;
    try {
      retried = await this.interactors.retry(target, { queue: values.queue });
    } catch (error) {
      throw new CliError((error as Error).message);
    }
    if (retried.length === 0) {
      this.output.err(`No failed job matches "${target}" (a task name or a job id).`);
      return CliExit.failed;
    }
    for (const job of retried) this.output.out(`retried ${job.queue}/${job.id} (${job.task})`);
    return CliExit.ok;
  }

  /** The registered task a command names; never a lookup outside the registry. */
  private task(positionals: string[]): TaskDefinition {
    const name = positionals[0];
    if (!name) throw new CliError('This command needs a task name; `list` shows them.');
    const task = this.registry.find(name);
    if (task) return task;
    const names = this.registry.all().map((each) => each.name);
    const close = names
      .map((candidate) => ({
        candidate,
        cost: distance(name.toLowerCase(), candidate.toLowerCase()),
      }))
      .filter(
        ({ candidate, cost }) =>
          cost <= Math.max(2, Math.floor(candidate.length / 3)) ||
          candidate.toLowerCase().includes(name.toLowerCase()),
      )
      .toSorted((a, b) => a.cost - b.cost)
      .map(({ candidate }) => candidate);
    throw new CliError(
      `Unknown task "${name}".` +
        (close.length ? ` Did you mean ${close.slice(0, 3).join(', ')}?` : '') +
        ` Tasks: ${names.join(', ') || '(none)'}`,
    );
  }

  private refuseInMemory(command: string): void {
    if (this.transport.kind === 'memory') {
      throw new CliError(
        `"${command}" needs Redis: on the in-memory transport it would be lost when this command exits. Configure "redis" (e.g. set REDIS_URL).`,
      );
    }
  }

  private table(head: string[], rows: string[][]): void {
    const widths = head.map((title, i) =>
      Math.max(title.length, ...rows.map((row) => row[i]!.length)),
    );
    for (const row of [head, ...rows]) {
      this.output.out(
        row
          .map((cell, i) => cell.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      );
    }
  }
}

/** `--args`: a JSON array of the task's arguments. */
function jsonArgs(text: string | undefined): unknown[] {
  if (text === undefined) return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CliError(
      `--args must be a JSON array such as '["north", 2]': ${(error as Error).message}`,
    );
  }
  if (!Array.isArray(value)) {
    throw new CliError(`--args must be a JSON array such as '["north", 2]', got ${text}`);
  }
  return value;
}
