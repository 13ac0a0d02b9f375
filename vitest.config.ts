import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// Tests run against the TypeScript sources: no build step before `npm test`.
export default defineConfig({
  resolve: {
    alias: {
      '@syncap/core': src('./packages/core/src/index.ts'),
      '@syncap/sim': src('./packages/sim/src/index.ts'),
      '@syncap/net': src('./packages/net/src/index.ts'),
      '@syncap/native-v4l2': src('./packages/native-v4l2/src/index.ts'),
    },
  },
  test: {
    include: ['**/src/**/*.test.ts', '**/test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
