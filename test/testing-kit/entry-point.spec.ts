/**
 * `nestjs-interactors/testing` as a package entry point: exported from package.json and
 * built from src/testing; free of any test framework (plain values, usable from Vitest and
 * Jest alike), which a tsc-compiled run under plain node proves too.
 */
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

describe('the nestjs-interactors/testing entry point', () => {
  it('is an exports subpath of the package, built from src/testing/index.ts', () => {
    const pkg = JSON.parse(read('package.json'));
    expect(pkg.exports['./testing']).toEqual({
      types: './dist/src/testing/index.d.ts',
      default: './dist/src/testing/index.js',
    });
    expect(pkg.files).toContain('dist/src');
    expect(JSON.parse(read('tsconfig.build.json')).include).toContain('src');
    expect(read('src/testing/index.ts')).toContain('InteractorsTestKit');
  });

  it('imports nothing from a test framework, nor from @nestjs/testing', () => {
    const files = readdirSync(new URL('src/testing/', root)).filter((file) => file.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const specifiers = [...read(`src/testing/${file}`).matchAll(/from '([^']+)'/g)].map(
        (match) => match[1],
      );
      expect(
        specifiers.filter((specifier) =>
          /^(vitest|jest|@jest\/|@nestjs\/testing)/.test(specifier!),
        ),
        file,
      ).toEqual([]);
    }
  });

  it('works compiled by tsc under plain node, asserted with node:assert', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['dist-test/test/testing-kit/fixture/plain-node.js'],
      { cwd: root, timeout: 20_000 },
    );
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({
      ok: true,
      next: ['2026-03-08T10:00:00.000Z', '2026-03-09T10:00:00.000Z'],
    });
  });
});
