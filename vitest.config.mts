import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Exact matches: a plain 'nestjs-interactors' key would also rewrite the '/testing' subpath.
    alias: [
      {
        find: /^nestjs-interactors$/,
        replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)),
      },
      {
        find: /^nestjs-interactors\/testing$/,
        replacement: fileURLToPath(new URL('./src/testing/index.ts', import.meta.url)),
      },
      {
        find: /^#gates$/,
        replacement: fileURLToPath(new URL('./libs/gates/src/index.ts', import.meta.url)),
      },
    ],
  },
  test: {
    include: ['test/**/*.spec.ts', 'test/**/*.e2e-spec.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Files run in parallel against one Redis; each uses its own key prefix.
    pool: 'forks',
  },
  // SWC emits the decorator metadata Nest DI needs; esbuild/oxc would not.
  plugins: [swc.vite({ module: { type: 'es6' } })],
  oxc: false,
});
