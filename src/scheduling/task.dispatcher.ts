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
import type {
  ClaimRecord,
  ClaimResult,
  InteractorsTransport,
} from '../transport/transport.interface.js';
import { InteractorsMetrics } from '../metrics/interactors.metrics.js';
import { latestTick, nextTick, ticksBetween, type Schedule } from './schedule.js';
import { TickFirer } from './tick.firer.js';
import { systemClock } from './clock.js';
import { redisSecrets, scrub } from '../transport/redis-connection.js';

const TIMER = 'interactors:dispatcher';
/**
 * Timers run on the monotonic clock, so a wall clock stepped forward (NTP, a resumed VM)
 * would go unnoticed until a long timer fired: wake at least once a minute and re-arm.
 * (It also keeps under Node's 2^31-1 ms timer limit.)
 */
const MAX_TIMER_DELAY = 60_000;
/** After failed claims (Redis unreachable), try again this much later: soon, then each second. */
const CLAIM_RETRIES = [100, 250, 500, 1_000];
/** A failure that lasts is said again this often; so is a scheduler whose clock runs ahead. */
const REPEAT_FAILURE_EVERY = 5 * 60_000;
/** A lost claim whose winner is this far ahead of the tick tells of a clock ahead. */
const AHEAD_WARNING = 60_000;
/** Work spent counting one gap's missed ticks at most; past it the count is a lower bound. */
const COUNT_BUDGET = 20;
/** With `catchUp: false`, a tick still runs when its wake is at most this late. */
const ON_TIME = 1_000;
/** Missed ticks counted per gap at most: counting a long gap must not block the loop. */
const MAX_COUNTED = 10_000;
/**
 * A host clock this far from Redis's is corrected for, and a claim this far ahead of
 * Redis's clock is refused: NTP keeps clocks within milliseconds, so more is a broken clock.
 */
const CLOCK_TOLERANCE = 250;

interface Slot {
  readonly task: TaskDefinition;
  readonly schedule: Schedule;
  /** The first tick not handled yet (claimed, lost or counted). */
  nextDueAt: number;
  /** When to look at the slot again: its next tick, or a claim's retry. */
  wakeAt: number;
  /** Failed claims in a row. */
  retries: number;
  /**
   * The tick after `nextDueAt`, computed ahead (off the firing path), so that a wake on
   * time claims and fires without computing any instant; undefined until computed.
   */
  following?: number;
  /** The tick this slot claimed last (won or lost): `nextDueAt` is the one after it. */
  claimed?: number;
}

/**
 * What the dispatcher is doing, for the liveness check: its own progress, never Redis's.
 * Instants are the module clock's. @internal
 */
export interface DispatcherSnapshot {
  readonly running: boolean;
  /** When it last woke (its timer fired, or a caller woke it) or armed its timer. */
  readonly steppedAt: number | undefined;
  /** When the armed timer is due to fire; undefined when none is armed. */
  readonly armedFor: number | undefined;
  readonly slots: ReadonlyArray<{ readonly task: string; readonly nextDueAt: number }>;
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
  private failures = { count: 0, since: 0, reported: 0 };
  private readonly aheadReported = new Map<string, number>();
  /** Who claims, so a claim retried after a lost answer is recognised as this one's. */
  private readonly claimant = randomUUID().slice(0, 8);
  private readonly firing = new Set<Promise<void>>();
  // Refreshed on every wake and arm, so liveness can tell a timer that stopped re-arming
  // from a slot kept due while its claim is retried (Redis down: wakes go on every second).
  private steppedAt: number | undefined;
  private armedFor: number | undefined;
  /**
   * How far this host's clock runs ahead of Redis's (negative: behind), when beyond the
   * tolerance; ticks are timed by the host's clock minus it. Learnt from each claim, so a
   * clock put right is followed. Only for the system clock: an injected one is the truth.
   */
  private offset = 0;
  /** The latest estimate of that offset, applied or not. */
  private measured = 0;
  private offsetReported = -Infinity;
  private staleReported = -Infinity;
  private readonly secrets: string[];

  constructor(
    private readonly registry: TaskRegistry,
    private readonly firer: TickFirer,
    private readonly metrics: InteractorsMetrics,
    @Inject(INTERACTORS_TIMERS) private readonly timers: SchedulerRegistry,
    @Inject(INTERACTORS_TRANSPORT) private readonly transport: InteractorsTransport,
    @Inject(INTERACTORS_CONFIG) private readonly config: InteractorsConfig,
  ) {
    this.secrets = config.redis ? redisSecrets(config.redis) : [];
  }

  /**
   * Schedules the given tasks (those disabled in this environment are left out by the
   * caller). A task whose last claimed tick (in Redis, so across restarts) is followed by
   * ticks already past is due at once: the downtime's catch-up.
   */
  async start(tasks: readonly TaskDefinition[] = this.registry.all()): Promise<void> {
    const scheduled = tasks.filter((task) => task.schedule);
    let last = new Map<string, ClaimRecord>();
    try {
      last = await this.transport.claimRecords(scheduled.map((task) => task.name));
    } catch (error) {
      this.logger.error(
        `Could not read the last claimed ticks; nothing missed while no scheduler ran is caught up: ${scrub((error as Error).message, this.secrets)}`,
      );
    }
    const now = this.now();
    this.slots = scheduled.map((task) => {
      const schedule = task.schedule!;
      const record = last.get(task.name);
      let previous = record?.dueAt;
      if (record?.schedule !== undefined && record.schedule !== schedule.key) {
        // Ticks of another schedule say nothing about this one's: nothing to catch up.
        this.logger.log(
          `Task "${task.name}": its schedule changed since the last claim (was ${record.schedule}); nothing is caught up`,
        );
        previous = undefined;
      }
      const missed = previous === undefined ? Infinity : this.following(task, previous);
      const nextDueAt = missed <= now ? missed : this.following(task, now);
      return { task, schedule, nextDueAt, wakeAt: nextDueAt, retries: 0 };
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

  /** The dispatcher's own progress, for the liveness check. */
  snapshot(): DispatcherSnapshot {
    return {
      running: this.running,
      steppedAt: this.steppedAt,
      armedFor: this.armedFor,
      // On the module clock, as the probe reads it: ticks are timed `offset` from it.
      slots: this.slots.map((slot) => ({
        task: slot.task.name,
        nextDueAt: slot.nextDueAt + this.offset,
      })),
    };
  }

  /**
   * Fires what is due per the clock. The timer calls it; calling it again for the same
   * tick (a double wake) fires nothing twice. Resolves when the ticks are handed on.
   */
  async wake(): Promise<void> {
    if (!this.running) return;
    const now = this.now();
    this.steppedAt = this.config.clock.now();
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
        const claimedBefore = slot.claimed;
        reached.push({ slot, task: slot.task, first: slot.nextDueAt, claimedBefore, dueAt });
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
    const guarded = this.config.clock === systemClock;
    const sentAt = this.config.clock.now();
    try {
      claims = await this.transport.claimTicks(
        reached.map(({ task, slot, dueAt }) => ({
          task: task.name,
          dueAt,
          first: slot.nextDueAt,
          schedule: slot.schedule.key,
        })),
        this.claimant,
        guarded
          ? {
              maxAhead: CLOCK_TOLERANCE,
              sentAt: sentAt - this.offset,
              // Past the command timeout the answer is unheard. The offset may be wrong by
              // up to the tolerance either way, so the bound stays that far inside the
              // timeout (a claim refused in error is only made again); the floor keeps a
              // short commandTimeout from refusing every claim of a host behind Redis.
              maxAge: Math.max(this.config.commandTimeout - CLOCK_TOLERANCE, 2 * CLOCK_TOLERANCE),
            }
          : undefined,
      );
    } catch (error) {
      this.claimFailed(reached, error as Error);
      return;
    }
    const serverTime = claims[0]?.serverTime;
    if (serverTime !== undefined) this.learnOffset(sentAt, serverTime);
    // A claim refused as stale claimed nothing: the outage it came from is not over yet.
    if (!claims.every((claim) => claim.stale)) {
      if (this.failures.count) {
        this.logger.log(
          `Claiming ticks works again (after ${this.failures.count} failed attempt(s))`,
        );
      }
      this.failures = { count: 0, since: 0, reported: 0 };
    }
    // Refused as early: the tick is claimed again when Redis's clock reaches it. Refused as
    // stale (it reached Redis after this process stopped waiting): claimed again soon.
    for (const [i, { slot, dueAt }] of reached.entries()) {
      if (claims[i]!.early) slot.wakeAt = this.now() + Math.max(dueAt - (serverTime ?? dueAt), 0);
      else if (claims[i]!.stale) {
        slot.wakeAt =
          this.now() + CLAIM_RETRIES[Math.min(slot.retries++, CLAIM_RETRIES.length - 1)]!;
      }
    }
    if (claims.some((claim) => claim.stale)) this.noticeStale(reached);
    const outcomes = reached
      .map((tick, i) => ({
        tick,
        ...claims[i]!,
        runs: claims[i]!.won && this.catchesUp(tick, now),
      }))
      .filter(({ early, stale }) => !early && !stale);
    await Promise.all(outcomes.map(({ tick, runs }) => runs && this.firer.fire(tick, this.now())));
    // Next instants only now, off the firing path: known ahead when the tick was the
    // slot's next one; then the one after, for the next wake.
    for (const {
      tick: { slot, dueAt, first },
    } of outcomes) {
      slot.nextDueAt = slot.wakeAt =
        dueAt === first && slot.following !== undefined
          ? slot.following
          : this.following(slot.task, dueAt);
      slot.claimed = dueAt;
      slot.retries = 0;
      this.prepare(slot);
    }
    // Counting too: it may walk many ticks of a long gap.
    for (const { tick, won, previous, runs } of outcomes) {
      try {
        if (won) this.countMissed(tick, previous, runs);
        else if (previous !== undefined) this.noticeAhead(tick, previous);
      } catch (error) {
        this.logger.error(
          `Task "${tick.task.name}": missed ticks not counted: ${(error as Error).message}`,
        );
      }
    }
  }

  /**
   * Nothing is lost yet: the slots stay on their first unhandled tick and are claimed again
   * soon — quickly at first, so one dropped packet does not make a tick late — and the gap
   * is judged by whoever wins then. A claim that timed out may still land: the claim script
   * knows this claimant's own claims. Said once, and again every few minutes while it lasts.
   */
  private claimFailed(reached: Reached[], error: Error): void {
    const now = this.now();
    const failures = this.failures;
    if (failures.count === 0) failures.since = now;
    failures.count++;
    if (failures.count === 1 || now - failures.reported >= REPEAT_FAILURE_EVERY) {
      const lasting =
        failures.count === 1
          ? ''
          : ` (failing for ${Math.round((now - failures.since) / 1000)} s, ${failures.count} attempts)`;
      this.logger.error(
        `Could not claim ticks of ${reached.map((tick) => tick.task.name).join(', ')}${lasting}; retrying: ${scrub(error.message, this.secrets)}`,
      );
      failures.reported = now;
    }
    for (const { slot } of reached) {
      slot.wakeAt = now + CLAIM_RETRIES[Math.min(slot.retries, CLAIM_RETRIES.length - 1)]!;
      slot.retries++;
    }
  }

  /**
   * A lost claim whose winner is far ahead of the tick: a scheduler whose clock runs ahead
   * claimed instants that have not come yet, and every other scheduler loses them until
   * real time catches up. Said, at most every few minutes per task.
   */
  private noticeAhead({ task, dueAt }: Reached, claimed: number): void {
    if (claimed - dueAt <= AHEAD_WARNING) return;
    const now = this.now();
    if (now - (this.aheadReported.get(task.name) ?? -Infinity) < REPEAT_FAILURE_EVERY) return;
    this.aheadReported.set(task.name, now);
    this.logger.warn(
      `Task "${task.name}": tick ${new Date(dueAt).toISOString()} was already claimed up to ` +
        `${new Date(claimed).toISOString()}, ${Math.round((claimed - dueAt) / 1000)} s ahead: a scheduler's clock ` +
        'runs ahead (or the schedule was claimed by a test clock); ticks are lost until real time catches up',
    );
  }

  /** Claims refused as stale: said at most every few minutes, for they should not last. */
  private noticeStale(reached: Reached[]): void {
    const now = this.config.clock.now();
    if (now - this.staleReported < REPEAT_FAILURE_EVERY) return;
    this.staleReported = now;
    this.logger.warn(
      `Claims of ${reached.map((tick) => tick.task.name).join(', ')} reached Redis after this process stopped waiting ` +
        `(more than commandTimeout ${this.config.commandTimeout} ms): refused, and made again`,
    );
  }

  /** The scheduler's time: the module clock, less a known offset of the host's clock from Redis's. */
  private now(): number {
    return this.config.clock.now() - this.offset;
  }

  /**
   * Takes the offset of the host's clock from Redis's from a claim sent at `sentAt` (host
   * clock) that read `serverTime` on Redis. When Redis ran it, the host's clock read
   * between `sentAt` and now, so the offset lies between those bounds however slow the
   * answer: a quick answer gives the estimate, a slow one can still prove it wrong.
   */
  private learnOffset(sentAt: number, serverTime: number): void {
    const receivedAt = this.config.clock.now();
    const low = sentAt - serverTime;
    const high = receivedAt - serverTime;
    this.measured =
      high - low <= CLOCK_TOLERANCE
        ? (low + high) / 2
        : Math.min(Math.max(this.measured, low), high);
    // Corrected beyond the tolerance, and dropped only well within it: a host near the
    // bound does not flap between the two.
    const beyond =
      Math.abs(this.measured) > (this.offset === 0 ? CLOCK_TOLERANCE : CLOCK_TOLERANCE / 2);
    const offset = beyond ? Math.round(this.measured) : 0;
    if (offset !== 0 && receivedAt - this.offsetReported >= REPEAT_FAILURE_EVERY) {
      this.offsetReported = receivedAt;
      this.logger.warn(
        `This host's clock is ${Math.abs(offset)} ms ${offset > 0 ? 'ahead of' : 'behind'} Redis's: ` +
          "ticks are timed by Redis's clock until it is put right (check the host's NTP)",
      );
    } else if (offset === 0 && this.offset !== 0) {
      this.logger.log("This host's clock agrees with Redis's again");
    }
    this.offset = offset;
  }

  /** Whether the latest tick reached runs: it is within the task's `catchUp` window. */
  private catchesUp({ task, first, dueAt }: Reached, now: number): boolean {
    const late = now - dueAt;
    if (task.catchUp === false) return dueAt === first && late <= ON_TIME;
    // By default one interval: the latest tick reached is always within it.
    return task.catchUp === undefined || late <= task.catchUp;
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
    const between = consecutive
      ? { count: 0, complete: true }
      : ticksBetween(slot.schedule, after, dueAt, MAX_COUNTED, COUNT_BUDGET);
    const count = between.count + (ran ? 0 : 1);
    if (count === 0) return;
    if (this.metrics.covers(task))
      this.metrics.runs.labels(task.name, 'skipped', 'missed').inc(count);
    const iso = (instant: number) => new Date(instant).toISOString();
    const atLeast = between.complete ? '' : 'at least ';
    this.logger.warn(
      `Task "${task.name}": ${atLeast}${count} tick(s) after ${previous === undefined ? 'start' : iso(previous)} missed ` +
        `(a stall, a clock step or an outage, or no scheduler running); ${ran ? `ran the latest, due ${iso(dueAt)}` : `the latest, due ${iso(dueAt)}, was outside catchUp and did not run`}`,
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
    slot.following = undefined;
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
    const delay = Math.min(Math.max(next - this.now(), 0), MAX_TIMER_DELAY);
    this.steppedAt = this.config.clock.now();
    this.armedFor = this.steppedAt + delay;
    this.timers.addTimeout(
      TIMER,
      setTimeout(() => void this.wake(), delay),
    );
  }

  private disarm(): void {
    this.armedFor = undefined;
    if (this.timers.doesExist('timeout', TIMER)) this.timers.deleteTimeout(TIMER);
  }
}
