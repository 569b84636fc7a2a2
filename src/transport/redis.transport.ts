import type { Redis } from 'ioredis';
import type { InteractorsTransport, TickClaim } from './transport.interface.js';

// One hash field per task holds its last claimed instant: the key set stays bounded
// (no key per tick to expire) and claims are monotonic per task.
const CLAIM_TICKS = `
local won = {}
for i = 1, #ARGV, 2 do
  local last = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '-1')
  if tonumber(ARGV[i + 1]) > last then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    won[#won + 1] = 1
  else
    won[#won + 1] = 0
  end
end
return won`;

/** The Redis transport over the module's fail-fast client. @internal */
export class RedisTransport implements InteractorsTransport {
  readonly kind = 'redis';
  private closed = false;

  constructor(
    /** No offline queue and a short command timeout: during an outage calls fail at once. */
    readonly client: Redis,
    private readonly prefix: string,
  ) {}

  async claimTicks(ticks: readonly TickClaim[]): Promise<boolean[]> {
    if (ticks.length === 0) return [];
    const argv = ticks.flatMap(({ task, dueAt }) => [task, String(dueAt)]);
    // EVAL rather than EVALSHA: always exactly one round trip, even after a Redis restart.
    const won = (await this.client.eval(
      CLAIM_TICKS,
      1,
      `${this.prefix}:ticks`,
      ...argv,
    )) as number[];
    return won.map((flag) => flag === 1);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
