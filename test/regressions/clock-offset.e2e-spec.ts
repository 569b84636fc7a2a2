/**
 * A host clock 3 s off Redis's, with claim answers that come back slowly (> 250 ms, e.g.
 * event-loop lag): the offset must still be learnt from the bounds every answer gives, so
 * the scheduler runs its ticks rather than having every claim refused (stale or early).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Interactor, InteractorsModule, Task } from '../../src/index.js';
import { INTERACTORS_TRANSPORT } from '../../src/interactors.constants.js';
import { systemClock } from '../../src/scheduling/clock.js';
import type { InteractorsTransport } from '../../src/transport/transport.interface.js';
import { Apps, REDIS_URL, deleteKeys, isolateEnv, sleep, uniquePrefix } from '../src/helpers.js';
import { RunLog } from '../src/run-log.js';

@Task({ cron: '* * * * * *', run: 'inline' })
class EverySecond extends Interactor {
  constructor(private readonly log: RunLog) {
    super();
  }
  call(): void {
    this.log.start();
  }
}

const prefix = uniquePrefix('clock-offset-slow');
const realNow = systemClock.now;
describe('clock offset learnt from slow answers', () => {
  isolateEnv();
  const apps = new Apps();
  afterEach(async () => {
    await apps.closeAll();
    (systemClock as { now: () => number }).now = realNow;
  });
  afterAll(() => deleteKeys(prefix));

  for (const [skew, delay] of [
    [-3000, 300],
    [3000, 0],
    [3000, 300],
    [-3000, 0],
  ] as const) {
    it(`host skew ${skew} ms, answers delayed ${delay} ms`, async () => {
      (systemClock as { now: () => number }).now = () => Date.now() + skew;
      const app = await apps.boot({
        imports: [
          InteractorsModule.forRoot({ redis: REDIS_URL, prefix: `${prefix}:${skew}:${delay}` }),
        ],
        providers: [RunLog, EverySecond],
      });
      const transport = app.get<InteractorsTransport>(INTERACTORS_TRANSPORT, { strict: false });
      const claim = transport.claimTicks.bind(transport);
      const seen: string[] = [];
      transport.claimTicks = async (...a) => {
        const out = await claim(...a);
        seen.push(
          out
            .map((c) => (c.won ? 'won' : c.stale ? 'stale' : c.early ? 'early' : 'lost'))
            .join(','),
        );
        await sleep(delay);
        return out;
      };
      await sleep(6_000);
      const runs = app.get(RunLog).runs.length;
      // 6 s of an every-second task: a host ahead waits out its offset once (its first
      // claim is early by 3 s), then runs every tick; before the fix it ran none.
      expect(runs, seen.join(' ')).toBeGreaterThanOrEqual(2);
    });
  }
});
