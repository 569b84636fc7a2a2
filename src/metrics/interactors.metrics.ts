import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Counter, Gauge, Histogram, register, type Metric, type Registry } from 'prom-client';
import type { InteractorsConfig } from '../interactors.config.js';
import { INTERACTORS_CONFIG } from '../interactors.constants.js';

/** Something that can count its queues' jobs by state, at scrape time. @internal */
export interface QueueDepthSource {
  depths(): Promise<Array<{ queue: string; state: string; count: number }>>;
}

const DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600,
];
const LAG_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600];

// Sources of the queue-depth gauge per gauge object: apps that share a registry share it.
const depthSources = new WeakMap<object, Set<QueueDepthSource>>();

/**
 * The module's Prometheus metrics, on an injectable registry (prom-client's global one by
 * default, which `@willsoto/nestjs-prometheus` serves at `/metrics`). A metric that already
 * exists with the same name, type and labels is reused, so apps sharing a registry share series.
 * @publicApi
 */
@Injectable()
export class InteractorsMetrics implements OnApplicationShutdown {
  readonly enabled: boolean;
  readonly registry: Registry;
  readonly runs: Counter<'task' | 'outcome' | 'reason'>;
  readonly duration: Histogram<'task' | 'outcome'>;
  readonly inProgress: Gauge<'task'>;
  readonly lastSuccess: Gauge<'task'>;
  readonly tickLag: Histogram<'task'>;
  readonly queueWait: Histogram<'queue'>;
  readonly lockErrors: Counter<'task' | 'kind'>;
  readonly stalled: Counter<'queue'>;
  private readonly depth: Gauge<'queue' | 'state'>;
  private readonly sources = new Set<QueueDepthSource>();

  constructor(@Inject(INTERACTORS_CONFIG) config: InteractorsConfig) {
    this.enabled = config.metrics !== false;
    this.registry = (config.metrics !== false && config.metrics.registry) || register;
    const reg = this.enabled ? [this.registry] : [];
    const metric = <T extends Metric>(
      name: string,
      make: (registers: Registry[]) => T,
      labels: string[],
    ): T => reuse(this.enabled ? this.registry : undefined, name, labels, make, reg);

    this.runs = metric(
      'interactor_runs_total',
      (registers) =>
        new Counter({
          name: 'interactor_runs_total',
          help: 'Task runs by outcome (success, failure, locked, skipped, timeout) and skip reason.',
          labelNames: ['task', 'outcome', 'reason'],
          registers,
        }),
      ['task', 'outcome', 'reason'],
    );
    this.duration = metric(
      'interactor_run_duration_seconds',
      (registers) =>
        new Histogram({
          name: 'interactor_run_duration_seconds',
          help: 'Duration of task runs, by outcome.',
          labelNames: ['task', 'outcome'],
          buckets: DURATION_BUCKETS,
          registers,
        }),
      ['task', 'outcome'],
    );
    this.inProgress = metric(
      'interactor_runs_in_progress',
      (registers) =>
        new Gauge({
          name: 'interactor_runs_in_progress',
          help: 'Runs in progress in this process.',
          labelNames: ['task'],
          registers,
        }),
      ['task'],
    );
    this.lastSuccess = metric(
      'interactor_last_success_timestamp_seconds',
      (registers) =>
        new Gauge({
          name: 'interactor_last_success_timestamp_seconds',
          help: 'When a run of the task last succeeded in this process (max by task across instances for the cluster).',
          labelNames: ['task'],
          registers,
        }),
      ['task'],
    );
    this.tickLag = metric(
      'interactor_tick_lag_seconds',
      (registers) =>
        new Histogram({
          name: 'interactor_tick_lag_seconds',
          help: "Dispatcher fire time minus the tick's due instant.",
          labelNames: ['task'],
          buckets: LAG_BUCKETS,
          registers,
        }),
      ['task'],
    );
    this.queueWait = metric(
      'interactor_queue_wait_seconds',
      (registers) =>
        new Histogram({
          name: 'interactor_queue_wait_seconds',
          help: 'Time from when a job became due to when its run started.',
          labelNames: ['queue'],
          buckets: WAIT_BUCKETS,
          registers,
        }),
      ['queue'],
    );
    this.lockErrors = metric(
      'interactor_lock_errors_total',
      (registers) =>
        new Counter({
          name: 'interactor_lock_errors_total',
          help: 'Lock extensions and releases that failed.',
          labelNames: ['task', 'kind'],
          registers,
        }),
      ['task', 'kind'],
    );
    this.stalled = metric(
      'interactor_stalled_jobs_total',
      (registers) =>
        new Counter({
          name: 'interactor_stalled_jobs_total',
          help: 'Jobs found stalled (worker died or hung) and re-delivered.',
          labelNames: ['queue'],
          registers,
        }),
      ['queue'],
    );
    this.depth = metric(
      'interactor_queue_jobs',
      (registers) => {
        const gauge: Gauge<'queue' | 'state'> = new Gauge({
          name: 'interactor_queue_jobs',
          help: 'Jobs in each queue by state, counted at scrape time.',
          labelNames: ['queue', 'state'],
          registers,
          async collect() {
            gauge.reset();
            for (const source of depthSources.get(gauge) ?? []) {
              for (const { queue, state, count } of await source.depths().catch(() => [])) {
                gauge.labels(queue, state).set(count);
              }
            }
          },
        });
        return gauge;
      },
      ['queue', 'state'],
    );
  }

  /** Whether a task's runs are measured: metrics on, and the task did not opt out. */
  covers(task: { readonly options: { readonly metrics?: boolean } }): boolean {
    return this.enabled && task.options.metrics !== false;
  }

  /** Adds queues to the scrape-time depth gauge. */
  addDepthSource(source: QueueDepthSource): void {
    if (!this.enabled) return;
    const set = depthSources.get(this.depth) ?? new Set();
    depthSources.set(this.depth, set);
    set.add(source);
    this.sources.add(source);
  }

  onApplicationShutdown(): void {
    const set = depthSources.get(this.depth);
    for (const source of this.sources) set?.delete(source);
  }
}

/** The registered metric of that name when it matches, a new one otherwise; never a duplicate error. */
function reuse<T extends Metric>(
  registry: Registry | undefined,
  name: string,
  labels: string[],
  make: (registers: Registry[]) => T,
  registers: Registry[],
): T {
  const existing = registry?.getSingleMetric(name) as (T & { labelNames?: string[] }) | undefined;
  if (!existing) return make(registers);
  const probe = make([]);
  const sameLabels = (existing.labelNames ?? []).join() === labels.join();
  if (existing.constructor !== probe.constructor || !sameLabels) {
    throw new Error(
      `Metric "${name}" is already registered with another type or labels; ` +
        'give InteractorsModule a registry of its own (option "metrics.registry")',
    );
  }
  return existing;
}
