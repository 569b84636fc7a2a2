import type { Redis } from 'ioredis';
import type {
  ClaimGuard,
  ClaimRecord,
  ClaimResult,
  InteractorsTransport,
  StoredTaskFacts,
  TaskFacts,
  TickClaim,
} from './transport.interface.js';
import { quitWithin } from './redis-connection.js';

// One hash field per task holds its last claimed instant (a plain number, as earlier
// versions wrote and read it), so the key set stays bounded and claims are monotonic per
// task; a second field "<task>|m" holds "<claimant>|<previous instant>|<schedule key>".
// Each claim answers won (1/0) and the previous instant ('' when none), so the winner can
// count the ticks nobody claimed in between. A claim whose answer was lost (a command
// timeout while Redis stalled) may land later: the claimant's own claims from its first
// unhandled tick on are skipped over, and it may claim such an instant again.
// With maxAhead, a tick more than that ahead of Redis's own clock is refused (-1): a
// scheduler whose clock runs ahead must not claim, and so run, ticks before they are due.
// With sentAt and maxAge, a claim that reaches Redis more than maxAge after it was sent
// (Redis stalled, the sender's command timed out) is refused whole (-2): a claim landing
// unheard would win ticks its sender never runs nor counts, and the next winner would count
// from there. The answer ends with Redis's time then ('' without a guard).
const CLAIM_TICKS = `
local me = ARGV[#ARGV]
local maxAhead, sentAt, maxAge = tonumber(ARGV[#ARGV - 3]), tonumber(ARGV[#ARGV - 2]), tonumber(ARGV[#ARGV - 1])
local now
if maxAhead then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
local out = {}
if sentAt and maxAge and now - sentAt > maxAge then
  -- Sent longer ago than its sender waits for an answer: nobody hears it, so it claims nothing.
  for i = 1, #ARGV - 4, 4 do
    out[#out + 1] = -2
    out[#out + 1] = ''
  end
  out[#out + 1] = now
  return out
end
for i = 1, #ARGV - 4, 4 do
  local task, due, first, schedule = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), ARGV[i + 3]
  local instant = tonumber(redis.call('HGET', KEYS[1], task) or '')
  local meta = redis.call('HGET', KEYS[1], task .. '|m') or ''
  local claimant, before, stored = string.match(meta, '^([^|]*)|([^|]*)|(.*)$')
  local previous = instant
  if instant and claimant == me and first and instant >= first then previous = tonumber(before) end
  if previous and stored and stored ~= schedule then previous = nil end
  if maxAhead and due > now + maxAhead then
    out[#out + 1] = -1
    out[#out + 1] = instant or ''
  elseif due > (instant or -1) then
    redis.call('HSET', KEYS[1], task, ARGV[i + 1], task .. '|m', me .. '|' .. (previous or '') .. '|' .. schedule)
    out[#out + 1] = 1
    out[#out + 1] = previous or ''
  elseif due == instant and claimant == me then
    out[#out + 1] = 1
    out[#out + 1] = previous or ''
  else
    out[#out + 1] = 0
    out[#out + 1] = instant or ''
  end
end
out[#out + 1] = now or ''
return out`;

// Keeps each task's latest success: processes flush in any order, and an older instant
// written after a newer one must not move it back.
const KEEP_LATEST = `
for i = 1, #ARGV, 2 do
  local stored = tonumber(redis.call('HGET', KEYS[1], ARGV[i]))
  if not stored or stored < tonumber(ARGV[i + 1]) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
return 0`;

// First-seen instants: a field already set keeps its (earlier) instant; one command for
// every task of a boot rather than one HSETNX each.
const KEEP_FIRST = `
for i = 1, #ARGV, 2 do
  redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1])
end
return 0`;

/** The Redis transport over the module's fail-fast client. @internal */
export class RedisTransport implements InteractorsTransport {
  readonly kind = 'redis';
  private closed = false;

  constructor(
    /** No offline queue and a short command timeout: during an outage calls fail at once. */
    readonly client: Redis,
    private readonly prefix: string,
  ) {}

  async claimTicks(
    ticks: readonly TickClaim[],
    claimant: string,
    guard?: ClaimGuard,
  ): Promise<ClaimResult[]> {
    if (ticks.length === 0) return [];
    const argv = ticks.flatMap(({ task, dueAt, first, schedule }) => [
      task,
      String(dueAt),
      first === undefined ? '' : String(first),
      schedule ?? '',
    ]);
    argv.push(
      guard ? String(guard.maxAhead) : '',
      guard?.sentAt === undefined ? '' : String(guard.sentAt),
      guard?.maxAge === undefined ? '' : String(guard.maxAge),
      claimant,
    );
    // EVAL rather than EVALSHA: always exactly one round trip, even after a Redis restart.
    const out = (await this.client.eval(CLAIM_TICKS, 1, this.ticksKey, ...argv)) as (
      number | string
    )[];
    const time = out[out.length - 1];
    const serverTime = time === '' || time === undefined ? undefined : Number(time);
    return ticks.map((_, i) => ({
      won: out[2 * i] === 1,
      previous: out[2 * i + 1] === '' ? undefined : Number(out[2 * i + 1]),
      ...(out[2 * i] === -1 && { early: true }),
      ...(out[2 * i] === -2 && { stale: true }),
      ...(serverTime !== undefined && { serverTime }),
    }));
  }

  async lastClaimed(tasks: readonly string[]): Promise<Map<string, number>> {
    const records = await this.claimRecords(tasks);
    return new Map([...records].map(([task, record]) => [task, record.dueAt]));
  }

  async claimRecords(tasks: readonly string[]): Promise<Map<string, ClaimRecord>> {
    const records = new Map<string, ClaimRecord>();
    if (tasks.length === 0) return records;
    const values = await this.client.hmget(
      this.ticksKey,
      ...tasks.flatMap((task) => [task, `${task}|m`]),
    );
    tasks.forEach((task, i) => {
      // Records of the release before this one held "<instant>|<claimant>|<previous>".
      const instant = values[2 * i]?.split('|')[0];
      if (!instant) return;
      const schedule = values[2 * i + 1]?.split('|').slice(2).join('|') || undefined;
      records.set(task, { dueAt: Number(instant), schedule });
    });
    return records;
  }

  async appendRuns(
    records: readonly { task: string; record: string }[],
    limit: number,
    facts: TaskFacts = {},
  ): Promise<void> {
    const pipeline = this.client.pipeline();
    for (const { task, record } of records) pipeline.lpush(this.historyKey(task), record);
    for (const task of new Set(records.map((each) => each.task))) {
      pipeline.ltrim(this.historyKey(task), 0, limit - 1);
    }
    const pairs = (instants: ReadonlyMap<string, number> | undefined) =>
      [...(instants ?? [])].flatMap(([task, at]) => [task, String(at)]);
    if (facts.succeeded?.size) {
      pipeline.eval(KEEP_LATEST, 1, this.succeededKey, ...pairs(facts.succeeded));
    }
    if (facts.seen?.size) pipeline.eval(KEEP_FIRST, 1, this.sinceKey, ...pairs(facts.seen));
    if (facts.resumed?.size) pipeline.hset(this.sinceKey, ...pairs(facts.resumed));
    if (pipeline.length === 0) return;
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error);
    if (failed) throw failed[0]!;
  }

  async taskFacts(tasks: readonly string[]): Promise<StoredTaskFacts> {
    const facts: StoredTaskFacts = { succeeded: new Map(), since: new Map() };
    if (tasks.length === 0) return facts;
    const results =
      (await this.client
        .pipeline()
        .hmget(this.succeededKey, ...tasks)
        .hmget(this.sinceKey, ...tasks)
        .exec()) ?? [];
    const failed = results.find(([error]) => error);
    if (failed) throw failed[0]!;
    const [succeeded, since] = results.map(([, values]) => values as (string | null)[]);
    tasks.forEach((task, i) => {
      if (succeeded?.[i]) facts.succeeded.set(task, Number(succeeded[i]));
      if (since?.[i]) facts.since.set(task, Number(since[i]));
    });
    return facts;
  }

  async readRuns(task: string, limit: number): Promise<string[]> {
    return this.client.lrange(this.historyKey(task), 0, limit - 1);
  }

  async pausedTasks(): Promise<Set<string>> {
    return new Set(await this.client.hkeys(this.pausedKey));
  }

  async setPaused(task: string, paused: boolean): Promise<void> {
    const pipeline = this.client.pipeline();
    if (paused) pipeline.hset(this.pausedKey, task, String(Date.now()));
    else pipeline.hdel(this.pausedKey, task);
    pipeline.publish(this.pausedKey, task);
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error);
    if (failed) throw failed[0]!;
  }

  async watchPaused(changed: () => void): Promise<() => Promise<void>> {
    // A connection of its own: a subscribed connection can run no other command. It
    // queues commands while reconnecting and resubscribes by itself; a change published
    // meanwhile is lost, hence `changed` on every (re)subscription too.
    const subscriber = this.client.duplicate({
      enableOfflineQueue: true,
      lazyConnect: true,
      connectionName: `${this.prefix}:pause`,
    });
    subscriber.on('error', () => undefined); // the module connection reports outages
    subscriber.on('message', () => changed());
    subscriber.on('ready', () => changed());
    await subscriber.connect();
    await subscriber.subscribe(this.pausedKey);
    return async () => {
      await quitWithin(subscriber);
    };
  }

  private historyKey(task: string): string {
    return `${this.prefix}:history:${task}`;
  }

  private get pausedKey(): string {
    return `${this.prefix}:paused`;
  }

  /** Per task: the instant of its last successful run. */
  private get succeededKey(): string {
    return `${this.prefix}:last-success`;
  }

  /** Per task: when it was first registered, or last resumed. */
  private get sinceKey(): string {
    return `${this.prefix}:watched-since`;
  }

  private get ticksKey(): string {
    return `${this.prefix}:ticks`;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await quitWithin(this.client);
  }
}
