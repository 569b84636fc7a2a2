import type { INestApplication } from '@nestjs/common';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import {
  Interactor,
  Interactors,
  InteractorsModule,
  Task,
  type InteractorsModuleOptions,
} from '../src/index.js';
import { TaskDispatcher } from '../src/scheduling/task.dispatcher.js';
import { Apps, isolateEnv, sleep, waitFor } from './src/helpers.js';
import { RunLog } from './src/run-log.js';

@Task({ cron: '* * * * * *', run: 'inline' })
class EverySecond extends Interactor {
  constructor(private readonly log: RunLog) {
    super();
  }

  call(): string {
    this.log.start();
    return 'ran';
  }
}

const rolesBefore = process.env.INTERACTORS_ROLES;
isolateEnv();
// the environment changes of these tests do not leak out of the file
afterAll(() => expect(process.env.INTERACTORS_ROLES).toBe(rolesBefore));
const apps = new Apps();
afterEach(() => apps.closeAll());

function boot(options: InteractorsModuleOptions): Promise<INestApplication> {
  return apps.boot({
    imports: [InteractorsModule.forRoot(options)],
    providers: [RunLog, EverySecond],
  });
}

/** Ticks fire within a generous window (the task is due every second). */
async function expectTicks(app: INestApplication): Promise<void> {
  const log = app.get(RunLog);
  expect(app.get(TaskDispatcher, { strict: false }).nextDueAt('EverySecond')).toEqual(
    expect.any(Number),
  );
  await waitFor(
    () => log.of('EverySecond').some((run) => run.trigger === 'cron'),
    3_500,
    'a cron run',
  );
}

/** No tick fires: not scheduled, a direct wake does nothing, and none comes over two-plus seconds. */
async function expectNoTicks(app: INestApplication): Promise<void> {
  const dispatcher = app.get(TaskDispatcher, { strict: false });
  expect(dispatcher.nextDueAt('EverySecond')).toBeUndefined();
  await dispatcher.wake();
  await sleep(2_200);
  expect(app.get(RunLog).runs).toEqual([]);
  // calls are not a scheduler duty: they still run here
  await expect(app.get(Interactors).call(EverySecond)).resolves.toBe('ran');
  expect(app.get(RunLog).runs.map((run) => run.trigger)).toEqual(['call']);
}

describe('roles', () => {
  it('takes both roles by default: ticks fire', async () => {
    await expectTicks(await boot({}));
  });

  it("INTERACTORS_ROLES='' means neither role: no ticks fire", async () => {
    vi.stubEnv('INTERACTORS_ROLES', '');
    await expectNoTicks(await boot({}));
  });

  it("roles: ['worker'] fires no ticks", async () => {
    await expectNoTicks(await boot({ roles: ['worker'] }));
  });

  it("roles: ['scheduler'] fires ticks", async () => {
    await expectTicks(await boot({ roles: ['scheduler'] }));
  });

  describe('INTERACTORS_ROLES overrides the option', () => {
    it("env 'scheduler' over option ['worker']: ticks fire", async () => {
      vi.stubEnv('INTERACTORS_ROLES', ' scheduler ');
      await expectTicks(await boot({ roles: ['worker'] }));
    });

    it("env 'worker' over option ['scheduler', 'worker']: no ticks", async () => {
      vi.stubEnv('INTERACTORS_ROLES', 'worker');
      await expectNoTicks(await boot({ roles: ['scheduler', 'worker'] }));
    });

    it("env '' over option ['scheduler']: no ticks", async () => {
      vi.stubEnv('INTERACTORS_ROLES', '');
      await expectNoTicks(await boot({ roles: ['scheduler'] }));
    });
  });
});
