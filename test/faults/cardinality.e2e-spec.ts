/**
 * Fault 11, cardinality: thousands of runs of a task with random arguments that fails half
 * the time with an error naming a fresh order id. The metric series an app serves
 * (`/metrics`, our metrics alone) are as many at the end as after the first run of each
 * kind: no argument, id or error text ever becomes a label.
 *
 * Runs go both ways a run can start: `Interactors.run` in the app's process (the bulk:
 * cheap, so the count is reached in seconds) and enqueued jobs run by the app's worker
 * (the queue's own series — queue wait, job states — take part too).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { metricValue, pick, report, Scenario, type FaultApp } from './harness/index.js';
import { post, startII, until } from './support-ii.js';

const RUNS = pick(2_000, 10_000);
/** A quarter of the runs go through the queue. */
const JOBS = RUNS / 4;
const CHUNK = 500;

let scenarios: Scenario[] = [];
afterEach(async () => {
  await Promise.all(scenarios.map((scenario) => scenario.dispose()));
  scenarios = [];
});

/** Series lines of a Prometheus text exposition, by metric name. */
function series(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0];
    out.set(name, (out.get(name) ?? 0) + 1);
  }
  return out;
}

const total = (counts: Map<string, number>) => [...counts.values()].reduce((a, b) => a + b, 0);

/** Cardinal runs that ended, by outcome, from the app's counter. */
async function ended(app: FaultApp): Promise<{ all: number; success: number; failure: number }> {
  const { text } = await app.get('/metrics');
  const success = metricValue(text, 'interactor_runs_total', {
    task: 'Cardinal',
    outcome: 'success',
  });
  const failure = metricValue(text, 'interactor_runs_total', {
    task: 'Cardinal',
    outcome: 'failure',
  });
  return {
    all: metricValue(text, 'interactor_runs_total', { task: 'Cardinal' }),
    success,
    failure,
  };
}

describe('Faults: metric cardinality', () => {
  it(
    `${RUNS} runs with random arguments and ids in errors: the series count stays constant`,
    { timeout: 120_000 },
    async (context) => {
      const scenario = await new Scenario('faults:cardinality').start();
      scenarios.push(scenario);
      const { app } = startII(scenario, { http: true, concurrency: 20 });
      await app.ready;

      // The first of each kind: success and failure, in process and as jobs.
      let done = 0;
      const warm = 20;
      await post(app, `/burst?runs=${warm}&jobs=${warm}`);
      done += 2 * warm;
      expect(await until(async () => (await ended(app)).all >= done, 30_000)).toBe(true);
      const first = await ended(app);
      const afterFirst = series((await app.get('/metrics')).text);

      // The rest, in chunks.
      let runs = warm;
      let jobs = warm;
      while (runs < RUNS - JOBS || jobs < JOBS) {
        const r = Math.min(CHUNK, RUNS - JOBS - runs);
        const j = Math.min(CHUNK / 4, JOBS - jobs);
        await post(app, `/burst?runs=${r}&jobs=${j}`);
        runs += r;
        jobs += j;
      }
      const finished = await until(async () => (await ended(app)).all >= RUNS, 60_000);
      const last = await ended(app);
      const { text } = await app.get('/metrics');
      const atEnd = series(text);
      const uuids = (
        text.match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g) ?? []
      ).length;
      const history = JSON.parse((await app.get('/history/Cardinal')).text) as unknown[];
      const grown = [...atEnd].filter(([name, count]) => afterFirst.get(name) !== count);
      const exits = await scenario.stopAll();

      report(context, `11. cardinality, ${RUNS} runs`, {
        runs: last.all,
        'in process': runs,
        jobs,
        'success / failure': `${last.success} / ${last.failure}`,
        'series after first of each': total(afterFirst),
        'series at end': total(atEnd),
        'metrics grown': grown.map(([name]) => name).join(', ') || 'none',
        'ids in /metrics': uuids,
        'history kept': history.length,
        crashes: scenario.crashes(exits),
      });

      expect(finished).toBe(true);
      expect(last.all).toBe(RUNS);
      expect(first.success).toBeGreaterThan(0);
      expect(first.failure).toBeGreaterThan(0);
      expect(total(atEnd)).toBe(total(afterFirst));
      expect(grown).toEqual([]);
      expect(uuids).toBe(0);
      expect(history.length).toBe(50);
      expect(scenario.crashes(exits)).toBe(0);
    },
  );
});
