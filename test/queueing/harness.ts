import type { INestApplication, Provider, Type } from '@nestjs/common';
import { afterAll, afterEach } from 'vitest';
import {
  Interactors,
  InteractorsModule,
  type InteractorsModuleExtras,
  type InteractorsModuleOptions,
} from '../../src/index.js';
import { PLAIN_TASKS, QUEUES, Runs } from './fixtures.js';
import {
  Apps,
  BullQueues,
  CapturingLogger,
  isolateEnv,
  Prefixes,
  REDIS_URL,
  uniquePrefix,
} from './helpers.js';

/** The two queue adapters: BullMQ on the real Redis, and the in-memory twin (no `redis`). */
export type TransportKind = 'redis' | 'memory';

export interface Booted {
  readonly app: INestApplication;
  readonly interactors: Interactors;
  readonly runs: Runs;
  readonly logger: CapturingLogger;
  readonly prefix: string;
}

export interface BootOptions extends InteractorsModuleOptions, InteractorsModuleExtras {
  /** Task classes (and other providers) of the app; every unscheduled fixture by default. */
  tasks?: (Type | Provider)[];
  /** Reuse this prefix (a second process on the same Redis keys) instead of a fresh one. */
  samePrefixAs?: Booted;
}

/**
 * Registers the per-file hooks (env isolation, app and queue closing, key cleanup) and
 * returns a `boot` that starts an app on the given transport with the fixture queues.
 */
export function harness(kind: TransportKind, file: string) {
  isolateEnv();
  const prefixes = new Prefixes(uniquePrefix(`${file}-${kind}`));
  const apps = new Apps();
  const queues = new BullQueues();
  afterEach(async () => {
    await apps.closeAll();
    await queues.closeAll();
  });
  afterAll(() => prefixes.cleanup());

  async function boot(options: BootOptions = {}): Promise<Booted> {
    const { tasks = PLAIN_TASKS, samePrefixAs, ...moduleOptions } = options;
    const prefix = samePrefixAs?.prefix ?? prefixes.next();
    const logger = new CapturingLogger();
    const app = await apps.boot(
      {
        imports: [
          InteractorsModule.forRoot({
            ...(kind === 'redis' ? { redis: REDIS_URL } : {}),
            prefix,
            queues: QUEUES,
            shutdownGrace: 2_000,
            ...moduleOptions,
          }),
        ],
        providers: [Runs, ...tasks],
      },
      logger,
    );
    return { app, interactors: app.get(Interactors), runs: app.get(Runs), logger, prefix };
  }

  return { boot, apps, queues, prefixes };
}
