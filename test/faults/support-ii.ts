/**
 * Helpers of the "Faults II" scenarios (10–12) over their own fixture
 * (fixture/faults-ii-app.ts): starting it, its output by stream, and its records.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../src/helpers.js';
import type { AppLine, FaultsIIConfig } from './fixture/faults-ii-app.js';
import type { FaultApp, FaultAppConfig, Scenario } from './harness/index.js';

export type { AppLine, FaultsIIConfig };

/** A faults-ii-app process and what it printed, stream by stream. */
export interface IIApp {
  readonly app: FaultApp;
  stdout(): string;
  stderr(): string;
}

/**
 * Starts fixture/faults-ii-app on the scenario (its Redis URL, prefix and records unless
 * `config` names others). Output is collected per stream from the first byte.
 */
export function startII(scenario: Scenario, config: Partial<FaultsIIConfig>): IIApp {
  // The harness types its config as fault-app's; this fixture reads a superset of it.
  const app = scenario.app(config as unknown as Partial<FaultAppConfig>, {}, 'faults-ii-app');
  let stdout = '';
  let stderr = '';
  app.child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  app.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return { app, stdout: () => stdout, stderr: () => stderr };
}

/** Runs the fixture's CLI (`runInteractorsCli`) with `args`; resolves with its exit and output. */
export async function cliII(
  scenario: Scenario,
  config: Partial<FaultsIIConfig>,
  args: string[],
  timeoutMs = 20_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cli = startII(scenario, { ...config, cli: args });
  const timer = setTimeout(() => cli.app.signal('SIGKILL'), timeoutMs);
  const { code } = await cli.app.exited;
  clearTimeout(timer);
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}

/** Every run line of a records directory. */
export function lines(dir: string): AppLine[] {
  const out: AppLine[] = [];
  for (const file of readdirSync(dir)) {
    if (!file.endsWith('.jsonl')) continue;
    for (const text of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (text.trim()) out.push(JSON.parse(text) as AppLine);
    }
  }
  return out;
}

/** The text of every `<pid>.<ext>` file of a records directory. */
export function recordFiles(dir: string, ext: 'log' | 'thrown'): string {
  if (!existsSync(dir)) return '';
  return readdirSync(dir)
    .filter((file) => file.endsWith(`.${ext}`))
    .map((file) => readFileSync(join(dir, file), 'utf8'))
    .join('');
}

/** Polls `check` every 100 ms until it holds or `ms` passed; whether it held. */
export async function until(check: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
}

/** POST to the app's HTTP port; the parsed JSON answer. */
export async function post<T>(app: FaultApp, path: string): Promise<T> {
  const response = await fetch(`http://127.0.0.1:${app.port}${path}`, {
    method: 'POST',
    signal: AbortSignal.timeout(120_000),
  });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`POST ${path}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}
