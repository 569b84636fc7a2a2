/**
 * 1. Inline overhead: the library's CPU per unlocked run (`Interactors.call` of a no-op
 * task, metrics and run history on) minus a bare method call, with a breakdown; and
 * locked runs against a bare redlock acquire + release with the fencing INCR in the
 * same pipeline, on the same Redis, sequentially and with 50 in flight.
 */
import { randomUUID } from 'node:crypto';
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { ExternalContextCreator, NestFactory } from '@nestjs/core';
import { Redlock } from '@sesamecare-oss/redlock';
import { Redis } from 'ioredis';
import { Interactor, Interactors, InteractorsModule, Task } from 'nestjs-interactors';
import { Registry } from 'prom-client';
import type { BenchOptions } from '../bench-options.js';
import { cpuMicros, differences, interleaved, now, pool, ratios, sleep } from '../measure.js';
import { num, ratioText, status, type ScenarioResult } from '../report.js';
import { median } from '../stats.js';

@Task({ name: 'BenchNoop' })
class BenchNoop extends Interactor {
  call(): void {}
}

@Task({ name: 'BenchLocked', lock: { key: (slot: number) => String(slot) } })
class BenchLocked extends Interactor {
  call(_slot: number): void {}
}

const TARGET_US = 25;
const TARGET_LOCK_RATIO = 0.85;
/** Lets the run history's buffered write (every 50 ms) land inside the measurement. */
const SETTLE_MS = 60;
const IN_FLIGHT = 50;

async function app(options: BenchOptions, prefix: string, metrics: boolean) {
  @Module({
    imports: [
      InteractorsModule.forRoot({
        redis: options.redisUrl,
        prefix,
        roles: [],
        metrics: metrics ? { registry: new Registry() } : false,
      }),
    ],
    providers: [BenchNoop, BenchLocked],
  })
  class InlineModule {}
  return NestFactory.createApplicationContext(InlineModule, { logger: false, abortOnError: false });
}

/** CPU µs per call of `op`, over `count` sequential calls. */
async function cpuPerOp(count: number, op: () => Promise<unknown>): Promise<number> {
  const start = cpuMicros();
  for (let i = 0; i < count; i++) await op();
  await sleep(SETTLE_MS);
  return (cpuMicros() - start) / count;
}

/** Operations per second of `count` calls of `op(slot)`, `inFlight` at a time (slot = lane). */
async function throughput(
  count: number,
  inFlight: number,
  op: (slot: number) => Promise<unknown>,
): Promise<number> {
  const start = now();
  await pool(count, inFlight, (_, lane) => op(lane));
  return count / ((now() - start) / 1000);
}

export async function inlineScenario(
  options: BenchOptions,
  prefix: string,
): Promise<ScenarioResult> {
  const { sizes } = options;
  const apps: INestApplicationContext[] = [];
  const redis = new Redis(options.redisUrl, {
    enableAutoPipelining: true,
    maxRetriesPerRequest: 1,
  });
  try {
    const withMetrics = await app(options, `${prefix}:inline`, true);
    apps.push(withMetrics);
    const withoutMetrics = await app(options, `${prefix}:inline-nometrics`, false);
    apps.push(withoutMetrics);
    const interactors = withMetrics.get(Interactors);
    const interactorsNoMetrics = withoutMetrics.get(Interactors);
    const task = withMetrics.get(BenchNoop);

    // Building blocks of a run, each around the same bare call.
    const storage = new AsyncLocalStorage<{ runId: string; startedAt: number }>();
    const inContext = () =>
      storage.run({ runId: randomUUID(), startedAt: performance.now() }, () => task.call());
    const handler = withMetrics
      .get(ExternalContextCreator)
      .create(
        task,
        task.call,
        'call',
        undefined,
        undefined,
        undefined,
        undefined,
        { guards: true, interceptors: true, filters: false },
        'interactor',
      ) as () => Promise<unknown>;

    const ops = {
      bare: async () => task.call(),
      ours: () => interactors.call(BenchNoop),
      oursWithoutMetrics: () => interactorsNoMetrics.call(BenchNoop),
      context: async () => inContext(),
      enhancers: () => handler(),
    };
    // Warm-up: JIT and connections, not measured.
    for (const op of Object.values(ops)) await cpuPerOp(1_000, op);
    const count = sizes.inlineRuns;
    const variants = Object.fromEntries(
      Object.entries(ops).map(([name, op]) => [name, () => cpuPerOp(count, op)]),
    ) as Record<keyof typeof ops, () => Promise<number>>;
    const cpu = await interleaved(sizes.rounds, variants);
    const overhead = median(differences(cpu.ours, cpu.bare));
    const metricsPart = median(differences(cpu.ours, cpu.oursWithoutMetrics));
    const contextPart = median(differences(cpu.context, cpu.bare));
    const enhancersPart = median(differences(cpu.enhancers, cpu.bare));
    const rest = overhead - metricsPart - contextPart - enhancersPart;

    // Locked runs vs a bare redlock cycle, on the same Redis.
    const redlock = new Redlock([redis], { retryCount: 0 });
    redlock.on('error', () => undefined);
    const bareCycle = async (slot: number) => {
      // As the module does: the fencing INCR leaves in the same write as the acquire.
      const acquiring = redlock.acquire([`${prefix}:bare:lock:${slot}`], 30_000);
      const fencing = redis.incr(`${prefix}:bare:fence:${slot}`);
      const lock = await acquiring;
      await fencing;
      await lock.release();
    };
    const lockVariants = (inFlight: number, total: number) => ({
      ours: () => throughput(total, inFlight, (slot) => interactors.call(BenchLocked, slot)),
      redlock: () => throughput(total, inFlight, bareCycle),
    });
    for (const warmUp of Object.values(lockVariants(IN_FLIGHT, 500))) await warmUp();
    const sequential = await interleaved(sizes.rounds, lockVariants(1, sizes.lockedRuns));
    const parallel = await interleaved(
      sizes.rounds,
      lockVariants(IN_FLIGHT, sizes.lockedRunsInFlight),
    );
    const sequentialRatio = median(ratios(sequential.ours, sequential.redlock));
    const parallelRatio = median(ratios(parallel.ours, parallel.redlock));

    return {
      figures: {
        runCpuMicros: median(cpu.ours),
        bareCallCpuMicros: median(cpu.bare),
        lockedSequentialPerSecond: median(sequential.ours),
        redlockSequentialPerSecond: median(sequential.redlock),
        lockedSequentialRatio: sequentialRatio,
        lockedInFlightPerSecond: median(parallel.ours),
        redlockInFlightPerSecond: median(parallel.redlock),
        lockedInFlightRatio: parallelRatio,
      },
      details: {
        overheadMicros: overhead,
        breakdownMicros: {
          context: contextPart,
          metrics: metricsPart,
          enhancers: enhancersPart,
          rest,
        },
        samples: { cpuMicrosPerRun: cpu, sequential, parallel },
        runsPerRound: count,
      },
      rows: [
        {
          figure: 'Library CPU per unlocked run (minus a bare call)',
          ours: num(overhead, 'µs'),
          baseline: `bare call ${num(median(cpu.bare), 'µs')}`,
          ratio: '',
          target: `≤ ${TARGET_US} µs`,
          status: status(overhead <= TARGET_US),
        },
        ...(
          [
            ['run context (AsyncLocalStorage, run id)', contextPart],
            ['metrics (prom-client; module with metrics off)', metricsPart],
            ['Nest enhancers (ExternalContextCreator)', enhancersPart],
            ['rest: chain, result, run history record + write', rest],
          ] as const
        ).map(([what, micros]) => ({
          figure: `  of which ${what}`,
          ours: num(micros, 'µs'),
          baseline: '',
          ratio: '',
          target: '',
          status: '',
        })),
        ...(
          [
            ['sequential', sequential, sequentialRatio],
            [`${IN_FLIGHT} in flight`, parallel, parallelRatio],
          ] as const
        ).map(([how, samples, ratio]) => ({
          figure: `Locked runs, ${how}`,
          ours: num(median(samples.ours), '/s'),
          baseline: `redlock + INCR ${num(median(samples.redlock), '/s')}`,
          ratio: ratioText(ratio),
          target: `≥ ${TARGET_LOCK_RATIO}×`,
          status: status(ratio >= TARGET_LOCK_RATIO),
        })),
      ],
    };
  } finally {
    for (const each of apps) await each.close();
    redis.disconnect();
  }
}
