/** Queues' BullMQ stalled-job settings are checked at boot, every mistake named. */
import { describe, expect, it } from 'vitest';
import { InvalidModuleOptionsError } from '../../src/index.js';
import { resolveConfig } from '../../src/interactors.config.js';

const problemsOf = (queues: Record<string, Record<string, unknown>>): readonly string[] => {
  try {
    resolveConfig({}, queues as never, undefined, {});
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidModuleOptionsError);
    return (error as InvalidModuleOptionsError).problems;
  }
};

describe('queue settings', () => {
  it('passes lockDuration, stalledInterval and maxStalledCount through when sound', () => {
    const config = resolveConfig(
      {},
      {
        reports: {
          concurrency: 2,
          lockDuration: 60_000,
          stalledInterval: 15_000,
          maxStalledCount: 2,
        },
      },
      undefined,
      {},
    );
    expect(config.queues.get('reports')).toEqual({
      concurrency: 2,
      lockDuration: 60_000,
      stalledInterval: 15_000,
      maxStalledCount: 2,
    });
  });

  it('refuses values a timer cannot hold, locks too short to renew, and unknown settings', () => {
    expect(
      problemsOf({
        a: { lockDuration: 10 },
        b: { stalledInterval: 2 ** 31 },
        c: { maxStalledCount: -1 },
        d: { lockDuration: 1.5e3 + 0.5 },
        e: { lockDurationMs: 1000 },
      }),
    ).toEqual([
      'queue "a": lockDuration 10 must be a whole number from 500 to 2147483647 (milliseconds)',
      'queue "b": stalledInterval 2147483648 must be a whole number from 500 to 2147483647 (milliseconds)',
      'queue "c": maxStalledCount -1 must be a whole number from 0 to 1000',
      'queue "d": lockDuration 1500.5 must be a whole number from 500 to 2147483647 (milliseconds)',
      'queue "e": setting "lockDurationMs" is not known; use concurrency, lockDuration, stalledInterval, maxStalledCount',
    ]);
  });
});
