import { TaskLogger } from '../execution/task-logger.js';
import { DelayedError, UnrecoverableError, type JobType, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { InteractorsConfig, WorkerSettings } from '../interactors.config.js';
import { OutageLog } from '../utils/outage-log.js';
import { QUIT_WAIT_MS, redisSecrets, scrub } from '../transport/redis-connection.js';
import { within } from '../utils/within.js';
import { LOGGER_CONTEXT } from '../interactors.constants.js';
import { UnreadableData, type JobEnvelope } from './job-envelope.js';
import type {
  FailedJob,
  JobAddOptions,
  JobHandler,
  JobQueue,
  WorkerLoop,
} from './job-queue.interface.js';
import { WatchedWorker } from './watched-worker.js';

/** How long a scrape waits for queue depths. */
const DEPTH_TIMEOUT_MS = 1_000;

const JOB_STATES: JobType[] = [
  'waiting',
  'prioritized',
  'delayed',
  'active',
  'completed',
  'failed',
  'waiting-children',
];

/** The BullMQ connection of the module, and whether the module owns (and closes) it. @internal */
export interface BullConnection {
  readonly client: Redis;
  readonly owned: boolean;
}

/** Queues and workers on BullMQ. @internal */
export class BullJobQueue implements JobQueue {
  private readonly logger = new TaskLogger(LOGGER_CONTEXT);
  private readonly workers: WatchedWorker[] = [];
  private stopping: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  /** One report per outage for every queue and worker on this connection. */
  private readonly outage = new OutageLog(this.logger, 'Redis (queues)');
  /** Passwords of the queues' connection, never printed even if an error carried one. */
  private readonly secrets: string[];

  constructor(
    private readonly queues: ReadonlyMap<string, Queue>,
    private readonly connection: BullConnection,
    private readonly config: InteractorsConfig,
    private readonly onStalled: (queue: string) => void,
  ) {
    this.secrets = config.queueConnection ? redisSecrets(config.queueConnection.input) : [];
    // Without a listener BullMQ prints every reconnect error with its stack.
    for (const queue of queues.values())
      queue.on('error', (error) => this.outage.failed(scrub(error.message, this.secrets)));
    connection.client.on('ready', () => this.outage.recovered());
  }

  async failed(task: string | undefined, limit: number): Promise<FailedJob[]> {
    const perQueue = await Promise.all(
      [...this.queues].map(async ([queue, instance]) =>
        (await instance.getFailed(0, limit - 1))
          .filter((job) => job && (task === undefined || job.name === task))
          .map((job) => ({
            queue,
            id: job.id!,
            task: job.name,
            reason: job.failedReason,
            attempts: job.attemptsMade,
            failedAt: job.finishedOn,
          })),
      ),
    );
    return perQueue.flat().toSorted((a, b) => (b.failedAt ?? 0) - (a.failedAt ?? 0));
  }

  async retry(queue: string, id: string): Promise<boolean> {
    const job = await this.queues.get(queue)?.getJob(id);
    if (!job || !(await job.isFailed())) return false;
    await job.retry('failed', { resetAttemptsMade: true });
    return true;
  }

  private async readDepths(): Promise<Array<{ queue: string; state: string; count: number }>> {
    const perQueue = await Promise.all(
      [...this.queues].map(async ([queue, instance]) =>
        Object.entries(await instance.getJobCounts(...JOB_STATES)).map(([state, count]) => ({
          queue,
          state,
          count,
        })),
      ),
    );
    return perQueue.flat();
  }

  async add(queue: string, envelope: JobEnvelope, options: JobAddOptions): Promise<string> {
    const { completed, failed } = this.config.retention;
    const job = await this.queues.get(queue)!.add(envelope.task, envelope, {
      jobId: options.jobId,
      delay: options.delay,
      priority: options.priority,
      attempts: options.attempts,
      backoff:
        typeof options.backoff === 'number'
          ? { type: 'fixed', delay: options.backoff }
          : options.backoff,
      removeOnComplete: completed,
      removeOnFail: failed,
      ...(options.deduplicationId !== undefined && {
        deduplication: { id: options.deduplicationId },
      }),
    });
    return job.id!;
  }

  start(queues: ReadonlyMap<string, WorkerSettings>, handler: JobHandler): void {
    for (const [name, { concurrency, lockDuration, stalledInterval, maxStalledCount }] of queues) {
      const worker = new WatchedWorker(
        name,
        async (job, token) => {
          const verdict = await handler(name, {
            id: job.id!,
            name: job.name,
            data: job.data,
            attempt: job.attemptsMade + 1,
            readyAt: job.timestamp + (job.opts.delay ?? 0),
          });
          switch (verdict.kind) {
            case 'done':
              return;
            case 'failed':
              throw verdict.error instanceof Error
                ? verdict.error
                : new Error(String(verdict.error));
            case 'reject':
              // Data that is not JSON breaks every reader of the failed job (getJobs,
              // dashboards, `failed()`): store it as a JSON string, the text kept.
              if (job.data instanceof UnreadableData) {
                await job.updateData({ unreadableData: job.data.raw }).catch(() => undefined);
              }
              throw new UnrecoverableError(verdict.reason);
            case 'later':
              await job.moveToDelayed(Date.now() + verdict.delay, token);
              throw new DelayedError();
          }
        },
        {
          connection: this.connection.client,
          prefix: this.config.prefix,
          concurrency,
          // BullMQ spreads these over its defaults: an undefined key would erase one.
          ...(lockDuration !== undefined && { lockDuration }),
          ...(stalledInterval !== undefined && { stalledInterval }),
          ...(maxStalledCount !== undefined && { maxStalledCount }),
        },
      );
      worker.on('error', (error) => this.workerError(name, error));
      worker.on('stalled', (jobId) => {
        this.onStalled(name);
        this.logger.warn(
          `Job ${jobId} of queue "${name}" stalled (its worker died or hung); it is re-delivered`,
        );
      });
      this.workers.push(worker);
    }
  }

  /**
   * A job whose stored options are not JSON (a raw producer) makes BullMQ throw a
   * SyntaxError as it fetches the job, before any code of ours runs, and the job comes back
   * after each stall. Said as the job's fault each time, so it never passes for an outage
   * (said once per outage) and hides the next real one.
   */
  private workerError(queue: string, error: Error): void {
    const message = scrub(error.message, this.secrets);
    if (!(error instanceof SyntaxError)) return this.outage.failed(message);
    this.logger.error(
      `Worker of queue "${queue}" could not read a job (its stored options are not JSON; remove it): ${message}`,
    );
  }

  loops(): WorkerLoop[] {
    return this.workers.map((worker) => worker.loop(this.stopping !== undefined));
  }

  async answers(timeoutMs: number): Promise<boolean> {
    // BullMQ's connection queues commands through an outage: bound the wait here.
    let pong = false;
    const ping = this.connection.client.ping().then((reply) => (pong = reply === 'PONG'));
    return (await within(ping, timeoutMs)) && pong;
  }

  stopWorkers(graceMs: number): Promise<void> {
    this.stopping ??= this.closeWorkers(graceMs);
    return this.stopping;
  }

  close(): Promise<void> {
    this.closing ??= this.closeQueues();
    return this.closing;
  }

  private async closeWorkers(graceMs: number): Promise<void> {
    await Promise.all(
      this.workers.map(async (worker) => {
        // close() waits for active jobs; past the grace, force it: the jobs go back as stalled.
        if (await within(worker.close(), graceMs)) return;
        this.logger.warn(
          `Worker of queue "${worker.name}" did not close within ${graceMs} ms (jobs still running, or Redis unreachable); forcing it`,
        );
        // BullMQ's close(true) after a close() in progress only returns that close, which
        // still waits for the jobs: it would force nothing and cost QUIT_WAIT_MS. Drop
        // the worker's connections instead (bounded: Redis may be away) — but only when
        // they are ours: the worker's main connection is the shared client itself, and an
        // app's own client (reused from @nestjs/bullmq) is the app's to close. Then the
        // abandoned jobs go back when the process exits.
        if (this.connection.owned) await within(worker.disconnect(), QUIT_WAIT_MS);
      }),
    );
  }

  private async closeQueues(): Promise<void> {
    await this.stopWorkers(0);
    // One bound for the queues and the connection: a frozen Redis answers neither.
    const queues = Promise.all([...this.queues.values()].map((queue) => queue.close()));
    const quit = this.connection.owned ? queues.then(() => this.connection.client.quit()) : queues;
    if (!(await within(quit, QUIT_WAIT_MS)) && this.connection.owned) {
      this.connection.client.disconnect();
    }
  }

  async depths(): Promise<Array<{ queue: string; state: string; count: number }>> {
    // BullMQ's connection waits out outages; a scrape must not.
    let counts: Array<{ queue: string; state: string; count: number }> = [];
    const reading = this.readDepths().then((result) => (counts = result));
    return (await within(reading, DEPTH_TIMEOUT_MS)) ? counts : [];
  }
}
