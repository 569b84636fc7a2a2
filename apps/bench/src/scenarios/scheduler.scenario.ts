/**
 * 3. Scheduler scale: N no-op tasks with 6-field crons and `run: 'inline'` (all every
 * second, or spread over a minute) in one scheduler process, against N bare `cron`
 * `CronJob`s and one shared `setTimeout` (the floor), each in a fresh process of its own,
 * one after the other. Tick lag is measured where the tick lands (in `call()`, from
 * `TaskRun.current().dueAt`; in the CronJob's and the timer's callback). The dispatcher's
 * CPU is the process's CPU over the window minus what the same runs cost without a
 * scheduler. Bookkeeping memory per task leaves out what Nest spends per provider: the
 * same classes as plain providers are measured too.
 */
import type { BenchOptions } from '../bench-options.js';
import type { ResultMessage, SchedulerImpl } from '../children/scheduler.protocol.js';
import type { TickReport } from '../children/tick-recorder.js';
import { num, status, type Row, type ScenarioResult } from '../report.js';
import type { Pattern } from '../tasks.js';
import { runScheduler } from './scheduler-runs.js';

const TARGET = {
  tasks: 1_000,
  p50: 5,
  p99: 10,
  max: 20,
  cpuPercent: 5,
  bytesPerTask: 2_048,
  bootMs: 2_000,
};
const COMPARED: readonly SchedulerImpl[] = ['ours', 'cron', 'floor'];

/** What one implementation did with one task set. */
interface Measured {
  readonly ticks: TickReport;
  readonly bootMs: number;
  readonly cpuPercent: number;
  /** ours: the CPU share of the runs themselves (measured apart). */
  readonly runsPercent: number;
  readonly dispatcherPercent: number;
  readonly bytesPerTask: number;
}

const LABEL: Record<Pattern, string> = { second: 'every second', minute: 'spread over a minute' };

export async function schedulerScenario(
  options: BenchOptions,
  prefix: string,
  progress: (text: string) => void,
): Promise<ScenarioResult> {
  const { sizes } = options;
  const base = { redisUrl: options.redisUrl, measureRuns: false, pattern: 'second' as Pattern };
  let sequence = 0;
  const run = (impl: SchedulerImpl, tasks: number, pattern: Pattern, measureRuns = false) => {
    progress(`${impl}, ${tasks} tasks ${LABEL[pattern]}`);
    return runScheduler(
      { ...base, impl, tasks, pattern, measureRuns, prefix: `${prefix}:sched${++sequence}` },
      sizes.warmupMs,
      sizes.schedulerWindowMs,
    );
  };

  // Memory baselines: the module with no task, and Nest with no provider.
  const oursEmpty = await run('ours', 0, 'second');
  const nestEmpty = await run('plain', 0, 'second');
  const figures: Record<string, number> = {};
  const details: Record<string, unknown> = {
    windowMs: sizes.schedulerWindowMs,
    moduleFixedHeapBytes: oursEmpty.heapBytes - nestEmpty.heapBytes,
  };
  const rows: Row[] = [];

  for (const tasks of sizes.schedulerTasks) {
    const plain = await run('plain', tasks, 'second');
    const nestPerProvider = (plain.heapBytes - nestEmpty.heapBytes) / tasks;
    for (const [p, pattern] of sizes.schedulerPatterns.entries()) {
      const measured = {} as Record<SchedulerImpl, Measured>;
      // Rotate the order, so no implementation always runs first.
      for (let i = 0; i < COMPARED.length; i++) {
        const impl = COMPARED[(i + p + tasks) % COMPARED.length]!;
        const result = await run(impl, tasks, pattern, impl === 'ours');
        const own =
          impl === 'ours' ? oursEmpty.heapBytes + (plain.heapBytes - nestEmpty.heapBytes) : 0;
        measured[impl] = summarize(result, tasks, own);
      }
      const key = `${tasks}-${pattern}`;
      details[key] = {
        ...measured,
        plainNestBootMs: plain.bootMs,
        nestBytesPerProvider: nestPerProvider,
      };
      figures[`${key}.lagP50Ms`] = measured.ours.ticks.lag.p50;
      figures[`${key}.lagP99Ms`] = measured.ours.ticks.lag.p99;
      figures[`${key}.cronLagP50Ms`] = measured.cron.ticks.lag.p50;
      figures[`${key}.floorLagP50Ms`] = measured.floor.ticks.lag.p50;
      figures[`${key}.processCpuPercent`] = measured.ours.cpuPercent;
      figures[`${key}.cronCpuPercent`] = measured.cron.cpuPercent;
      figures[`${key}.bootMs`] = measured.ours.bootMs;
      figures[`${key}.cronBootMs`] = measured.cron.bootMs;
      figures[`${key}.ticksFired`] = measured.ours.ticks.fired;
      rows.push(...tableRows(tasks, pattern, measured, plain.bootMs, nestPerProvider));
    }
  }
  return { figures, details, rows };
}

/** CPU shares, and heap per task net of `baselineBytes` (what is not the module's bookkeeping). */
function summarize(result: ResultMessage, tasks: number, baselineBytes: number): Measured {
  const ticks = result.ticks!;
  const wallMicros = result.wallMs! * 1_000;
  const cpuPercent = (result.cpuMicros! / wallMicros) * 100;
  // The runs' CPU scaled to the runs fired in the window (the same count by construction).
  const runsPercent = result.runs
    ? ((result.runs.cpuMicros * (ticks.fired / Math.max(1, result.runs.count))) / wallMicros) * 100
    : 0;
  return {
    ticks,
    bootMs: result.bootMs,
    cpuPercent,
    runsPercent,
    dispatcherPercent: cpuPercent - runsPercent,
    bytesPerTask: (result.heapBytes - baselineBytes) / tasks,
  };
}

function tableRows(
  tasks: number,
  pattern: Pattern,
  m: Record<SchedulerImpl, Measured>,
  plainBootMs: number,
  nestPerProvider: number,
): Row[] {
  const targeted = tasks === TARGET.tasks && pattern === 'second';
  const lag = (t: TickReport) => `${num(t.lag.p50)} / ${num(t.lag.p99)} / ${num(t.lag.max)} ms`;
  const ticks = (t: TickReport) => `${t.early} / ${t.missed} / ${t.duplicates}`;
  const kb = (bytes: number) => num(bytes / 1024, 'KB');
  const title = `${num(tasks)} tasks ${LABEL[pattern]}:`;
  const ours = m.ours;
  return [
    {
      figure: `${title} tick lag p50 / p99 / max`,
      ours: lag(ours.ticks),
      baseline: `cron ${lag(m.cron.ticks)}; setTimeout ${lag(m.floor.ticks)}`,
      ratio: '',
      target: targeted ? `≤ ${TARGET.p50} / ${TARGET.p99} / ${TARGET.max} ms` : '',
      status: targeted
        ? status(
            ours.ticks.lag.p50 <= TARGET.p50 &&
              ours.ticks.lag.p99 <= TARGET.p99 &&
              ours.ticks.lag.max <= TARGET.max,
          )
        : '',
    },
    {
      figure: `${title} early / missed / doubled ticks (of ${num(ours.ticks.expected)})`,
      ours: ticks(ours.ticks),
      baseline: `cron ${ticks(m.cron.ticks)}; setTimeout ${ticks(m.floor.ticks)}`,
      ratio: '',
      target: targeted ? '0 / 0 / 0' : '',
      status: targeted
        ? status(ours.ticks.early + ours.ticks.missed + ours.ticks.duplicates === 0)
        : '',
    },
    {
      figure: `${title} dispatcher CPU (% of a core)`,
      ours: `${num(ours.dispatcherPercent, '%')} (process ${num(ours.cpuPercent, '%')} − runs ${num(ours.runsPercent, '%')})`,
      baseline: `cron ${num(m.cron.cpuPercent, '%')}; setTimeout ${num(m.floor.cpuPercent, '%')}`,
      ratio: '',
      target: targeted ? `≤ ${TARGET.cpuPercent} %` : '',
      status: targeted ? status(ours.dispatcherPercent <= TARGET.cpuPercent) : '',
    },
    {
      figure: `${title} bookkeeping memory per task`,
      ours: `${kb(ours.bytesPerTask)} (+ Nest ${kb(nestPerProvider)}/provider)`,
      baseline: `cron ${kb(m.cron.bytesPerTask)}; setTimeout ${kb(m.floor.bytesPerTask)}`,
      ratio: '',
      target: targeted ? `≤ ${TARGET.bytesPerTask / 1024} KB` : '',
      status: targeted ? status(ours.bytesPerTask <= TARGET.bytesPerTask) : '',
    },
    {
      figure: `${title} start-up`,
      ours: `${num(ours.bootMs / 1000, 's')} (plain Nest ${num(plainBootMs / 1000, 's')})`,
      baseline: `cron ${num(m.cron.bootMs / 1000, 's')}; setTimeout ${num(m.floor.bootMs / 1000, 's')}`,
      ratio: '',
      target: targeted ? `< ${TARGET.bootMs / 1000} s` : '',
      status: targeted ? status(ours.bootMs < TARGET.bootMs) : '',
    },
  ];
}
