import { defineConfig } from 'vitest/config';

/** Index-level latency measurements, outside the test suite: `npx vitest run -c bench/vitest.perf.config.ts`. */
export default defineConfig({
  test: {
    include: ['bench/**/*.perf.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
