import { Redis, type RedisOptions } from 'ioredis';
import { RedisConnectionError } from '../errors/redis-connection.error.js';
import type { RedisConnection } from '../interfaces/module-options.interface.js';
import { within } from '../utils/within.js';

/** Whether ioredis takes `input` for a socket path (a `/` not followed by another). @internal */
export function isSocketPath(input: string): boolean {
  return input.startsWith('/') && !input.startsWith('//');
}

/**
 * A Redis URL read as ioredis reads it (`redis://` / `rediss://`, `//host`, or a bare
 * `host:port` given a `redis://` scheme); undefined for a port number, a socket path or
 * what does not parse. One reading for describing, scrubbing and checking a URL, so that
 * none of them can see a password where another sees a host. @internal
 */
export function readRedisUrl(input: string): { url: URL; scheme: boolean } | undefined {
  if (/^\d+$/.test(input) || isSocketPath(input)) return undefined;
  const scheme = /^rediss?:\/\//i.test(input);
  const full = scheme ? input : input.startsWith('//') ? `redis:${input}` : `redis://${input}`;
  if (!URL.canParse(full)) return undefined;
  return { url: new URL(full), scheme: scheme || input.startsWith('//') };
}

/** `host:port` (or the socket path) of a connection, never its credentials. @internal */
export function describeRedis(input: RedisConnection): string {
  if (typeof input === 'string') {
    if (/^\d+$/.test(input)) return `localhost:${input}`;
    if (isSocketPath(input)) return input.split('?')[0]!;
    const read = readRedisUrl(input);
    if (!read) return 'an unparsable Redis URL';
    // Without a scheme ioredis takes a path for a socket path (`unix:/tmp/redis.sock`).
    if (!read.scheme && read.url.pathname.length > 1) return read.url.pathname;
    return `${read.url.hostname}:${read.url.port || 6379}`;
  }
  const options: RedisOptions = input instanceof Redis ? input.options : input;
  if (options.path) return options.path;
  return `${options.host ?? 'localhost'}:${options.port ?? 6379}`;
}

/** The password of a connection, so that it can be scrubbed from any text we emit. @internal */
export function redisSecrets(input: RedisConnection): string[] {
  if (typeof input === 'string') {
    const url = readRedisUrl(input)?.url;
    // ioredis also reads `?password=` from the query (the last one given; a socket path's
    // too): every one given is scrubbed.
    const query = url
      ? url.searchParams
      : new URLSearchParams(input.includes('?') ? input.slice(input.indexOf('?') + 1) : '');
    const secrets = query.getAll('password');
    if (url) {
      // A user name without a password is sent as the password (AUTH <name>): a secret too.
      const credentials = url.password ? [url.password] : [url.username];
      // Each form on its own, so that one that does not decode still leaves the raw one
      // scrubbed.
      for (const raw of credentials) {
        secrets.push(raw);
        try {
          secrets.push(decodeURIComponent(raw));
        } catch {
          // kept raw only
        }
      }
    }
    return secrets.filter(Boolean);
  }
  const options: RedisOptions = input instanceof Redis ? input.options : input;
  return [options.password, options.sentinelPassword].filter((secret): secret is string =>
    Boolean(secret),
  );
}

/** Replaces every secret in a text by `***`. @internal */
export function scrub(text: string, secrets: readonly string[]): string {
  return secrets.reduce((out, secret) => out.split(secret).join('***'), text);
}

/** A new client from a URL, options or an existing client (duplicated, never reused). @internal */
export function createRedisClient(input: RedisConnection, overrides: RedisOptions): Redis {
  if (input instanceof Redis) return input.duplicate(overrides);
  // ioredis turns TLS on for a lowercase `rediss://` only: `REDISS://` would send the
  // password in the clear.
  if (typeof input === 'string') {
    return new Redis(
      input.replace(/^rediss?:\/\//i, (scheme) => scheme.toLowerCase()),
      overrides,
    );
  }
  return new Redis({ ...input, ...overrides });
}

/**
 * Connects a `lazyConnect` client, letting ioredis retry until `timeoutMs`, then gives up
 * with an error that names `host:port` and the last failure, never the password.
 * @internal
 */
export async function connectRedis(
  client: Redis,
  input: RedisConnection,
  timeoutMs: number,
): Promise<void> {
  let lastFailure: string | undefined;
  let fail: (error: Error) => void = () => undefined;
  const onError = (error: Error & { code?: string }) => {
    lastFailure = scrub(error.code ?? error.message, redisSecrets(input));
    // Wrong credentials will not fix themselves: fail now rather than at the deadline.
    if (/^(WRONGPASS|NOAUTH|ERR AUTH|ERR invalid password)/.test(error.message)) {
      fail(new RedisConnectionError(describeRedis(input), timeoutMs, lastFailure));
    }
  };
  client.on('error', onError);
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      fail = reject;
      timer = setTimeout(
        () => reject(new RedisConnectionError(describeRedis(input), timeoutMs, lastFailure)),
        timeoutMs,
      );
      client.once('ready', resolve);
      // A failed first attempt rejects here; ioredis keeps retrying until 'ready' or the deadline.
      client.connect().catch(() => undefined);
    });
  } catch (error) {
    client.disconnect();
    throw error;
  } finally {
    clearTimeout(timer);
    client.off('error', onError);
  }
}

/**
 * How long closing waits for Redis to acknowledge QUIT. A frozen or vanished server never
 * does: past this the socket is dropped, so shutdown stays within its grace. @internal
 */
export const QUIT_WAIT_MS = 500;

/** QUIT, or past `ms` a plain disconnect (nothing is lost: QUIT only waits for replies). @internal */
export async function quitWithin(client: Redis, ms = QUIT_WAIT_MS): Promise<void> {
  if (!(await within(client.quit(), ms))) client.disconnect();
}
