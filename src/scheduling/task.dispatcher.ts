import { randomUUID } from 'node:crypto';
import { TaskLogger } from '../execution/task-logger.js';
import { Inject, Injectable } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import {
  INTERACTORS_CONFIG,
  INTERACTORS_TRANSPORT,
  LOGGER_CONTEXT,
} from '../interactors.constants.js';
import { INTERACTORS_TIMERS } from '../interactors.constants.js';
import type { InteractorsConfig } from '../interactors.config.js';
import type { TaskDefinition } from '../discovery/task-definition.js';
import { TaskRegistry } from '../discovery/task.registry.js';
import type { ClaimResult, InteractorsTransport } from '../transport/transport.interface.js';
import { InteractorsMetrics } from '../metrics/interactors.metrics.js';
import { latestTick, nextTick, ticksBetween, type Schedule } from './schedule.js';
import { TickFirer } from './tick.firer.js';

const TIMER = 'interactors:dispatcher';
/**
 * Timers run on the monotonic clock, so a wall clock stepped forward (NTP, a resumed VM)
 * would go unnoticed until a long timer fired: wake at least once a minute and re-arm.
 * (It also keeps under Node's 2^31-1 ms timer limit.)
 */
const MAX_TIMER_DELAY = 60_000;
/** After a failed claim (Redis unreachable), try again this much later, not in a loop. */
const CLAIM_RETRY = 1_000;
/** With `catchUp: false`, a tick still runs when its wake is at most this late. */
const ON_TIME = 1_000;
/** Missed ticks counted per gap at most: counting a long gap must not block the loop. */
const MAX_COUNTED = 10_000;

interface Slot {
  readonly task: TaskDefinition;
  readonly schedule: Schedule;
  /** The first tick not handled yet (claimed, lost or counted). */
  nextDueAt: number;
  /** When to look at the slot again: its next tick, or a claim's retry. */
  wakeAt: number;
  /**
   * The tick after `nextDueAt`, computed ahead (off the firing path), so that a wake on
   * time claims and fires without computing any instant; undefined until computed.
   */
  following?: number;
  /** The tick this slot claimed last (won or lost): `nextDueAt` is the one after it. */
  claimed?: number;
  /** A claim sent whose answer was lost: it may have landed with nothing run. */
  unconfirmed?: number;
}

/** A tick to fire: task T due at `dueAt`. @internal */
export interface DueTick {
  readonly task: TaskDefinition;
  readonly dueAt: number;
}

/** A due slot in one wake: the latest tick it reached, and the first it had not handled. */
interface Reached extends DueTick {
  readonly slot: Slot;
  readonly first: number;
  /** The slot's `claimed` at the wake: the tick before `first`, when defined. */
  readonly claimedBefore: number | undefined;
}

/**
 * One timer over every scheduled task's next due instant (not one CronJob per task).
 * A tick is its due instant: each wake claims, per due task, the latest tick reached, in
 * one transport call, and the winner of a claim judges the gap since the previous claim:
 * the latest tick runs if it is within the task's `catchUp` window and the ticks nobody
 * claimed are counted as `missed`. Never a burst, never a replay.
 * @internal
 */
@Injectable()
export class TaskDispatcher {
  private readonly logger = new TaskLogger(LOGGER_CONTEXT);
  private slots: Slot[] = [];
  private running = false;
  private claimsFailing = false;
  /** Who claims, so a claim retried after a lost answer is recognised as this one's. */
  private readonly claimant = randomUUID().slice(0, 8);
  private readonly firing = new Set<Promise<void>>();

  constructor(
    private readonly registry: TaskRegistry,
    private readonly firer: TickFirer,
    private readonly metrics: InteractorsMetrics,
    @Inject(INTERACTORS_TIMERS) private readonly timers: SchedulerRegistry,
    @Inject(INTERACTORS_TRANSPORT) private readonly transport: InteractorsTransport,
    @Inject(INTERACTORS_CONFIG) private readonly config: InteractorsConfig,
  ) {}

  /**
   * Schedules the given tasks (those disabled in this environment are left out by the
   * caller). A task whose last claimed tick (in Redis, so across restarts) is followed by
   * ticks already past is due at once: the downtime's catch-up.
   */
  async start(tasks: readonly TaskDefinition[] = this.registry.all()): Promise<void> {
    const scheduled = tasks.filter((task) => task.schedule);
    let last = new Map<string, number>();
    try {
      last = await this.transport.lastClaimed(scheduled.map((task) => task.name));
    } catch (error) {
      this.logger.error(
        `Could not read the last claimed ticks; nothing missed while no scheduler ran is caught up: ${(error as Error).message}`,
      );
    }
    const now = this.config.clock.now();
    this.slots = scheduled.map((task) => {
      const schedule = task.schedule!;
      const previous = last.get(task.name);
      const missed = previous === undefined ? Infinity : this.following(task, previous);
      const nextDueAt = missed <= now ? missed : this.following(task, now);
      return { task, schedule, nextDueAt, wakeAt: nextDueAt };
    });
    for (const slot of this.slots) this.prepare(slot);
    this.running = true;
    this.arm();
  }

  /**
   * Stops firing; idempotent. Resolves once a wake under way has finished claiming and has
   * handed its won ticks on (enqueued, or started and so tracked by the runner's drain).
   */
  async stop(): Promise<void> {
    this.running = false;
    this.disarm();
    await Promise.allSettled(this.firing);
  }

  /** Whether this process's scheduler has the task (even if it had to unschedule it). */
  schedules(task: string): boolean {
    return this.slots.some((slot) => slot.task.name === task);
  }

  /** Next due instant of a task (epoch ms), when this process schedules it. */
  nextDueAt(task: string): number | undefined {
    const slot = this.slots.find((each) => each.task.name === task);
    return slot && Number.isFinite(slot.nextDueAt) ? slot.nextDueAt : undefined;
  }

  /**
   * Fires what is due per the clock. The timer calls it; calling it again for the same
   * tick (a double wake) fires nothing twice. Resolves when the ticks are handed on.
   */
  async wake(): Promise<void> {
    if (!this.running) return;
    const now = this.config.clock.now();
    const due = this.slots.filter((slot) => slot.wakeAt <= now);
    if (due.length === 0) {
      this.arm(); // woke early: wait for the remainder
      return;
    }
    const reached: Reached[] = [];
    for (const slot of due) {
      try {
        // On time (the tick after the next one is still ahead): nothing to compute.
        const dueAt =
          slot.following !== undefined && slot.following > now
            ? slot.nextDueAt
            : latestTick(slot.schedule, slot.nextDueAt, now);
        reached.push({
          slot,
          task: slot.task,
          first: slot.nextDueAt,
          claimedBefore: slot.claimed,
          dueAt,
        });
      } catch (error) {
        this.unschedule(slot, error);
      }
    }
    // Take the due slots out before the first await, so a concurrent wake sees nothing due,
    // and keep the timer going for the others while the claims are out.
    for (const slot of due) slot.wakeAt = Infinity;
    this.arm();
    const fired = this.fire(reached, now);
    this.firing.add(fired);
    try {
      await fired;
    } finally {
      this.firing.delete(fired);
    }
    this.arm();
  }

  private async fire(reached: Reached[], now: number): Promise<void> {
    let claims: ClaimResult[];
    try {
      claims = await this.transport.claimTicks(
        reached.map(({ task, slot, dueAt }) => ({
          task: task.name,
          dueAt,
          unconfirmed: slot.unconfirmed,
        })),
        this.claimant,
      );
    } catch (error) {
      // The claim may still reach Redis (a timeout is the client giving up, not Redis).
      for (const { slot, dueAt } of reached) slot.unconfirmed = dueAt;
      // Nothing is lost yet: the slots stay on their first unhandled tick and are claimed
      // again shortly; the gap is judged by whoever wins then.
      if (!this.claimsFailing) {
        this.logger.error(
          `Could not claim ticks of ${reached.map((tick) => tick.task.name).join(', ')}; retrying every ${CLAIM_RETRY / 1000} s: ${(error as Error).message}`,
        );
      }
      this.claimsFailing = true;
      const retryAt = this.config.clock.now() + CLAIM_RETRY;
      for (const { slot } of reached) slot.wakeAt = retryAt;
      return;
    }
    if (this.claimsFailing) this.logger.log('Claiming ticks works again');
    this.claimsFailing = false;
    // Next instants first, so the slots are armed again whatever firing does: computed
    // ahead when the tick was the slot's next one.
    for (const { slot, dueAt, first } of reached) {
      slot.nextDueAt = slot.wakeAt =
        dueAt === first && slot.following !== undefined
          ? slot.following
          : this.following(slot.task, dueAt);
      slot.following = undefined;
      slot.claimed = dueAt;
      slot.unconfirmed = undefined;
    }
    const outcomes = reached.map((tick, i) => ({
      tick,
      ...claims[i]!,
      runs: claims[i]!.won && this.catchesUp(tick, now),
    }));
    await Promise.all(outcomes.map(({ tick, runs }) => runs && this.firer.fire(tick)));
    // The ticks are handed on: now the instants after the next ones, for the next wake.
    for (const { slot } of reached) if (slot.following === undefined) this.prepare(slot);
    // Counting is off the firing path: it may walk many ticks of a long gap.
    for (const { tick, won, previous, runs } of outcomes) {
      try {
        if (won) this.countMissed(tick, previous, runs);
      } catch (error) {
        this.logger.error(
          `Task "${tick.task.name}": missed ticks not counted: ${(error as Error).message}`,
        );
      }
    }
  }

  /** Whether the latest tick reached runs: it is within the task's `catchUp` window. */
  private catchesUp({ task, slot, first, dueAt }: Reached, now: number): boolean {
    const late = now - dueAt;
    if (task.catchUp === false) return dueAt === first && late <= ON_TIME;
    const window = task.catchUp ?? slot.nextDueAt - dueAt; // set to the next tick by now
    return late <= window;
  }

  /** Counts, as skipped/missed, the ticks nobody claimed before a won one (and it, if not run). */
  private countMissed(
    { task, slot, first, dueAt, claimedBefore }: Reached,
    previous: number | undefined,
    ran: boolean,
  ): void {
    // Judged from the last claimed tick, so ticks peers ran are never counted; with no
    // record (a new task, a wiped Redis), from the first tick this process waited for.
    const after = previous ?? first - 1;
    // The usual case needs no instant computed: the tick claimed is the slot's next one,
    // and the one claimed before it was the slot's previous one (or there was none).
    const consecutive = dueAt === first && (previous === undefined || previous === claimedBefore);
    const between = consecutive ? 0 : ticksBetween(slot.schedule, after, dueAt, MAX_COUNTED);
    const count = between + (ran ? 0 : 1);
    if (count === 0) return;
    if (this.metrics.covers(task))
      this.metrics.runs.labels(task.name, 'skipped', 'missed').inc(count);
    const iso = (instant: number) => new Date(instant).toISOString();
    const atLeast = between >= MAX_COUNTED ? 'at least ' : '';
    this.logger.warn(
      `Task "${task.name}": ${atLeast}${count} tick(s) after ${previous === undefined ? 'start' : iso(previous)} missed ` +
        `(a stall, a clock step or an outage); ${ran ? `ran the latest, due ${iso(dueAt)}` : `the latest, due ${iso(dueAt)}, was outside catchUp and did not run`}`,
    );
  }

  /** The next due instant after `instant`; a schedule that fails stops, loudly, never loops. */
  private following(task: TaskDefinition, instant: number): number {
    try {
      return nextTick(task.schedule!, instant);
    } catch (error) {
      this.logger.error(`Task "${task.name}" is unscheduled: ${(error as Error).message}`);
      return Infinity;
    }
  }

  /**
   * Computes the tick after the slot's next one. A schedule that fails there unschedules
   * the task now (its next tick included), as a wake would when it reached that tick.
   */
  private prepare(slot: Slot): void {
    if (!Number.isFinite(slot.nextDueAt)) return;
    slot.following = this.following(slot.task, slot.nextDueAt);
    if (!Number.isFinite(slot.following)) slot.nextDueAt = slot.wakeAt = Infinity;
  }

  private unschedule(slot: Slot, error: unknown): void {
    slot.nextDueAt = slot.wakeAt = Infinity;
    this.logger.error(`Task "${slot.task.name}" is unscheduled: ${(error as Error).message}`);
  }

  private arm(): void {
    this.disarm();
    if (!this.running) return;
    const next = Math.min(...this.slots.map((slot) => slot.wakeAt));
    if (!Number.isFinite(next)) return;
    const delay = Math.min(Math.max(next - this.config.clock.now(), 0), MAX_TIMER_DELAY);
    this.timers.addTimeout(
      TIMER,
      setTimeout(() => void this.wake(), delay),
    );
  }

  private disarm(): void {
    if (this.timers.doesExist('timeout', TIMER)) this.timers.deleteTimeout(TIMER);
  }
}
