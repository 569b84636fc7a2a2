import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { TaskLogger } from '../execution/task-logger.js';
import { INTERACTORS_TRANSPORT, LOGGER_CONTEXT } from '../interactors.constants.js';
import type { InteractorsTransport } from '../transport/transport.interface.js';

/** Also re-read this often, in case a change notice was lost with a connection. */
const REFRESH_EVERY = 30_000;

/**
 * Which tasks are paused, cluster-wide. The state lives in Redis (so it survives
 * restarts); each process keeps a copy, refreshed when any process announces a change,
 * so asking costs nothing per job. @internal
 */
@Injectable()
export class PausedTasks implements OnModuleInit {
  private readonly logger = new TaskLogger(LOGGER_CONTEXT);
  private paused = new Set<string>();
  private readonly resumed = new Map<string, number>();
  private stopWatching: () => Promise<void> = async () => undefined;
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;
  private stale = false;
  private closed = false;
  /** Bumped before and after each write of this process. */
  private writes = 0;
  private starting: Promise<void> = Promise.resolve();

  constructor(@Inject(INTERACTORS_TRANSPORT) private readonly transport: InteractorsTransport) {}

  onModuleInit(): Promise<void> {
    // Kept, so that closing an app whose boot failed meanwhile waits for the subscription
    // and closes it rather than leaking it.
    this.starting = (async () => {
      await this.refresh();
      this.stopWatching = await this.transport.watchPaused(() => void this.refresh());
      this.timer = setInterval(() => void this.refresh(), REFRESH_EVERY);
      this.timer.unref();
    })();
    return this.starting;
  }

  isPaused(task: string): boolean {
    return this.paused.has(task);
  }

  /** When this process saw the task resumed (epoch ms), if it did. */
  resumedAt(task: string): number | undefined {
    return this.resumed.get(task);
  }

  /** Replaces the copy, noting which tasks it no longer holds: they were just resumed. */
  private replace(paused: Set<string>): void {
    for (const task of this.paused) if (!paused.has(task)) this.resumed.set(task, Date.now());
    this.paused = paused;
  }

  /** The paused tasks' names, as last read. */
  all(): string[] {
    return [...this.paused];
  }

  async set(task: string, paused: boolean): Promise<void> {
    // Reads begun around the write may return the state before it: counted on both sides
    // of the write, so such a read is dropped and done again (see refresh).
    this.writes++;
    try {
      await this.transport.setPaused(task, paused);
    } finally {
      this.writes++;
    }
    // This process need not wait for its own notice.
    const next = new Set(this.paused);
    if (paused) next.add(task);
    else next.delete(task);
    this.replace(next);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.starting.catch(() => undefined);
    clearInterval(this.timer);
    await this.stopWatching();
    await this.reading;
  }

  private refresh(): Promise<void> {
    if (this.closed) return Promise.resolve();
    // A notice during a read asks for another read: that one may predate the change.
    if (this.reading) {
      this.stale = true;
      return this.reading;
    }
    const writes = this.writes;
    this.reading = this.transport
      .pausedTasks()
      .then(
        (paused) => {
          if (this.writes === writes) this.replace(paused);
          else this.stale = true; // it may predate a write of this process
        },
        (error: Error) => {
          if (this.closed) return;
          this.logger.warn(
            `Could not read the paused tasks; keeping the last known: ${error.message}`,
          );
        },
      )
      .finally(() => {
        this.reading = undefined;
        if (this.stale && !this.closed) {
          this.stale = false;
          void this.refresh();
        }
      });
    return this.reading;
  }
}
