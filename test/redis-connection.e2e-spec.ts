import { createServer, type Socket } from 'node:net';
import { inspect } from 'node:util';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { resolveConfig } from '../src/interactors.config.js';
import {
  Interactor,
  Interactors,
  InteractorsModule,
  InvalidModuleOptionsError,
  RedisConnectionError,
  Task,
  type RedisConnection,
} from '../src/index.js';
import {
  Apps,
  CapturingLogger,
  REDIS_URL,
  bootFailure,
  deleteKeys,
  freePort,
  isolateEnv,
  sleep,
  uniquePrefix,
  waitFor,
} from './src/helpers.js';
import { RunLog } from './src/run-log.js';

const SENTINEL = 'S3ntinel-Pa55';
/** Needs URL encoding; both its encoded and decoded forms must stay out of every output. */
const ODD_SENTINEL = 'S3nt!nel@Pa55/%';

@Task({ cron: '* * * * * *', run: 'inline' })
class EverySecond extends Interactor {
  constructor(private readonly log: RunLog) {
    super();
  }

  call(): void {
    this.log.start();
  }
}

isolateEnv();
const prefix = uniquePrefix('redis-connection');
const apps = new Apps();
afterEach(() => apps.closeAll());
afterAll(() => deleteKeys(prefix));

/**
 * Everything the process could print while a test runs: stdout, stderr, console and
 * Nest's Logger (which the capturing logger also receives). Nothing is passed through.
 */
function captureOutput() {
  const chunks: string[] = [];
  const keep = (...args: unknown[]) => {
    chunks.push(
      args.map((arg) => (typeof arg === 'string' ? arg : inspect(arg, { depth: 10 }))).join(' '),
    );
  };
  const streamSpy = (stream: NodeJS.WriteStream) =>
    vi.spyOn(stream, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
      keep(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString());
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as never);
  // Nest's Logger is spied on but still called, so the app's own logger sees its lines too.
  const loggerSpies = (['log', 'warn', 'error', 'debug', 'verbose', 'fatal'] as const).flatMap(
    (method) => [vi.spyOn(Logger.prototype, method), vi.spyOn(Logger, method)],
  );
  const spies = [
    streamSpy(process.stdout),
    streamSpy(process.stderr),
    ...(['log', 'info', 'warn', 'error', 'debug', 'trace'] as const).map((method) =>
      vi.spyOn(console, method).mockImplementation(keep),
    ),
    ...loggerSpies,
  ];
  return {
    text: () =>
      [
        ...chunks,
        ...loggerSpies.flatMap((spy) => spy.mock.calls.map((call) => inspect(call, { depth: 10 }))),
      ].join('\n'),
    restore: () => spies.forEach((spy) => spy.mockRestore()),
  };
}

/** Everything an error carries that could reach a log: message, stack, fields, causes. */
function describeError(error: unknown): string {
  const parts = [inspect(error, { depth: 10, showHidden: true })];
  try {
    parts.push(JSON.stringify(error));
  } catch {
    // circular: inspect above has it all
  }
  let cause = (error as { cause?: unknown })?.cause;
  while (cause) {
    parts.push(inspect(cause, { depth: 10 }));
    cause = (cause as { cause?: unknown }).cause;
  }
  return parts.join('\n');
}

/** Counts connections made to a port over a while: a leaked, still reconnecting client would show up. */
async function connectionsTo(port: number, ms: number): Promise<number> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  await sleep(ms);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return sockets.length;
}

describe('an unreachable Redis', () => {
  let port: number;
  let output: ReturnType<typeof captureOutput>;

  beforeEach(async () => {
    port = await freePort();
    output = captureOutput();
  });
  afterEach(() => output.restore());

  const shapes: Array<[string, (port: number) => RedisConnection, string[]]> = [
    ['a redis:// URL with a password', (p) => `redis://:${SENTINEL}@127.0.0.1:${p}`, [SENTINEL]],
    [
      'a redis:// URL with a user and password',
      (p) => `redis://admin:${SENTINEL}@127.0.0.1:${p}/2`,
      [SENTINEL],
    ],
    [
      'a rediss:// (TLS) URL with a password',
      (p) => `rediss://:${SENTINEL}@127.0.0.1:${p}`,
      [SENTINEL],
    ],
    [
      'a URL with a password that needs encoding',
      (p) => `redis://:${encodeURIComponent(ODD_SENTINEL)}@127.0.0.1:${p}`,
      [ODD_SENTINEL, encodeURIComponent(ODD_SENTINEL)],
    ],
    [
      'ioredis options { host, port, password }',
      (p) => ({ host: '127.0.0.1', port: p, password: SENTINEL }),
      [SENTINEL],
    ],
  ];

  it.each(shapes)(
    'fails the boot in bounded time, naming host:port and never the password: %s',
    async (_, connection, secrets) => {
      const logger = new CapturingLogger();
      const started = Date.now();
      const { error } = await bootFailure(
        {
          imports: [
            InteractorsModule.forRoot({
              redis: connection(port),
              prefix,
              connectTimeout: 1_500,
              roles: [],
            }),
          ],
          providers: [RunLog, EverySecond],
        },
        logger,
      );
      const took = Date.now() - started;

      expect(error).toBeInstanceOf(RedisConnectionError);
      expect(error.message).toContain(`127.0.0.1:${port}`);
      expect((error as RedisConnectionError).target).toBe(`127.0.0.1:${port}`);
      expect(error.message).toContain('1500 ms');
      // bounded by connectTimeout (1.5 s), with room for a busy machine; far below the 10 s default
      expect(took).toBeLessThan(6_000);

      const everything = [describeError(error), output.text(), logger.lines.join('\n')].join('\n');
      for (const secret of secrets) expect(everything).not.toContain(secret);
      expect(logger.lines.join('\n')).not.toContain(SENTINEL);
    },
  );

  it('refuses a URL that does not parse (a password not percent-encoded) without echoing it', async () => {
    // ioredis would throw Node's ERR_INVALID_URL, whose `input` property is the whole URL.
    const logger = new CapturingLogger();
    const { error } = await bootFailure(
      {
        imports: [
          InteractorsModule.forRoot({
            redis: `redis://:${ODD_SENTINEL}@127.0.0.1:${port}`,
            prefix,
            roles: [],
          }),
        ],
        providers: [RunLog, EverySecond],
      },
      logger,
    );

    expect(error).toBeInstanceOf(InvalidModuleOptionsError);
    expect(error.message).toContain('option "redis" is not a Redis URL that can be parsed');
    const everything = [describeError(error), output.text(), logger.lines.join('\n')].join('\n');
    // Parsed as is, `Pa55` (of the password) would be the host named in the error.
    expect(everything).not.toContain('Pa55');
    expect(everything).not.toContain('S3nt!nel');
  });

  it.for([
    'redis://default:12#34secret@127.0.0.1:6379',
    'redis://default:6380?x=secret@127.0.0.1',
    'redis://:p%zzsecret@127.0.0.1:6379',
  ])('refuses %s (a password cut short or undecodable) at option validation', (url) => {
    let error: unknown;
    try {
      resolveConfig({ redis: url }, undefined, undefined, {});
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidModuleOptionsError);
    expect(describeError(error)).not.toContain('secret');
  });

  it('leaves no client behind after the failed boot: nothing keeps reconnecting to that port', async () => {
    const { error } = await bootFailure({
      imports: [
        InteractorsModule.forRoot({
          redis: `redis://:${SENTINEL}@127.0.0.1:${port}`,
          prefix,
          connectTimeout: 1_500,
        }),
      ],
    });
    expect(error).toBeInstanceOf(RedisConnectionError);
    // A client still retrying (ioredis backs off at most a few hundred ms at this point)
    // would connect as soon as something listens there.
    expect(await connectionsTo(port, 2_000)).toBe(0);
  });

  it(
    'fails within about the default bound when connectTimeout is not given',
    { timeout: 30_000 },
    async () => {
      const started = Date.now();
      const { error } = await bootFailure({
        imports: [
          InteractorsModule.forRoot({
            redis: `redis://:${SENTINEL}@127.0.0.1:${port}`,
            prefix,
            roles: [],
          }),
        ],
      });
      const took = Date.now() - started;
      expect(error).toBeInstanceOf(RedisConnectionError);
      expect(error.message).toContain('10000 ms');
      expect(took).toBeGreaterThanOrEqual(9_000);
      expect(took).toBeLessThan(20_000);
      expect(output.text()).not.toContain(SENTINEL);
    },
  );
});

describe('a reachable Redis', () => {
  it('works with an existing ioredis client, and leaves that client open', async () => {
    const client = new Redis(REDIS_URL);
    try {
      const app = await apps.boot({
        imports: [InteractorsModule.forRoot({ redis: client, prefix })],
        providers: [RunLog, EverySecond],
      });
      await waitFor(() => app.get(RunLog).runs.length >= 1, 3_500, 'a tick');
      await expect(app.get(Interactors).call(EverySecond)).resolves.toBeUndefined();

      await app.close();
      await sleep(100);
      expect(client.status).toBe('ready');
      await expect(client.ping()).resolves.toBe('PONG');
    } finally {
      await client.quit();
    }
  });

  it.skipIf(new URL(REDIS_URL).password !== '')(
    'keeps a password given to a Redis that needs none out of every output',
    async () => {
      const output = captureOutput();
      try {
        const url = new URL(REDIS_URL);
        url.password = SENTINEL;
        const logger = new CapturingLogger();
        const app = await apps.boot(
          {
            imports: [InteractorsModule.forRoot({ redis: url.toString(), prefix })],
            providers: [RunLog, EverySecond],
          },
          logger,
        );
        await waitFor(() => app.get(RunLog).runs.length >= 1, 3_500, 'a tick');
        await app.close();
        expect([output.text(), logger.lines.join('\n')].join('\n')).not.toContain(SENTINEL);
        expect(logger.lines.length).toBeGreaterThan(0); // the capture did see the module's logs
      } finally {
        output.restore();
      }
    },
  );
});
