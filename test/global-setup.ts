import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * Compiles the library and the multi-process fixtures with tsc, once per run, so that
 * tests can start them as real OS processes under plain `node`; and `npm run build`'s
 * output (dist/: library, demo, bench), once, before any file starts, so that files
 * running its processes never race a build in progress (incremental: a no-op when fresh).
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'test/tsconfig.fixtures.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
}
