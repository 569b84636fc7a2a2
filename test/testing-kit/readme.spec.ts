/**
 * The README's "Testing your tasks" example is the test file that runs it, character for
 * character, so the two cannot drift apart.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');

describe('README: Testing your tasks', () => {
  it('shows exactly test/testing-kit/readme-example.e2e-spec.ts', () => {
    const readme = read('../../README.md');
    const start = readme.indexOf('\n## Testing your tasks\n');
    expect(start).toBeGreaterThan(0);
    const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(start));
    expect(block?.[1]).toBe(read('./readme-example.e2e-spec.ts'));
  });
});
