/**
 * A CLI command while a scheduler process of the same app runs: the CLI context has neither
 * role, so it fires no tick and takes no job. Deterministic by construction:
 *
 * - `Catch` ticks daily, its latest tick 12 h ago. Once the scheduler process is up, the
 *   test records in Redis that the tick before that was the last one claimed. The running
 *   scheduler already computed its next tick (12 h ahead) and never looks back, but any
 *   process that *starts* with the scheduler role sees the latest tick as missed and catches
 *   it up at once: were a CLI invocation a scheduler, `Catch` would run. A control app with
 *   the scheduler role, booted at the end, shows that it does.
 * - `Beat` (every second, inline) runs in the scheduler process throughout: every tick's run
 *   is recorded with its pid, and none may come from a CLI process (nor twice).
 * - A job enqueued by the CLI stays waiting: no process here has the worker role until the
 *   control app.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  Apps,
  BullQueues,
  deleteKeys,
  isolateEnv,
  redis,
  settled,
  sleep,
  waitUntil,
} from '../pipeline/helpers.js';
import { FixtureModule } from './fixture/tasks.js';
import { AppProcesses, opsPrefix, REDIS_URL, runCli } from './support.js';

isolateEnv();
const apps = new Apps();
const queues = new BullQueues();
const processes = new AppProcesses();
const prefix = opsPrefix('cli-scheduler');
afterEach(async () => {
  await processes.stopAll();
  await queues.closeAll();
  await apps.closeAll();
});
afterAll(() => deleteKeys(prefix));

const DAY = 86_400_000;

async function callsOf(task: string): Promise<Array<Record<string, any>>> {
  const raw = await redis((client) => client.lrange(`${prefix}:calls:${task}`, 0, -1));
  return raw.map((entry) => JSON.parse(entry));
}
const lastClaimed = (task: string) =>
  redis(async (client) => {
    // The record is "<instant>|<claimant>|<previous instant>".
    const value = await client.hget(`${prefix}:ticks`, task);
    return value === null ? undefined : Number(value.split('|')[0]);
  });

describe('the CLI next to a running scheduler', () => {
  it('list, run, enqueue and history fire no tick and take no job', async () => {
    const now = Date.now();
    const offset = (now - DAY / 2) % DAY;
    const latestCatch = offset + Math.floor((now - offset) / DAY) * DAY; // ~12 h ago
    const env = { REDIS_URL, PREFIX: prefix, CATCH_OFFSET: offset };

    const scheduler = processes.start({ ...env, INTERACTORS_ROLES: 'scheduler' });
    await scheduler.ready;
    await redis((client) => client.hset(`${prefix}:ticks`, 'Catch', String(latestCatch - DAY)));
    await waitUntil(async () => (await callsOf('Beat')).length >= 1, 3_000, 'the first beat');

    const cli = (...args: string[]) => runCli(args, env);
    const [list, runSucceed, runBeat, enqueued] = await Promise.all([
      cli('list', '--json'),
      cli('run', 'Succeed'),
      cli('run', 'Beat'),
      cli('enqueue', 'Exhausts', '--args', '["queued"]'),
    ]);
    const history = await cli('history', 'Beat', '--limit', '3', '--json');
    for (const result of [list, runSucceed, runBeat, enqueued, history]) {
      expect(result.code, result.stderr).toBe(0);
      expect(result.ms).toBeLessThan(15_000);
    }
    const cliPids = new Set([list, runSucceed, runBeat, enqueued, history].map((r) => r.pid));
    await sleep(1_100); // one more beat after the last command

    // No catch-up of Catch: nobody with the scheduler role started.
    expect(await lastClaimed('Catch')).toBe(latestCatch - DAY);
    expect(await callsOf('Catch')).toEqual([]);
    const catchRow = (JSON.parse(list.stdout) as any[]).find((row) => row.name === 'Catch');
    expect(Date.parse(catchRow.nextDueAt[0])).toBe(latestCatch + DAY);

    // Every tick of Beat ran once, in the scheduler process; the CLI's `run Beat` was a call.
    const beats = await callsOf('Beat');
    const ticks = beats.filter((beat) => beat.trigger === 'cron');
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    expect(ticks.every((beat) => beat.pid === scheduler.pid)).toBe(true);
    const dues = ticks.map((beat) => beat.dueAt as number);
    expect(new Set(dues).size).toBe(dues.length);
    expect(dues.every((due) => due % 1_000 === 0)).toBe(true);
    expect(beats.filter((beat) => beat.trigger !== 'cron')).toEqual([
      { task: 'Beat', trigger: 'call', attempt: 1, pid: runBeat.pid, args: [] },
    ]);
    expect(beats.some((beat) => cliPids.has(beat.pid) && beat.trigger === 'cron')).toBe(false);
    expect(await lastClaimed('Beat')).toBeGreaterThanOrEqual(Math.max(...dues));
    // The history the CLI read holds the scheduler's runs.
    const records = JSON.parse(history.stdout) as Array<Record<string, any>>;
    expect(records.length).toBeGreaterThanOrEqual(1);
    expect(
      records.every((record) => record.pid === scheduler.pid || record.pid === runBeat.pid),
    ).toBe(true);

    // The CLI's job waits: nobody took it.
    const work = queues.open(prefix, 'work');
    const job = (await work.getJob(enqueued.stdout.trim()))!;
    expect(await job.getState()).toBe('waiting');
    expect(await callsOf('Exhausts')).toEqual([]);

    // Control: a process that does have the roles catches Catch up at once and takes the job.
    const control = await apps.boot({
      imports: [
        FixtureModule.register({
          redis: REDIS_URL,
          prefix,
          roles: ['scheduler', 'worker'],
          catchOffset: offset,
        }),
      ],
    });
    await waitUntil(async () => (await callsOf('Catch')).length === 1, 3_000, 'the catch-up');
    expect(await callsOf('Catch')).toMatchObject([
      { trigger: 'cron', dueAt: latestCatch, pid: process.pid },
    ]);
    expect(await lastClaimed('Catch')).toBe(latestCatch);
    expect(await (await settled(work, job.id!, 3_000)).getState()).toBe('completed');
    expect(await callsOf('Exhausts')).toMatchObject([{ trigger: 'queue', args: ['queued'] }]);
    await apps.close(control);
  });
});
