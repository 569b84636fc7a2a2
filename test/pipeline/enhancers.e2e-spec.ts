/**
 * The user's own Nest enhancers on task classes: interceptors and guards apply (class and
 * `call` method), a refusing guard is a skip (reason `guard`), a ForbiddenException thrown
 * inside `call()` is a failure, exception filters are not applied, and the app's global
 * guards see task runs with `getType() === 'interactor'`. In-memory transport.
 */
import {
  Catch,
  ForbiddenException,
  Injectable,
  SetMetadata,
  UseFilters,
  UseGuards,
  UseInterceptors,
  type ArgumentsHost,
  type CallHandler,
  type CanActivate,
  type ExceptionFilter,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR, Reflector } from '@nestjs/core';
import { map, type Observable } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { Interactor, Interactors, InteractorsModule, Task, TaskRun } from '../../src/index.js';
import { Apps, CapturingLogger, isolateEnv, uniquePrefix, waitUntil } from './helpers.js';

isolateEnv();
const apps = new Apps();
afterEach(() => apps.closeAll());

/** What enhancers and tasks saw, per app. */
@Injectable()
class Seen {
  readonly calls: string[] = [];
  readonly contexts: Array<{
    by: string;
    type: string;
    class: string;
    handler: string;
    args: unknown[];
    role: unknown;
    inRun: boolean;
  }> = [];
  readonly filtered: unknown[] = [];
}

const Role = (role: string) => SetMetadata('role', role);

function describeContext(by: string, context: ExecutionContext, reflector: Reflector) {
  return {
    by,
    type: context.getType<string>(),
    class: context.getClass().name,
    handler: context.getHandler().name,
    args: context.getArgs(),
    role: reflector.get('role', context.getHandler()),
    inRun: TaskRun.current() !== undefined,
  };
}

@Injectable()
class Doubler implements NestInterceptor {
  constructor(
    private readonly seen: Seen,
    private readonly reflector: Reflector,
  ) {}
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    this.seen.contexts.push(describeContext('Doubler', context, this.reflector));
    return next.handle().pipe(map((value) => (value as number) * 2));
  }
}

@Injectable()
class AllowGuard implements CanActivate {
  constructor(
    private readonly seen: Seen,
    private readonly reflector: Reflector,
  ) {}
  canActivate(context: ExecutionContext): boolean {
    this.seen.contexts.push(describeContext('AllowGuard', context, this.reflector));
    return true;
  }
}

@Injectable()
class DenyGuard implements CanActivate {
  constructor(
    private readonly seen: Seen,
    private readonly reflector: Reflector,
  ) {}
  canActivate(context: ExecutionContext): boolean {
    this.seen.contexts.push(describeContext('DenyGuard', context, this.reflector));
    return false;
  }
}

/** Refuses with its own ForbiddenException, as auth guards often do. */
@Injectable()
class ThrowingGuard implements CanActivate {
  canActivate(): boolean {
    throw new ForbiddenException('no entry for tasks');
  }
}

@Injectable()
class AsyncDenyGuard implements CanActivate {
  async canActivate(): Promise<boolean> {
    await new Promise((resolve) => setTimeout(resolve, 5));
    return false;
  }
}

@Catch()
class SwallowingFilter implements ExceptionFilter {
  constructor(private readonly seen: Seen) {}
  catch(exception: unknown, _host: ArgumentsHost): string {
    this.seen.filtered.push(exception);
    return 'filtered';
  }
}

@Task()
@UseInterceptors(Doubler)
class Doubled extends Interactor {
  constructor(private readonly seen: Seen) {
    super();
  }
  async call(n: number): Promise<number> {
    this.seen.calls.push('Doubled');
    return n + 1;
  }
}

@Task()
@UseGuards(DenyGuard)
class DeniedByClass extends Interactor {
  constructor(private readonly seen: Seen) {
    super();
  }
  async call(): Promise<void> {
    this.seen.calls.push('DeniedByClass');
  }
}

@Task()
class DeniedByMethod extends Interactor {
  constructor(private readonly seen: Seen) {
    super();
  }
  @UseGuards(DenyGuard)
  @Role('admin')
  async call(): Promise<void> {
    this.seen.calls.push('DeniedByMethod');
  }
}

@Task()
@UseGuards(AllowGuard)
class Allowed extends Interactor {
  constructor(private readonly seen: Seen) {
    super();
  }
  @Role('operator')
  async call(gate: string): Promise<string> {
    this.seen.calls.push('Allowed');
    return `opened ${gate}`;
  }
}

@Task()
@UseGuards(ThrowingGuard)
class DeniedByThrow extends Interactor {
  constructor(private readonly seen: Seen) {
    super();
  }
  async call(): Promise<void> {
    this.seen.calls.push('DeniedByThrow');
  }
}

@Task()
@UseGuards(AsyncDenyGuard)
class DeniedAsync extends Interactor {
  async call(): Promise<void> {}
}

@Task()
class ForbiddenInside extends Interactor {
  async call(): Promise<void> {
    throw new ForbiddenException('the gate refused');
  }
}

@Task()
class ForbiddenInsideLater extends Interactor {
  async call(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 5));
    throw new ForbiddenException('the gate refused later');
  }
}

@Task()
class ForbiddenInsideSync extends Interactor {
  call(): void {
    throw new ForbiddenException('the gate refused at once');
  }
}

@Task()
@UseFilters(SwallowingFilter)
class Filtered extends Interactor {
  async call(): Promise<void> {
    throw new Error('not for filters');
  }
}

@Task()
class FilteredMethod extends Interactor {
  @UseFilters(SwallowingFilter)
  async call(): Promise<void> {
    throw new Error('not for method filters either');
  }
}

@Task()
class Plain extends Interactor {
  constructor(private readonly seen: Seen) {
    super();
  }
  async call(): Promise<string> {
    this.seen.calls.push('Plain');
    return 'plain';
  }
}

@Task({ cron: '* * * * * *', run: 'inline' })
class PlainTick extends Interactor {
  constructor(private readonly seen: Seen) {
    super();
  }
  async call(): Promise<void> {
    this.seen.calls.push('PlainTick');
  }
}

/** An app-global guard, as an auth guard would be: records what it sees, lets all through. */
@Injectable()
class GlobalRecordingGuard implements CanActivate {
  constructor(
    private readonly seen: Seen,
    private readonly reflector: Reflector,
  ) {}
  canActivate(context: ExecutionContext): boolean {
    this.seen.contexts.push(describeContext('GlobalRecordingGuard', context, this.reflector));
    return true;
  }
}

/** An HTTP-only global guard: refuses HTTP without a token, lets task runs through. */
@Injectable()
class HttpOnlyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return context.getType<string>() === 'interactor';
  }
}

/** A global interceptor that tags every value. */
@Injectable()
class GlobalTagger implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(map((value) => `${context.getType()}:${String(value)}`));
  }
}

async function boot(providers: unknown[]) {
  const logger = new CapturingLogger();
  const app = await apps.boot(
    {
      imports: [InteractorsModule.forRoot({ prefix: uniquePrefix('enhancers') })],
      providers: [
        ...(providers as never[]),
        Seen,
        Doubler,
        AllowGuard,
        DenyGuard,
        SwallowingFilter,
      ],
    },
    { logger },
  );
  return { app, logger, interactors: app.get(Interactors), seen: app.get(Seen) };
}

describe("the user's interceptors and guards on a task class", () => {
  it('@UseInterceptors on the class transforms the value, with type "interactor" and the call args', async () => {
    const { interactors, seen } = await boot([Doubled]);
    expect(await interactors.run(Doubled, 20)).toMatchObject({ outcome: 'success', value: 42 });
    expect(await interactors.call(Doubled, 1)).toBe(4);
    expect(seen.calls).toEqual(['Doubled', 'Doubled']);
    expect(seen.contexts[0]).toMatchObject({
      by: 'Doubler',
      type: 'interactor',
      class: 'Doubled',
      handler: 'call',
      args: [20],
      inRun: true,
    });
  });

  it('a guard on the class returning false → skipped/guard (not failure); call() never runs', async () => {
    const { interactors, seen, logger } = await boot([DeniedByClass]);
    const result = await interactors.run(DeniedByClass);
    expect(result).toMatchObject({ task: 'DeniedByClass', outcome: 'skipped', reason: 'guard' });
    expect(result.error).toBeUndefined();
    await expect(interactors.call(DeniedByClass)).resolves.toBeUndefined();
    expect(seen.calls).toEqual([]);
    expect(seen.contexts.map((c) => [c.by, c.type, c.class])).toEqual([
      ['DenyGuard', 'interactor', 'DeniedByClass'],
      ['DenyGuard', 'interactor', 'DeniedByClass'],
    ]);
    expect(logger.at('error')).toEqual([]); // a refusal is not an error
  });

  it('a guard on the call METHOD applies too, and sees the method’s own metadata', async () => {
    const { interactors, seen } = await boot([DeniedByMethod]);
    expect(await interactors.run(DeniedByMethod)).toMatchObject({
      outcome: 'skipped',
      reason: 'guard',
    });
    expect(seen.calls).toEqual([]);
    expect(seen.contexts).toHaveLength(1);
    expect(seen.contexts[0]).toMatchObject({
      by: 'DenyGuard',
      type: 'interactor',
      class: 'DeniedByMethod',
      handler: 'call',
      role: 'admin',
    });
  });

  it('a guard that allows: the run succeeds, the guard saw type "interactor", the args and the handler metadata', async () => {
    const { interactors, seen } = await boot([Allowed]);
    expect(await interactors.run(Allowed, 'gate-7')).toMatchObject({
      outcome: 'success',
      value: 'opened gate-7',
    });
    expect(seen.calls).toEqual(['Allowed']);
    expect(seen.contexts).toEqual([
      {
        by: 'AllowGuard',
        type: 'interactor',
        class: 'Allowed',
        handler: 'call',
        args: ['gate-7'],
        role: 'operator',
        inRun: true,
      },
    ]);
  });

  it('a guard that throws ForbiddenException itself, or resolves false later, is a skip too', async () => {
    const { interactors, seen } = await boot([DeniedByThrow, DeniedAsync]);
    expect(await interactors.run(DeniedByThrow)).toMatchObject({
      outcome: 'skipped',
      reason: 'guard',
    });
    expect(await interactors.run(DeniedAsync)).toMatchObject({
      outcome: 'skipped',
      reason: 'guard',
    });
    expect(seen.calls).toEqual([]);
  });

  it('a ForbiddenException thrown inside call() is a failure, not a guard skip (async, after an await, sync)', async () => {
    const { interactors, logger } = await boot([
      ForbiddenInside,
      ForbiddenInsideLater,
      ForbiddenInsideSync,
    ]);
    for (const [task, message] of [
      [ForbiddenInside, 'the gate refused'],
      [ForbiddenInsideLater, 'the gate refused later'],
      [ForbiddenInsideSync, 'the gate refused at once'],
    ] as const) {
      const result = await interactors.run(task);
      expect(result.outcome, task.name).toBe('failure');
      expect(result.reason).toBeUndefined();
      expect(result.error).toBeInstanceOf(ForbiddenException);
      expect((result.error as Error).message).toBe(message);
      await expect(interactors.call(task)).rejects.toThrow(message);
    }
    expect(logger.at('error').filter((line) => line.includes('ForbiddenInside'))).toHaveLength(6);
  });

  it('@UseFilters on a task class (or its call method) is NOT applied: the runner records the failure', async () => {
    const { interactors, seen, logger } = await boot([Filtered, FilteredMethod]);
    const result = await interactors.run(Filtered);
    expect(result).toMatchObject({ task: 'Filtered', outcome: 'failure' });
    expect((result.error as Error).message).toBe('not for filters');
    expect(result.value).toBeUndefined();
    await expect(interactors.call(Filtered)).rejects.toThrow('not for filters');
    expect((await interactors.run(FilteredMethod)).outcome).toBe('failure');
    expect(seen.filtered).toEqual([]);
    // the failure is logged once per run, by the runner — not a second time by Nest
    expect(logger.containing(result.runId)).toHaveLength(1);
    expect(logger.lines.filter((line) => line.includes('not for filters'))).toHaveLength(2);
  });
});

describe("the app's global enhancers see task runs", () => {
  it('an APP_GUARD sees every trigger’s runs with getType() "interactor"', async () => {
    const { interactors, seen } = await boot([
      Plain,
      PlainTick,
      { provide: APP_GUARD, useClass: GlobalRecordingGuard },
    ]);
    expect(await interactors.run(Plain)).toMatchObject({ outcome: 'success', value: 'plain' });
    await interactors.enqueue(Plain);
    await waitUntil(
      () =>
        seen.calls.includes('PlainTick') && seen.calls.filter((c) => c === 'Plain').length === 2,
      5_000,
      'a tick and the queued run',
    );
    const global = seen.contexts.filter((c) => c.by === 'GlobalRecordingGuard');
    expect(global.length).toBeGreaterThanOrEqual(3);
    expect(new Set(global.map((c) => c.type))).toEqual(new Set(['interactor']));
    expect(new Set(global.map((c) => c.class))).toEqual(new Set(['Plain', 'PlainTick']));
    expect(global.every((c) => c.inRun)).toBe(true);
  });

  it('an HTTP-only APP_GUARD can let task runs through by their type', async () => {
    const { interactors } = await boot([Plain, { provide: APP_GUARD, useClass: HttpOnlyGuard }]);
    expect(await interactors.run(Plain)).toMatchObject({ outcome: 'success' });
  });

  it('an APP_GUARD that refuses everything makes runs skipped/guard', async () => {
    const { interactors, seen } = await boot([Plain, { provide: APP_GUARD, useClass: DenyGuard }]);
    expect(await interactors.run(Plain)).toMatchObject({ outcome: 'skipped', reason: 'guard' });
    expect(seen.calls).toEqual([]);
  });

  it('an APP_INTERCEPTOR wraps task runs too', async () => {
    const { interactors } = await boot([
      Plain,
      { provide: APP_INTERCEPTOR, useClass: GlobalTagger },
    ]);
    expect(await interactors.call(Plain)).toBe('interactor:plain');
  });
});
