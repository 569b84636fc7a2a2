/**
 * Regressions from the review: run outcomes, queued jobs and configuration (in-memory mode,
 * except where the test says otherwise).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  Interactor,
  Interactors,
  InteractorsModule,
  LockUnavailableError,
  RunHooks,
  Task,
} from '../../src/index.js';
import { INTERACTORS_LOCKS, INTERACTORS_TRANSPORT } from '../../src/interactors.constants.js';
import {
  Apps,
  CapturingLogger,
  bootFailure,
  deleteKeys,
  isolateEnv,
  sleep,
  uniquePrefix,
  waitFor,
} from '../src/helpers.js';

let charged = 0;
@Task({ lock: true, attempts: 3 })
class ChargeCustomer extends Interactor {
  call(): void {
    charged++;
  }
}

@Task({ lock: { ttl: 150 }, timeout: 400 })
class SlowLocked extends Interactor {
  async call(): Promise<void> {
    await sleep(700);
  }
}

let reminded = 0;
@Task()
class MonthlyReminder extends Interactor {
  call(): void {
    reminded++;
  }
}

interface LockBackendLike {
  tryAcquire: (key: string, ttl: number) => Promise<unknown>;
  held: Map<string, unknown>;
}

describe('run and job regressions', () => {
  isolateEnv();
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  it('an enqueued job of a lock task waits out a lock-backend outage instead of completing unrun (lock-unavailable-job)', async () => {
    charged = 0;
    const app = await apps.boot({
      imports: [
        InteractorsModule.forRoot({
          metrics: false,
          lockedJob: { retryDelay: 100, window: 5_000 },
        }),
      ],
      providers: [ChargeCustomer],
    });
    // The lock backend answers "unreachable" until the test says it is back.
    const backend = app.get<LockBackendLike>(INTERACTORS_LOCKS, { strict: false });
    const real = backend.tryAcquire.bind(backend);
    let outage = true;
    backend.tryAcquire = (key, ttl) =>
      outage ? Promise.reject(new LockUnavailableError(key, 'connection refused')) : real(key, ttl);
    const outcomes: string[] = [];
    app.get(RunHooks).onFinished((result) => {
      outcomes.push(result.reason ? `${result.outcome}/${result.reason}` : result.outcome);
    });
    await app.get(Interactors).enqueue(ChargeCustomer);
    await waitFor(
      () => outcomes.includes('skipped/lock_unavailable'),
      2_000,
      'a lock_unavailable run',
    );
    await sleep(150);
    expect(charged).toBe(0);
    outage = false;
    await waitFor(() => charged === 1, 3_000, 'the job to run once the backend is back');
    expect(outcomes.at(-1)).toBe('success');
  });

  it('a run that lost its lock and then exceeded its timeout ends as timeout (lost-then-timeout)', async () => {
    const app = await apps.boot({
      imports: [InteractorsModule.forRoot({ metrics: false })],
      providers: [SlowLocked],
    });
    const running = app.get(Interactors).run(SlowLocked);
    await sleep(20);
    // The lock expires / is taken over: the next extension (ttl 150 ms) finds it lost.
    app.get<LockBackendLike>(INTERACTORS_LOCKS, { strict: false }).held.clear();
    const result = await running;
    expect(result.outcome).toBe('timeout');
    await sleep(400); // call() really settles before the app closes
  });

  it('in memory, a job with runAt 30 days ahead does not run now (memory-delay)', async () => {
    reminded = 0;
    const app = await apps.boot({
      imports: [InteractorsModule.forRoot({ metrics: false })],
      providers: [MonthlyReminder],
    });
    await app
      .get(Interactors)
      .with({ runAt: Date.now() + 30 * 86_400_000 })
      .enqueue(MonthlyReminder);
    await sleep(500);
    expect(reminded).toBe(0);
  });

  it("Interactors.run('Unknown') returns a rejected promise, never throws synchronously (run-sync-throw)", async () => {
    const app = await apps.boot({ imports: [InteractorsModule.forRoot({ metrics: false })] });
    let thrown: unknown;
    let returned: Promise<unknown> | undefined;
    try {
      returned = app.get(Interactors).run('Unknown');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeUndefined();
    expect(returned).toBeInstanceOf(Promise);
    await expect(returned).rejects.toThrow(/Unknown/);
  });
});

describe('configuration regressions', () => {
  isolateEnv();
  const apps = new Apps();
  // Were '' read as localhost, these prefixes would be used on the shared Redis.
  const prefixes: string[] = [];
  const prefix = () => {
    const fresh = uniquePrefix('regressions-empty-url');
    prefixes.push(fresh);
    return fresh;
  };
  afterEach(async () => {
    await apps.closeAll();
    await Promise.all(prefixes.splice(0).map(deleteKeys));
  });

  it("redis: '' counts as unset: in-memory with a warning (empty-url)", async () => {
    const logger = new CapturingLogger();
    const app = await apps.boot(
      {
        imports: [
          InteractorsModule.forRoot({
            redis: '',
            prefix: prefix(),
            roles: [],
            metrics: false,
          }),
        ],
      },
      logger,
    );
    const transport = app.get<{ kind: string }>(INTERACTORS_TRANSPORT, { strict: false });
    expect(transport.kind).toBe('memory');
    expect(logger.lines.some((line) => line.startsWith('warn') && /in-memory/.test(line))).toBe(
      true,
    );
  });

  it("redis: '' with environment 'production' is refused (empty-url)", async () => {
    const { error } = await bootFailure({
      imports: [
        InteractorsModule.forRoot({
          redis: '',
          environment: 'production',
          prefix: prefix(),
          roles: [],
          metrics: false,
        }),
      ],
    });
    expect(error.message).toMatch(/redis/i);
  });

  it('a forRootAsync factory resolving to undefined boots with defaults (async-undefined)', async () => {
    const app = await apps.boot({
      imports: [InteractorsModule.forRootAsync({ useFactory: () => undefined as never })],
    });
    const transport = app.get<{ kind: string }>(INTERACTORS_TRANSPORT, { strict: false });
    expect(transport.kind).toBe('memory');
  });
});
