import type { TestContext } from 'vitest';

/** One row of the faults table: a scenario's name and its measured figures. */
export interface FaultFigures {
  scenario: string;
  /** Figure name → value; the table shows them in insertion order. */
  figures: Record<string, number | string>;
}

declare module 'vitest' {
  interface TaskMeta {
    faults?: FaultFigures[];
  }
}

/**
 * Scenario size: `ci` (the default, run by `npm test`) or `full` (`npm run faults`, by
 * hand). `pick(ci, full)` chooses a figure for the current size.
 */
export const size: 'ci' | 'full' = process.env.FAULTS_SIZE === 'full' ? 'full' : 'ci';
export const pick = <T>(ci: T, full: T): T => (size === 'full' ? full : ci);

/**
 * Records a scenario's figures on the test (the faults table reporter prints them) and in
 * the test's output. Call it before asserting, so a failing figure still reaches the table.
 */
export function report(
  context: Pick<TestContext, 'task'>,
  scenario: string,
  figures: Record<string, number | string>,
): void {
  (context.task.meta.faults ??= []).push({ scenario, figures });
  console.log(`[faults] ${scenario}: ${JSON.stringify(figures)}`);
}
