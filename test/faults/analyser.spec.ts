/**
 * The analyser the fault scenarios' figures rest on: what it counts as a duplicate, a
 * re-delivery, a miss and a concurrent holder.
 */
import { describe, expect, it } from 'vitest';
import { analyseJobs, analyseTicks, type Run } from './harness/index.js';

const run = (fields: Partial<Run> & Pick<Run, 'runId' | 'pid' | 'start'>): Run => ({
  n: 1,
  dueAt: undefined,
  attempt: 1,
  trigger: 'queue',
  end: undefined,
  ...fields,
});

describe('fault analyser', () => {
  const window = { from: 1_000, to: 3_000, every: 1_000 };

  it('counts every tick once run as clean, and a tick never started as missed', () => {
    const runs = [
      run({ runId: 'a', pid: 1, dueAt: 1_000, start: 1_001, end: 1_010, trigger: 'cron' }),
      run({ runId: 'b', pid: 2, dueAt: 3_000, start: 3_002, end: 3_020, trigger: 'cron' }),
    ];
    expect(analyseTicks(runs, window)).toMatchObject({
      ticks: 3,
      duplicates: 0,
      missed: 1,
      maxConcurrent: 1,
    });
  });

  it('counts a tick run again under a new run id as a duplicate, even when the first never ended', () => {
    // An inline tick has no re-delivery: a second run of it is a second claim.
    const runs = [
      run({ runId: 'a', pid: 1, dueAt: 1_000, start: 1_001, trigger: 'cron' }),
      run({ runId: 'b', pid: 2, dueAt: 1_000, start: 1_500, end: 1_600, trigger: 'cron' }),
    ];
    const deaths = new Map([[1, 1_400]]);
    expect(analyseTicks(runs, window, deaths)).toMatchObject({ duplicates: 1, maxConcurrent: 1 });
  });

  it('excuses one re-delivery (same run id) per interrupted start, and no more', () => {
    const interrupted = run({ runId: 'j', pid: 1, start: 100 });
    const again = run({ runId: 'j', pid: 2, start: 5_000, end: 6_000 });
    expect(analyseJobs([interrupted, again], 1, new Map([[1, 200]]))).toMatchObject({
      lost: 0,
      duplicates: 0,
      reRuns: 1,
    });
    // A third start of the same job, after one finished: a second run of done work.
    const third = run({ runId: 'j', pid: 2, start: 7_000, end: 8_000 });
    expect(analyseJobs([interrupted, again, third], 1)).toMatchObject({
      duplicates: 1,
      reRuns: 1,
    });
  });

  it('counts a job that never finished as lost, and runs that overlap as concurrent', () => {
    const runs = [
      run({ runId: 'x', pid: 1, n: 1, start: 0, end: 1_000 }),
      run({ runId: 'y', pid: 2, n: 2, start: 500 }),
      run({ runId: 'z', pid: 2, n: 2, start: 600, end: 700 }),
    ];
    expect(analyseJobs(runs, 3)).toMatchObject({ lost: 1, maxConcurrent: 3 });
  });
});
