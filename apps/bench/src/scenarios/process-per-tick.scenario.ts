/**
 * 5. Versus a process per tick: a fresh Node process that boots the demo's app context
 * through its CLI (`node dist/apps/demo/src/cli.js run PatrolTheGates`), as a crontab
 * line would, against one run of the same task inside a live demo scheduler. Both on the
 * same Redis (the bench's own server, since the demo's key prefix is fixed), rounds
 * interleaved. Memory: the fresh process's peak RSS, paid at every tick, against the
 * RSS of the live scheduler, paid once for all its ticks.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchOptions } from '../bench-options.js';
import { BenchChild, childEnv, ROOT } from '../bench-child.js';
import type { RanMessage } from '../children/live-demo.child.js';
import { now } from '../measure.js';
import { num, ratioText, type ScenarioResult } from '../report.js';
import { median } from '../stats.js';

const DEMO_CLI = 'dist/apps/demo/src/cli.js';
const PRELOAD = fileURLToPath(new URL('../children/rusage.preload.js', import.meta.url));
/** Runs inside the live scheduler per round; their median is the round's figure. */
const LIVE_RUNS = 5;

interface ProcessRun {
  readonly wallMs: number;
  readonly cpuMicros: number;
  readonly maxRssBytes: number;
}

/** `cli.js run PatrolTheGates` in a fresh process: wall time from spawn to exit, its CPU and peak RSS. */
async function freshProcess(
  redisUrl: string | undefined,
  dir: string,
  round: number,
): Promise<ProcessRun> {
  const file = join(dir, `rusage-${round}.json`);
  const start = now();
  const child = spawn(process.execPath, ['--import', PRELOAD, DEMO_CLI, 'run', 'PatrolTheGates'], {
    cwd: ROOT,
    env: childEnv({ REDIS_URL: redisUrl, BENCH_RUSAGE_FILE: file, GATES_CRON: undefined }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const wallMs = now() - start;
  if (code !== 0) throw new Error(`${DEMO_CLI} run PatrolTheGates exited ${code}:\n${stderr}`);
  const usage = JSON.parse(await readFile(file, 'utf8')) as {
    cpuMicros: number;
    maxRssBytes: number;
  };
  return { wallMs, ...usage };
}

export async function processPerTickScenario(
  options: BenchOptions,
  redisUrl: string | undefined,
): Promise<ScenarioResult> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-tick-'));
  const live = new BenchChild(
    'live-demo.child.js',
    {},
    { REDIS_URL: redisUrl, GATES_CRON: undefined },
  );
  try {
    await live.receive('ready');
    const rounds = { fresh: [] as ProcessRun[], live: [] as RanMessage[] };
    const liveRound = async () => {
      live.send({ type: 'run', count: LIVE_RUNS });
      const ran = await live.receive<RanMessage>('ran');
      if (ran.outcomes.some((outcome) => outcome !== 'success'))
        throw new Error(`PatrolTheGates in the live scheduler: ${ran.outcomes.join(', ')}`);
      rounds.live.push(ran);
    };
    await liveRound(); // warm-up
    rounds.live.length = 0;
    for (let round = 0; round < options.sizes.processRounds; round++) {
      // Alternate which goes first.
      if (round % 2) await liveRound();
      rounds.fresh.push(await freshProcess(redisUrl, dir, round));
      if (!(round % 2)) await liveRound();
    }
    const perRound = rounds.fresh.map((fresh, i) => {
      const inside = rounds.live[i]!;
      const wallMs = median(inside.wallMs);
      const cpuMicros = median(inside.cpuMicros);
      return {
        time: fresh.wallMs / wallMs,
        cpu: fresh.cpuMicros / cpuMicros,
        memory: fresh.maxRssBytes / inside.rssBytes,
        liveWallMs: wallMs,
        liveCpuMicros: cpuMicros,
        liveRssBytes: inside.rssBytes,
      };
    });
    const m = (pick: (each: (typeof perRound)[number]) => number) => median(perRound.map(pick));
    const fresh = {
      wallMs: median(rounds.fresh.map((run) => run.wallMs)),
      cpuMicros: median(rounds.fresh.map((run) => run.cpuMicros)),
      maxRssBytes: median(rounds.fresh.map((run) => run.maxRssBytes)),
    };
    const inside = {
      wallMs: m((each) => each.liveWallMs),
      cpuMicros: m((each) => each.liveCpuMicros),
      rssBytes: m((each) => each.liveRssBytes),
    };
    const ratio = {
      time: m((each) => each.time),
      cpu: m((each) => each.cpu),
      memory: m((each) => each.memory),
    };
    const mb = (bytes: number) => num(bytes / 1024 / 1024, 'MB');
    return {
      figures: {
        freshWallMs: fresh.wallMs,
        freshCpuMicros: fresh.cpuMicros,
        freshMaxRssBytes: fresh.maxRssBytes,
        liveWallMs: inside.wallMs,
        liveCpuMicros: inside.cpuMicros,
        liveRssBytes: inside.rssBytes,
        timeRatio: ratio.time,
        cpuRatio: ratio.cpu,
        memoryRatio: ratio.memory,
      },
      details: { redis: redisUrl ? 'redis' : 'in-memory', rounds },
      rows: [
        {
          figure: 'PatrolTheGates, time per tick',
          ours: `${num(inside.wallMs, 'ms')} in a live scheduler`,
          baseline: `fresh process (CLI) ${num(fresh.wallMs, 'ms')}`,
          ratio: `${ratioText(ratio.time)} faster`,
          target: '',
          status: '',
        },
        {
          figure: 'PatrolTheGates, CPU per tick',
          ours: num(inside.cpuMicros / 1000, 'ms'),
          baseline: `fresh process ${num(fresh.cpuMicros / 1000, 'ms')}`,
          ratio: `${ratioText(ratio.cpu)} less`,
          target: '',
          status: '',
        },
        {
          figure: 'Memory: peak RSS per tick vs the live scheduler’s RSS',
          ours: `${mb(inside.rssBytes)} for all ticks`,
          baseline: `fresh process ${mb(fresh.maxRssBytes)} at every tick`,
          ratio: ratioText(ratio.memory),
          target: '',
          status: '',
        },
      ],
    };
  } finally {
    await live.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
