/**
 * Smoke test of the benchmark (`npm run bench -- --quick`): the built bench
 * (dist/apps/bench, compiled by test/global-setup.ts) runs every scenario on a small scale
 * against REDIS_URL, under a key prefix of its own that it deletes. One test per scenario
 * checks only that it ran and produced its headline figures, each finite and positive:
 * the figures themselves are never asserted, since these machines are shared and noisy.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS, type BenchResults } from '../../apps/bench/src/report.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The quick bench takes under a minute; a loaded machine gets some slack. */
const TIMEOUT_MS = 170_000;

let dir: string;
let results: BenchResults;

function runQuickBench(out: string): Promise<{ code: number | null; output: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const name of ['INTERACTORS_ROLES', 'INTERACTORS_QUEUES', 'INTERACTORS_FORCE'])
    delete env[name];
  const child = spawn(process.execPath, ['dist/apps/bench/src/main.js', '--quick', '--out', out], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => {
    // SIGTERM: the bench then deletes its keys and its children and server stop with it.
    const timer = setTimeout(() => child.kill('SIGTERM'), TIMEOUT_MS - 10_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bench-quick-'));
  const out = join(dir, 'results.json');
  const { code, output } = await runQuickBench(out);
  expect(code, output).toBe(0);
  results = JSON.parse(await readFile(out, 'utf8')) as BenchResults;
}, TIMEOUT_MS);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('npm run bench -- --quick', () => {
  it.each(SCENARIOS)('%s ran and produced its figures', (name) => {
    const scenario = results.scenarios[name];
    expect(scenario, `scenario ${name} missing`).toBeDefined();
    const figures = Object.entries(scenario!.figures);
    expect(figures.length).toBeGreaterThan(0);
    for (const [figure, value] of figures) {
      expect(Number.isFinite(value) && value > 0, `${name}.${figure} = ${value}`).toBe(true);
    }
    expect(scenario!.rows.length).toBeGreaterThan(0);
  });
});
