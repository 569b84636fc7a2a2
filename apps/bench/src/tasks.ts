/** Task classes made at run time, as many as a scenario needs, each with its own name. */
import { Interactor, Task, type TaskOptions } from 'nestjs-interactors';

/** A no-op task class (well, one that calls `body(index)`), as a user would write it. */
export type BenchTaskClass = new () => Interactor;

/** `count` task classes named `<prefix><index>`, each calling `body(index)` when run. */
export function taskClasses(
  count: number,
  options: (index: number) => Omit<TaskOptions, 'name'>,
  body: (index: number) => void = () => undefined,
  prefix = 'BenchTask',
): BenchTaskClass[] {
  return Array.from({ length: count }, (_, index) => {
    @Task({ ...options(index), name: `${prefix}${index}` })
    class BenchTask extends Interactor {
      call(): void {
        body(index);
      }
    }
    return BenchTask;
  });
}

/** How the scheduler scenarios spread their tasks' ticks. */
export type Pattern = 'second' | 'minute';

export const PATTERNS: readonly Pattern[] = ['second', 'minute'];

/** Every task every second, or each task once a minute at second `index % 60`. */
export function cronOf(pattern: Pattern, index: number): string {
  return pattern === 'second' ? '* * * * * *' : `${index % 60} * * * * *`;
}

export function periodOf(pattern: Pattern): number {
  return pattern === 'second' ? 1_000 : 60_000;
}

/** The task's first due instant strictly after `after` (epoch ms). */
export function nextDue(pattern: Pattern, index: number, after: number): number {
  const second = Math.floor(after / 1_000) * 1_000 + 1_000;
  if (pattern === 'second') return second;
  const minute = Math.floor(second / 60_000) * 60_000;
  const mine = minute + (index % 60) * 1_000;
  return mine >= second ? mine : mine + 60_000;
}

/** How many of the task's due instants fall in [start, end). */
export function ticksIn(pattern: Pattern, index: number, start: number, end: number): number {
  let count = 0;
  for (let due = nextDue(pattern, index, start - 1); due < end; due += periodOf(pattern)) count++;
  return count;
}
