/**
 * What the README tells users to import from 'nestjs-interactors' for the run pipeline is
 * exported by the package's entry point (src/index.ts).
 */
import { describe, expect, it } from 'vitest';
import * as api from '../../src/index.js';

describe('public API of the run pipeline', () => {
  it('exports TaskRun, TaskTimeoutError, RunHooks, TaskLogger and InteractorsMetrics', () => {
    expect(typeof api.TaskRun.current).toBe('function');
    expect(new api.TaskTimeoutError('T', 5)).toBeInstanceOf(Error);
    expect(typeof api.RunHooks.prototype.onFinished).toBe('function');
    expect(new api.TaskLogger('X')).toBeInstanceOf(api.TaskLogger);
    expect(typeof api.InteractorsMetrics).toBe('function');
  });
});
