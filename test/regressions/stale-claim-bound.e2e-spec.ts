/**
 * A claim that reaches Redis after its sender's command timeout is refused as stale, even
 * though the host's offset from Redis may be off by the clock tolerance: the bound sits
 * inside the timeout, not beyond it (it once accepted claims up to timeout + 250 ms late,
 * which could win a tick that nobody heard of).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Interactor, InteractorsModule, Task } from '../../src/index.js';
import { INTERACTORS_TRANSPORT } from '../../src/interactors.constants.js';
import type { InteractorsTransport } from '../../src/transport/transport.interface.js';
import { Apps, REDIS_URL, deleteKeys, isolateEnv, sleep, uniquePrefix } from '../src/helpers.js';

@Task({ cron: '* * * * * *', run: 'inline' })
class EverySecondClaim extends Interactor {
  call(): void {}
}

const prefix = uniquePrefix('stale-claim-bound');

describe('stale claims', () => {
  isolateEnv();
  const apps = new Apps();
  afterEach(() => apps.closeAll());
  afterAll(() => deleteKeys(prefix));

  it('a claim held up past commandTimeout on its way to Redis claims nothing', async () => {
    const commandTimeout = 1_000;
    const app = await apps.boot({
      imports: [InteractorsModule.forRoot({ redis: REDIS_URL, prefix, commandTimeout })],
      providers: [EverySecondClaim],
    });
    const transport = app.get<InteractorsTransport>(INTERACTORS_TRANSPORT, { strict: false });
    const claim = transport.claimTicks.bind(transport);
    const answers: string[] = [];
    let held = 0;
    transport.claimTicks = async (...args) => {
      // The first two claims travel slowly (as through a stalled Redis); the rest at once.
      if (held++ < 2) await sleep(commandTimeout + 100);
      const out = await claim(...args);
      answers.push(out.map((c) => (c.stale ? 'stale' : c.won ? 'won' : 'lost')).join(','));
      return out;
    };
    await sleep(4_500);
    expect(answers.slice(0, 2)).toEqual(['stale', 'stale']);
    // Made again and won once claims travel normally.
    expect(answers.slice(2)).toContain('won');
  });
});
