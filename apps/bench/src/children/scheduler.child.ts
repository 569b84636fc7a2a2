/**
 * One scheduler process of the scale and cluster scenarios: boots N tasks under one
 * implementation, reports its start-up, then records a window of ticks, its CPU and its
 * memory. Started by the bench with `--expose-gc`; configured through BENCH_CHILD.
 */
import 'reflect-metadata';
import { mkdir, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { Module, type INestApplicationContext, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CronJob } from 'cron';
import { Interactors, InteractorsModule, TaskRun } from 'nestjs-interactors';
import { Registry } from 'prom-client';
import { cpuMicros, heapAfterGc, now, sleep } from '../measure.js';
import { cronOf, nextDue, periodOf, taskClasses, type BenchTaskClass } from '../tasks.js';
import { parent } from './parent.js';
import type {
  ReadyMessage,
  ResultMessage,
  SchedulerChildConfig,
  WindowMessage,
} from './scheduler.protocol.js';
import { calibrate, TickRecorder, wallClock } from './tick-recorder.js';

/** After the window, wait this long for its last runs (and their history writes) to finish. */
const SETTLE_MS = 300;

const config = parent.config<SchedulerChildConfig>();
const recorder = new TickRecorder(config.tasks, config.pattern);

async function main(): Promise<void> {
  process.on('message', (message: { type?: string }) => message.type === 'stop' && process.exit(0));
  calibrate();
  const classes =
    config.impl === 'ours' || config.impl === 'plain'
      ? taskClasses(
          config.tasks,
          (index) => ({ cron: cronOf(config.pattern, index), run: 'inline' }),
          (index) => {
            const run = TaskRun.current();
            if (run?.dueAt !== undefined) recorder.record(index, run.dueAt, wallClock());
          },
        )
      : [];
  const heapBefore = heapAfterGc();

  const started = now();
  const stop = await boot(classes);
  const bootMs = now() - started;
  await parent.send({ type: 'ready', bootMs } satisfies ReadyMessage);

  if (config.impl === 'plain' || config.tasks === 0) {
    await sleep(500);
    const heapBytes = heapAfterGc() - heapBefore;
    await stop();
    await parent.send({ type: 'result', bootMs, heapBytes } satisfies ResultMessage);
    return;
  }

  const { start, end } = await parent.receive<WindowMessage>('window');
  recorder.window(start, end);
  await sleep(start - Date.now());
  const profile = await startProfile();
  calibrate();
  const cpuStart = cpuMicros();
  const wallStart = now();
  await sleep(end - Date.now());
  const cpu = cpuMicros() - cpuStart;
  const wallMs = now() - wallStart;
  await profile?.();
  await sleep(SETTLE_MS);
  const ticks = recorder.report();
  const heapBytes = heapAfterGc() - heapBefore;
  await stop();

  let runs: ResultMessage['runs'];
  if (config.impl === 'ours' && config.measureRuns) runs = await runCost(classes, ticks.instants);
  await parent.send({
    type: 'result',
    bootMs,
    heapBytes,
    ticks,
    cpuMicros: cpu,
    wallMs,
    runs,
  } satisfies ResultMessage);
}

/**
 * With BENCH_CPU_PROFILE=<dir>: a CPU profile of the window alone (boot and teardown left
 * out), written as `<dir>/<impl>-<tasks>-<pattern>-<pid>.cpuprofile` for DevTools.
 */
async function startProfile(): Promise<(() => Promise<void>) | undefined> {
  const dir = process.env.BENCH_CPU_PROFILE;
  if (!dir) return undefined;
  const session = new Session();
  session.connect();
  const post = (method: string) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, (error, result) => (error ? reject(error) : resolve(result))),
    );
  await post('Profiler.enable');
  await post('Profiler.start');
  return async () => {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    await mkdir(dir, { recursive: true });
    const name = `${config.impl}-${config.tasks}-${config.pattern}-${process.pid}.cpuprofile`;
    await writeFile(join(dir, name), JSON.stringify(profile));
    session.disconnect();
  };
}

/** Boots the implementation; resolves to its stop function once its ticks are armed. */
async function boot(classes: BenchTaskClass[]): Promise<() => Promise<void>> {
  switch (config.impl) {
    case 'ours':
      return closer(await schedulerApp(classes, ['scheduler']));
    case 'plain': {
      @Module({ providers: classes })
      class PlainModule {}
      return closer(await createApp(PlainModule));
    }
    case 'cron':
      return cronJobs();
    case 'floor':
      return sharedTimeout();
  }
}

function createApp(module: Type): Promise<INestApplicationContext> {
  return NestFactory.createApplicationContext(module, { logger: false, abortOnError: false });
}

function closer(app: INestApplicationContext): () => Promise<void> {
  return () => app.close();
}

/** The tasks in a Nest app with the module, as a user would set it up (metrics and history on). */
function schedulerApp(
  classes: BenchTaskClass[],
  roles: Array<'scheduler' | 'worker'>,
): Promise<INestApplicationContext> {
  @Module({
    imports: [
      InteractorsModule.forRoot({
        redis: config.redisUrl,
        prefix: config.prefix,
        roles,
        metrics: { registry: new Registry() },
      }),
    ],
    providers: classes,
  })
  class SchedulerModule {}
  return createApp(SchedulerModule);
}

/** One `CronJob` per task, as `@nestjs/schedule` would make them. */
function cronJobs(): () => Promise<void> {
  const period = periodOf(config.pattern);
  const jobs = Array.from({ length: config.tasks }, (_, index) => {
    // cron does not say which instant a tick is for: the next one expected, unless that
    // one's successor has passed too (then the expected one was skipped).
    let due = nextDue(config.pattern, index, Date.now());
    return CronJob.from({
      cronTime: cronOf(config.pattern, index),
      timeZone: 'UTC',
      start: true,
      onTick: () => {
        const at = wallClock();
        while (due + period <= Date.now()) due += period;
        recorder.record(index, due, at);
        due += period;
      },
    });
  });
  return async () => {
    for (const job of jobs) void job.stop();
  };
}

/** The floor: one timer over every task's next instant, next instants by addition. */
function sharedTimeout(): () => Promise<void> {
  const period = periodOf(config.pattern);
  const buckets = new Map<number, number[]>();
  const add = (due: number, index: number) => {
    const bucket = buckets.get(due);
    if (bucket) bucket.push(index);
    else buckets.set(due, [index]);
  };
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    let next = Infinity;
    for (const due of buckets.keys()) next = Math.min(next, due);
    timer = setTimeout(wake, Math.max(0, next - Date.now()));
  };
  const wake = () => {
    const current = Date.now();
    // Instants added while iterating are later ones, skipped by the same test.
    for (const [due, indexes] of buckets) {
      if (due > current) continue;
      buckets.delete(due);
      for (const index of indexes) {
        recorder.record(index, due, wallClock());
        add(due + period, index);
      }
    }
    arm();
  };
  const start = Date.now();
  for (let index = 0; index < config.tasks; index++)
    add(nextDue(config.pattern, index, start), index);
  arm();
  return async () => clearTimeout(timer);
}

/**
 * CPU of the window's runs without the scheduler: the same number of runs of the same
 * tasks, in the same bursts (all the runs of one instant started together), through
 * `Interactors.run` in an app with neither role. It is what the dispatcher's CPU is
 * measured net of. The JIT is warm by now, so this errs on the side of a higher
 * dispatcher share.
 */
async function runCost(
  classes: BenchTaskClass[],
  instants: ReadonlyArray<[number, number, number]>,
): Promise<{ count: number; cpuMicros: number }> {
  const app = await schedulerApp(classes, []);
  const interactors = app.get(Interactors);
  let next = 0;
  const bursts = instants.map(([, count]) =>
    Array.from({ length: count }, () => classes[next++ % classes.length]!),
  );
  await Promise.all(bursts[0]!.map((task) => interactors.run(task))); // warm-up
  await sleep(SETTLE_MS);
  const start = cpuMicros();
  for (const burst of bursts) await Promise.all(burst.map((task) => interactors.run(task)));
  await sleep(SETTLE_MS);
  const cpu = cpuMicros() - start;
  await app.close();
  return { count: next, cpuMicros: cpu };
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
