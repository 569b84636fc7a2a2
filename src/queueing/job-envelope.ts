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
  checkValue(task, kept, 'args', new Set());
  return JSON.stringify(kept);
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
      // JSON drops undefined properties, which reads back the same.
      if (item !== undefined) checkValue(task, item, `${path}${propertyPath(key)}`, ancestors);
    }
  }
  ancestors.delete(object);
}

function propertyPath(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** Reads a job's name and data; returns the envelope and arguments, or why it cannot run. @internal */
export function decodeEnvelope(
  name: string,
  data: unknown,
): { envelope: JobEnvelope; args: unknown[] } | { problem: string } {
  if (!isTaskName(name)) {
    return { problem: `job name ${JSON.stringify(name)} is not a valid task name` };
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
  return { envelope: envelope as JobEnvelope, args };
}
