/**
 * A Redis URL without a scheme (`user:pw@host:6379`, `//:pw@host`) is one ioredis accepts:
 * its password must be scrubbed like any other, its target named without it, and a
 * password cut short by an unencoded `/` refused rather than turned into a socket path.
 */
import { describe, expect, it } from 'vitest';
import { InvalidModuleOptionsError } from '../../src/index.js';
import { resolveConfig } from '../../src/interactors.config.js';
import {
  createRedisClient,
  describeRedis,
  redisSecrets,
} from '../../src/transport/redis-connection.js';

describe('Redis URLs read as ioredis reads them', () => {
  it.for([
    ['user:s3cretpw@cache.internal:6380', 'cache.internal:6380'],
    ['//:s3cretpw@cache.internal', 'cache.internal:6379'],
    [':s3cretpw@cache.internal:6380', 'cache.internal:6380'],
    ['redis://:s3cretpw@cache.internal:6380/2', 'cache.internal:6380'],
  ] as const)('%s: the password is a secret, the target is %s', ([url, target]) => {
    expect(redisSecrets(url)).toContain('s3cretpw');
    expect(describeRedis(url)).toBe(target);
    expect(describeRedis(url)).not.toContain('s3cret');
    expect(() => resolveConfig({ redis: url }, undefined, undefined, {})).not.toThrow();
  });

  it('names a port number or a socket path as the target', () => {
    expect(describeRedis('6390')).toBe('localhost:6390');
    expect(describeRedis('/tmp/redis.sock?password=s3cretpw')).toBe('/tmp/redis.sock');
    expect(redisSecrets('/tmp/redis.sock?password=s3cretpw')).toEqual(['s3cretpw']);
  });

  it.for([':pa@zq/xvsecret@cache.internal', 'u:pa@zq/xv@cache.internal:6379'])(
    'refuses %s (no scheme, a path: ioredis would take it for a socket path) without echoing it',
    (url) => {
      let error: unknown;
      try {
        resolveConfig({ redis: url }, undefined, undefined, {});
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(InvalidModuleOptionsError);
      expect(String((error as Error).message)).not.toMatch(/zq|xv/);
    },
  );
});

describe('what ioredis sends is what is scrubbed', () => {
  it('scrubs every ?password= given (ioredis sends the last) and a user name sent alone', () => {
    expect(redisSecrets('redis://cache.internal?password=first1&password=last22')).toEqual(
      expect.arrayContaining(['first1', 'last22']),
    );
    expect(redisSecrets('/tmp/redis.sock?password=one111&password=two222')).toEqual([
      'one111',
      'two222',
    ]);
    // `redis://name@host` makes ioredis send AUTH name.
    expect(redisSecrets('redis://tok3n@cache.internal')).toContain('tok3n');
  });

  it('accepts a scheme-less socket URL without credentials, naming the socket', () => {
    expect(() =>
      resolveConfig({ redis: 'unix:/tmp/redis.sock' }, undefined, undefined, {}),
    ).not.toThrow();
    expect(describeRedis('unix:/tmp/redis.sock')).toBe('/tmp/redis.sock');
  });

  it('connects with TLS for an uppercase REDISS:// scheme, as for rediss://', () => {
    const client = createRedisClient('REDISS://:s3cretpw@cache.internal:6380', {
      lazyConnect: true,
    });
    try {
      expect(client.options.tls).toBeDefined();
    } finally {
      client.disconnect();
    }
  });
});
