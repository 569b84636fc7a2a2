/**
 * The CLI (`runInteractorsCli`) as real child processes of a fixture CLI
 * (fixture/cli.ts over fixture/tasks.ts) against real Redis: list (table and JSON), run and
 * its exit codes, --args, enqueue (--queue, --delay), history --limit, pause/resume seen by
 * a running app, failed and retry, unknown tasks and commands, and the refusals of the
 * in-memory transport. Every invocation must exit by itself within 15 s.
 */
import type { INestApplication } from '@nestjs/common';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Interactors, InteractorsLocks, type FailedJob, type RunRecord } from '../../src/index.js';
import {
  Apps,
  BullQueues,
  deferred,
  isolateEnv,
  Prefixes,
  redis,
  settled,
  waitUntil,
} from '../pipeline/helpers.js';
import { FixtureModule } from './fixture/tasks.js';
import { opsPrefix, REDIS_URL, runCli, type CliResult } from './support.js';

isolateEnv();
const apps = new Apps();
const queues = new BullQueues();
const prefixes = new Prefixes(opsPrefix('cli'));
afterEach(async () => {
  await queues.closeAll();
  await apps.closeAll();
});
afterAll(() => prefixes.cleanup());

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const TASK_NAMES = ['Succeed', 'Fail', 'Guarded', 'ProdOnly', 'Exhausts', 'Beat', 'Catch'];

/** The fixture CLI on Redis under `prefix`; asserts it exited by itself within 15 s. */
async function cli(prefix: string, ...args: string[]): Promise<CliResult> {
  const result = await runCli(args, { REDIS_URL, PREFIX: prefix });
  expect(result.ms).toBeLessThan(15_000);
  return result;
}

/** The fixture's module as an app in this process (roles: none unless given). */
function bootFixture(
  prefix: string,
  roles: ('scheduler' | 'worker')[] = [],
): Promise<INestApplication> {
  return apps.boot({ imports: [FixtureModule.register({ redis: REDIS_URL, prefix, roles })] });
}

/** What `call()` of a task recorded, across processes. */
async function callsOf(prefix: string, task: string): Promise<Array<Record<string, any>>> {
  const raw = await redis((client) => client.lrange(`${prefix}:calls:${task}`, 0, -1));
  return raw.map((entry) => JSON.parse(entry));
}

const lines = (text: string) => text.split('\n').filter((line) => line.length > 0);

/**
 * Asserts a table is aligned: each column (found by its heading, in order) starts at the same
 * offset on every row, after at least two spaces, with a non-blank cell.
 */
function expectAligned(table: string[], headings: string[]): number[] {
  const starts: number[] = [];
  let from = 0;
  for (const heading of headings) {
    const at = table[0]!.indexOf(heading, from);
    expect(at, `heading ${heading}`).toBeGreaterThanOrEqual(from);
    starts.push(at);
    from = at + heading.length;
  }
  expect(starts[0]).toBe(0);
  for (const row of table.slice(1)) {
    for (const start of starts.slice(1)) {
      if (row.length <= start) continue; // a row ends early only when its last cells are blank
      expect(row.slice(start - 2, start), `row "${row}" at ${start}`).toBe('  ');
      expect(row[start], `row "${row}" at ${start}`).not.toBe(' ');
    }
  }
  return starts;
}

/** The cells of a row, cut at the heading offsets. */
function cells(row: string, starts: number[]): string[] {
  return starts.map((start, i) => row.slice(start, starts[i + 1]).trim());
}

describe('list', () => {
  it('an aligned table and --json: schedules, next due instants, paused, last outcome', async () => {
    const prefix = prefixes.next();
    const [ok, failed, paused] = await Promise.all([
      cli(prefix, 'run', 'Succeed'),
      cli(prefix, 'run', 'Fail'),
      cli(prefix, 'pause', 'Guarded'),
    ]);
    expect([ok.code, failed.code, paused.code]).toEqual([0, 1, 0]);

    const before = Date.now();
    const [table, json] = await Promise.all([cli(prefix, 'list'), cli(prefix, 'list', '--json')]);
    expect(json.code).toBe(0);
    const rows = JSON.parse(json.stdout) as Array<Record<string, any>>;
    expect(rows.map((row) => row.name)).toEqual(TASK_NAMES);
    const row = (name: string) => rows.find((each) => each.name === name)!;

    expect(row('Succeed')).toMatchObject({
      schedule: '0 3 * * *',
      timeZone: 'UTC',
      enabled: true,
      run: 'queue',
      queue: 'default',
      lock: 'no',
      environments: null,
      paused: false,
      lastOutcome: 'success',
      lastRunAt: expect.stringMatching(ISO),
    });
    const succeedNext = row('Succeed').nextDueAt as string[];
    expect(succeedNext).toHaveLength(3);
    expect(Date.parse(succeedNext[0]!)).toBeGreaterThan(before - 1_000);
    expect(Date.parse(succeedNext[0]!) - before).toBeLessThanOrEqual(86_400_000);
    for (const [i, at] of succeedNext.entries()) {
      expect(at).toMatch(/T03:00:00\.000Z$/);
      if (i > 0) expect(Date.parse(at) - Date.parse(succeedNext[i - 1]!)).toBe(86_400_000);
    }
    expect(Date.parse(row('Succeed').lastRunAt)).toBeLessThanOrEqual(before);

    expect(row('Fail')).toMatchObject({
      schedule: 'every 1 hour',
      run: 'inline',
      paused: false,
      lastOutcome: 'failure',
    });
    const failNext = (row('Fail').nextDueAt as string[]).map(Date.parse);
    expect(failNext.every((at) => at % 3_600_000 === 0)).toBe(true);
    expect(failNext[1]! - failNext[0]!).toBe(3_600_000);

    expect(row('Guarded')).toMatchObject({
      schedule: null,
      nextDueAt: [],
      lock: 'ops-gate',
      paused: true,
      lastOutcome: null,
      lastRunAt: null,
    });
    expect(row('ProdOnly')).toMatchObject({
      schedule: '*/10 * * * *',
      enabled: false,
      nextDueAt: [],
      environments: ['production'],
      lastOutcome: null,
    });
    expect(row('Exhausts')).toMatchObject({ queue: 'work', schedule: null });
    const beatNext = (row('Beat').nextDueAt as string[]).map(Date.parse);
    expect(beatNext[1]! - beatNext[0]!).toBe(1_000);
    expect(beatNext[2]! - beatNext[1]!).toBe(1_000);

    expect(table.code).toBe(0);
    const out = lines(table.stdout);
    const headings = [
      'NAME',
      'SCHEDULE',
      'TZ',
      'NEXT DUE',
      'RUN',
      'QUEUE',
      'LOCK',
      'ENVIRONMENTS',
      'PAUSED',
      'LAST',
    ];
    const starts = expectAligned(out, headings);
    expect(out).toHaveLength(1 + TASK_NAMES.length);
    const byName = new Map(
      out.slice(1).map((line) => [cells(line, starts)[0], cells(line, starts)]),
    );
    expect([...byName.keys()]).toEqual(TASK_NAMES);
    const succeed = byName.get('Succeed')!;
    expect(succeed.slice(1, 3)).toEqual(['0 3 * * *', 'UTC']);
    // The table shows the first two next due instants of the JSON.
    expect(succeed[3]).toMatch(/^\S+T03:00:00\.000Z, \S+T03:00:00\.000Z$/);
    expect(succeed.slice(4)).toEqual([
      'queue',
      'default',
      'no',
      'all',
      'no',
      expect.stringMatching(/^success \S+Z$/),
    ]);
    expect(byName.get('Fail')![9]).toMatch(/^failure /);
    expect(byName.get('Guarded')!.slice(3, 10)).toEqual([
      '-',
      'queue',
      'default',
      'ops-gate',
      'all',
      'yes',
      '-',
    ]);
    expect(byName.get('ProdOnly')![3]).toBe('(disabled here)');
    expect(byName.get('ProdOnly')![7]).toBe('production');
  });
});

describe('run', () => {
  it('exit 0 on success, printing the value; --args are passed through; the run is in the shared history', async () => {
    const prefix = prefixes.next();
    const app = await bootFixture(prefix);
    const result = await cli(
      prefix,
      'run',
      'Succeed',
      '--args',
      '["north",2,{"gate":[1,true,null]}]',
    );
    expect(result.code).toBe(0);
    const out = lines(result.stdout);
    expect(out[0]).toMatch(/^Succeed success in \d+ ms$/);
    expect(JSON.parse(out[1]!)).toEqual({ echoed: ['north', 2, { gate: [1, true, null] }] });
    expect(await callsOf(prefix, 'Succeed')).toEqual([
      {
        task: 'Succeed',
        trigger: 'call',
        attempt: 1,
        pid: result.pid,
        args: ['north', 2, { gate: [1, true, null] }],
      },
    ]);
    // Written by the CLI process before it exited; read here.
    const [record] = await app.get(Interactors).history('Succeed');
    expect(record).toMatchObject({
      trigger: 'call',
      outcome: 'success',
      pid: result.pid,
      attempt: 1,
    });
    expect(record).not.toHaveProperty('args');
  });

  it('exit 1 on failure, with the message; exit 3 when skipped by environment', async () => {
    const prefix = prefixes.next();
    const [failed, skipped] = await Promise.all([
      cli(prefix, 'run', 'Fail'),
      cli(prefix, 'run', 'ProdOnly'),
    ]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/Fail failure in \d+ ms: the gate is stuck/);
    expect(failed.stdout).toBe('');
    expect(skipped.code).toBe(3);
    expect(skipped.stderr).toMatch(/ProdOnly skipped \(environment\) in \d+ ms/);
    expect(await callsOf(prefix, 'ProdOnly')).toEqual([]);
    expect(await callsOf(prefix, 'Fail')).toHaveLength(1);
  });

  it('exit 3 while another process holds the lock; exit 0 once it is released', async () => {
    const prefix = prefixes.next();
    const holder = await bootFixture(prefix);
    const release = deferred();
    const acquired = deferred();
    const holding = holder.get(InteractorsLocks).withLock('ops-gate', async () => {
      acquired.resolve();
      await release.promise;
    });
    await acquired.promise;
    try {
      const locked = await cli(prefix, 'run', 'Guarded');
      expect(locked.code).toBe(3);
      expect(locked.stderr).toMatch(/Guarded locked in \d+ ms/);
      expect(await callsOf(prefix, 'Guarded')).toEqual([]);
    } finally {
      release.resolve();
      expect(await holding).toEqual({ acquired: true, value: undefined });
    }
    const free = await cli(prefix, 'run', 'Guarded');
    expect(free.code).toBe(0);
    expect(lines(free.stdout)[1]).toBe('"guarded"');
  });

  it('bad --args (not JSON, not an array) → exit 2 with a clear message, and nothing runs', async () => {
    const prefix = prefixes.next();
    const [notJson, notArray, noTask, enqueueBad] = await Promise.all([
      cli(prefix, 'run', 'Succeed', '--args', 'north'),
      cli(prefix, 'run', 'Succeed', '--args', '{"gate":"north"}'),
      cli(prefix, 'run'),
      cli(prefix, 'enqueue', 'Succeed', '--args', '"north"'),
    ]);
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toContain(`--args must be a JSON array such as '["north", 2]'`);
    expect(notArray.code).toBe(2);
    expect(notArray.stderr).toContain('--args must be a JSON array');
    expect(notArray.stderr).toContain('got {"gate":"north"}');
    expect(noTask.code).toBe(2);
    expect(noTask.stderr).toContain('needs a task name');
    expect(enqueueBad.code).toBe(2);
    expect(enqueueBad.stderr).toContain('--args must be a JSON array');
    expect(await callsOf(prefix, 'Succeed')).toEqual([]);
    expect(await queues.open(prefix, 'default').getJobCounts('waiting', 'delayed')).toEqual({
      waiting: 0,
      delayed: 0,
    });
  });
});

describe('enqueue', () => {
  it('prints the job id of a job in BullMQ under the prefix; --queue, --delay and --args', async () => {
    const prefix = prefixes.next();
    const [plain, routed, numeric, badDelay, badQueue] = await Promise.all([
      cli(prefix, 'enqueue', 'Succeed', '--args', '["x",1]'),
      cli(prefix, 'enqueue', 'Succeed', '--queue', 'work', '--delay', '60s'),
      cli(prefix, 'enqueue', 'Exhausts', '--delay', '90000'),
      cli(prefix, 'enqueue', 'Succeed', '--delay', 'soon'),
      cli(prefix, 'enqueue', 'Succeed', '--queue', 'nowhere'),
    ]);
    expect([plain.code, routed.code, numeric.code]).toEqual([0, 0, 0]);
    const defaultQueue = queues.open(prefix, 'default');
    const workQueue = queues.open(prefix, 'work');

    const plainId = plain.stdout.trim();
    const job = (await defaultQueue.getJob(plainId))!;
    expect(job).toBeDefined();
    expect(job.name).toBe('Succeed');
    expect(job.data).toMatchObject({ task: 'Succeed', args: '["x",1]' });
    expect(job.data.dueAt).toBeUndefined();
    expect(await job.getState()).toBe('waiting'); // no process here has the worker role

    const routedJob = (await workQueue.getJob(routed.stdout.trim()))!;
    expect(routedJob.name).toBe('Succeed');
    expect(routedJob.opts.delay).toBe(60_000);
    expect(await routedJob.getState()).toBe('delayed');

    const numericJob = (await workQueue.getJob(numeric.stdout.trim()))!;
    expect(numericJob.name).toBe('Exhausts');
    expect(numericJob.opts.delay).toBe(90_000);

    expect(badDelay.code).toBe(2);
    expect(badDelay.stderr).toContain('--delay: "soon" is not an interval');
    // An undeclared queue is refused with the declared ones named (a failed command: exit 1).
    expect(badQueue.code).toBe(1);
    expect(badQueue.stderr).toContain(
      'Queue "nowhere" is not declared; declared queues: default, work',
    );
    expect(await defaultQueue.getJobCounts('waiting', 'delayed')).toEqual({
      waiting: 1,
      delayed: 0,
    });
    expect(await workQueue.getJobCounts('waiting', 'delayed')).toEqual({ waiting: 0, delayed: 2 });
  });
});

describe('history', () => {
  it('--limit, --json and the table, newest first, with errors', async () => {
    const prefix = prefixes.next();
    const app = await bootFixture(prefix);
    const interactors = app.get(Interactors);
    for (const gate of ['a', 'b', 'c']) await interactors.call('Succeed', gate);
    await interactors.run('Fail');
    await app.close();
    await apps.closeAll(); // flushed at shutdown

    const [json, table, failTable, none, zero, word] = await Promise.all([
      cli(prefix, 'history', 'Succeed', '--limit', '2', '--json'),
      cli(prefix, 'history', 'Succeed', '--limit', '2'),
      cli(prefix, 'history', 'Fail'),
      cli(prefix, 'history', 'Guarded'),
      cli(prefix, 'history', 'Succeed', '--limit', '0'),
      cli(prefix, 'history', 'Succeed', '--limit', 'many'),
    ]);
    expect(json.code).toBe(0);
    const records = JSON.parse(json.stdout) as RunRecord[];
    expect(records).toHaveLength(2);
    expect(records).toMatchObject([
      { task: 'Succeed', trigger: 'call', outcome: 'success', pid: process.pid },
      { task: 'Succeed', trigger: 'call', outcome: 'success', pid: process.pid },
    ]);
    expect(records[0]!.startedAt).toBeGreaterThanOrEqual(records[1]!.startedAt);
    const calls = await callsOf(prefix, 'Succeed');
    expect(calls.map((call) => call.args)).toEqual([['a'], ['b'], ['c']]);

    expect(table.code).toBe(0);
    const out = lines(table.stdout);
    expect(out).toHaveLength(3);
    const starts = expectAligned(out, [
      'STARTED',
      'TRIGGER',
      'DUE',
      'OUTCOME',
      'TOOK',
      'HOST',
      'RUN ID',
      'ERROR',
    ]);
    expect(cells(out[1]!, starts).slice(0, 7)).toEqual([
      new Date(records[0]!.startedAt).toISOString(),
      'call',
      '-',
      'success',
      `${Math.round(records[0]!.durationMs)} ms`,
      `${records[0]!.host}:${process.pid}`,
      records[0]!.runId,
    ]);
    expect(cells(out[2]!, starts)[6]).toBe(records[1]!.runId);

    expect(failTable.code).toBe(0);
    expect(lines(failTable.stdout)[1]).toMatch(
      /call\s+-\s+failure\s+\d+ ms\s+\S+\s+\S+\s+the gate is stuck$/,
    );
    expect(none.code).toBe(0);
    expect(none.stdout.trim()).toBe('No runs of Guarded recorded.');
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('--limit must be a whole number ≥ 1, got "0"');
    expect(word.code).toBe(2);
    expect(word.stderr).toContain('got "many"');
  });
});

describe('pause and resume', () => {
  it('a running app sees a pause and a resume from the CLI within a moment', async () => {
    const prefix = prefixes.next();
    const app = await bootFixture(prefix, ['worker']);
    const interactors = app.get(Interactors);

    const paused = await cli(prefix, 'pause', 'Succeed');
    expect(paused.code).toBe(0);
    // (First line: a spurious warning may follow it; see the report.)
    expect(lines(paused.stdout)[0]).toBe('Succeed paused in every process.');
    const exitedAt = Date.now();
    await waitUntil(() => interactors.isPaused('Succeed'), 2_000, 'the app to see the pause');
    expect(Date.now() - exitedAt).toBeLessThan(1_500); // pub/sub; the periodic re-read is 30 s
    expect(interactors.isPaused('Fail')).toBe(false);

    // While paused, an explicit job waits (retried every 200 ms) instead of running.
    const id = await interactors.enqueue('Succeed', 'late');
    const listed = await cli(prefix, 'list', '--json');
    expect(JSON.parse(listed.stdout).find((row: any) => row.name === 'Succeed').paused).toBe(true);
    expect(await callsOf(prefix, 'Succeed')).toEqual([]);

    const resumed = await cli(prefix, 'resume', 'Succeed');
    expect(resumed.code).toBe(0);
    expect(lines(resumed.stdout)[0]).toBe('Succeed resumed in every process.');
    await waitUntil(() => !interactors.isPaused('Succeed'), 2_000, 'the app to see the resume');
    const job = await settled(queues.open(prefix, 'default'), id, 3_000);
    expect(await job.getState()).toBe('completed');
    expect(await callsOf(prefix, 'Succeed')).toMatchObject([{ trigger: 'queue', args: ['late'] }]);
  });
});

describe('failed and retry', () => {
  it('lists jobs that exhausted their attempts; retry by job id or by task moves them back and they run', async () => {
    const prefix = prefixes.next();
    const worker = await bootFixture(prefix, ['worker']);
    await redis((client) => client.set(`${prefix}:flag:broken`, '1'));
    const [first, second] = await Promise.all([
      cli(prefix, 'enqueue', 'Exhausts', '--args', '["a"]'),
      cli(prefix, 'enqueue', 'Exhausts', '--args', '["b"]'),
    ]);
    const idA = first.stdout.trim();
    const idB = second.stdout.trim();
    const work = queues.open(prefix, 'work');
    for (const id of [idA, idB]) {
      const job = await settled(work, id, 5_000);
      expect(await job.getState()).toBe('failed');
      expect(job.attemptsMade).toBe(2);
    }

    const [table, json, ofTask, ofOther] = await Promise.all([
      cli(prefix, 'failed'),
      cli(prefix, 'failed', '--json'),
      cli(prefix, 'failed', 'Exhausts', '--json'),
      cli(prefix, 'failed', 'Succeed'),
    ]);
    expect(table.code).toBe(0);
    const out = lines(table.stdout);
    const starts = expectAligned(out, [
      'QUEUE',
      'JOB ID',
      'TASK',
      'ATTEMPTS',
      'FAILED AT',
      'REASON',
    ]);
    expect(out).toHaveLength(3);
    const rows = out.slice(1).map((row) => cells(row, starts));
    expect(rows.map((row) => row[1]).toSorted()).toEqual([idA, idB].toSorted());
    for (const row of rows) {
      expect(row[0]).toBe('work');
      expect(row[2]).toBe('Exhausts');
      expect(row[3]).toBe('2');
      expect(row[4]).toMatch(ISO);
      expect(row[5]).toBe('still broken');
    }
    const failed = JSON.parse(json.stdout) as FailedJob[];
    expect(failed.map((job) => job.id).toSorted()).toEqual([idA, idB].toSorted());
    expect(failed[0]).toMatchObject({
      queue: 'work',
      task: 'Exhausts',
      attempts: 2,
      reason: 'still broken',
    });
    expect(failed[0]!.failedAt!).toBeGreaterThanOrEqual(failed[1]!.failedAt!); // newest first
    expect((JSON.parse(ofTask.stdout) as FailedJob[]).length).toBe(2);
    expect(ofOther.stdout.trim()).toBe('No failed jobs of Succeed.');

    await redis((client) => client.del(`${prefix}:flag:broken`));
    const byId = await cli(prefix, 'retry', idA);
    expect(byId.code).toBe(0);
    expect(byId.stdout.trim()).toBe(`retried work/${idA} (Exhausts)`);
    const retriedA = await settled(work, idA, 5_000);
    expect(await retriedA.getState()).toBe('completed');
    expect(await (await work.getJob(idB))!.getState()).toBe('failed');

    const byTask = await cli(prefix, 'retry', 'Exhausts');
    expect(byTask.code).toBe(0);
    expect(lines(byTask.stdout)).toEqual([`retried work/${idB} (Exhausts)`]);
    expect(await (await settled(work, idB, 5_000)).getState()).toBe('completed');

    // Each job: two failed attempts, then one run with fresh attempts after the retry.
    const calls = await callsOf(prefix, 'Exhausts');
    for (const gate of ['a', 'b']) {
      expect(calls.filter((call) => call.args[0] === gate).map((call) => call.attempt)).toEqual([
        1, 2, 1,
      ]);
    }
    const [again, empty, nothing] = await Promise.all([
      cli(prefix, 'retry', 'Exhausts'),
      cli(prefix, 'failed'),
      cli(prefix, 'retry'),
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('No failed job matches "Exhausts"');
    expect(empty.stdout.trim()).toBe('No failed jobs.');
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('retry needs a task name or a job id');
    expect(worker.get(Interactors).list().length).toBe(TASK_NAMES.length);
  });
});

describe('usage errors', () => {
  it('an unknown task → exit 2 with "Did you mean" suggestions; an unknown command or option → exit 2 with the usage', async () => {
    const prefix = prefixes.next();
    const [typo, lower, far, command, option, bare, help] = await Promise.all([
      cli(prefix, 'run', 'Succed'),
      cli(prefix, 'pause', 'guarded'),
      cli(prefix, 'history', 'Zzzzzzzz'),
      cli(prefix, 'frobnicate'),
      cli(prefix, 'list', '--bogus'),
      cli(prefix),
      cli(prefix, '--help'),
    ]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('Unknown task "Succed". Did you mean Succeed?');
    expect(typo.stderr).toContain(`Tasks: ${TASK_NAMES.join(', ')}`);
    expect(lower.code).toBe(2);
    expect(lower.stderr).toContain('Did you mean Guarded?');
    expect(far.code).toBe(2);
    expect(far.stderr).toContain('Unknown task "Zzzzzzzz".');
    expect(far.stderr).not.toContain('Did you mean');
    expect(command.code).toBe(2);
    expect(command.stderr).toContain('Unknown command "frobnicate".');
    expect(command.stderr).toContain('Usage:');
    expect(option.code).toBe(2);
    expect(option.stderr).toContain('--bogus');
    expect(option.stderr).toContain('Usage:');
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('Usage:');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain(
      'Exit codes: 0 ok, 1 failed, 2 bad usage or unknown task, 3 skipped or locked.',
    );
    // Nothing was paused by the misspelt name.
    expect(await redis((client) => client.hkeys(`${prefix}:paused`))).toEqual([]);
  });
});

describe('on the in-memory transport (no REDIS_URL)', () => {
  it('enqueue, pause, resume and retry → exit 2 saying Redis is needed; list and run work', async () => {
    const memory = (...args: string[]) => runCli(args, { REDIS_URL: undefined, PREFIX: 'unused' });
    const [enqueue, pause, resume, retry, list, run] = await Promise.all([
      memory('enqueue', 'Succeed'),
      memory('pause', 'Succeed'),
      memory('resume', 'Succeed'),
      memory('retry', 'Exhausts'),
      memory('list'),
      memory('run', 'Succeed', '--args', '[1]'),
    ]);
    for (const [result, command] of [
      [enqueue, 'enqueue'],
      [pause, 'pause'],
      [resume, 'resume'],
      [retry, 'retry'],
    ] as const) {
      expect(result.code, command).toBe(2);
      expect(result.stderr).toContain(`"${command}" needs Redis`);
      expect(result.stderr).toContain('REDIS_URL');
      expect(result.ms).toBeLessThan(15_000);
    }
    expect(list.code).toBe(0);
    const table = lines(list.stdout).filter((line) => !line.includes('WARN'));
    expect(table.slice(1).map((line) => line.split(' ')[0])).toEqual(TASK_NAMES);
    expect(run.code).toBe(0);
    // (Nest prints the in-memory transport's warning on stdout too: see the report.)
    const ran = lines(run.stdout).filter((line) => !line.includes('WARN'));
    expect(ran[0]).toMatch(/^Succeed success in \d+ ms$/);
    expect(ran[1]).toBe('{"echoed":[1]}');
  });
});
