/**
 * A task with a lock and an environment guard, tested through the kit: `locked` while
 * another holder has its lock (taken through InteractorsLocks on the in-memory locks),
 * `skipped` (environment) outside its environments, with calls, enqueued jobs and ticks.
 */
import { Module, type Type } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import {
  Interactor,
  Interactors,
  InteractorsLocks,
  InteractorsModule,
  Task,
  type InteractorsModuleOptions,
} from 'nestjs-interactors';
import { InteractorsTestKit, type InteractorsTestMode } from 'nestjs-interactors/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isolateEnv } from '../src/helpers.js';
import { boot } from './fixtures.js';

/** Builds the nightly report, inline at 03:00, once across the cluster, in production only. */
@Task({ cron: '0 3 * * *', run: 'inline', lock: true, environments: ['production'] })
class NightlyReport extends Interactor {
  call(): string {
    return 'report';
  }
}

/** Exports at 04:00 through a queue, once across the cluster, in production only. */
@Task({ cron: '0 4 * * *', lock: true, environments: ['production'] })
class NightlyExport extends Interactor {
  call(): string {
    return 'export';
  }
}

function app(environment: string): Type {
  const options: InteractorsModuleOptions = {
    redis: 'redis://127.0.0.1:1',
    environment,
    metrics: false,
  };
  @Module({ providers: [NightlyReport, NightlyExport] })
  class ReportsModule {}
  @Module({ imports: [InteractorsModule.forRoot(options), ReportsModule] })
  class AppModule {}
  return AppModule;
}

isolateEnv();
let open: TestingModule[] = [];
afterEach(async () => {
  await Promise.all(open.map((moduleRef) => moduleRef.close()));
  open = [];
});

async function start(environment: string, mode: InteractorsTestMode = 'fake') {
  const kit = new InteractorsTestKit({ mode });
  const moduleRef = await boot(kit, app(environment));
  open.push(moduleRef);
  return { kit, moduleRef, interactors: moduleRef.get(Interactors) };
}

const threeAm = Date.parse('2026-02-02T03:00:00Z');
const fourAm = Date.parse('2026-02-02T04:00:00Z');

describe('lock held by another holder', () => {
  it('a call and an inline tick end as locked; once released they succeed', async () => {
    const { kit, moduleRef, interactors } = await start('production');
    const locks = moduleRef.get(InteractorsLocks);

    const held = await locks.withLock('NightlyReport', async () => {
      expect(await interactors.run(NightlyReport)).toMatchObject({ outcome: 'locked' });
      return kit.tick(NightlyReport, threeAm);
    });

    expect(held).toMatchObject({ acquired: true });
    const tick = (held as { value: Awaited<ReturnType<typeof kit.tick>> }).value;
    expect(tick).toMatchObject({ fired: true, run: { trigger: 'cron', outcome: 'locked' } });
    expect(await interactors.run(NightlyReport)).toMatchObject({ outcome: 'success' });
    expect(kit.runs(NightlyReport).map((run) => `${run.trigger}/${run.outcome}`)).toEqual([
      'call/locked',
      'cron/locked',
      'call/success',
    ]);
  });

  it('an enqueued job finding the lock held stays pending (explicit enqueue) and runs on a later drain', async () => {
    const { kit, moduleRef, interactors } = await start('production', 'inline');
    const locks = moduleRef.get(InteractorsLocks);

    await locks.withLock('NightlyReport', async () => {
      await interactors.enqueue(NightlyReport);
      expect(kit.jobs(NightlyReport)).toMatchObject([{ state: 'pending' }]);
      expect(await kit.drain()).toMatchObject([{ outcome: 'locked' }]);
    });

    expect(await kit.drain()).toMatchObject([{ task: 'NightlyReport', outcome: 'success' }]);
    expect(kit.jobs(NightlyReport)[0]!.runs.map((run) => run.outcome)).toEqual([
      'locked',
      'locked',
      'success',
    ]);
    expect(kit.jobs(NightlyReport)[0]!.state).toBe('completed');
  });

  it("a queued tick's job finding the lock held completes as locked: that tick ran elsewhere", async () => {
    const { kit, moduleRef } = await start('production');
    const locks = moduleRef.get(InteractorsLocks);
    expect(await kit.tick(NightlyExport, fourAm)).toMatchObject({
      fired: true,
      job: { id: `NightlyExport-${fourAm}`, state: 'pending' },
    });

    await locks.withLock('NightlyExport', async () => {
      expect(await kit.drain()).toMatchObject([
        { trigger: 'queue', dueAt: fourAm, outcome: 'locked' },
      ]);
    });

    expect(kit.jobs(NightlyExport)).toMatchObject([{ state: 'completed' }]);
  });
});

describe('environment guard', () => {
  it('outside production: runs are skipped (environment) and ticks are not fired', async () => {
    const { kit, interactors } = await start('staging');

    expect(await interactors.run(NightlyReport)).toMatchObject({
      outcome: 'skipped',
      reason: 'environment',
    });
    await interactors.enqueue(NightlyExport);
    expect(await kit.drain()).toMatchObject([
      { task: 'NightlyExport', trigger: 'queue', outcome: 'skipped', reason: 'environment' },
    ]);
    // The scheduler fires no tick of a task disabled here.
    expect(await kit.tick(NightlyReport, threeAm)).toEqual({
      task: 'NightlyReport',
      dueAt: threeAm,
      fired: false,
      reason: 'environment',
    });
    expect(kit.runs({ trigger: 'cron' })).toEqual([]);
  });

  it('INTERACTORS_FORCE turns the task on, ticks included', async () => {
    vi.stubEnv('INTERACTORS_FORCE', 'NightlyReport');
    const { kit } = await start('staging');
    expect(await kit.tick(NightlyReport, threeAm)).toMatchObject({
      fired: true,
      run: { outcome: 'success', value: 'report' },
    });
    expect(await kit.tick(NightlyExport, fourAm)).toMatchObject({
      fired: false,
      reason: 'environment',
    });
  });
});
