import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// Tests run against the TypeScript sources: no build step before `npm test`.
// The vivid suite needs V4L2 devices: `npm run test:vivid` runs it (inside a VM where needed).
const vividSuite = process.env.SYNCAP_VIVID_SUITE === '1';
export default defineConfig({
  resolve: {
    alias: {
      '@syncap/core/internal': src('./packages/core/src/internal.ts'),
      '@syncap/core': src('./packages/core/src/index.ts'),
      '@syncap/host': src('./packages/host/src/index.ts'),
      '@syncap/jpeg': src('./packages/jpeg/src/index.ts'),
      '@syncap/record': src('./packages/record/src/index.ts'),
      '@syncap/harness': src('./packages/harness/src/index.ts'),
      '@syncap/sim': src('./packages/sim/src/index.ts'),
      '@syncap/net': src('./packages/net/src/index.ts'),
      '@syncap/native-v4l2': src('./packages/native-v4l2/src/index.ts'),
    },
  },
  test: {
    include: vividSuite ? ['test/vivid/**/*.test.ts'] : ['**/src/**/*.test.ts', '**/test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', ...(vividSuite ? [] : ['test/vivid/**'])],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
