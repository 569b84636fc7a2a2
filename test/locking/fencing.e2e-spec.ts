import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Workers } from './processes.js';
import { deleteUnder, REDIS_URL, scanKeys, sharedRedis } from './support.js';

const ACQUISITIONS = 1_000;

describe('fencing tokens across processes (single Redis)', () => {
  const prefix = `test:lock-fencing:${randomBytes(5).toString('hex')}`;
  const redis = sharedRedis();
  const workers = new Workers();

  afterAll(async () => {
    await workers.stopAll();
    await deleteUnder(redis, prefix);
    await redis.quit();
  });

  it(`strictly increase in the order the lock was held, over ${ACQUISITIONS} acquisitions from 3 processes`, async () => {
    const started = [0, 1, 2].map(() =>
      // Each successful call() first INCRs <prefix>:seq: the order in which runs held the lock.
      workers.start({ REDIS_URL, PREFIX: prefix, TTL: 5_000, SEQ: 1, UNTIL_SEQ: ACQUISITIONS }),
    );
    await Promise.all(started.map((worker) => worker.ready));
    for (const worker of started) worker.go();
    await Promise.all(started.map((worker) => worker.next('DONE', 45_000)));
    expect(await Promise.all(started.map((worker) => worker.exited))).toEqual([0, 0, 0]);

    const runs = started.flatMap((worker) =>
      worker.lines
        .filter((line) => line.kind === 'RUN')
        .map(({ data }) => {
          expect(data.outcome).toBe('success');
          return data as { pid: number; token: number; seq: number; at: number; end: number };
        }),
    );
    const perProcess = started.map((worker) => runs.filter((run) => run.pid === worker.pid).length);
    console.info(`fencing: ${runs.length} acquisitions, per process ${perProcess.join(', ')}`);
    expect(runs.length).toBeGreaterThanOrEqual(ACQUISITIONS);
    // Several processes took turns; otherwise this would be a single-process test.
    expect(perProcess.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);

    for (const run of runs) expect(Number.isInteger(run.token) && run.token > 0).toBe(true);
    expect(new Set(runs.map((run) => run.token)).size).toBe(runs.length);
    // The hold order is exactly 1..n with no run missing or doubled.
    const byHold = runs.toSorted((a, b) => a.seq - b.seq);
    expect(byHold.map((run) => run.seq)).toEqual(byHold.map((_, i) => i + 1));
    const violations = byHold.filter((run, i) => i > 0 && run.token <= byHold[i - 1]!.token);
    expect(violations).toEqual([]);
    // The same order by the clock: each holder entered after the previous one (by token) left.
    const byToken = runs.toSorted((a, b) => a.token - b.token);
    const overlaps = byToken.filter((run, i) => i > 0 && run.at < byToken[i - 1]!.end);
    expect(overlaps).toEqual([]);

    expect(Number(await redis.get(`${prefix}:fence:Guarded`))).toBeGreaterThanOrEqual(
      byToken.at(-1)!.token,
    );
    expect(await scanKeys(redis, `${prefix}:lock:*`)).toEqual([]);
  });
});
