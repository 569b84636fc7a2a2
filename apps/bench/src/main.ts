/**
 * `npm run bench [-- --quick]`: what nestjs-interactors costs over the building blocks it
 * wraps, as ratios measured side by side in one run (A/B interleaved, several rounds, the
 * median reported). Prints one table and writes the same figures to bench/results.json.
 * Absolute figures are context: they drift between runs on shared machines.
 */
import 'reflect-metadata';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseOptions, type BenchOptions } from './bench-options.js';
import { ROOT } from './bench-child.js';
import { benchPrefix, deleteKeys, startPrivateRedis, type PrivateRedis } from './redis.js';
import { table, type BenchResults, type ScenarioName, type ScenarioResult } from './report.js';
import { clusterScenario } from './scenarios/cluster.scenario.js';
import { inlineScenario } from './scenarios/inline.scenario.js';
import { processPerTickScenario } from './scenarios/process-per-tick.scenario.js';
import { queueScenario } from './scenarios/queue.scenario.js';
import { schedulerScenario } from './scenarios/scheduler.scenario.js';

const log = (text: string) => process.stderr.write(`[bench] ${text}\n`);

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  // The bench decides roles and queues itself; a shell's settings must not leak in.
  for (const name of ['INTERACTORS_ROLES', 'INTERACTORS_QUEUES', 'INTERACTORS_FORCE', 'NODE_ENV'])
    delete process.env[name];
  const prefix = benchPrefix();
  const started = Date.now();
  const notes: string[] = [];
  const scenarios: BenchResults['scenarios'] = {};
  let privateRedis: PrivateRedis | undefined;
  log(
    `${options.quick ? 'quick' : 'full'} run against ${redisHost(options.redisUrl)}, keys under ${prefix}:`,
  );

  const step = async (name: ScenarioName, run: () => Promise<ScenarioResult>) => {
    if (!options.only.includes(name)) return;
    const at = Date.now();
    log(`${name}…`);
    scenarios[name] = await run();
    log(`${name} done in ${((Date.now() - at) / 1000).toFixed(1)} s`);
  };
  const progress = (name: string) => (text: string) => log(`  ${name}: ${text}`);
  // Interrupted: delete the keys written so far, then exit (children and the private
  // redis-server go with the process).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: deleting the keys under ${prefix}: and stopping`);
      const exit = () => process.exit(130);
      setTimeout(exit, 5_000).unref();
      deleteKeys(options.redisUrl, prefix).then(exit, exit);
    });
  }

  try {
    await step('inline', () => inlineScenario(options, prefix));
    await step('queue', () => queueScenario(options, prefix));
    await step('scheduler', () => schedulerScenario(options, prefix, progress('scheduler')));
    if (options.only.includes('cluster') || options.only.includes('processPerTick')) {
      privateRedis = await startPrivateRedis();
      if (!privateRedis) {
        notes.push(
          'redis-server is not installed: cluster command counts come from the shared Redis ' +
            '(other clients may add to them) and the process-per-tick comparison runs in memory',
        );
      }
    }
    await step('cluster', () =>
      clusterScenario(
        options,
        privateRedis?.url ?? options.redisUrl,
        privateRedis !== undefined,
        prefix,
        progress('cluster'),
      ),
    );
    await step('processPerTick', () => processPerTickScenario(options, privateRedis?.url));
  } finally {
    await privateRedis?.stop();
    const deleted = await deleteKeys(options.redisUrl, prefix);
    log(`deleted ${deleted} key(s) under ${prefix}:`);
  }

  const results: BenchResults = {
    meta: {
      quick: options.quick,
      startedAt: new Date(started).toISOString(),
      durationS: (Date.now() - started) / 1000,
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      redis: redisHost(options.redisUrl),
      notes,
    },
    scenarios,
  };
  await write(options, results);
  process.stdout.write(`${table(results)}\n`);
  for (const note of notes) process.stdout.write(`Note: ${note}\n`);
  log(`figures written to ${options.out} (${results.meta.durationS.toFixed(0)} s)`);
}

async function write(options: BenchOptions, results: BenchResults): Promise<void> {
  const out = resolve(ROOT, options.out);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
}

/** host:port of a Redis URL, never its credentials. */
function redisHost(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || 6379}`;
  } catch {
    return 'an unparsable REDIS_URL';
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
