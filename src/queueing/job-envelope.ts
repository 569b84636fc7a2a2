import { InvalidTaskArgumentsError } from '../errors/invalid-task-arguments.error.js';
import { isTaskName } from '../interactors.constants.js';

/**
 * What a job carries. Arguments travel as an inner JSON string, so that bad arguments
 * are our error to report rather than BullMQ's parse failure. @internal
 */
export interface JobEnvelope {
  readonly v: 1;
  readonly task: string;
  /** JSON of the argument array. */
  readonly args: string;
  readonly runId: string;
  /** The due instant of the tick, for cron-enqueued jobs. */
  readonly dueAt?: number;
  /** Version of the enqueuing app. */
  readonly app?: string;
}

/**
 * Serializes `call()` arguments, rejecting anything that would not come back equal.
 * Trailing `undefined` arguments are dropped: a missing argument reads as undefined.
 * @internal
 */
export function encodeArgs(task: string, args: readonly unknown[]): string {
  let end = args.length;
  while (end > 0 && args[end - 1] === undefined) end--;
  const kept = args.slice(0, end);
  try {
    checkValue(task, kept, 'args', new Set());
    return JSON.stringify(kept);
  } catch (error) {
    // Both walks recurse: nesting deep enough to exhaust the stack is refused by name.
    if (error instanceof RangeError)
      throw new InvalidTaskArgumentsError(task, 'args', 'nested too deeply');
    throw error;
  }
}

/**
 * Keys refused in arguments, at enqueue and in workers: `__proto__`, and `constructor`
 * holding a `prototype`. JSON.parse makes them plain own properties, harmless to us, but
 * code that deep-merges such an argument would write into `Object.prototype` for the
 * whole process; no legitimate argument needs them.
 */
function pollutes(key: string, value: unknown): boolean {
  return (
    key === '__proto__' ||
    (key === 'constructor' &&
      value !== null &&
      typeof value === 'object' &&
      Object.hasOwn(value, 'prototype'))
  );
}

const POLLUTION_WHY =
  'which could pollute Object.prototype in code that merges the argument; workers refuse such jobs. Rename the key.';

/** The path of the first polluting key in parsed arguments; an explicit stack, for any depth. */
function pollutingPath(args: unknown[]): string | undefined {
  const stack: Array<[unknown, string]> = [[args, 'args']];
  while (stack.length) {
    const [value, path] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) stack.push([value[i], `${path}[${i}]`]);
      continue;
    }
    for (const [key, item] of Object.entries(value)) {
      const at = `${path}${propertyPath(key)}`;
      if (pollutes(key, item)) return key === '__proto__' ? at : `${at}.prototype`;
      stack.push([item, at]);
    }
  }
  return undefined;
}

function checkValue(task: string, value: unknown, path: string, ancestors: Set<object>): void {
  const fail = (what: string): never => {
    throw new InvalidTaskArgumentsError(task, path, what);
  };
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) fail(String(value));
      return;
    case 'undefined':
      return fail('undefined');
    case 'function':
      return fail('a function');
    case 'symbol':
      return fail('a symbol');
    case 'bigint':
      return fail('a BigInt');
  }
  if (value === null) return;
  const object = value as object;
  if (object instanceof Date) {
    if (Number.isNaN(object.getTime())) fail('an invalid Date');
    return;
  }
  if (ancestors.has(object)) fail('a circular reference');
  ancestors.add(object);
  if (Array.isArray(object)) {
    for (let i = 0; i < object.length; i++) {
      if (!(i in object)) fail(`an array with a hole at [${i}]`);
      checkValue(task, object[i], `${path}[${i}]`, ancestors);
    }
  } else {
    const proto = Object.getPrototypeOf(object);
    if (proto !== Object.prototype && proto !== null) {
      const name = object.constructor?.name || 'class';
      fail(`${/^[AEIO]/.test(name) ? 'an' : 'a'} ${name} instance`);
    }
    if (Object.getOwnPropertySymbols(object).length) fail('an object with symbol-keyed properties');
    for (const [key, item] of Object.entries(object)) {
      const at = `${path}${propertyPath(key)}`;
      if (pollutes(key, item)) {
        throw new InvalidTaskArgumentsError(
          task,
          key === '__proto__' ? at : `${at}.prototype`,
          'a prototype key',
          POLLUTION_WHY,
        );
      }
      // JSON drops undefined properties, which reads back the same.
      if (item !== undefined) checkValue(task, item, at, ancestors);
    }
  }
  ancestors.delete(object);
}

function propertyPath(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/**
 * Stands in for a job's data that BullMQ could not parse as JSON (a producer wrote raw
 * bytes): the worker hands it on so that the job fails with a reason, instead of BullMQ
 * emitting an error and leaving the job active until it stalls. @internal
 */
export class UnreadableData {
  constructor(
    /** The stored text, kept as evidence. */
    readonly raw: string,
  ) {}
}

/** Longest quoted part of a bad job name in a reason (a valid name is at most 128). */
const QUOTED_NAME_MAX = 200;

/**
 * A job name as a reason quotes it: JSON-quoted, everything outside printable ASCII
 * escaped, cut after 200 characters of that, so a hostile name cannot flood or forge
 * log lines.
 */
function quoteName(name: unknown): string {
  if (typeof name !== 'string') return `of type ${typeof name}`;
  let quoted = '';
  let i = 0;
  for (; i < name.length && quoted.length < QUOTED_NAME_MAX; i++) {
    quoted += JSON.stringify(name[i]!)
      .slice(1, -1)
      .replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  }
  return i < name.length ? `"${quoted}"… (${name.length} characters)` : `"${quoted}"`;
}

/** Reads a job's name and data; returns the envelope and arguments, or why it cannot run. @internal */
export function decodeEnvelope(
  name: string,
  data: unknown,
): { envelope: JobEnvelope; args: unknown[] } | { problem: string } {
  if (!isTaskName(name)) {
    return { problem: `job name ${quoteName(name)} is not a valid task name` };
  }
  if (data instanceof UnreadableData) {
    return { problem: `job of task "${name}" has data that is not valid JSON` };
  }
  const envelope = data as Partial<JobEnvelope> | null;
  if (envelope === null || typeof envelope !== 'object' || envelope.v !== 1) {
    return {
      problem: `job of task "${name}" has no valid envelope (expected { v: 1, task, args, runId })`,
    };
  }
  if (
    envelope.task !== name ||
    typeof envelope.args !== 'string' ||
    typeof envelope.runId !== 'string'
  ) {
    return {
      problem: `job of task "${name}" has an invalid envelope (task, args or runId missing or mismatched)`,
    };
  }
  if (envelope.dueAt !== undefined && !Number.isFinite(envelope.dueAt)) {
    return { problem: `job of task "${name}" has an invalid dueAt` };
  }
  let args: unknown;
  try {
    args = JSON.parse(envelope.args);
  } catch {
    return { problem: `job of task "${name}" has arguments that are not valid JSON` };
  }
  if (!Array.isArray(args)) {
    return { problem: `job of task "${name}" has arguments that are not an array` };
  }
  // Only JSON that spells "proto" (or escapes a character) can hold a polluting key.
  const polluting = /proto|\\u/.test(envelope.args) ? pollutingPath(args) : undefined;
  if (polluting !== undefined) {
    return {
      problem: `job of task "${name}" has arguments with a prototype key at ${polluting}, which could pollute Object.prototype; refused`,
    };
  }
  return { envelope: envelope as JobEnvelope, args };
}
