import { hostname } from 'node:os';
import { Inject, Injectable } from '@nestjs/common';
import type { TaskDefinition } from '../discovery/task-definition.js';
import type { RunResult } from '../execution/run-result.js';
import { TaskLogger } from '../execution/task-logger.js';
import type { InteractorsConfig } from '../interactors.config.js';
import {
  INTERACTORS_CONFIG,
  INTERACTORS_TRANSPORT,
  LOGGER_CONTEXT,
} from '../interactors.constants.js';
import type { InteractorsTransport, TaskFacts } from '../transport/transport.interface.js';
import { OutageLog } from '../utils/outage-log.js';
import type { RunRecord } from './run-record.js';

/** Records wait at most this long, so a burst of runs shares one pipeline. */
const FLUSH_DELAY = 50;
/** A buffer this full is written at once. */
const FLUSH_SIZE = 200;
/** Past this many unwritten records (Redis down), the oldest are dropped, not kept forever. */
const MAX_BUFFERED = 10_000;

/**
 * The last N runs of each task, in Redis (or memory). Records are buffered and written
 * in one pipeline off the run's path, so history costs a queued run no round trip. A
 * crash loses at most the last ~50 ms of records. The same pipeline carries each task's
 * last success and first-seen instants for the staleness check (also with `history: false`).
 * @internal
 */
@Injectable()
export class RunHistory {
  private readonly logger = new TaskLogger(LOGGER_CONTEXT);
  private readonly outage = new OutageLog(this.logger, 'Run history');
  private readonly host = hostname();
  private buffer: { task: string; record: string }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private facts = {
    succeeded: new Map<string, number>(),
    seen: new Map<string, number>(),
    resumed: new Map<string, number>(),
  };

  constructor(
    @Inject(INTERACTORS_TRANSPORT) private readonly transport: InteractorsTransport,
    @Inject(INTERACTORS_CONFIG) private readonly config: InteractorsConfig,
  ) {}

  get enabled(): boolean {
    return this.config.history !== false;
  }

  record(task: TaskDefinition, result: RunResult, args: readonly unknown[]): void {
    if (result.outcome === 'success') this.note('succeeded', result.task);
    if (this.config.history === false) return;
    const error = result.error as { message?: unknown } | undefined;
    const record: RunRecord = {
      runId: result.runId,
      task: result.task,
      trigger: result.trigger,
      dueAt: result.dueAt,
      startedAt: Math.round(Date.now() - result.durationMs),
      durationMs: Math.round(result.durationMs * 1000) / 1000,
      outcome: result.outcome,
      reason: result.reason,
      error:
        result.error === undefined
          ? undefined
          : typeof error?.message === 'string'
            ? error.message
            : String(result.error),
      attempt: result.attempt,
      host: this.host,
      pid: process.pid,
      args: task.options.historyArgs ? args : undefined,
    };
    if (this.buffer.length >= MAX_BUFFERED) this.buffer.shift();
    this.buffer.push({ task: result.task, record: JSON.stringify(record) });
    if (this.buffer.length >= FLUSH_SIZE) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_DELAY);
  }

  /** Records, with the next write, that these tasks are registered (kept only the first time). */
  markSeen(tasks: readonly string[]): void {
    for (const task of tasks) this.note('seen', task);
  }

  /** Records, with the next write, that a task was resumed: staleness counts from now. */
  markResumed(task: string): void {
    this.note('resumed', task);
  }

  /** Writes what is buffered; never rejects. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.buffer;
    const facts = this.takeFacts();
    if (batch.length === 0 && facts === undefined) return this.flushing;
    this.buffer = [];
    const limit = this.config.history === false ? 0 : this.config.history.limit;
    // One write at a time, in order, so the newest record stays first.
    this.flushing = this.flushing.then(() =>
      this.transport.appendRuns(batch, limit, facts).then(
        () => this.outage.recovered(),
        (error: Error) => {
          this.outage.failed(
            `${batch.length} record(s)${facts ? ' and task instants (last success, first seen)' : ''} not written: ${error.message}`,
          );
        },
      ),
    );
    return this.flushing;
  }

  /** Notes a task fact at the module clock's now, to go with the next write. */
  private note(kind: keyof TaskFacts, task: string): void {
    this.facts[kind].set(task, this.config.clock.now());
    this.timer ??= setTimeout(() => void this.flush(), FLUSH_DELAY);
  }

  private takeFacts(): TaskFacts | undefined {
    const { succeeded, seen, resumed } = this.facts;
    if (succeeded.size + seen.size + resumed.size === 0) return undefined;
    this.facts = { succeeded: new Map(), seen: new Map(), resumed: new Map() };
    return { succeeded, seen, resumed };
  }

  /** A task's newest runs, newest first, written so far by every process. */
  async read(task: string, limit: number): Promise<RunRecord[]> {
    await this.flush();
    const records = await this.transport.readRuns(task, limit);
    return records.map((record) => JSON.parse(record) as RunRecord);
  }
}
