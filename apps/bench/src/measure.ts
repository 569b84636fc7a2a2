/** Timing helpers: CPU and wall clocks, and A/B rounds run interleaved. */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export { sleep };

/** CPU time (user + system) of this process so far, in µs. */
export function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** Wall clock in ms, sub-millisecond. */
export const now = (): number => performance.now();

/** What one timed piece of work cost. */
export interface Cost {
  readonly wallMs: number;
  readonly cpuMicros: number;
}

export async function timed(work: () => Promise<unknown>): Promise<Cost> {
  const cpu = cpuMicros();
  const wall = now();
  await work();
  return { wallMs: now() - wall, cpuMicros: cpuMicros() - cpu };
}

/**
 * Runs every variant once per round, for `count` rounds, rotating which variant goes
 * first so that neither always runs on a warmer (or busier) machine; returns each
 * variant's samples, in round order, so that samples of one round can be paired.
 */
export async function interleaved<K extends string>(
  count: number,
  variants: Record<K, () => Promise<number>>,
): Promise<Record<K, number[]>> {
  const names = Object.keys(variants) as K[];
  const samples = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<
    K,
    number[]
  >;
  for (let round = 0; round < count; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + round) % names.length]!;
      samples[name].push(await variants[name]());
    }
  }
  return samples;
}

/** Per-round ratios a[i] / b[i]. */
export function ratios(a: readonly number[], b: readonly number[]): number[] {
  return a.map((value, i) => value / b[i]!);
}

/** Per-round differences a[i] − b[i]. */
export function differences(a: readonly number[], b: readonly number[]): number[] {
  return a.map((value, i) => value - b[i]!);
}

/** Runs `work(i)` for i in [0, total) with at most `inFlight` at once. */
export async function pool(
  total: number,
  inFlight: number,
  work: (i: number, lane: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(inFlight, total) }, async (_, lane) => {
      while (next < total) await work(next++, lane);
    }),
  );
}

/** Resolves when `check()` is true, polling every `everyMs`; rejects after `timeoutMs`. */
export async function until(
  check: () => boolean,
  timeoutMs: number,
  what: string,
  everyMs = 2,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** A full garbage collection, when the process runs with --expose-gc. */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
}

/** Heap in use after a full collection (needs --expose-gc to be meaningful). */
export function heapAfterGc(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}
