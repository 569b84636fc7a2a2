/** Command-line options of `npm run bench` and the sizes each mode measures with. */
import { parseArgs } from 'node:util';
import { SCENARIOS, type ScenarioName } from './report.js';
import { PATTERNS, type Pattern } from './tasks.js';

export interface BenchOptions {
  readonly quick: boolean;
  readonly redisUrl: string;
  /** Where the figures are written. */
  readonly out: string;
  readonly only: readonly ScenarioName[];
  readonly sizes: Sizes;
}

/** How much each scenario measures: the full bench, or the quick smoke run. */
export interface Sizes {
  /** A/B rounds of the in-process comparisons. */
  readonly rounds: number;
  readonly inlineRuns: number;
  readonly lockedRuns: number;
  readonly lockedRunsInFlight: number;
  readonly queueJobs: number;
  readonly queueRounds: number;
  readonly latencyJobs: number;
  schedulerTasks: readonly number[];
  schedulerPatterns: readonly Pattern[];
  readonly schedulerWindowMs: number;
  readonly warmupMs: number;
  readonly clusterProcesses: readonly number[];
  readonly clusterTasks: number;
  readonly clusterWindowMs: number;
  readonly processRounds: number;
}

const FULL: Sizes = {
  rounds: 7,
  inlineRuns: 20_000,
  lockedRuns: 2_000,
  lockedRunsInFlight: 10_000,
  queueJobs: 20_000,
  queueRounds: 3,
  latencyJobs: 1_000,
  schedulerTasks: [100, 1_000, 5_000],
  schedulerPatterns: ['second', 'minute'],
  schedulerWindowMs: 20_000,
  warmupMs: 2_000,
  clusterProcesses: [1, 3, 5],
  clusterTasks: 1_000,
  clusterWindowMs: 15_000,
  processRounds: 10,
};

const QUICK: Sizes = {
  rounds: 3,
  inlineRuns: 2_000,
  lockedRuns: 300,
  lockedRunsInFlight: 1_000,
  queueJobs: 1_000,
  queueRounds: 2,
  latencyJobs: 100,
  schedulerTasks: [100],
  schedulerPatterns: ['second'],
  schedulerWindowMs: 2_000,
  warmupMs: 1_000,
  clusterProcesses: [1, 3, 5],
  clusterTasks: 100,
  clusterWindowMs: 2_000,
  processRounds: 2,
};

export const USAGE = `Usage: npm run bench [-- --quick] [--only <scenarios>] [--tasks <counts>] [--patterns <patterns>] [--out <file>]
  --quick       far fewer jobs, tasks and rounds: a smoke run of under a minute
  --only        some of: inline, queue, scheduler, cluster, processPerTick (comma-separated)
  --tasks       task counts of the scheduler scale scenario (default 100,1000,5000)
  --patterns    second and/or minute: every task every second, or spread over a minute
  --out         where the figures go (default bench/results.json)
  REDIS_URL     the Redis to measure against (default redis://127.0.0.1:6379); keys under
                bench:<random>, deleted afterwards`;

export function parseOptions(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      out: { type: 'string', default: 'bench/results.json' },
      tasks: { type: 'string' },
      patterns: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const only = values.only ? values.only.split(',').map((name) => name.trim()) : [...SCENARIOS];
  for (const name of only) {
    if (!SCENARIOS.includes(name as ScenarioName))
      throw new Error(`Unknown scenario "${name}"; scenarios: ${SCENARIOS.join(', ')}`);
  }
  const sizes = { ...(values.quick ? QUICK : FULL) };
  if (values.tasks) {
    const counts = values.tasks.split(',').map(Number);
    if (counts.some((count) => !Number.isInteger(count) || count < 1))
      throw new Error(`--tasks takes whole numbers ≥ 1, e.g. 1000,5000; got "${values.tasks}"`);
    sizes.schedulerTasks = counts;
  }
  if (values.patterns) {
    const patterns = values.patterns.split(',').map((name) => name.trim());
    if (patterns.some((name) => !PATTERNS.includes(name as Pattern)))
      throw new Error(`--patterns takes ${PATTERNS.join(' and/or ')}; got "${values.patterns}"`);
    sizes.schedulerPatterns = patterns as Pattern[];
  }
  return {
    quick: values.quick,
    redisUrl: process.env.REDIS_URL || 'redis://127.0.0.1:6379',
    out: values.out,
    only: only as ScenarioName[],
    sizes,
  };
}
