/**
 * Fault 8: poison input written straight into Redis, the way any producer (or an attacker
 * with Redis access) could: envelopes whose args are not JSON, job names that are not task
 * names (`../../x`, `constructor`, `__proto__`), args carrying `__proto__` /
 * `constructor.prototype` keys, job data that is not JSON at all, and fuzzed envelopes.
 * Each must fail once, at once, with a clear reason; the worker process must not crash,
 * its prototypes must stay untouched, and healthy jobs must keep flowing.
 */
import { randomUUID } from 'node:crypto';
import { Queue, type Job } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from '../src/helpers.js';
import { analyseJobs, pick, report, Scenario, type FaultApp } from './harness/index.js';

const FUZZ = pick(200, 1_000);
const HEALTHY = pick(100, 300);
/** Between two healthy jobs, in both phases. */
const PACE_MS = 5;
const SEED = Number(process.env.FAULTS_SEED ?? 0x5eed);

let scenario: Scenario | undefined;
let queue: Queue | undefined;
afterEach(async () => {
  await queue?.close();
  await scenario?.dispose();
  queue = scenario = undefined;
});

/** A poison job: what is written, and the reason it must fail with. */
interface Poison {
  label: string;
  name: string;
  data: unknown;
  attempts: number;
  reason: RegExp;
}

/** Every reason the module gives for a job that cannot run. */
const CLEAR_REASON =
  /^Job \S+ on queue "default" cannot run: (job name .* is not a valid task name|job of task "[A-Za-z][\w.-]*" (has no valid envelope|has an invalid envelope|has an invalid dueAt|has arguments that are not valid JSON|has arguments that are not an array|has arguments with a prototype key at \S+, which could pollute Object.prototype; refused|has data that is not valid JSON))/;

const KNOWN = ['PoisonTarget', 'FaultJob'];

function envelope(task: string, args: string, extra: Record<string, unknown> = {}) {
  return { v: 1, task, args, runId: randomUUID(), ...extra };
}

/** The hand-written cases of the issue. */
function namedPoison(): Poison[] {
  const target = (label: string, args: string, reason: RegExp): Poison => ({
    label,
    name: 'PoisonTarget',
    data: envelope('PoisonTarget', args),
    attempts: 5,
    reason,
  });
  const badName = (name: string, reason = /is not a valid task name/): Poison => ({
    label: `name ${JSON.stringify(name.slice(0, 20))}`,
    name,
    data: envelope(name, '[]'),
    attempts: 5,
    reason,
  });
  return [
    target('args not JSON', '[{"a":', /has arguments that are not valid JSON/),
    target('args JSON, not an array', '{"a":1}', /has arguments that are not an array/),
    badName('../../x', /job name "..\/..\/x" is not a valid task name/),
    badName('constructor', /job name "constructor" is not a valid task name/),
    badName('__proto__', /job name "__proto__" is not a valid task name/),
    badName('toString'),
    badName('hasOwnProperty'),
    badName(`${'A'.repeat(5_000)}/`, /job name "A{200}"… \(5001 characters\) is not a valid/),
    badName('PoisonTarget\n\u202eforged line', /job name "PoisonTarget\\n\\u202eforged line"/),
    target(
      'args with __proto__',
      '[{"__proto__":{"polluted":"yes"}}]',
      /prototype key at args\[0\]\.__proto__,/,
    ),
    target(
      'args with constructor.prototype',
      '[{"constructor":{"prototype":{"polluted1":"yes"}}}]',
      /prototype key at args\[0\]\.constructor\.prototype,/,
    ),
    target(
      'args with a deep __proto__',
      '[1,{"a":[{"b":{"__proto__":{"polluted2":true}}}]}]',
      /prototype key at args\[1\]\.a\[0\]\.b\.__proto__,/,
    ),
    target(
      'args with an escaped __proto__',
      '[{"\\u005f_proto__":{"polluted3":1}}]',
      /prototype key at args\[0\]\.__proto__,/,
    ),
    {
      label: 'envelope hidden under __proto__',
      name: 'PoisonTarget',
      data: JSON.parse(
        '{"__proto__":{"v":1,"task":"PoisonTarget","args":"[{\\"polluted4\\":1}]","runId":"r"}}',
      ),
      attempts: 5,
      reason: /has no valid envelope/,
    },
  ];
}

/** mulberry32: a seeded generator, so a failing fuzz case can be replayed (FAULTS_SEED). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const isTaskName = (name: string) =>
  /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/.test(name) && !(name in Object.prototype);

/** `count` envelopes, each with one to three defects (so none may run). */
function fuzzedPoison(count: number, seed: number): Poison[] {
  const rnd = random(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const pickOne = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const chars = 'aZ9_.-:/ \\"\'{}[]<>%$\n\t\u0000\u2028\u202eé😈';
  const junk = (max: number) =>
    Array.from({ length: 1 + int(max) }, () => chars[int(chars.length)]).join('');
  const validArgs = () =>
    JSON.stringify(
      pickOne([[], [1], ['x', { a: [1, 2, { b: null }] }], [{ when: '2026-01-01' }, true]]),
    );
  const pollutingArgs = () => {
    const key = pickOne(['"__proto__"', '"\\u005f_proto__"', '"__\\u0070roto__"']);
    const payload = pickOne([
      `{${key}:{"polluted":1}}`,
      `{"constructor":{"prototype":{"isAdmin":true}}}`,
    ]);
    let value = payload;
    for (let depth = int(4); depth > 0; depth--)
      value = pickOne([`[0,${value}]`, `{"k${depth}":${value}}`]);
    return `[${value}]`;
  };
  const malformedName = () => {
    const name = pickOne([
      () => pickOne(['', ' ', '..', '../../x', '/etc/passwd', 'a:b', '9lives', '-x', '_x']),
      () => pickOne(['constructor', '__proto__', 'toString', 'valueOf', '__defineGetter__']),
      () => pickOne(['Poison Target', 'PoisonTarget\n', 'Ünïcode', '😈', 'a\u0000b', '\u202eX']),
      () => 'x'.repeat(129 + int(10_000)),
      () => junk(40),
    ])();
    return isTaskName(name) ? `9${name}` : name;
  };
  const defects: Record<string, (p: { name: string; data: Record<string, unknown> }) => void> = {
    name: (p) => {
      p.name = malformedName();
      p.data.task = p.name;
    },
    v: (p) => {
      const v = pickOne([undefined, 0, 2, '1', null, true, [1], {}, 1.0000001]);
      if (v === undefined) delete p.data.v;
      else p.data.v = v;
    },
    task: (p) => {
      const task = pickOne([undefined, `${p.name}X`, '', 42, null, [p.name], p.name.toLowerCase()]);
      if (task === undefined) delete p.data.task;
      else p.data.task = task;
    },
    argsType: (p) => {
      const args = pickOne([undefined, [1], 1, { a: 1 }, null, true]);
      if (args === undefined) delete p.data.args;
      else p.data.args = args;
    },
    argsJson: (p) => {
      const full = validArgs();
      p.data.args = pickOne([
        () => full.slice(0, int(full.length)),
        () => pickOne(['[1,]', "['single']", '[NaN]', '[undefined]', '[1] x', '"str"', 'null']),
        () => pickOne(['{"a":1}', '1e999', '{}', 'true']),
        () => {
          const text = junk(60);
          try {
            return Array.isArray(JSON.parse(text)) ? `x${text}` : text;
          } catch {
            return text;
          }
        },
      ])();
    },
    argsProto: (p) => {
      p.data.args = pollutingArgs();
    },
    runId: (p) => {
      const runId = pickOne([undefined, 1, null, {}, []]);
      if (runId === undefined) delete p.data.runId;
      else p.data.runId = runId;
    },
    dueAt: (p) => {
      p.data.dueAt = pickOne(['soon', null, {}, [], true, '1700000000000']);
    },
  };
  const kinds = Object.keys(defects);
  return Array.from({ length: count }, (_, i) => {
    const name = pickOne(KNOWN);
    const p = {
      name,
      data: envelope(name, validArgs(), { runId: `fuzz-${i}` }) as Record<string, unknown>,
    };
    const applied = new Set<string>();
    for (let k = 1 + int(3); applied.size < k;) applied.add(pickOne(kinds));
    for (const kind of applied) defects[kind]!(p);
    let data: unknown = p.data;
    // Noise that is no defect by itself: deep nesting, big strings, an own "__proto__".
    if (rnd() < 0.3) {
      const noise = pickOne([
        () => ({ deep: JSON.parse('['.repeat(1_000) + ']'.repeat(1_000)) }),
        () => ({ big: 'x'.repeat(100_000) }),
        () => JSON.parse('{"__proto__":{"polluted":"noise"}}'),
        () => ({ extra: junk(30) }),
      ])();
      data = { ...(data as object), ...noise };
    }
    // A whole-data defect replaces the envelope.
    if (rnd() < 0.1) data = pickOne([1, 'str', null, true, [], [p.data], 1e308]);
    return {
      label: `fuzz #${i} (${[...applied].join('+')})`,
      name: p.name,
      data,
      attempts: 1 + int(5),
      reason: CLEAR_REASON,
    };
  });
}

const percentile = (values: number[], q: number): number => {
  const sorted = values.toSorted((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : NaN;
};

/** Polls `done` every 50 ms for up to `ms`; whether it came true. */
async function until(ms: number, done: () => Promise<boolean>): Promise<boolean> {
  const end = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > end) return false;
    await sleep(50);
  }
  return true;
}

describe('Faults: poison input', () => {
  it(
    '8. poison jobs fail once with a clear reason; no crash, prototypes untouched, healthy jobs flow',
    { timeout: pick(90_000, 240_000) },
    async (context) => {
      scenario = await new Scenario('faults:poison').start();
      const app: FaultApp = scenario.app({ http: true }, {}, 'poison-app');
      await app.ready;
      queue = new Queue('default', {
        connection: { host: '127.0.0.1', port: scenario.redis.port },
        prefix: scenario.prefix,
      });
      const raw = scenario.redis.client();
      const records = scenario.records;

      /** Adds healthy jobs n = from..from+HEALTHY-1, PACE_MS apart, each after `between(i)`. */
      const addedAt = new Map<number, number>();
      async function flow(from: number, between: (i: number) => Poison[]): Promise<Job[]> {
        const poisoned: Job[] = [];
        for (let i = 0; i < HEALTHY; i++) {
          const poison = between(i);
          const jobs = await queue!.addBulk([
            ...poison.map((p) => ({
              name: p.name,
              data: p.data,
              opts: { attempts: p.attempts, backoff: 100 },
            })),
            {
              name: 'FaultJob',
              data: envelope('FaultJob', JSON.stringify([{ n: from + i, ms: 0 }])),
            },
          ]);
          addedAt.set(from + i, jobs.at(-1)!.timestamp);
          poisoned.push(...jobs.slice(0, -1));
          await sleep(PACE_MS);
        }
        return poisoned;
      }
      const latencies = (from: number) =>
        records
          .runs('FaultJob')
          .filter((run) => run.n >= from && run.n < from + HEALTHY)
          .map((run) => run.start - addedAt.get(run.n)!);
      const finished = (from: number) => async () => latencies(from).length === HEALTHY;

      // Clean run: healthy jobs alone.
      await flow(1, () => []);
      if (!(await until(30_000, finished(1)))) throw new Error('the clean run did not finish');
      const clean = latencies(1);

      // Poisoned run: the same flow, with every poison job spread between the healthy ones.
      const poisons = [...namedPoison(), ...fuzzedPoison(FUZZ, SEED)];
      const perSlot = Math.ceil(poisons.length / HEALTHY);
      const UNREADABLE_DELAY = 3_000;
      // Data that is not JSON at all: added delayed, then overwritten before it is due (a
      // few seconds ahead: a loaded machine must not let it run with its good data first).
      const unreadable = await queue.add('PoisonTarget', envelope('PoisonTarget', '[]'), {
        attempts: 5,
        delay: UNREADABLE_DELAY,
      });
      await raw.hset(`${scenario.prefix}:default:${unreadable.id}`, 'data', '{not json\xff');
      const poisonJobs = [
        {
          job: unreadable,
          poison: poisonOf('raw data not JSON', /has data that is not valid JSON/),
        },
      ];
      const added = await flow(HEALTHY + 1, (i) => poisons.slice(i * perSlot, (i + 1) * perSlot));
      added.forEach((job, i) => poisonJobs.push({ job, poison: poisons[i]! }));
      // Not thrown on: figures are reported first, then asserted.
      await until(pick(60_000, 180_000), finished(HEALTHY + 1));
      const ids = new Set(poisonJobs.map(({ job }) => job.id!));
      // Poison jobs are the only ones that fail; read each by id once they all have (a job
      // whose data is not JSON cannot be read by BullMQ at all: it counts as not settled).
      await until(30_000, async () => (await queue!.getJobCountByTypes('failed')) >= ids.size);
      const byId = new Map<string, Job>();
      const states = new Map<string, string>();
      for (const id of ids) {
        states.set(id, await queue.getJobState(id));
        const job = await queue.getJob(id).catch(() => undefined);
        if (job) byId.set(id, job);
      }
      const poisoned = latencies(HEALTHY + 1);

      const wrong: string[] = [];
      let failedOnce = 0;
      let retried = 0;
      let unclear = 0;
      for (const { job: sent, poison } of poisonJobs) {
        const state = states.get(sent.id!)!;
        const job = byId.get(sent.id!);
        if (!job) {
          wrong.push(`${poison.label}: ${state}, unreadable by BullMQ`);
          continue;
        }
        const once = job.attemptsMade === 1 && job.attemptsStarted === 1;
        const readable =
          job.failedReason !== undefined &&
          job.failedReason.length <= 400 &&
          /^[\x20-\x7e…]*$/.test(job.failedReason) &&
          job.failedReason.startsWith(`Job ${job.id} on queue "default" cannot run: `) &&
          poison.reason.test(job.failedReason) &&
          CLEAR_REASON.test(job.failedReason);
        if (state === 'failed' && once && readable) failedOnce++;
        if (job.attemptsStarted > 1 || job.attemptsMade > 1) retried++;
        if (!readable) unclear++;
        if (state !== 'failed' || !once || !readable) {
          wrong.push(
            `${poison.label}: ${state}, attemptsMade ${job.attemptsMade}, started ${job.attemptsStarted}, reason ${JSON.stringify(job.failedReason?.slice(0, 200))}`,
          );
        }
      }
      const unreadableJob = byId.get(unreadable.id!);
      const { changes } = JSON.parse((await app.get('/pollution')).text) as { changes: string[] };
      const live = (await app.get('/health/live')).status;
      const healthy = analyseJobs(records.runs('FaultJob'), 2 * HEALTHY);
      const letThrough = records.runs('PoisonTarget').length;
      const faultJobRuns = records.runs('FaultJob').length;
      const workers = await queue.getWorkersCount();
      raw.disconnect();
      const exits = await scenario.stopAll();
      const crashes = scenario.crashes(exits);
      const escapes = scenario.escapes();

      report(context, `8. poison input (${FUZZ} fuzzed, seed ${SEED})`, {
        'poison jobs': poisonJobs.length,
        'failed once, clear reason': failedOnce,
        retried,
        'unclear reasons': unclear,
        'poison runs let through': letThrough,
        'raw non-JSON data': unreadableJob?.finishedOn
          ? `${states.get(unreadable.id!)} after ${unreadableJob.finishedOn - (unreadableJob.timestamp + UNREADABLE_DELAY)} ms, attemptsMade ${unreadableJob.attemptsMade}`
          : `${states.get(unreadable.id!)}, not readable`,
        'prototype changes': changes.length,
        'healthy completed': `${HEALTHY * 2 - healthy.lost} of ${HEALTHY * 2}`,
        'healthy start p50/p99 ms, clean': `${percentile(clean, 0.5)} / ${percentile(clean, 0.99)}`,
        'healthy start p50/p99 ms, poisoned': `${percentile(poisoned, 0.5)} / ${percentile(poisoned, 0.99)}`,
        'live status': live,
        crashes,
        unhandled: escapes.length,
      });

      expect(wrong.slice(0, 20)).toEqual([]);
      expect(failedOnce).toBe(poisonJobs.length);
      expect(letThrough).toBe(0);
      // Its text is kept, as a JSON string, so every reader of the failed set can load it.
      expect(unreadableJob?.data).toEqual({ unreadableData: '{not json\xff' });
      expect(changes).toEqual([]);
      expect({ lost: healthy.lost, duplicates: healthy.duplicates, runs: faultJobRuns }).toEqual({
        lost: 0,
        duplicates: 0,
        runs: 2 * HEALTHY,
      });
      expect(live).toBe(200);
      expect(workers).toBeGreaterThanOrEqual(1);
      expect({ crashes, escapes }).toEqual({ crashes: 0, escapes: [] });
    },
  );
});

function poisonOf(label: string, reason: RegExp): Poison {
  return { label, name: 'PoisonTarget', data: undefined, attempts: 5, reason };
}

describe('Faults: a job whose stored options are not JSON', () => {
  it(
    '8b. is said as the job’s fault on each re-delivery, never taken for an outage; healthy jobs flow',
    { timeout: 60_000 },
    async (context) => {
      scenario = await new Scenario('faults:poison-opts').start();
      const app = scenario.app(
        { http: true, queue: { lockDuration: 1_000, stalledInterval: 500 } },
        {},
        'poison-app',
      );
      await app.ready;
      queue = new Queue('default', {
        connection: { host: '127.0.0.1', port: scenario.redis.port },
        prefix: scenario.prefix,
      });
      const raw = scenario.redis.client();
      const bad = await queue.add('PoisonTarget', envelope('PoisonTarget', '[]'), { delay: 300 });
      await raw.hset(`${scenario.prefix}:default:${bad.id}`, 'opts', '{not json');
      await sleep(500);
      await queue.add('FaultJob', envelope('FaultJob', JSON.stringify([{ n: 1, ms: 0 }])));
      // BullMQ parses stored options as it fetches a job (before any code of ours), so such
      // a job cannot be failed by us: it comes back after each stall. Watch a few rounds.
      await until(
        20_000,
        async () => analyseJobs(scenario!.records.runs('FaultJob'), 1).lost === 0,
      );
      await sleep(5_000);
      const state = await queue.getJobState(bad.id!);
      const healthy = analyseJobs(scenario.records.runs('FaultJob'), 1);
      const output = app.output();
      const saidAsJob =
        output.match(/could not read a job \(its stored options are not JSON/g) ?? [];
      const live = (await app.get('/health/live')).status;
      raw.disconnect();
      const exits = await scenario.stopAll();
      report(context, '8b. job options not JSON (BullMQ cannot read it)', {
        state,
        'said as the job’s fault': saidAsJob.length,
        'said as an outage': /is unreachable/.test(output) ? 'yes' : 'no',
        'healthy lost': healthy.lost,
        'live status': live,
        crashes: scenario.crashes(exits),
      });
      expect(output).not.toMatch(/is unreachable/);
      expect(saidAsJob.length).toBeGreaterThanOrEqual(2);
      expect(healthy.lost).toBe(0);
      expect(live).toBe(200);
      expect(scenario.crashes(exits)).toBe(0);
    },
  );
});
