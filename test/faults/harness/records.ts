import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunLine } from './fault-app.js';

/** A directory for one scenario's run records, removed by `dispose()`. */
export class Records {
  readonly dir = mkdtempSync(join(tmpdir(), 'faults-records-'));

  /** Every line every process wrote, in write order per process. */
  lines(): RunLine[] {
    const lines: RunLine[] = [];
    for (const file of readdirSync(this.dir)) {
      for (const text of readFileSync(join(this.dir, file), 'utf8').split('\n')) {
        // A process killed mid-write leaves at most one torn last line.
        if (text.trim()) {
          try {
            lines.push(JSON.parse(text) as RunLine);
          } catch {
            // torn line: the run it began is counted from its other line, if any
          }
        }
      }
    }
    return lines;
  }

  /**
   * Runs (start lines joined with their end lines by runId) of one task. A queued job's
   * run id travels in its envelope, so a re-delivered job (a stall) starts again under the
   * same id: each start is a run of its own, and an end closes the latest open start of
   * its id in the same process (a process writes its lines in order).
   */
  runs(task: string): Run[] {
    const byId = new Map<string, Run[]>();
    for (const line of this.lines()) {
      if (line.task !== task) continue;
      if (line.ev === 'start') {
        const starts = byId.get(line.runId) ?? [];
        byId.set(line.runId, starts);
        starts.push({
          runId: line.runId,
          pid: line.pid,
          n: line.n,
          dueAt: line.dueAt,
          attempt: line.attempt,
          trigger: line.trigger,
          start: line.t,
          end: undefined,
        });
      } else if (line.ev === 'end') {
        const run = byId
          .get(line.runId)
          ?.findLast((each) => each.pid === line.pid && each.end === undefined);
        if (run) run.end = line.t;
      }
    }
    return [...byId.values()].flat().toSorted((a, b) => a.start - b.start);
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One run of a fault task; `end` is undefined when its process died (or froze) first. */
export interface Run {
  runId: string;
  pid: number;
  n: number;
  dueAt: number | undefined;
  attempt: number;
  trigger: string;
  start: number;
  end: number | undefined;
}

/** What the analyser counts of one scenario's ticks. */
export interface TickFigures {
  /** Ticks due in the window. */
  ticks: number;
  /** Extra starts of a tick, beyond the first, not explained as a re-delivery (see extraStarts). */
  duplicates: number;
  /** Ticks due in the window that never started. */
  missed: number;
  /** The most runs of the task in progress at one instant. */
  maxConcurrent: number;
  /** Latest start minus due instant, in ms (negative: started early). */
  maxLate: number;
  /** Earliest start minus due instant, in ms. */
  minLate: number;
}

/**
 * Counts a ticking task's runs against its due instants `from`, `from + every`, ... `to`
 * (both included). `deaths` gives, per pid, when the process died: its unfinished runs end
 * there (otherwise at the process's last written line).
 */
export function analyseTicks(
  runs: Run[],
  window: { from: number; to: number; every: number },
  deaths: ReadonlyMap<number, number> = new Map(),
): TickFigures {
  const due: number[] = [];
  for (let at = window.from; at <= window.to; at += window.every) due.push(at);
  const byDue = new Map<number, Run[]>();
  for (const run of runs) {
    if (run.dueAt === undefined) continue;
    byDue.set(run.dueAt, [...(byDue.get(run.dueAt) ?? []), run]);
  }
  let duplicates = 0;
  for (const starts of byDue.values()) duplicates += extraStarts(starts);
  const inWindow = runs.filter((run) => run.dueAt !== undefined && due.includes(run.dueAt));
  const lateness = inWindow.map((run) => run.start - run.dueAt!);
  return {
    ticks: due.length,
    duplicates,
    missed: due.filter((at) => !byDue.has(at)).length,
    maxConcurrent: maxConcurrent(runs, deaths),
    maxLate: lateness.length ? Math.max(...lateness) : 0,
    minLate: lateness.length ? Math.min(...lateness) : 0,
  };
}

/** What the analyser counts of one scenario's jobs. */
export interface JobFigures {
  jobs: number;
  /** Jobs that never finished a run. */
  lost: number;
  /** Extra starts not explained as a re-delivery (see extraStarts). */
  duplicates: number;
  /** Starts after an interrupted one (stall re-deliveries). */
  reRuns: number;
  maxConcurrent: number;
}

/** Counts jobs numbered 1..count (FaultJob's `n`). */
export function analyseJobs(
  runs: Run[],
  count: number,
  deaths: ReadonlyMap<number, number> = new Map(),
): JobFigures {
  const byN = new Map<number, Run[]>();
  for (const run of runs) byN.set(run.n, [...(byN.get(run.n) ?? []), run]);
  let lost = 0;
  let duplicates = 0;
  let reRuns = 0;
  for (let n = 1; n <= count; n++) {
    const starts = byN.get(n) ?? [];
    if (!starts.some((run) => run.end !== undefined)) lost++;
    duplicates += extraStarts(starts);
    // A job that never started is lost, not a negative re-run.
    reRuns += Math.max(0, starts.length - 1 - extraStarts(starts));
  }
  return { jobs: count, lost, duplicates, reRuns, maxConcurrent: maxConcurrent(runs, deaths) };
}

/**
 * Starts beyond the first that are not a re-delivery: a re-delivered job keeps its run id,
 * so a later start is excused only by an earlier start of the same run id that never
 * ended (its process died or froze), one re-delivery per interrupted start. Anything else
 * (a second run of done work, or a tick run again under a new id, as an inline tick would
 * be) is a duplicate.
 */
function extraStarts(starts: Run[]): number {
  const sorted = starts.toSorted((a, b) => a.start - b.start);
  const interrupted = new Map<string, number>();
  let extra = 0;
  for (const [i, run] of sorted.entries()) {
    const open = interrupted.get(run.runId) ?? 0;
    if (i > 0) {
      if (open > 0) interrupted.set(run.runId, open - 1);
      else extra++;
    }
    if (run.end === undefined) interrupted.set(run.runId, (interrupted.get(run.runId) ?? 0) + 1);
  }
  return extra;
}

function maxConcurrent(runs: Run[], deaths: ReadonlyMap<number, number>): number {
  const lastLine = new Map<number, number>();
  for (const run of runs) {
    lastLine.set(run.pid, Math.max(lastLine.get(run.pid) ?? 0, run.end ?? run.start));
  }
  const events: Array<[number, number]> = [];
  for (const run of runs) {
    const end = run.end ?? deaths.get(run.pid) ?? lastLine.get(run.pid)!;
    events.push([run.start, 1], [Math.max(end, run.start), -1]);
  }
  // Ends before starts at the same instant: back-to-back runs are not concurrent.
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 0;
  for (const [, step] of events) most = Math.max(most, (now += step));
  return most;
}
