/** The bench's one table, and the shape of bench/results.json. */
import { round } from './stats.js';

/** One line of the table. */
export interface Row {
  readonly figure: string;
  /** nestjs-interactors' figure. */
  readonly ours: string;
  /** The building block(s) it is compared with. */
  readonly baseline: string;
  /** ours ÷ baseline (median of per-round ratios), when a ratio is the point. */
  readonly ratio: string;
  readonly target: string;
  /** `met`, `MISSED`, or empty for context lines. */
  readonly status: string;
}

/** What one scenario hands back. */
export interface ScenarioResult {
  /** Headline numbers; each is finite and positive when the scenario ran. */
  readonly figures: Record<string, number>;
  /** Everything else measured (differences and counts, which may be zero or negative). */
  readonly details: Record<string, unknown>;
  readonly rows: Row[];
}

export const SCENARIOS = ['inline', 'queue', 'scheduler', 'cluster', 'processPerTick'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface BenchResults {
  readonly meta: {
    readonly quick: boolean;
    readonly startedAt: string;
    readonly durationS: number;
    readonly node: string;
    readonly cpus: number;
    readonly cpuModel: string;
    readonly redis: string;
    readonly notes: string[];
  };
  readonly scenarios: Partial<Record<ScenarioName, ScenarioResult>>;
}

/** Formats a number for the table: 3 significant digits, thousands separated. */
export function num(value: number, unit = ''): string {
  if (!Number.isFinite(value)) return String(value);
  const rounded = round(value, 3);
  const text = Math.abs(rounded) >= 1_000 ? rounded.toLocaleString('en-US') : String(rounded);
  return unit ? `${text} ${unit}` : text;
}

export function ratioText(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return value >= 10 ? `${num(value)}×` : `${value.toFixed(2)}×`;
}

/** `met` / `MISSED` for a target, or '' when there is none. */
export function status(met: boolean | undefined): string {
  return met === undefined ? '' : met ? 'met' : 'MISSED';
}

/** The table, as Markdown (readable in a terminal, pasteable into the README). */
export function table(results: BenchResults): string {
  const header: Row = {
    figure: 'Figure',
    ours: 'nestjs-interactors',
    baseline: 'Baseline (same run)',
    ratio: 'Ratio',
    target: 'Target',
    status: 'Status',
  };
  const lines: Row[] = [];
  const titles: Record<ScenarioName, string> = {
    inline: '1. Inline overhead',
    queue: '2. Queue throughput',
    scheduler: '3. Scheduler scale',
    cluster: '4. Cluster cost',
    processPerTick: '5. Versus a process per tick',
  };
  for (const name of SCENARIOS) {
    const scenario = results.scenarios[name];
    if (!scenario) continue;
    lines.push({
      figure: `**${titles[name]}**`,
      ours: '',
      baseline: '',
      ratio: '',
      target: '',
      status: '',
    });
    lines.push(...scenario.rows);
  }
  const keys = Object.keys(header) as Array<keyof Row>;
  const widths = keys.map((key) => Math.max(...[header, ...lines].map((row) => row[key].length)));
  const line = (row: Row) => `| ${keys.map((key, i) => row[key].padEnd(widths[i]!)).join(' | ')} |`;
  return [
    line(header),
    `| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |`,
    ...lines.map(line),
  ].join('\n');
}
