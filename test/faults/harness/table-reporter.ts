import type { Reporter, TestCase, TestModule } from 'vitest/node';
import type { FaultFigures } from './figures.js';

/**
 * `npm run faults`: after the run, one table of every scenario's figures (what each fault
 * test reported with `report()`), with the test's verdict.
 */
export default class FaultsTableReporter implements Reporter {
  private readonly rows: Array<FaultFigures & { verdict: string }> = [];

  onTestCaseResult(testCase: TestCase): void {
    const verdict = testCase.result().state;
    for (const row of testCase.meta().faults ?? []) this.rows.push({ ...row, verdict });
  }

  onTestRunEnd(_modules: ReadonlyArray<TestModule>): void {
    const rows = this.rows.sort((a, b) =>
      a.scenario.localeCompare(b.scenario, 'en', { numeric: true }),
    );
    const lines = ['', 'Faults: measured figures per scenario', ''];
    const width = Math.max(...rows.map((row) => row.scenario.length), 8);
    for (const row of rows) {
      const figures = Object.entries(row.figures)
        .map(([name, value]) => `${name} ${value}`)
        .join(' · ');
      lines.push(`${row.scenario.padEnd(width)}  ${row.verdict.padEnd(6)}  ${figures}`);
    }
    process.stdout.write(lines.join('\n') + '\n');
  }
}
