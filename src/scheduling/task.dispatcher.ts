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
import type { InteractorsTransport } from '../transport/transport.interface.js';
import { TickFirer } from './tick.firer.js';

const TIMER = 'interactors:dispatcher';
/**
 * Timers run on the monotonic clock, so a wall clock stepped forward (NTP, a resumed VM)
 * would go unnoticed until a long timer fired: wake at least once a minute and re-arm.
 * (It also keeps under Node's 2^31-1 ms timer limit.)
 */
const MAX_TIMER_DELAY = 60_000;

interface Slot {
  readonly task: TaskDefinition;
  nextDueAt: number;
}

/** A tick to fire: task T due at `dueAt`. @internal */
export interface DueTick {
  readonly task: TaskDefinition;
  readonly slot?: Slot;
  readonly dueAt: number;
}

/**
 * One timer over every scheduled task's next due instant (not one CronJob per task).
 * On each wake it claims every due tick in one transport call, hands the won ones to the
 * firer, then computes next instants from the due instants, so no drift accumulates.
 * @internal
 */
@Injectable()
export class TaskDispatcher {
  private readonly logger = new TaskLogger(LOGGER_CONTEXT);
  private slots: Slot[] = [];
  private running = false;
  private readonly firing = new Set<Promise<void>>();

  constructor(
    private readonly registry: TaskRegistry,
    private readonly firer: TickFirer,
    @Inject(INTERACTORS_TIMERS) private readonly timers: SchedulerRegistry,
    @Inject(INTERACTORS_TRANSPORT) private readonly transport: InteractorsTransport,
    @Inject(INTERACTORS_CONFIG) private readonly config: InteractorsConfig,
  ) {}

  /** Schedules the given tasks' crons (those disabled in this environment are left out by the caller). */
  start(tasks: readonly TaskDefinition[] = this.registry.all()): void {
    const now = this.config.clock.now();
    this.slots = tasks
      .filter((task) => task.schedule)
      .map((task) => ({ task, nextDueAt: task.schedule!.next(now) }));
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

  /** Next due instant of a task (epoch ms), when this process schedules it. */
  nextDueAt(task: string): number | undefined {
    return this.slots.find((slot) => slot.task.name === task)?.nextDueAt;
  }

  /**
   * Fires what is due per the clock. The timer calls it; calling it again for the same
   * tick (a double wake) fires nothing twice. Resolves when the ticks are handed on.
   */
  async wake(): Promise<void> {
    if (!this.running) return;
    const now = this.config.clock.now();
    const due = this.slots.filter((slot) => slot.nextDueAt <= now);
    if (due.length === 0) {
      this.arm(); // woke early: wait for the remainder
      return;
    }
    const ticks = due.map((slot) => ({ slot, task: slot.task, dueAt: slot.nextDueAt }));
    // Take the due slots out before the first await, so a concurrent wake sees nothing due,
    // and keep the timer going for the others while the claims are out.
    for (const slot of due) slot.nextDueAt = Infinity;
    this.arm();
    const fired = this.fire(ticks);
    this.firing.add(fired);
    try {
      await fired;
    } finally {
      this.firing.delete(fired);
    }
    // Next instants are computed only now, off the firing path.
    const after = this.config.clock.now();
    for (const { slot, dueAt } of ticks) slot.nextDueAt = this.following(slot, dueAt, after);
    this.arm();
  }

  private async fire(ticks: DueTick[]): Promise<void> {
    let won: boolean[];
    try {
      won = await this.transport.claimTicks(
        ticks.map(({ task, dueAt }) => ({ task: task.name, dueAt })),
      );
    } catch (error) {
      this.logger.error(
        `Could not claim ${ticks.length} tick(s) of ${ticks.map((t) => t.task.name).join(', ')}; ` +
          `they are skipped: ${(error as Error).message}`,
      );
      return;
    }
    await Promise.all(ticks.map((tick, i) => won[i] && this.firer.fire(tick)));
  }

  /** The next due instant after a fired one; ticks already past are skipped, never stormed. */
  private following(slot: Slot, dueAt: number, now: number): number {
    try {
      const next = slot.task.schedule!.next(dueAt);
      return next > now ? next : slot.task.schedule!.next(now);
    } catch (error) {
      this.logger.error(`Task "${slot.task.name}" is unscheduled: ${(error as Error).message}`);
      return Infinity;
    }
  }

  private arm(): void {
    this.disarm();
    if (!this.running) return;
    const next = Math.min(...this.slots.map((slot) => slot.nextDueAt));
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
