/**
 * Fault 9: oversized arguments. Arguments whose JSON is over `maxArgsSize` (default 512 KiB)
 * are rejected at enqueue, by every way to enqueue, with an error naming the task, the size
 * and the limit, and nothing reaches Redis (its keys are counted before and after). The
 * limit is in bytes of UTF-8, inclusive, and the option is honoured and validated.
 */
import 'reflect-metadata';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Interactor,
  Interactors,
  InteractorsModule,
  InvalidModuleOptionsError,
  Task,
  TaskArgumentsTooLargeError,
  type InteractorsModuleOptions,
} from '../../src/index.js';
import { resolveConfig } from '../../src/interactors.config.js';
import { pick, report, Scenario } from './harness/index.js';

/** Rejections timed per way of enqueueing. */
const REPEAT = pick(3, 20);
const DEFAULT_LIMIT = 524_288;

@Task({ run: 'queue' })
class BigArgs extends Interactor {
  call(_payload: unknown): void {}
}

let scenario: Scenario | undefined;
const apps: INestApplicationContext[] = [];
const clients: Redis[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
  for (const client of clients.splice(0)) client.disconnect();
  await scenario?.dispose();
  scenario = undefined;
});

/** A producer-only app (no worker: jobs stay in Redis, where they can be counted). */
async function producer(options: InteractorsModuleOptions): Promise<Interactors> {
  @Module({
    imports: [InteractorsModule.forRoot({ roles: [], metrics: false, history: false, ...options })],
    providers: [BigArgs],
  })
  class ProducerModule {}
  const app = await NestFactory.createApplicationContext(ProducerModule, { logger: false });
  apps.push(app);
  return app.get(Interactors);
}

/** A string argument whose JSON (`["…"]`) is exactly `bytes` long: 4 bytes of brackets and quotes. */
const sized = (bytes: number, char = 'x') => char.repeat((bytes - 4) / Buffer.byteLength(char));

/** Every key of the scenario's Redis, sorted, with its DBSIZE. */
async function keys(redis: Redis): Promise<{ size: number; keys: string[] }> {
  return { size: await redis.dbsize(), keys: (await redis.keys('*')).toSorted() };
}

describe('Faults: oversized arguments', () => {
  it(
    '9. arguments over maxArgsSize are rejected at enqueue, naming task, size and limit; nothing stored',
    { timeout: 60_000 },
    async (context) => {
      scenario = await new Scenario('faults:oversized').start();
      const redis = scenario.redis.client();
      clients.push(redis);
      const interactors = await producer({ redis: scenario.redis.url, prefix: scenario.prefix });
      // One ordinary enqueue first, so the queue's own keys exist before counting.
      await interactors.enqueue(BigArgs, 'warm-up');

      const over = sized(1_048_576 + 4);
      const ways: Array<[string, () => Promise<string>]> = [
        ['enqueue(Class)', () => interactors.enqueue(BigArgs, over)],
        ['enqueue(name)', () => interactors.enqueue('BigArgs', over)],
        ['enqueueTo', () => interactors.enqueueTo('default', BigArgs, over)],
        ['with().enqueue', () => interactors.with({ delay: 60_000 }).enqueue(BigArgs, over)],
        [
          'with().enqueueTo',
          () => interactors.with({ jobId: 'big-one' }).enqueueTo('default', 'BigArgs', over),
        ],
      ];
      const before = await keys(redis);
      const problems: string[] = [];
      const rejectMs: number[] = [];
      for (const [way, enqueue] of ways) {
        for (let i = 0; i < REPEAT; i++) {
          const started = performance.now();
          const error = await enqueue().then(
            (id) => new Error(`accepted as job ${id}`),
            (caught: unknown) => caught,
          );
          rejectMs.push(performance.now() - started);
          const ok =
            error instanceof TaskArgumentsTooLargeError &&
            error.task === 'BigArgs' &&
            error.size === 1_048_580 &&
            error.limit === DEFAULT_LIMIT &&
            error.message.includes('Task "BigArgs"') &&
            error.message.includes('1048580 bytes') &&
            error.message.includes(`limit of ${DEFAULT_LIMIT} bytes`) &&
            error.message.includes('maxArgsSize');
          if (!ok) problems.push(`${way}: ${String(error)}`);
        }
      }
      // Bytes, not characters: 300,000 "é" are 600,004 bytes of JSON.
      const multibyte = await interactors
        .enqueue(BigArgs, 'é'.repeat(300_000))
        .catch((caught: unknown) => caught);
      const after = await keys(redis);

      // The limit is inclusive: exactly 512 KiB of JSON is stored, one byte more is not.
      const atLimit = await interactors.enqueue(BigArgs, sized(DEFAULT_LIMIT));
      const storedAtLimit = Buffer.byteLength(
        JSON.parse((await redis.hget(`${scenario.prefix}:default:${atLimit}`, 'data'))!).args,
      );
      const oneOver = await interactors
        .enqueue(BigArgs, sized(DEFAULT_LIMIT + 1))
        .catch((caught: unknown) => caught);

      // The option is honoured: 1 KiB.
      const small = await producer({
        redis: scenario.redis.url,
        prefix: `${scenario.prefix}:small`,
        maxArgsSize: 1_024,
      });
      const smallAt = await small.enqueue(BigArgs, sized(1_024)).then(
        () => 'accepted',
        (caught: unknown) => String(caught),
      );
      const smallOver = await small
        .enqueue(BigArgs, sized(1_025))
        .catch((caught: unknown) => caught);
      // And on the in-memory transport, through the same enqueue path.
      const memory = await producer({ maxArgsSize: 1_024 });
      const memoryOver = await memory
        .enqueue(BigArgs, sized(2_000))
        .catch((caught: unknown) => caught);

      // Invalid values are boot errors naming the option.
      const invalid = [0, -1, 1.5, '512k', Number.NaN, 2 ** 40, null].map((value) => {
        try {
          resolveConfig({ maxArgsSize: value as number }, undefined, undefined, {});
          return `accepted ${String(value)}`;
        } catch (error) {
          return error instanceof InvalidModuleOptionsError &&
            /option "maxArgsSize" must be a whole number of bytes/.test(error.message)
            ? 'refused'
            : String(error);
        }
      });

      report(context, '9. oversized arguments', {
        'default limit (bytes)': DEFAULT_LIMIT,
        'rejected, task+size+limit named': `${ways.length * REPEAT - problems.length} of ${ways.length * REPEAT} (${ways.length} ways)`,
        'keys before / after rejections': `${before.size} / ${after.size}`,
        'reject time for 1 MiB p50 / max (ms)': `${rejectMs.toSorted((a, b) => a - b)[Math.floor(rejectMs.length / 2)]!.toFixed(2)} / ${Math.max(...rejectMs).toFixed(2)}`,
        'multibyte 300,000 chars measured as (bytes)':
          multibyte instanceof TaskArgumentsTooLargeError ? multibyte.size : String(multibyte),
        'stored at the limit (bytes)': storedAtLimit,
        'limit 1,024: at / over': `${smallAt} / ${smallOver instanceof TaskArgumentsTooLargeError ? 'rejected' : String(smallOver)}`,
        'in-memory transport over limit':
          memoryOver instanceof TaskArgumentsTooLargeError ? 'rejected' : String(memoryOver),
        'invalid option values refused': `${invalid.filter((v) => v === 'refused').length} of ${invalid.length}`,
      });

      expect(problems).toEqual([]);
      expect(after).toEqual(before);
      expect(multibyte).toBeInstanceOf(TaskArgumentsTooLargeError);
      expect((multibyte as TaskArgumentsTooLargeError).size).toBe(600_004);
      expect(storedAtLimit).toBe(DEFAULT_LIMIT);
      expect(oneOver).toBeInstanceOf(TaskArgumentsTooLargeError);
      expect((oneOver as TaskArgumentsTooLargeError).size).toBe(DEFAULT_LIMIT + 1);
      expect(smallAt).toBe('accepted');
      expect(smallOver).toBeInstanceOf(TaskArgumentsTooLargeError);
      expect((smallOver as TaskArgumentsTooLargeError).message).toContain(
        'arguments are 1025 bytes serialized, over the limit of 1024 bytes',
      );
      expect(memoryOver).toBeInstanceOf(TaskArgumentsTooLargeError);
      expect(invalid).toEqual(invalid.map(() => 'refused'));
    },
  );
});
