/**
 * 2. Queue throughput: no-op jobs enqueued with `enqueue` and drained by the module's
 * workers, against the same through a hand-written BullMQ `Queue.add` + `Worker`, at
 * concurrency 1 and 50; then add → start latency of jobs sent 5 ms apart, both sides
 * live at once. Each side pauses its queue while enqueueing, so that enqueue and drain
 * are measured apart.
 */
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { getQueueToken } from '@nestjs/bullmq';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Interactor, Interactors, InteractorsModule, RunHooks, Task } from 'nestjs-interactors';
import { Registry } from 'prom-client';
import type { BenchOptions } from '../bench-options.js';
import { interleaved, now, pool, ratios, sleep, until } from '../measure.js';
import { num, ratioText, status, type Row, type ScenarioResult } from '../report.js';
import { median, percentile } from '../stats.js';

const LEVELS = [1, 50] as const;
const TARGET_RATIO = 0.9;
const TARGET_LATENCY_RATIO = 1.2;
const LATENCY_SPACING_MS = 5;
/** The module's default retention, given to the hand-written side too. */
const RETENTION = {
  removeOnComplete: { count: 1_000, age: 86_400 },
  removeOnFail: { count: 5_000, age: 604_800 },
};

/** Latency samples: when job `seq` was sent, and when its processor started. */
const sent = { ours: new Map<number, number>(), raw: new Map<number, number>() };
const started = { ours: new Map<number, number>(), raw: new Map<number, number>() };

@Task({ name: 'BenchJob' })
class BenchJob extends Interactor {
  call(): void {}
}

@Task({ name: 'BenchLatency', queue: 'bench-latency' })
class BenchLatency extends Interactor {
  call(seq: number): void {
    started.ours.set(seq, now());
  }
}

/** One side of the comparison: pause, enqueue, resume and count the drained jobs. */
interface Side {
  pause(): Promise<void>;
  resume(): Promise<void>;
  enqueue(): Promise<unknown>;
  /** Jobs drained since the last reset. */
  drained(): number;
  reset(): void;
}

export async function queueScenario(
  options: BenchOptions,
  prefix: string,
): Promise<ScenarioResult> {
  const { sizes } = options;
  const jobs = sizes.queueJobs;
  let app: INestApplicationContext | undefined;
  const connection = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const rawQueues: Queue[] = [];
  const rawWorkers: Worker[] = [];
  try {
    @Module({
      imports: [
        InteractorsModule.forRoot({
          redis: options.redisUrl,
          prefix: `${prefix}:ours`,
          roles: ['worker'],
          metrics: { registry: new Registry() },
          queues: {
            'bench-c1': { concurrency: 1 },
            'bench-c50': { concurrency: 50 },
            'bench-latency': { concurrency: 1 },
          },
        }),
      ],
      providers: [BenchJob, BenchLatency],
    })
    class QueueModule {}
    app = await NestFactory.createApplicationContext(QueueModule, {
      logger: false,
      abortOnError: false,
    });
    const interactors = app.get(Interactors);
    let oursDrained = 0;
    app.get(RunHooks).onFinished((run) => {
      if (run.task === 'BenchJob') oursDrained++;
    });

    const rawQueue = (name: string) => {
      const queue = new Queue(name, { connection, prefix: `${prefix}:raw` });
      rawQueues.push(queue);
      return queue;
    };
    const rawWorker = (name: string, concurrency: number, processor: (seq: number) => void) => {
      const worker = new Worker(name, async (job) => processor(job.data.seq as number), {
        connection,
        prefix: `${prefix}:raw`,
        concurrency,
      });
      rawWorkers.push(worker);
      return worker;
    };

    const sides = (concurrency: number): Record<'ours' | 'raw', Side> => {
      const ourQueue = app!.get<Queue>(getQueueToken(`bench-c${concurrency}`));
      const raw = rawQueue(`raw-c${concurrency}`);
      let rawDrained = 0;
      const rawSide: Side = {
        drained: () => rawDrained,
        reset: () => (rawDrained = 0),
        pause: () => raw.pause(),
        resume: () => raw.resume(),
        enqueue: () => pool(jobs, concurrency, (seq) => raw.add('noop', { seq }, RETENTION)),
      };
      rawWorker(`raw-c${concurrency}`, concurrency, () => rawDrained++);
      const oursSide: Side = {
        drained: () => oursDrained,
        reset: () => (oursDrained = 0),
        pause: () => ourQueue.pause(),
        resume: () => ourQueue.resume(),
        enqueue: () =>
          pool(jobs, concurrency, () => interactors.enqueueTo(`bench-c${concurrency}`, BenchJob)),
      };
      return { ours: oursSide, raw: rawSide };
    };

    const rows: Row[] = [];
    const figures: Record<string, number> = {};
    const details: Record<string, unknown> = { jobsPerRound: jobs };
    for (const concurrency of LEVELS) {
      const { ours, raw } = sides(concurrency);
      const enqueueRates = { ours: [] as number[], raw: [] as number[] };
      const drainRates = { ours: [] as number[], raw: [] as number[] };
      const round = async (name: 'ours' | 'raw', side: Side) => {
        await side.pause();
        side.reset();
        let start = now();
        await side.enqueue();
        enqueueRates[name].push(jobs / ((now() - start) / 1000));
        start = now();
        await side.resume();
        await until(() => side.drained() >= jobs, 600_000, `${name} to drain ${jobs} jobs`, 1);
        drainRates[name].push(jobs / ((now() - start) / 1000));
        return 0;
      };
      await interleaved(sizes.queueRounds, {
        ours: () => round('ours', ours),
        raw: () => round('raw', raw),
      });
      const enqueueRatio = median(ratios(enqueueRates.ours, enqueueRates.raw));
      const drainRatio = median(ratios(drainRates.ours, drainRates.raw));
      figures[`enqueueC${concurrency}PerSecond`] = median(enqueueRates.ours);
      figures[`rawEnqueueC${concurrency}PerSecond`] = median(enqueueRates.raw);
      figures[`enqueueC${concurrency}Ratio`] = enqueueRatio;
      figures[`drainC${concurrency}PerSecond`] = median(drainRates.ours);
      figures[`rawDrainC${concurrency}PerSecond`] = median(drainRates.raw);
      figures[`drainC${concurrency}Ratio`] = drainRatio;
      details[`c${concurrency}`] = { enqueueRates, drainRates };
      const inFlight = concurrency === 1 ? 'one at a time' : `${concurrency} in flight`;
      rows.push(
        {
          figure: `Enqueue ${num(jobs)} jobs, ${inFlight}`,
          ours: num(median(enqueueRates.ours), 'jobs/s'),
          baseline: `BullMQ Queue.add ${num(median(enqueueRates.raw), 'jobs/s')}`,
          ratio: ratioText(enqueueRatio),
          target: `≥ ${TARGET_RATIO}×`,
          status: status(enqueueRatio >= TARGET_RATIO),
        },
        {
          figure: `Drain ${num(jobs)} jobs, concurrency ${concurrency}`,
          ours: num(median(drainRates.ours), 'jobs/s'),
          baseline: `BullMQ Worker ${num(median(drainRates.raw), 'jobs/s')}`,
          ratio: ratioText(drainRatio),
          target: `≥ ${TARGET_RATIO}×`,
          status: status(drainRatio >= TARGET_RATIO),
        },
      );
    }

    // Add → start latency: both sides live at once, a job to each every 5 ms, alternating
    // which goes first.
    const latencyQueue = rawQueue('raw-latency');
    rawWorker('raw-latency', 1, (seq) => started.raw.set(seq, now()));
    await sleep(200); // workers blocked on their queues
    const total = sizes.latencyJobs;
    const sends: Promise<unknown>[] = [];
    for (let seq = 0; seq < total; seq++) {
      const sendOurs = () => {
        sent.ours.set(seq, now());
        sends.push(interactors.enqueueTo('bench-latency', BenchLatency, seq));
      };
      const sendRaw = () => {
        sent.raw.set(seq, now());
        sends.push(latencyQueue.add('noop', { seq }, RETENTION));
      };
      if (seq % 2) {
        sendOurs();
        sendRaw();
      } else {
        sendRaw();
        sendOurs();
      }
      await sleep(LATENCY_SPACING_MS);
    }
    await Promise.all(sends);
    await until(
      () => started.ours.size >= total && started.raw.size >= total,
      60_000,
      'the latency jobs',
    );
    const latencies = (side: 'ours' | 'raw') =>
      [...sent[side]].map(([seq, at]) => started[side].get(seq)! - at);
    const latency = { ours: latencies('ours'), raw: latencies('raw') };
    for (const p of [50, 99] as const) {
      const ours = percentile(latency.ours, p);
      const raw = percentile(latency.raw, p);
      figures[`latencyP${p}Ms`] = ours;
      figures[`rawLatencyP${p}Ms`] = raw;
      figures[`latencyP${p}Ratio`] = ours / raw;
      rows.push({
        figure: `Add → start latency p${p}, ${num(total)} jobs ${LATENCY_SPACING_MS} ms apart`,
        ours: num(ours, 'ms'),
        baseline: `BullMQ ${num(raw, 'ms')}`,
        ratio: ratioText(ours / raw),
        target: `≤ ${TARGET_LATENCY_RATIO}×`,
        status: status(ours / raw <= TARGET_LATENCY_RATIO),
      });
    }
    details.latencyJobs = total;
    return { figures, details, rows };
  } finally {
    await Promise.all(rawWorkers.map((worker) => worker.close()));
    await Promise.all(rawQueues.map((queue) => queue.obliterate({ force: true }).catch(() => 0)));
    await Promise.all(rawQueues.map((queue) => queue.close()));
    await app?.close(); // the bench deletes the module's keys afterwards
    await connection.quit();
  }
}
