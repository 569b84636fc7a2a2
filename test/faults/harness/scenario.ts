import { FaultApp, escapes, type FaultAppConfig } from './fault-app.js';
import { Records } from './records.js';
import { FaultRedis } from './redis-server.js';

/**
 * One scenario's world: its own redis-server, a records directory and the processes it
 * started; `dispose()` ends them all (SIGKILL for whatever still runs) and removes the files.
 */
export class Scenario {
  readonly redis: FaultRedis;
  readonly records = new Records();
  readonly apps: FaultApp[] = [];
  /** When each killed process died (pid → Date.now()), for the analyser. */
  readonly deaths = new Map<number, number>();

  constructor(
    readonly prefix: string,
    redis: { persistent?: boolean; password?: string } = {},
  ) {
    this.redis = new FaultRedis(redis);
  }

  async start(): Promise<this> {
    await this.redis.start();
    return this;
  }

  /** Starts a fault-app process on this scenario's Redis, prefix and records. */
  app(
    config: Partial<FaultAppConfig> = {},
    env: Record<string, string> = {},
    fixture?: string,
  ): FaultApp {
    const app = new FaultApp(
      { redis: this.redis.url, prefix: this.prefix, records: this.records.dir, ...config },
      env,
      fixture,
    );
    this.apps.push(app);
    return app;
  }

  /** Starts `count` processes with the same settings and waits until each is READY. */
  async cluster(count: number, config: Partial<FaultAppConfig> = {}): Promise<FaultApp[]> {
    const apps = Array.from({ length: count }, () => this.app(config));
    await Promise.all(apps.map((app) => app.ready));
    return apps;
  }

  /** `kill -9`, noting the instant for the analyser. */
  async kill(app: FaultApp): Promise<void> {
    this.deaths.set(app.pid, Date.now());
    app.signal('SIGKILL');
    await app.exited;
  }

  /**
   * Processes that died on their own (not by a kill or stop of the scenario's), with their
   * exit; call after stopping the survivors with `stopAll()`.
   */
  crashes(exits: ReadonlyMap<FaultApp, { code: number | null; signal: string | null }>): number {
    let crashes = 0;
    for (const [app, exit] of exits) {
      if (this.deaths.has(app.pid)) continue;
      // Nest's shutdown hooks end a SIGTERMed process by re-raising the signal: that is clean.
      if (exit.signal === 'SIGTERM' || exit.code === 0) continue;
      crashes++;
    }
    return crashes;
  }

  /** Stops every process still running (SIGTERM), returning each one's exit. */
  async stopAll(): Promise<Map<FaultApp, { code: number | null; signal: string | null }>> {
    const exits = new Map<FaultApp, { code: number | null; signal: string | null }>();
    await Promise.all(
      this.apps.map(async (app) =>
        exits.set(app, app.running ? await app.stop() : await app.exited),
      ),
    );
    return exits;
  }

  /** Unhandled rejections and uncaught exceptions printed by any process. */
  escapes(): string[] {
    return this.apps.flatMap((app) => escapes(app.output()));
  }

  async dispose(): Promise<void> {
    for (const app of this.apps) app.signal('SIGKILL');
    await Promise.all(this.apps.map((app) => app.exited));
    await this.redis.dispose();
    this.records.dispose();
  }
}

/** The next whole second at least `ms` from now. */
export function secondAfter(ms: number): number {
  return Math.ceil((Date.now() + ms) / 1000) * 1000;
}
