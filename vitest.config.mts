import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    alias: {
      'nestjs-interactors': fileURLToPath(new URL('./src/index.ts', import.meta.url)),
      '#gates': fileURLToPath(new URL('./libs/gates/src/index.ts', import.meta.url)),
    },
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
