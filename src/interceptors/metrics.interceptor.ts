import { Injectable } from '@nestjs/common';
import type { TaskDefinition } from '../discovery/task-definition.js';
import type { RunResult } from '../execution/run-result.js';
import { InteractorsMetrics } from '../metrics/interactors.metrics.js';
import type { RunStep, TaskInterceptor } from './task-interceptor.interface.js';

/** Outermost step: counts and times every run of a task, whatever its outcome. @internal */
@Injectable()
export class MetricsInterceptor implements TaskInterceptor {
  constructor(private readonly metrics: InteractorsMetrics) {}

  bind(task: TaskDefinition): RunStep | undefined {
    if (!this.metrics.covers(task)) return undefined;
    const { runs, duration } = this.metrics;
    const inProgress = this.metrics.inProgress.labels(task.name);
    const lastSuccess = this.metrics.lastSuccess.labels(task.name);
    // Label children resolved once per (outcome, reason), not per run.
    const counters = new Map<string, { inc(): void }>();
    const histograms = new Map<string, { observe(value: number): void }>();
    const record = (result: RunResult) => {
      const key = `${result.outcome}/${result.reason ?? ''}`;
      let counter = counters.get(key);
      if (!counter)
        counters.set(key, (counter = runs.labels(task.name, result.outcome, result.reason ?? '')));
      counter.inc();
      let histogram = histograms.get(result.outcome);
      if (!histogram)
        histograms.set(result.outcome, (histogram = duration.labels(task.name, result.outcome)));
      histogram.observe(result.durationMs / 1000);
      if (result.outcome === 'success') lastSuccess.set(Date.now() / 1000);
    };
    return async (run, next) => {
      inProgress.inc();
      try {
        const result = await next(run);
        record(result);
        return result;
      } finally {
        inProgress.dec();
      }
    };
  }
}
