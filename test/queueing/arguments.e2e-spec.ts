import { describe, expect, it } from 'vitest';
import { InvalidTaskArgumentsError } from '../../src/index.js';
import { EchoTask, GateTask } from './fixtures.js';
import { harness, type TransportKind } from './harness.js';
import { jobKeysUnder, sleep, waitUntil } from './helpers.js';

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

function circularObject(): unknown {
  const root: { x: { y: { back?: unknown } } } = { x: { y: {} } };
  root.x.y.back = root;
  return root;
}

function circularArray(): unknown {
  const list: unknown[] = [1];
  list.push({ list });
  return list;
}

/** [1, <hole>, 3] */
function holey(): unknown {
  const list: number[] = [];
  list[0] = 1;
  list[2] = 3;
  return list;
}

/** [label, arguments, path of the bad value, what the message calls it] */
const REJECTED: [string, unknown[], string, string][] = [
  ['a function', [() => 1], 'args[0]', 'a function'],
  ['a method in an object', ['ok', { onDone() {} }], 'args[1].onDone', 'a function'],
  ['a symbol', [Symbol('s')], 'args[0]', 'a symbol'],
  ['a symbol in an object', [{ kind: Symbol('k') }], 'args[0].kind', 'a symbol'],
  ['a BigInt', [10n], 'args[0]', 'a BigInt'],
  ['a BigInt deep down', [{ a: [{ b: 1n }] }], 'args[0].a[0].b', 'a BigInt'],
  ['undefined inside an array', ['a', [undefined]], 'args[1][0]', 'undefined'],
  ['undefined as a middle argument', [undefined, 'x'], 'args[0]', 'undefined'],
  ['NaN', [NaN], 'args[0]', 'NaN'],
  ['Infinity', [{ n: Infinity }], 'args[0].n', 'Infinity'],
  ['-Infinity', [[1, -Infinity]], 'args[0][1]', '-Infinity'],
  ['a Map', [new Map([['a', 1]])], 'args[0]', 'a Map instance'],
  ['a Set', [{ tags: new Set([1]) }], 'args[0].tags', 'a Set instance'],
  ['a Buffer', [Buffer.from('x')], 'args[0]', 'a Buffer instance'],
  ['a typed array', [new Uint8Array(2)], 'args[0]', 'a Uint8Array instance'],
  ['a class instance', [new Point(1, 2)], 'args[0]', 'a Point instance'],
  ['a class instance in an array', [[{ p: new Point(1, 2) }]], 'args[0][0].p', 'a Point instance'],
  ['a Promise', [Promise.resolve(1)], 'args[0]', 'a Promise instance'],
  ['an invalid Date', [new Date('not a date')], 'args[0]', 'an invalid Date'],
  ['a circular object', [circularObject()], 'args[0].x.y.back', 'a circular reference'],
  ['a circular array', [circularArray()], 'args[0][1].list', 'a circular reference'],
  ['a nested path', [{ a: { b: () => 1 } }], 'args[0].a.b', 'a function'],
  ['a key that is not an identifier', [{ 'my key': NaN }], 'args[0]["my key"]', 'NaN'],
  ['an array with a hole', [holey()], 'args[0]', 'an array with a hole at [1]'],
];

describe.each<TransportKind>(['redis', 'memory'])('enqueue arguments (%s transport)', (kind) => {
  const { boot } = harness(kind, 'arguments');

  describe('rejected, with the task and the path of the bad value', () => {
    it.each(REJECTED)('%s', async (_label, args, path, what) => {
      // No worker role: with Redis, no job key may appear under the prefix.
      const { interactors, prefix } = await boot({ roles: ['scheduler'] });
      for (const attempt of [
        () => interactors.enqueue(EchoTask, ...args),
        () => interactors.enqueueTo('gates', EchoTask, ...args),
        () => interactors.with({ delay: 10, jobId: 'never-stored' }).enqueue(EchoTask, ...args),
      ]) {
        const error = await attempt().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(InvalidTaskArgumentsError);
        const invalid = error as InvalidTaskArgumentsError;
        expect(invalid.name).toBe('InvalidTaskArgumentsError');
        expect(invalid.task).toBe('EchoTask');
        expect(invalid.path).toBe(path);
        expect(invalid.message).toContain(
          `Task "EchoTask": ${path} is ${what}, which would not arrive unchanged`,
        );
        expect(invalid.message).toContain('Dates arrive as ISO strings');
      }
      if (kind === 'redis') expect(await jobKeysUnder(prefix)).toEqual([]);
    });

    it('(control for the "nothing stored" check: a valid enqueue does write under the prefix)', async () => {
      const { interactors, prefix } = await boot({ roles: ['scheduler'] });
      await interactors.enqueue(EchoTask, 'fine');
      if (kind === 'redis') expect((await jobKeysUnder(prefix)).length).toBeGreaterThan(0);
    });

    // BUG (src/queueing/job-envelope.ts, checkValue): only Object.entries() is checked, so
    // symbol-keyed properties are dropped silently by JSON.stringify: `{ [sym]: 1 }` arrives as
    // `{}`, although the issue asks to reject anything that would not come back equal.
    it('a symbol-keyed property (dropped by JSON) is rejected', async () => {
      const { interactors } = await boot({ roles: ['scheduler'] });
      const error = await interactors
        .enqueue(EchoTask, { ok: 1, [Symbol('secret')]: 2 })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidTaskArgumentsError);
      expect((error as InvalidTaskArgumentsError).path).toMatch(/^args\[0\]/);
    });

    it('the first bad value is named when there are several', async () => {
      const { interactors } = await boot({ roles: ['scheduler'] });
      await expect(interactors.enqueue(EchoTask, 'ok', { a: 1, b: NaN }, () => 1)).rejects.toThrow(
        'Task "EchoTask": args[1].b is NaN',
      );
    });

    it('the error names the task it was enqueued for', async () => {
      const { interactors } = await boot({ roles: ['scheduler'] });
      const error = (await interactors
        .enqueue(GateTask, 1n as never)
        .catch((e: unknown) => e)) as Error;
      expect(error.message).toMatch(/^Task "GateTask": args\[0\] is a BigInt/);
    });

    it('prototype-polluting keys are rejected, naming their path; nothing is stored', async () => {
      const { interactors, prefix } = await boot({ roles: ['scheduler'] });
      const cases: [unknown, string][] = [
        [JSON.parse('{"__proto__":{"polluted":1}}'), 'args[0].__proto__'],
        [
          { a: [{ constructor: { prototype: { isAdmin: true } } }] },
          'args[0].a[0].constructor.prototype',
        ],
      ];
      for (const [arg, path] of cases) {
        const error = (await interactors.enqueue(EchoTask, arg).catch((e: unknown) => e)) as Error;
        expect(error).toBeInstanceOf(InvalidTaskArgumentsError);
        expect((error as InvalidTaskArgumentsError).path).toBe(path);
        expect(error.message).toContain('could pollute Object.prototype');
      }
      if (kind === 'redis') expect(await jobKeysUnder(prefix)).toEqual([]);
      // A constructor key that is not an object with a prototype is an ordinary key.
      await expect(interactors.enqueue(EchoTask, { constructor: 'Bob' })).resolves.toBeTruthy();
    });

    it('arguments nested deeper than the stack allows are rejected by name', async () => {
      const { interactors } = await boot({ roles: ['scheduler'] });
      let deep: unknown = [];
      for (let i = 0; i < 100_000; i++) deep = [deep];
      await expect(interactors.enqueue(EchoTask, deep)).rejects.toThrow(
        'Task "EchoTask": args is nested too deeply',
      );
    });

    it('nothing runs for a rejected enqueue (worker role on)', async () => {
      const { interactors, runs } = await boot();
      await expect(interactors.enqueue(EchoTask, new Map())).rejects.toThrow(
        InvalidTaskArgumentsError,
      );
      await expect(interactors.enqueue(EchoTask, [undefined])).rejects.toThrow(
        InvalidTaskArgumentsError,
      );
      await interactors.enqueue(EchoTask, 'control');
      await waitUntil(() => runs.all.length === 1, 5_000, 'the control run');
      await sleep(200);
      expect(runs.all.map((run) => run.args)).toEqual([['control']]);
    });
  });

  describe('accepted', () => {
    it('Dates are allowed and arrive as ISO strings, at any depth', async () => {
      const { interactors, runs } = await boot();
      const a = new Date(Date.UTC(2030, 4, 6, 7, 8, 9, 10));
      const b = new Date(0);
      await interactors.enqueue(EchoTask, a, { at: b, list: [a] });
      await waitUntil(() => runs.all.length === 1, 5_000, 'the run');
      expect(runs.all[0]!.args).toEqual([
        '2030-05-06T07:08:09.010Z',
        { at: '1970-01-01T00:00:00.000Z', list: ['2030-05-06T07:08:09.010Z'] },
      ]);
    });

    it('JSON values arrive equal: strings, finite numbers, booleans, null, arrays, plain and null-prototype objects', async () => {
      const { interactors, runs } = await boot();
      const bare = Object.assign(Object.create(null) as object, { k: 'v' });
      const args = [
        'ünïcødé ✓',
        0,
        -1.5,
        Number.MAX_SAFE_INTEGER,
        true,
        false,
        null,
        [],
        {},
        [[{ deep: [1, { x: null }] }]],
        bare,
      ];
      await interactors.enqueue(EchoTask, ...args);
      await waitUntil(() => runs.all.length === 1, 5_000, 'the run');
      expect(runs.all[0]!.args).toEqual([
        'ünïcødé ✓',
        0,
        -1.5,
        Number.MAX_SAFE_INTEGER,
        true,
        false,
        null,
        [],
        {},
        [[{ deep: [1, { x: null }] }]],
        { k: 'v' },
      ]);
    });

    it('the same object twice (shared, not circular) is accepted', async () => {
      const { interactors, runs } = await boot();
      const shared = { id: 7 };
      await interactors.enqueue(EchoTask, [shared, shared], { a: shared, b: shared });
      await waitUntil(() => runs.all.length === 1, 5_000, 'the run');
      expect(runs.all[0]!.args).toEqual([[{ id: 7 }, { id: 7 }], { a: { id: 7 }, b: { id: 7 } }]);
    });

    it('trailing undefined arguments and undefined properties are dropped (they read back the same)', async () => {
      const { interactors, runs } = await boot();
      await interactors.enqueue(EchoTask, 'a', { keep: 1, drop: undefined }, undefined, undefined);
      await waitUntil(() => runs.all.length === 1, 5_000, 'the run');
      expect(runs.all[0]!.args).toEqual(['a', { keep: 1 }]);
    });
  });
});
