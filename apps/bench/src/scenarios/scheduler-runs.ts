/** Starting scheduler children and giving them one measurement window. */
import { BenchChild } from '../bench-child.js';
import type {
  ReadyMessage,
  ResultMessage,
  SchedulerChildConfig,
} from '../children/scheduler.protocol.js';

/** A window that starts after `warmupMs`, on a half second (between every-second ticks). */
export function nextWindow(warmupMs: number, windowMs: number): { start: number; end: number } {
  const start = Math.ceil((Date.now() + warmupMs) / 1_000) * 1_000 + 500;
  return { start, end: start + windowMs };
}

/** Boots `count` children of one config, waits until all are armed; resolves to them. */
export async function startSchedulers(
  count: number,
  config: SchedulerChildConfig,
): Promise<Array<{ child: BenchChild; ready: Promise<ReadyMessage> }>> {
  const children = Array.from({ length: count }, () => {
    const child = new BenchChild('scheduler.child.js', config);
    return { child, ready: child.receive<ReadyMessage>('ready') };
  });
  try {
    await Promise.all(children.map(({ ready }) => ready));
  } catch (error) {
    await Promise.all(children.map(({ child }) => child.stop()));
    throw error;
  }
  return children;
}

/** One scheduler child, start to end: boot, the window (if any), its result. */
export async function runScheduler(
  config: SchedulerChildConfig,
  warmupMs: number,
  windowMs: number,
): Promise<ResultMessage> {
  const [{ child }] = await startSchedulers(1, config);
  try {
    if (config.impl !== 'plain' && config.tasks > 0)
      child.send({ type: 'window', ...nextWindow(warmupMs, windowMs) });
    return await child.receive<ResultMessage>('result', windowMs + warmupMs + 180_000);
  } finally {
    await child.stop();
  }
}
