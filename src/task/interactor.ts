/**
 * Base class of every task: an injectable class with one public method, `call()`.
 *
 * @example
 * ```ts
 * @Task({ cron: '* /15 * * * *' })
 * export class OpenTheGates extends Interactor {
 *   constructor(private readonly gates: GatesService) { super(); }
 *   async call(): Promise<void> { await this.gates.openAll(); }
 * }
 * ```
 * @publicApi
 */
export abstract class Interactor {
  abstract call(...args: any[]): unknown;
}

/** A task class, as passed to `Interactors.call` and friends. @publicApi */
export type TaskClass<T extends Interactor = Interactor> = abstract new (...args: any[]) => T;

/** The arguments of a task's `call()`. @publicApi */
export type TaskArgs<T extends Interactor> = Parameters<T['call']>;

/** What a task's `call()` resolves to. @publicApi */
export type TaskResult<T extends Interactor> = Awaited<ReturnType<T['call']>>;
