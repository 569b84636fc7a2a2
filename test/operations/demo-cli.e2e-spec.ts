/**
 * Smoke test of the demo's real CLI (`node dist/apps/demo/src/cli.js`, built here first with
 * `npm run build`): `list` shows the three gates tasks with their next due instants, on
 * Redis and in memory; in memory, `run` works and `pause` is refused. The demo uses the fixed
 * prefixes `demo:interactors` and `demo`: only keys this file created are deleted afterwards.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolateEnv, keysUnder, redis } from '../pipeline/helpers.js';
import { DEMO_CLI, REDIS_URL, ROOT, runCli } from './support.js';

isolateEnv();
const GATES = ['OpenTheGates', 'CloseTheGates', 'PatrolTheGates'];
let demoKeysBefore: Set<string>;

beforeAll(async () => {
  await promisify(execFile)('npm', ['run', 'build', '--silent'], { cwd: ROOT, timeout: 120_000 });
  demoKeysBefore = new Set(await keysUnder('demo'));
}, 130_000);

afterAll(async () => {
  const created = (await keysUnder('demo')).filter((key) => !demoKeysBefore.has(key));
  if (created.length) await redis((client) => client.del(...created));
});

/** The demo's CLI with a clean environment (no GATES_CRON, no roles); asserts a prompt exit. */
async function demo(env: Record<string, string | undefined>, ...args: string[]) {
  const result = await runCli(
    args,
    { GATES_CRON: undefined, PORT: undefined, ...env },
    { script: DEMO_CLI },
  );
  expect(result.ms).toBeLessThan(15_000);
  return result;
}

describe('the demo CLI', () => {
  it('list on Redis: the three gates tasks with their next due instants', async () => {
    const before = Date.now();
    const [table, json] = await Promise.all([
      demo({ REDIS_URL }, 'list'),
      demo({ REDIS_URL }, 'list', '--json'),
    ]);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.split('\n').filter(Boolean);
    expect(lines[0]).toMatch(
      /^NAME\s+SCHEDULE\s+TZ\s+NEXT DUE\s+RUN\s+QUEUE\s+LOCK\s+ENVIRONMENTS\s+PAUSED\s+LAST$/,
    );
    expect(lines.slice(1).map((line) => line.split(/\s+/)[0])).toEqual(GATES);
    const next = (name: string) => {
      const line = lines.find((each) => each.startsWith(`${name} `))!;
      const found = [...line.matchAll(/\d{4}-\d\d-\d\dT[\d:.]+Z/g)].map((match) =>
        Date.parse(match[0]),
      );
      return found.slice(0, 2); // NEXT DUE shows two; LAST may add one
    };
    const patrol = next('PatrolTheGates');
    expect(patrol[0]! % 5_000).toBe(0);
    expect(patrol[1]! - patrol[0]!).toBe(5_000);
    expect(patrol[0]!).toBeGreaterThan(before - 5_000);
    const open = next('OpenTheGates');
    expect(open[0]! % 900_000).toBe(0);
    expect(open[1]! - open[0]!).toBe(900_000);
    const close = next('CloseTheGates');
    expect(close[0]! % 3_600_000).toBe(0);
    expect(close[1]! - close[0]!).toBe(3_600_000);
    expect(lines.find((line) => line.startsWith('PatrolTheGates'))).toMatch(
      /\*\/5 \* \* \* \* \*\s+UTC/,
    );

    expect(json.code, json.stderr).toBe(0);
    const rows = JSON.parse(json.stdout) as Array<Record<string, any>>;
    expect(rows.map((row) => row.name)).toEqual(GATES);
    for (const row of rows) {
      expect(row.nextDueAt).toHaveLength(3);
      expect(row.enabled).toBe(true);
    }
    expect(rows.map((row) => [row.schedule, row.run, row.queue])).toEqual([
      ['*/15 * * * *', 'queue', 'gates'],
      ['0 * * * *', 'inline', 'default'],
      ['*/5 * * * * *', 'queue', 'gates'],
    ]);
    expect(rows[0]!.lock).toBe('yes');
  });

  it('in memory: list and run work; pause is refused, needing Redis; an unknown task gets suggestions', async () => {
    const memory = { REDIS_URL: undefined };
    const [list, run, pause, typo] = await Promise.all([
      demo(memory, 'list'),
      demo(memory, 'run', 'OpenTheGates', '--args', '["north"]'),
      demo(memory, 'pause', 'PatrolTheGates'),
      demo(memory, 'run', 'OpenTheGate'),
    ]);
    expect(list.code).toBe(0);
    for (const name of GATES) expect(list.stdout).toContain(`\n${name} `);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/OpenTheGates success in \d+ ms\n\["north"\]\n$/);
    expect(pause.code).toBe(2);
    expect(pause.stderr).toContain('"pause" needs Redis');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('Did you mean OpenTheGates?');
  });
});
