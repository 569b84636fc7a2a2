/**
 * Fault 10, secrets: a distinctive password (the sentinel) given wrong in a `redis://` URL,
 * in a `rediss://` URL (TLS against a plain server), in ioredis options and to a server
 * that wants none; given right to apps that live through a disconnect storm (CLIENT KILL
 * of every connection, redis-server killed and restarted); and to the CLI, wrong and
 * right. The sentinel — raw, URL-encoded, base64 or any part naming its random core —
 * appears 0 times in stdout, stderr, Nest log lines, thrown boot errors, `/health` (and
 * `/metrics`, `/history`) bodies, CLI output, and the data our apps wrote to Redis.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from '../src/helpers.js';
import { pick, report, Scenario, type FaultApp } from './harness/index.js';
import { cliII, recordFiles, startII, until, type IIApp } from './support-ii.js';

const ROUNDS = pick(6, 20);

let scenarios: Scenario[] = [];
afterEach(async () => {
  await Promise.all(scenarios.map((scenario) => scenario.dispose()));
  scenarios = [];
});

async function own(prefix: string, redis: { password?: string } = {}): Promise<Scenario> {
  const started = await new Scenario(prefix, redis).start();
  scenarios.push(started);
  return started;
}

// Special characters on purpose: the URL carries it percent-encoded, ioredis decodes it.
// Written unencoded in a URL, `tail:1` reads as host and port and the rest as a path.
const core = `S3ntinel-${randomBytes(6).toString('hex')}`;
const tail = `t41l${randomBytes(4).toString('hex')}`;
const SENTINEL = `${core}@${tail}:1/d%`;
const ENCODED = encodeURIComponent(SENTINEL);

/** Occurrences of the sentinel in any form: its core or tail (raw, encoded, cut) or base64. */
function leaks(text: string): number {
  const count = (needle: string) => text.split(needle).length - 1;
  return count(core) + count(tail) + count(Buffer.from(SENTINEL).toString('base64'));
}

/** Every channel's text, summed over all cases. */
const channels = {
  stdout: '',
  stderr: '',
  log: '',
  thrown: '',
  health: '',
  http: '',
  cli: '',
  redis: '',
};

function collect(apps: IIApp[]): void {
  for (const app of apps) {
    channels.stdout += app.stdout();
    channels.stderr += app.stderr();
  }
}

/** GET /health, /health/live, /health/tasks; the other bodies go to `http`. */
async function probe(app: FaultApp): Promise<number> {
  let status = 0;
  for (const path of ['/health', '/health/live']) {
    const answer = await app.get(path).catch((error: Error) => ({ status: 0, text: '' + error }));
    channels.health += answer.text + '\n';
    if (path === '/health') status = answer.status;
  }
  for (const path of ['/metrics', '/history/FaultTick']) {
    channels.http += (await app.get(path).catch((error: Error) => ({ text: '' + error }))).text;
  }
  return status;
}

/** Every key and value under the scenario's Redis. */
async function redisText(target: Scenario): Promise<string> {
  const client = target.redis.client();
  try {
    let text = '';
    for (const key of await client.keys('*')) {
      const type = await client.type(key);
      const value =
        type === 'string'
          ? await client.get(key)
          : type === 'hash'
            ? await client.hgetall(key)
            : type === 'list'
              ? await client.lrange(key, 0, -1)
              : type === 'zset'
                ? await client.zrange(key, 0, -1, 'WITHSCORES')
                : type === 'set'
                  ? await client.smembers(key)
                  : type === 'stream'
                    ? await client.xrange(key, '-', '+')
                    : type;
      text += `${key} ${JSON.stringify(value)}\n`;
    }
    return text;
  } finally {
    client.disconnect();
  }
}

describe('Faults: secrets', () => {
  it(
    'the sentinel password appears 0 times in any output, wrong or right, through a disconnect storm',
    { timeout: 120_000 },
    async (context) => {
      // W wants another password (the sentinel is wrong), N wants none, R wants the sentinel.
      const wrong = await own('faults:secrets:w', {
        password: `other-${randomBytes(4).toString('hex')}`,
      });
      const none = await own('faults:secrets:n');
      const right = await own('faults:secrets:r', { password: SENTINEL });
      const host = '127.0.0.1';
      const wrongUrl = `redis://:${ENCODED}@${host}:${wrong.redis.port}`;
      const wrongOptions = { host, port: wrong.redis.port, password: SENTINEL };
      expect(right.redis.url).toContain(ENCODED);

      // 1. Wrong passwords: each boot fails (or, for N, goes on with ioredis's warning).
      const failing = [
        startII(wrong, { redis: wrongUrl, http: true, connectTimeout: 3_000 }),
        startII(wrong, {
          redis: `rediss://:${ENCODED}@${host}:${wrong.redis.port}`,
          http: true,
          connectTimeout: 2_000,
        }),
        startII(wrong, { redis: wrongOptions, http: true, connectTimeout: 3_000 }),
        startII(wrong, { redis: { ...wrongOptions, username: 'default' }, connectTimeout: 3_000 }),
        // ioredis reads a password from the query too.
        startII(wrong, {
          redis: `redis://${host}:${wrong.redis.port}/?password=${ENCODED}`,
          connectTimeout: 3_000,
        }),
        // Not percent-encoded, as a REDIS_URL is often written: the URL does not parse.
        startII(wrong, {
          redis: `redis://:${SENTINEL}@${host}:${wrong.redis.port}`,
          http: true,
          connectTimeout: 3_000,
        }),
      ];
      const exits = await Promise.all(failing.map((app) => app.app.exited));
      const bootErrors = failing.filter((app) => app.stderr().includes('BOOT-ERROR')).length;
      const noAuth = startII(none, {
        redis: `redis://:${ENCODED}@${host}:${none.redis.port}`,
        http: true,
        tick: { run: 'queue' },
      });
      await noAuth.app.ready;
      await probe(noAuth.app);

      // 2. The right password, as a URL and as options, through a disconnect storm.
      const storming = [
        startII(right, { http: true, tick: { run: 'queue', lock: true }, reconnectMaxDelay: 500 }),
        startII(right, {
          redis: { host, port: right.redis.port, password: SENTINEL },
          http: true,
          tick: { run: 'inline' },
          reconnectMaxDelay: 500,
        }),
      ];
      await Promise.all(storming.map((app) => app.app.ready));
      let restarts = 0;
      let killed = 0;
      let downBodies = 0;
      for (let round = 1; round <= ROUNDS; round++) {
        await sleep(1_000);
        if (round % 3 === 0) {
          channels.redis += await redisText(right);
          await right.redis.kill();
          restarts++;
          await sleep(300);
          for (const app of storming) if ((await probe(app.app)) !== 200) downBodies++;
          await sleep(700);
          await right.redis.start();
        } else {
          const client = right.redis.client();
          for (const type of ['normal', 'pubsub']) {
            killed += Number(await client.call('CLIENT', 'KILL', 'TYPE', type, 'SKIPME', 'yes'));
          }
          client.disconnect();
          for (const app of storming) if ((await probe(app.app)) !== 200) downBodies++;
        }
      }
      const recovered = await until(async () => {
        const statuses = await Promise.all(storming.map((app) => probe(app.app)));
        return statuses.every((status) => status === 200);
      }, 30_000);
      channels.redis += await redisText(right);

      // 3. The CLI: the sentinel wrong (URL and options) and right (URL).
      const cliRuns = [
        ...(await Promise.all([
          cliII(wrong, { redis: wrongUrl, connectTimeout: 3_000 }, ['list']),
          cliII(wrong, { redis: wrongOptions, connectTimeout: 3_000 }, ['history', 'FaultTick']),
          cliII(
            wrong,
            { redis: `redis://:${SENTINEL}@${host}:${wrong.redis.port}`, connectTimeout: 3_000 },
            ['list'],
          ),
        ])),
        ...(await Promise.all([
          cliII(right, {}, ['list']),
          cliII(right, {}, ['run', 'Held', '--args', '[10]']),
          cliII(right, {}, ['history', 'FaultTick', '--json']),
          cliII(right, { redis: { host, port: right.redis.port, password: SENTINEL } }, [
            'enqueue',
            'FaultJob',
            '--args',
            '[{"n":1,"app":"cli"}]',
          ]),
        ])),
      ];
      for (const run of cliRuns) channels.cli += run.stdout + run.stderr;

      await Promise.all([right, none].map((s) => s.stopAll()));
      for (const s of [wrong, none, right]) {
        channels.log += recordFiles(s.records.dir, 'log');
        channels.thrown += recordFiles(s.records.dir, 'thrown');
      }
      collect([...failing, noAuth, ...storming]);

      const figures: Record<string, number | string> = Object.fromEntries(
        Object.entries(channels).map(([name, text]) => [`${name} leaks`, leaks(text)]),
      );
      Object.assign(figures, {
        cases: failing.length + 1 + storming.length + cliRuns.length,
        'failed boots': exits.filter((exit) => exit.code !== 0).length,
        'storm rounds': ROUNDS,
        'connections killed': killed,
        'redis restarts': restarts,
        'non-200 bodies in storm': downBodies,
        recovered: recovered ? 'yes' : 'no',
        'cli exits': cliRuns.map((run) => run.code).join('/'),
        'bytes checked': Object.values(channels).reduce((sum, text) => sum + text.length, 0),
      });
      report(context, '10. secrets', figures);

      expect(
        Object.fromEntries(Object.entries(channels).map(([name, text]) => [name, leaks(text)])),
      ).toEqual({ stdout: 0, stderr: 0, log: 0, thrown: 0, health: 0, http: 0, cli: 0, redis: 0 });
      // The cases did what they are for: each wrong boot failed with a thrown error that
      // was printed, the storm cut connections and was lived through, the CLI answered.
      expect(exits.map((exit) => exit.code)).toEqual([1, 1, 1, 1, 1, 1]);
      expect(bootErrors).toBe(6);
      expect(channels.thrown).toContain('RedisConnectionError');
      expect(killed).toBeGreaterThan(0);
      expect(downBodies).toBeGreaterThan(0);
      expect(recovered).toBe(true);
      expect(cliRuns.map((run) => run.code)).toEqual([1, 1, 1, 0, 0, 0, 0]);
      expect(channels.cli).toContain('Cannot reach Redis');
    },
  );
});
