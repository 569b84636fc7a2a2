/**
 * Unit: which tasks the environment guard lets run, from the resolved module config
 * (`environment`, `environments`, `INTERACTORS_FORCE`) and the task's own `environments`.
 * No Nest app, no Redis: the env is passed to `resolveConfig`, never read from the process.
 */
import { describe, expect, it } from 'vitest';
import type { TaskDefinition } from '../../src/discovery/task-definition.js';
import { resolveConfig } from '../../src/interactors.config.js';
import { EnvironmentInterceptor } from '../../src/interceptors/environment.interceptor.js';
import type { InteractorsModuleOptions, TaskOptions } from '../../src/index.js';

function guard(options: InteractorsModuleOptions, force?: string): EnvironmentInterceptor {
  const env = force === undefined ? {} : { INTERACTORS_FORCE: force };
  // a redis URL (never connected here): without one, "production" refuses to resolve
  const withRedis = { redis: 'redis://127.0.0.1:6379', ...options };
  return new EnvironmentInterceptor(resolveConfig(withRedis, undefined, undefined, env));
}

const task = (name: string, options: TaskOptions = {}) =>
  ({ name, options }) as unknown as TaskDefinition;

describe('EnvironmentInterceptor.allows', () => {
  const cases: Array<[InteractorsModuleOptions, string[] | undefined, boolean]> = [
    // module options, task environments, allowed
    [{ environment: 'development' }, undefined, true],
    [{ environment: 'development' }, ['production'], false],
    [{ environment: 'production' }, ['production'], true],
    [{ environment: 'staging' }, ['staging', 'production'], true],
    [{}, ['production'], false],
    [{ environment: 'development', environments: ['production'] }, undefined, false],
    [{ environment: 'production', environments: ['production'] }, undefined, true],
    [{ environment: 'development', environments: ['production'] }, ['development'], true],
    [{ environment: 'production', environments: ['production'] }, ['development'], false],
    [{ environment: 'development' }, [], false],
  ];
  it.each(cases)('module %j, task environments %j → %s', (module, environments, allowed) => {
    const options = environments === undefined ? {} : { environments };
    expect(guard(module).allows(task('T', options))).toBe(allowed);
  });

  it('INTERACTORS_FORCE names tasks (comma list, spaces trimmed) or * for all', () => {
    const disabled = { environment: 'development', environments: ['production'] };
    const named = guard(disabled, 'A, B');
    expect(named.allows(task('A'))).toBe(true);
    expect(named.allows(task('B'))).toBe(true);
    expect(named.allows(task('C'))).toBe(false);
    expect(named.allows(task('a'))).toBe(false); // names are case-sensitive
    expect(guard(disabled, '*').allows(task('Anything'))).toBe(true);
    expect(guard(disabled, '').allows(task('A'))).toBe(false);
  });

  it('an allowed task gets no step at all; a disabled one a step that skips without calling next', async () => {
    const interceptor = guard({ environment: 'development' });
    expect(interceptor.bind(task('Open'))).toBeUndefined();
    const step = interceptor.bind(task('Closed', { environments: ['production'] }))!;
    let nextCalled = false;
    const run = {
      task: 'Closed',
      runId: 'r',
      trigger: 'call',
      dueAt: undefined,
      attempt: 1,
      startedAt: performance.now(),
    } as never;
    const result = await step(run, async () => {
      nextCalled = true;
      throw new Error('next must not run');
    });
    expect(nextCalled).toBe(false);
    expect(result).toMatchObject({ task: 'Closed', outcome: 'skipped', reason: 'environment' });
  });
});
