import { describe, expect, it, vi } from 'vitest';
import {
  Interactor,
  InteractorsModule,
  InvalidModuleOptionsError,
  InvalidTaskDefinitionsError,
  Task,
  UnknownQueueError,
  type InteractorsModuleExtras,
  type InteractorsModuleOptions,
} from '../../src/index.js';
import { EchoTask, QUEUES, Runs } from './fixtures.js';
import { harness, type TransportKind } from './harness.js';
import { bootError, REDIS_URL } from './helpers.js';

@Task({ queue: 'nope' })
class NopeTask extends Interactor {
  async call(): Promise<void> {}
}

@Task({ name: 'AlsoNope', queue: 'elsewhere', cron: '0 * * * *' })
class AlsoNopeTask extends Interactor {
  async call(): Promise<void> {}
}

describe.each<TransportKind>(['redis', 'memory'])('undeclared queues (%s transport)', (kind) => {
  const { boot, prefixes } = harness(kind, 'undeclared');

  const forRoot = (options: InteractorsModuleOptions & InteractorsModuleExtras = {}) =>
    InteractorsModule.forRoot({
      ...(kind === 'redis' ? { redis: REDIS_URL } : {}),
      prefix: prefixes.next(),
      queues: QUEUES,
      ...options,
    });

  it('enqueueTo an undeclared queue rejects with UnknownQueueError naming the declared ones', async () => {
    const { interactors } = await boot();
    const error = await interactors.enqueueTo('nope', EchoTask, 'x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownQueueError);
    expect((error as Error).name).toBe('UnknownQueueError');
    expect((error as Error).message).toBe(
      'Queue "nope" is not declared; declared queues: default, gates, heavy. ' +
        'Add it to InteractorsModule.forRoot({ queues: [...] }).',
    );
  });

  it('only `default` is declared when `queues` is left out', async () => {
    const { interactors } = await boot({ queues: undefined, tasks: [Runs, EchoTask] });
    await expect(interactors.enqueueTo('gates', EchoTask)).rejects.toThrow(
      /declared queues: default\./,
    );
    await expect(interactors.enqueueTo('default', EchoTask)).resolves.toEqual(expect.any(String));
  });

  it("a task with queue: 'nope' is a boot error naming the task, the queue and the declared ones", async () => {
    const error = await bootError({ imports: [forRoot()], providers: [NopeTask, AlsoNopeTask] });
    expect(error).toBeInstanceOf(InvalidTaskDefinitionsError);
    expect(error.message).toContain(
      'Task "NopeTask": queue "nope" is not declared; add it to InteractorsModule.forRoot({ queues: [...] }) (declared: default, gates, heavy)',
    );
    // every bad definition is reported at once
    expect(error.message).toContain('Task "AlsoNope": queue "elsewhere" is not declared');
  });

  it('consume naming an undeclared queue is a boot error', async () => {
    const error = await bootError({
      imports: [forRoot({ consume: ['heavy', 'nope'] })],
      providers: [],
    });
    expect(error).toBeInstanceOf(InvalidModuleOptionsError);
    expect(error.message).toContain(
      'option "consume" names queue "nope", which is not declared; declared queues: default, gates, heavy',
    );
    expect(error.message).not.toContain('"heavy", which');
  });

  it('INTERACTORS_QUEUES naming an undeclared queue is a boot error that names the variable', async () => {
    vi.stubEnv('INTERACTORS_QUEUES', 'gates,nope');
    const error = await bootError({ imports: [forRoot({ consume: ['heavy'] })], providers: [] });
    expect(error).toBeInstanceOf(InvalidModuleOptionsError);
    expect(error.message).toContain('INTERACTORS_QUEUES names queue "nope", which is not declared');
  });

  it('unknown roles in INTERACTORS_ROLES are a boot error', async () => {
    vi.stubEnv('INTERACTORS_ROLES', 'worker,cook');
    const error = await bootError({ imports: [forRoot()], providers: [] });
    expect(error).toBeInstanceOf(InvalidModuleOptionsError);
    expect(error.message).toContain('role "cook" (INTERACTORS_ROLES) is not known');
  });

  it('invalid queue declarations are boot errors', async () => {
    const error = await bootError({
      imports: [
        forRoot({
          queues: { 'bad:name': {}, heavy: { concurrency: 0 }, gates: { concurrency: 1.5 } },
        }),
      ],
      providers: [],
    });
    expect(error).toBeInstanceOf(InvalidModuleOptionsError);
    expect(error.message).toContain('queue "bad:name" is not a valid queue name');
    expect(error.message).toContain('queue "heavy": concurrency 0 must be a whole number ≥ 1');
    expect(error.message).toContain('queue "gates": concurrency 1.5 must be a whole number ≥ 1');
  });
});
