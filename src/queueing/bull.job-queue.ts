import { TaskLogger } from '../execution/task-logger.js';
import { DelayedError, UnrecoverableError, Worker, type JobType, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { InteractorsConfig } from '../interactors.config.js';
import { LOGGER_CONTEXT } from '../interactors.constants.js';
import type { JobEnvelope } from './job-envelope.js';
import type { JobAddOptions, JobHandler, JobQueue } from './job-queue.interface.js';

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
  private readonly workers: Worker[] = [];
  private stopping: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly queues: ReadonlyMap<string, Queue>,
    private readonly connection: BullConnection,
    private readonly config: InteractorsConfig,
    private readonly onStalled: (queue: string) => void,
  ) {}

  async depths(): Promise<Array<{ queue: string; state: string; count: number }>> {
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
    });
    return job.id!;
  }

  start(queues: ReadonlyMap<string, { concurrency: number }>, handler: JobHandler): void {
    for (const [name, { concurrency }] of queues) {
      const worker = new Worker(
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
              throw new UnrecoverableError(verdict.reason);
            case 'later':
              await job.moveToDelayed(Date.now() + verdict.delay, token);
              throw new DelayedError();
          }
        },
        { connection: this.connection.client, prefix: this.config.prefix, concurrency },
      );
      let down = false;
      worker.on('error', (error) => {
        if (down) return;
        down = true;
        this.logger.warn(`Worker of queue "${name}": ${error.message}`);
      });
      worker.on('ready', () => (down = false));
      worker.on('stalled', (jobId) => {
        this.onStalled(name);
        this.logger.warn(
          `Job ${jobId} of queue "${name}" stalled (its worker died or hung); it is re-delivered`,
        );
      });
      this.workers.push(worker);
    }
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
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>(
          (resolve) => (timer = setTimeout(resolve, graceMs, 'late')),
        );
        // close() waits for active jobs; past the grace, force it: the jobs go back as stalled.
        const outcome = await Promise.race([worker.close(), late]);
        clearTimeout(timer);
        if (outcome === 'late') {
          this.logger.warn(
            `Worker of queue "${worker.name}" still busy after ${graceMs} ms; closing it anyway`,
          );
          await worker.close(true);
        }
      }),
    );
  }

  private async closeQueues(): Promise<void> {
    await this.stopWorkers(0);
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
    if (this.connection.owned)
      await this.connection.client.quit().catch(() => this.connection.client.disconnect());
  }
}
