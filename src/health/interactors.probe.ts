import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { TaskDefinition } from '../discovery/task-definition.js';
import { TaskRegistry } from '../discovery/task.registry.js';
import type { InteractorsConfig } from '../interactors.config.js';
import {
  INTERACTORS_CONFIG,
  INTERACTORS_JOB_QUEUE,
  INTERACTORS_TRANSPORT,
} from '../interactors.constants.js';
import { EnvironmentInterceptor } from '../interceptors/environment.interceptor.js';
import { PausedTasks } from '../operations/paused-tasks.js';
import { RunHistory } from '../operations/run-history.js';
import type { JobQueue, WorkerLoop } from '../queueing/job-queue.interface.js';
import { nextTick, parseInterval } from '../scheduling/schedule.js';
import { TaskDispatcher } from '../scheduling/task.dispatcher.js';
import { RedisTransport } from '../transport/redis.transport.js';
import type { InteractorsTransport } from '../transport/transport.interface.js';
import { formatDuration } from '../utils/duration.js';
import { within } from '../utils/within.js';

/**
 * One check's answer: up or down, with a body that names tasks and queues only — never a
 * connection URL, a password or an error's raw text. @internal
 */
export interface ProbeVerdict {
  readonly up: boolean;
  readonly data: Record<string, unknown>;
}

/** A task the staleness check reports. @publicApi */
export interface StaleTask {
  readonly task: string;
  /** ISO instant of its last success anywhere in the cluster; null when it never succeeded. */
  readonly lastSuccessAt: string | null;
  /** How long it has gone without a success (since it was first seen or resumed, if later). */
  readonly age: string;
  readonly ageSeconds: number;
  /** The limit it passed: its `staleAfter`, or the default. */
  readonly staleAfter: string;
  readonly staleAfterSeconds: number;
}

/** A worker loop's state, as the liveness body shows it. */
type LoopState = 'running' | 'busy' | 'waiting for Redis' | 'stuck' | 'stopped' | 'not started';

const SHUTTING_DOWN: ProbeVerdict = { up: false, data: { reason: 'shutting down' } };
const up = (data: Record<string, unknown>): ProbeVerdict => ({ up: true, data });
const down = (data: Record<string, unknown>): ProbeVerdict => ({ up: false, data });
const iso = (instant: number) => new Date(instant).toISOString();

/**
 * Reads the module's state for the health indicators, with no dependency on Terminus:
 * the scheduler's and the worker loops' own progress (liveness), the fail-fast Redis
 * client (readiness), and each scheduled task's last success in Redis (staleness). It is
 * a provider of `InteractorsModule`, so every process records when it first saw each
 * scheduled task, whether or not it serves health checks. @internal
 */
@Injectable()
export class InteractorsProbe implements OnApplicationBootstrap, OnModuleDestroy {
  private closing = false;

  constructor(
    private readonly registry: TaskRegistry,
    private readonly dispatcher: TaskDispatcher,
    private readonly environment: EnvironmentInterceptor,
    private readonly paused: PausedTasks,
    private readonly history: RunHistory,
    @Inject(INTERACTORS_JOB_QUEUE) private readonly jobs: JobQueue,
    @Inject(INTERACTORS_TRANSPORT) private readonly transport: InteractorsTransport,
    @Inject(INTERACTORS_CONFIG) private readonly config: InteractorsConfig,
  ) {}

  onApplicationBootstrap(): void {
    // A task that never succeeds is stale once staleAfter has passed since the first
    // process registered it: HSETNX in the history's next write, no round trip of its own.
    this.history.markSeen(
      this.registry
        .all()
        // Only tasks watched here: one disabled now must not start its clock today.
        .filter((task) => task.schedule && task.scheduled && this.environment.allows(task))
        .map((task) => task.name),
    );
  }

  /** `app.close()` has begun: onModuleDestroy runs before any part stops, so no check races it. */
  onModuleDestroy(): void {
    this.closing = true;
  }

  /**
   * Liveness of this process's scheduler, judged by its own progress (its timer's
   * deadline and the instant it last woke or armed), never by Redis: a slot stays due
   * while its claim is retried during an outage, but the dispatcher keeps waking then.
   */
  scheduler(grace: number): ProbeVerdict {
    if (!this.config.scheduler) return up({ scheduling: false });
    if (this.closing) return SHUTTING_DOWN;
    const { running, steppedAt, armedFor, slots } = this.dispatcher.snapshot();
    if (!running) return down({ reason: 'the scheduler is not running' });
    const now = this.config.clock.now();
    const overdue = slots
      .filter((slot) => Number.isFinite(slot.nextDueAt) && now - slot.nextDueAt > grace)
      .map((slot) => slot.task);
    if (armedFor !== undefined && now - armedFor > grace) {
      return down({
        reason: `the scheduler's timer was due ${formatDuration(now - armedFor)} ago and has not fired`,
        overdue,
      });
    }
    if (overdue.length && (steppedAt === undefined || now - steppedAt > grace)) {
      return down({
        reason: `ticks overdue by more than ${formatDuration(grace)} and the scheduler has not woken since ${steppedAt === undefined ? 'it started' : iso(steppedAt)}`,
        overdue,
      });
    }
    return up({ tasks: slots.length });
  }

  /**
   * Liveness of this process's worker loops, without sending work through the shared
   * queues: each loop runs, and has taken a step by the end of its blocking wait (plus the
   * grace) unless every slot is busy with a job. A loop that is late while Redis does not
   * answer is waiting for Redis, which readiness reports; late while Redis answers, stuck.
   */
  async workers(grace: number, pingTimeout: number): Promise<ProbeVerdict> {
    if (!this.config.worker) return up({ working: false });
    if (this.closing) return SHUTTING_DOWN;
    const loops = new Map<string, WorkerLoop>(
      (this.jobs.loops?.() ?? []).map((loop) => [loop.queue, loop]),
    );
    const now = Date.now();
    const states: Record<string, LoopState> = {};
    const late: string[] = [];
    for (const queue of this.config.consume) {
      const loop = loops.get(queue);
      if (!loop) states[queue] = 'not started';
      else if (!loop.running || loop.stopping) states[queue] = 'stopped';
      else if (loop.active >= loop.concurrency) states[queue] = 'busy';
      else if (now - loop.dueBy > grace) late.push(queue);
      else states[queue] = 'running';
    }
    if (late.length) {
      const answers = (await this.jobs.answers?.(pingTimeout)) ?? true;
      for (const queue of late) states[queue] = answers ? 'stuck' : 'waiting for Redis';
    }
    const dead = Object.entries(states).filter(([, state]) =>
      ['stuck', 'stopped', 'not started'].includes(state),
    );
    if (dead.length === 0) return up({ queues: states });
    return down({
      reason: dead.map(([queue, state]) => `worker loop of queue "${queue}" ${state}`).join('; '),
      queues: states,
    });
  }

  /** Readiness: Redis answers a PING through the module's fail-fast client within `timeout`. */
  async redis(timeout: number): Promise<ProbeVerdict> {
    if (this.closing) return SHUTTING_DOWN;
    if (!(this.transport instanceof RedisTransport)) return up({ transport: 'memory' });
    let reply: string | undefined;
    let timedOut = false;
    // The client fails at once while disconnected (no offline queue); a frozen server
    // answers nothing, hence the bound (the client's own commandTimeout may come first).
    const ping = this.transport.client.ping().then(
      (answer) => (reply = answer),
      (error: Error) => (timedOut = /timed out/i.test(error.message)),
    );
    timedOut = !(await within(ping, timeout)) || timedOut;
    if (reply === 'PONG') return up({ transport: 'redis' });
    return down({
      reason: timedOut
        ? `Redis did not answer a PING within ${Math.min(timeout, this.config.commandTimeout)} ms`
        : 'Redis is unreachable (the connection is down or refused the PING)',
    });
  }

  /**
   * The dead man's switch: scheduled tasks whose last success anywhere in the cluster is
   * older than their `staleAfter` (by default two ticks plus `staleGrace`). Tasks off in
   * this environment, unscheduled by `schedules.<task>.enabled: false`, paused, or with
   * `staleAfter: false` are never stale; a task never run counts from when a process first
   * registered it, and a resumed task from its resumption.
   */
  async staleness(staleGrace: number): Promise<ProbeVerdict> {
    if (this.closing) return SHUTTING_DOWN;
    const watched = this.registry
      .all()
      .filter(
        (task) =>
          task.schedule &&
          task.scheduled &&
          task.options.staleAfter !== false &&
          this.environment.allows(task) &&
          !this.paused.isPaused(task.name),
      );
    if (watched.length === 0) return up({ watched: 0 });
    let facts;
    try {
      facts = await this.transport.taskFacts(watched.map((task) => task.name));
    } catch {
      return down({ reason: "could not read the tasks' last successes from Redis" });
    }
    const now = this.config.clock.now();
    const stale: StaleTask[] = [];
    for (const task of watched) {
      const succeeded = facts.succeeded.get(task.name);
      const since = Math.max(succeeded ?? -Infinity, facts.since.get(task.name) ?? -Infinity);
      // No instant yet: this process's first-seen mark is not written yet.
      if (!Number.isFinite(since)) continue;
      const limit = this.staleAfter(task, since, staleGrace);
      if (limit === undefined || now - since <= limit) continue;
      stale.push({
        task: task.name,
        lastSuccessAt: succeeded === undefined ? null : iso(succeeded),
        age: formatDuration(now - since),
        ageSeconds: Math.round((now - since) / 1000),
        staleAfter: formatDuration(limit),
        staleAfterSeconds: Math.round(limit / 1000),
      });
    }
    if (stale.length === 0) return up({ watched: watched.length });
    return down({
      reason: stale
        .map(
          ({ task, lastSuccessAt, age, staleAfter }) =>
            `${task}: no success ${lastSuccessAt === null ? 'since it was first seen' : 'for'} ${age} (staleAfter ${staleAfter})`,
        )
        .join('; '),
      stale,
    });
  }

  /**
   * The task's `staleAfter` in ms; by default, counted from `since`: until two of its
   * ticks have passed, plus the grace (two intervals plus the grace for `every`, and for
   * a cron with uneven gaps, the gaps that actually follow, such as a weekend).
   */
  private staleAfter(task: TaskDefinition, since: number, staleGrace: number): number | undefined {
    const given = task.options.staleAfter;
    if (given !== undefined && given !== false) return parseInterval(given);
    try {
      const second = nextTick(task.schedule!, nextTick(task.schedule!, since));
      return second + staleGrace - since;
    } catch {
      return undefined; // a schedule that stopped: the scheduler says so in the log
    }
  }
}
