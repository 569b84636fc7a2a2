/**
 * The claim script refuses a tick further ahead of Redis's clock than the guard allows,
 * writes nothing for it, and tells Redis's time; without a guard it claims as before.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisTransport } from '../../src/transport/redis.transport.js';
import { deleteKeys, REDIS_URL, uniquePrefix } from '../src/helpers.js';

const prefix = uniquePrefix('clock-guard');
const client = new Redis(REDIS_URL);
const transport = new RedisTransport(client, prefix);

afterAll(async () => {
  await deleteKeys(prefix);
  client.disconnect();
});

describe('claims against Redis time', () => {
  it('refuses a tick 10 s ahead of Redis, leaving no record, and accepts it once due', async () => {
    const [seconds, micros] = await client.time();
    const redisNow = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const ahead = redisNow + 10_000;
    const [refused] = await transport.claimTicks([{ task: 'T', dueAt: ahead }], 'me', {
      maxAhead: 250,
    });
    expect(refused).toMatchObject({ won: false, early: true });
    expect(refused!.serverTime).toBeGreaterThanOrEqual(redisNow);
    expect(refused!.serverTime).toBeLessThan(redisNow + 5_000);
    expect(await transport.claimRecords(['T'])).toEqual(new Map());

    const [due] = await transport.claimTicks([{ task: 'T', dueAt: redisNow }], 'me', {
      maxAhead: 250,
    });
    expect(due).toMatchObject({ won: true });
    expect(due!.early).toBeUndefined();
  });

  it('refuses a claim that reached Redis after its sender stopped waiting, so the next winner counts the whole gap', async () => {
    const [seconds, micros] = await client.time();
    const redisNow = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const p = redisNow - 40_000;
    const dk = redisNow - 10_000;
    const e = redisNow;
    const guard = (sentAt: number) => ({ maxAhead: 250, sentAt, maxAge: 2_250 });
    // A claims p on time; its claim of dk is held up 10 s (Redis frozen) and lands unheard.
    await transport.claimTicks([{ task: 'S', dueAt: p }], 'A', guard(redisNow));
    const [ghost] = await transport.claimTicks([{ task: 'S', dueAt: dk }], 'A', guard(dk));
    expect(ghost).toMatchObject({ won: false, stale: true });
    expect((await transport.claimRecords(['S'])).get('S')?.dueAt).toBe(p);
    // B, live, wins e and is told the previous claim was p: the gap p..e is counted in full.
    const [live] = await transport.claimTicks([{ task: 'S', dueAt: e }], 'B', guard(redisNow));
    expect(live).toMatchObject({ won: true, previous: p });
  });

  it('claims any instant without a guard (injected clocks drive far-off schedules)', async () => {
    const [claim] = await transport.claimTicks(
      [{ task: 'U', dueAt: Date.now() + 7 * 86_400_000 }],
      'me',
    );
    expect(claim).toEqual({ won: true, previous: undefined });
  });
});
