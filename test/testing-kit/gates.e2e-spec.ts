/**
 * The demo's gates tasks (libs/gates, imported as '#gates' like a user's own library),
 * tested through the kit as a user would: the app names a Redis that is not there and
 * none is needed.
 */
import { Module, type Type } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import { CloseTheGates, GatesModule, GatesStore, OpenTheGates, PatrolTheGates } from '#gates';
import {
  Interactors,
  InteractorsLocks,
  InteractorsModule,
  type InteractorsModuleOptions,
} from 'nestjs-interactors';
import { InteractorsTestKit, type InteractorsTestMode } from 'nestjs-interactors/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { isolateEnv } from '../src/helpers.js';
import { boot } from './fixtures.js';

function gatesApp(options: InteractorsModuleOptions = {}): Type {
  @Module({
    imports: [
      InteractorsModule.forRoot({
        redis: 'redis://127.0.0.1:1',
        metrics: false,
        queues: { gates: { concurrency: 2 } },
        ...options,
      }),
      GatesModule.register({ gates: ['north', 'south'] }),
    ],
  })
  class AppModule {}
  return AppModule;
}

isolateEnv();
let open: TestingModule[] = [];
afterEach(async () => {
  await Promise.all(open.map((moduleRef) => moduleRef.close()));
  open = [];
});

async function start(mode: InteractorsTestMode, options?: InteractorsModuleOptions) {
  const kit = new InteractorsTestKit({ mode });
  const moduleRef = await boot(kit, gatesApp(options));
  open.push(moduleRef);
  return { kit, moduleRef, store: moduleRef.get(GatesStore) };
}

describe('the gates demo under the kit', () => {
  it('OpenTheGates is enqueued to the gates queue with its gate, and opens it when drained', async () => {
    const { kit, moduleRef, store } = await start('fake');
    await moduleRef.get(Interactors).enqueue(OpenTheGates, 'north');

    expect(kit.jobs(OpenTheGates)).toMatchObject([
      { queue: 'gates', args: ['north'], state: 'pending' },
    ]);
    expect(await store.all()).toEqual({ north: 'closed', south: 'closed' });
    expect(await kit.drain()).toMatchObject([{ outcome: 'success', value: ['north'] }]);
    expect(await store.all()).toEqual({ north: 'open', south: 'closed' });
  });

  it('OpenTheGates is locked per gate: north held elsewhere is locked, south is not', async () => {
    const { moduleRef, store } = await start('inline');
    const interactors = moduleRef.get(Interactors);
    await moduleRef.get(InteractorsLocks).withLock('OpenTheGates:north', async () => {
      expect(await interactors.run(OpenTheGates, 'north')).toMatchObject({ outcome: 'locked' });
      expect(await interactors.run(OpenTheGates, 'south')).toMatchObject({ outcome: 'success' });
    });
    expect(await store.all()).toEqual({ north: 'closed', south: 'open' });
  });

  it("CloseTheGates' hourly tick runs inline and closes every gate", async () => {
    const { kit, moduleRef, store } = await start('fake');
    await moduleRef.get(Interactors).call(OpenTheGates, 'south');
    const tick = await kit.tick(CloseTheGates, new Date('2026-04-01T10:00:00Z'));
    expect(tick).toMatchObject({ fired: true, run: { trigger: 'cron', outcome: 'success' } });
    expect(await store.all()).toEqual({ north: 'closed', south: 'closed' });
  });

  it("PatrolTheGates' 5-second tick goes through the gates queue and, inline, counts a round", async () => {
    const { kit } = await start('inline');
    const first = new Date('2026-04-01T10:00:05Z');
    expect(await kit.tick(PatrolTheGates, first)).toMatchObject({
      fired: true,
      job: { queue: 'gates', state: 'completed' },
      run: { trigger: 'queue', dueAt: first.getTime(), value: 1 },
    });
    expect((await kit.tick(PatrolTheGates)).run).toMatchObject({ value: 2 });
  });

  it("GATES_CRON's override is what the scheduler would use", async () => {
    const from = new Date('2026-04-01T10:07:00Z');
    const plain = await start('fake');
    expect(plain.kit.nextRuns(OpenTheGates, { from, count: 2 })).toEqual([
      new Date('2026-04-01T10:15:00Z'),
      new Date('2026-04-01T10:30:00Z'),
    ]);
    const fast = await start('fake', { schedules: { OpenTheGates: { cron: '*/5 * * * * *' } } });
    expect(fast.kit.nextRuns(OpenTheGates, { from, count: 2 })).toEqual([
      new Date('2026-04-01T10:07:00Z'),
      new Date('2026-04-01T10:07:05Z'),
    ]);
  });
});
