import { sep } from 'node:path';
import type { Reporter, TestCase, TestModule } from 'vitest/node';

interface Row {
  scenario: string;
  verdict: string;
  figures: string;
}

const verdicts: Record<string, string> = {
  passed: 'pass',
  failed: 'FAIL',
  skipped: 'skipped',
  pending: 'pending',
};

/** The first line of the first error, short enough for a table cell. */
function firstError(errors: ReadonlyArray<{ message?: string }> | undefined): string {
  const line = errors?.[0]?.message?.split('\n')[0]?.trim() ?? '';
  return line.length > 160 ? `${line.slice(0, 159)}…` : line;
}

/**
 * `npm run faults`: after the run, one table of every fault test, with its verdict and the
 * figures it reported with `report()`. Rows come from the test cases, not from the figures:
 * a scenario that throws before reporting must show as a failure, not vanish from the table.
 */
export default class FaultsTableReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const rows: Row[] = [];
    const faults = modules.filter(
      // Scenarios only: the analyser's own unit tests have no figures to show.
      (module) =>
        module.moduleId.includes(`${sep}test${sep}faults${sep}`) &&
        module.moduleId.endsWith('.e2e-spec.ts'),
    );
    for (const module of faults) {
      // A file that fails to load, or a hook outside any test, leaves no test to fail.
      for (const suite of [module, ...module.children.allSuites()]) {
        const error = firstError(suite.errors());
        if (!error) continue;
        const name = suite.type === 'module' ? suite.relativeModuleId : suite.fullName;
        rows.push({ scenario: name, verdict: 'FAIL', figures: `no figures (error: ${error})` });
      }
      for (const test of module.children.allTests()) rows.push(...this.rowsOf(test));
    }
    rows.sort((a, b) => a.scenario.localeCompare(b.scenario, 'en', { numeric: true }));
    const lines = ['', 'Faults: measured figures per scenario', ''];
    const width = Math.max(...rows.map((row) => row.scenario.length), 8);
    const verdictWidth = Math.max(...rows.map((row) => row.verdict.length), 7);
    for (const row of rows) {
      lines.push(
        `${row.scenario.padEnd(width)}  ${row.verdict.padEnd(verdictWidth)}  ${row.figures}`,
      );
    }
    const failed = rows.filter((row) => row.verdict === 'FAIL').length;
    lines.push('', `${rows.length} rows, ${failed} failed`);
    process.stdout.write(lines.join('\n') + '\n');
  }

  private rowsOf(test: TestCase): Row[] {
    const result = test.result();
    const verdict = verdicts[result.state] ?? result.state;
    const reported = test.meta().faults ?? [];
    if (reported.length) {
      return reported.map((row) => ({
        scenario: row.scenario,
        verdict,
        figures: Object.entries(row.figures)
          .map(([name, value]) => `${name} ${value}`)
          .join(' · '),
      }));
    }
    const error = result.state === 'failed' ? firstError(result.errors) : '';
    const figures =
      result.state === 'failed'
        ? `no figures (failed before reporting${error ? `: ${error}` : ''})`
        : 'no figures';
    return [{ scenario: test.name, verdict, figures }];
  }
}
