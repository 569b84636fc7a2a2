/**
 * Regressions from the review of Operations:
 * 1. Pause race: right after `await interactors.pause(T)` resolves, the pausing process's
 *    own copy must not flip back to "not paused" because a read begun before the write
 *    lands after it; a job or tick handled in that window would run although paused.
 * 2. CLI `pause` / `resume` print their one line and no warning (no re-read after close).
 * 3. `--json` prints only JSON on stdout, even when the app warns at boot.
 * 4. `retry <job id>`: job ids are per queue; an id found in several queues is refused until
 *    the queue is named.
 */
import type { INestApplication } from '@nestjs/common';
import { Registry } from 'prom-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Interactor, Interactors, InteractorsModule, RunHooks, Task } from '../../src/index.js';
import {
  Apps,
  BullQueues,
  isolateEnv,
  Prefixes,
  redis,
  settled,
  sleep,
} from '../pipeline/helpers.js';
import { FixtureModule } from './fixture/tasks.js';
import { opsPrefix, REDIS_URL, runCli } from './support.js';

isolateEnv();
const apps = new Apps();
const queues = new BullQueues();
const prefixes = new Prefixes(opsPrefix('known-bugs'));
afterEach(async () => {
  await queues.closeAll();
  await apps.closeAll();
});
afterAll(() => prefixes.cleanup());

let ran = 0;
@Task()
class Explicit extends Interactor {
  async call(): Promise<void> {
    ran++;
  }
}

function boot(prefix: string): Promise<INestApplication> {
  return apps.boot({
    imports: [
      InteractorsModule.forRoot({
        redis: REDIS_URL,
        prefix,
        roles: ['worker'],
        metrics: { registry: new Registry() },
        pausedJob: { retryDelay: 200 },
      }),
    ],
    providers: [Explicit],
  });
}

describe('1. pause, seen by the pausing process itself', () => {
  it('isPaused stays true from the moment pause() resolves (10 fresh apps)', async () => {
    const flips: string[] = [];
    for (let i = 0; i < 10; i++) {
      const app = await boot(prefixes.next());
      const interactors = app.get(Interactors);
      await interactors.pause(Explicit);
      const started = Date.now();
      while (Date.now() - started < 30) {
        if (!interactors.isPaused(Explicit)) {
          flips.push(`app ${i}: not paused ${Date.now() - started} ms after pause() resolved`);
          break;
        }
        await sleep(1);
      }
      await apps.closeAll();
    }
    expect(flips).toEqual([]);
  });

  it('a job enqueued after pause() resolved is not run (10 fresh workers)', async () => {
    ran = 0;
    const outcomes: string[] = [];
    for (let i = 0; i < 10; i++) {
      const app = await boot(prefixes.next());
      app.get(RunHooks).onFinished((result) => void outcomes.push(`${i}:${result.outcome}`));
      const interactors = app.get(Interactors);
      await interactors.pause(Explicit);
      await interactors.enqueue(Explicit);
      await sleep(100);
      await apps.closeAll();
    }
    expect(outcomes.filter((outcome) => outcome.endsWith('success'))).toEqual([]);
    expect(ran).toBe(0);
  });
});

describe('2. and 3. CLI output', () => {
  it('pause and resume print their one line and no warning (3 of each)', async () => {
    const runs = await Promise.all(
      [1, 2, 3].flatMap(() => {
        const env = { REDIS_URL, PREFIX: prefixes.next() };
        return [runCli(['pause', 'Succeed'], env), runCli(['resume', 'Fail'], env)];
      }),
    );
    const stray = runs.flatMap((run) =>
      run.stdout
        .split('\n')
        .filter((line) => line && !/^\w+ (paused|resumed) in every process\.$/.test(line)),
    );
    expect(stray).toEqual([]);
  });

  it('list --json on the in-memory transport prints only JSON on stdout', async () => {
    const result = await runCli(['list', '--json'], { REDIS_URL: undefined, PREFIX: 'unused' });
    expect(result.code).toBe(0);
    expect(() => JSON.parse(result.stdout)).not.toThrow();
  });
});

describe('retry by job id', () => {
  it('a job id found in several queues is refused until the queue is named; then exactly that job is retried', async () => {
    const prefix = prefixes.next();
    const app = await apps.boot({
      imports: [FixtureModule.register({ redis: REDIS_URL, prefix, roles: ['worker'] })],
    });
    const interactors = app.get(Interactors);
    await redis((client) => client.set(`${prefix}:flag:broken`, '1'));
    const failId = await interactors.enqueue('Fail'); // queue default
    const exhaustsId = await interactors.enqueue('Exhausts'); // queue work
    expect(failId).toBe(exhaustsId); // both "1": ids are per queue
    await settled(queues.open(prefix, 'default'), failId);
    await settled(queues.open(prefix, 'work'), exhaustsId);
    // Ambiguous: refused, naming both queues, and nothing is retried.
    await expect(interactors.retry(failId)).rejects.toThrow(
      /several queues \(default, work\)|several queues \(work, default\)/,
    );
    expect(await interactors.failed()).toHaveLength(2);
    const retried = await interactors.retry(failId, { queue: 'work' });
    expect(retried.map((job) => `${job.queue}/${job.id}`)).toEqual([`work/${exhaustsId}`]);
  });
});
