/**
 * 4. Cluster cost: 1, 3 and 5 scheduler processes on the same task set (every second,
 * `run: 'inline'`), on a redis-server of the bench's own so that `INFO commandstats`
 * deltas count nothing but theirs. Per due instant and process: the claim commands (the
 * target is one round trip) and all commands; per instant: how soon the first run
 * started after the due instant (timer wake + claim round trip + the pipeline up to
 * `call()`), and the server time of a claim. Every tick must run exactly once.
 */
import type { BenchOptions } from '../bench-options.js';
import type { ResultMessage } from '../children/scheduler.protocol.js';
import { sleep } from '../measure.js';
import { client, commandStats, statsDelta, type CommandStats } from '../redis.js';
import { num, status, type Row, type ScenarioResult } from '../report.js';
import { distribution } from '../stats.js';
import { nextWindow, startSchedulers } from './scheduler-runs.js';

/** The claim: one EVAL of the claim script per wake. */
const CLAIM_COMMANDS = ['eval', 'evalsha'];
const HISTORY_COMMANDS = ['lpush', 'ltrim'];
/**
 * Run by the claim script inside Redis (commandstats counts them too): not sent by the
 * module, so not round trips. (It sends HSET itself only to pause or resume a task.)
 */
const INSIDE_SCRIPTS = ['hget', 'hset'];
/** The bench's own commands on that server. */
const OURS = ['info'];

export async function clusterScenario(
  options: BenchOptions,
  redisUrl: string,
  isPrivate: boolean,
  prefix: string,
  progress: (text: string) => void,
): Promise<ScenarioResult> {
  const { sizes } = options;
  const tasks = sizes.clusterTasks;
  const redis = client(redisUrl);
  const figures: Record<string, number> = {};
  const details: Record<string, unknown> = {
    tasks,
    windowMs: sizes.clusterWindowMs,
    privateRedis: isPrivate,
  };
  const rows: Row[] = [];
  try {
    for (const processes of sizes.clusterProcesses) {
      progress(`${processes} scheduler process(es), ${tasks} tasks every second`);
      const schedulers = await startSchedulers(processes, {
        impl: 'ours',
        tasks,
        pattern: 'second',
        redisUrl,
        prefix: `${prefix}:cluster${processes}`,
        measureRuns: false,
      });
      let delta: CommandStats;
      let results: ResultMessage[];
      const window = nextWindow(sizes.warmupMs, sizes.clusterWindowMs);
      try {
        for (const { child } of schedulers) child.send({ type: 'window', ...window });
        const results$ = Promise.all(
          schedulers.map(({ child }) =>
            child.receive<ResultMessage>('result', sizes.clusterWindowMs + 120_000),
          ),
        );
        await sleep(window.start - Date.now());
        const before = await commandStats(redis);
        await sleep(window.end - Date.now());
        const after = await commandStats(redis);
        delta = statsDelta(before, after);
        results = await results$;
      } finally {
        await Promise.all(schedulers.map(({ child }) => child.stop()));
      }

      const instants = sizes.clusterWindowMs / 1_000;
      const calls = (names: readonly string[]) =>
        names.reduce((sum, name) => sum + (delta.get(name)?.calls ?? 0), 0);
      const usec = (names: readonly string[]) =>
        names.reduce((sum, name) => sum + (delta.get(name)?.usec ?? 0), 0);
      const sent = [...delta.keys()].filter(
        (name) => !OURS.includes(name) && !INSIDE_SCRIPTS.includes(name),
      );
      const claimsPerProcess = calls(CLAIM_COMMANDS) / instants / processes;
      const commandsPerProcess = calls(sent) / instants / processes;
      const historyPerInstant = calls(HISTORY_COMMANDS) / instants;
      const claimServerMicros = usec(CLAIM_COMMANDS) / Math.max(1, calls(CLAIM_COMMANDS));

      // Across the cluster: each instant's runs, and the first start after it.
      const perInstant = new Map<number, { runs: number; first: number; winners: number }>();
      for (const result of results) {
        for (const [due, count, first] of result.ticks!.instants) {
          const entry = perInstant.get(due) ?? { runs: 0, first: Infinity, winners: 0 };
          entry.runs += count;
          entry.first = Math.min(entry.first, first);
          entry.winners++;
          perInstant.set(due, entry);
        }
      }
      const firstStart = distribution([...perInstant.values()].map((entry) => entry.first));
      const ran = [...perInstant.values()].reduce((sum, entry) => sum + entry.runs, 0);
      const expected = tasks * instants;
      const duplicates = results.reduce((sum, result) => sum + result.ticks!.duplicates, 0);
      const exactlyOnce = ran === expected && duplicates === 0 && perInstant.size === instants;
      const key = `p${processes}`;
      figures[`${key}.commandsPerInstantPerProcess`] = commandsPerProcess;
      figures[`${key}.claimsPerInstantPerProcess`] = claimsPerProcess;
      figures[`${key}.firstStartP50Ms`] = firstStart.p50;
      figures[`${key}.claimServerMicros`] = claimServerMicros;
      details[key] = {
        commands: Object.fromEntries(delta),
        instants,
        ran,
        expected,
        duplicates,
        firstStart,
        processesWinningAnInstant: perInstant.size
          ? [...perInstant.values()].reduce((sum, entry) => sum + entry.winners, 0) /
            perInstant.size
          : 0,
        historyCommandsPerInstant: historyPerInstant,
      };
      const title = `${processes} scheduler${processes > 1 ? 's' : ''}, ${num(tasks)} tasks:`;
      rows.push(
        {
          figure: `${title} claim commands per instant per process`,
          ours: num(claimsPerProcess),
          baseline: '',
          ratio: '',
          target: '1 round trip',
          status: status(Math.abs(claimsPerProcess - 1) < 0.05),
        },
        {
          figure: `${title} Redis commands sent per instant per process`,
          ours: num(commandsPerProcess),
          baseline: `of which run history writes ${num(historyPerInstant / processes)}, pipelined`,
          ratio: '',
          target: '',
          status: '',
        },
        {
          figure: `${title} first run start after due p50 / p99 (claim server time)`,
          ours: `${num(firstStart.p50)} / ${num(firstStart.p99)} ms (${num(claimServerMicros, 'µs')})`,
          baseline: '',
          ratio: '',
          target: '',
          status: '',
        },
        {
          figure: `${title} ticks run exactly once`,
          ours: `${num(ran)} of ${num(expected)}, ${duplicates} doubled`,
          baseline: '',
          ratio: '',
          target: 'all, once',
          status: status(exactlyOnce),
        },
      );
    }
    return { figures, details, rows };
  } finally {
    redis.disconnect();
  }
}
