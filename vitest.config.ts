import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration and e2e tests share network namespaces and ports; unit tests are fast anyway.
    fileParallelism: false,
    reporters: ['default'],
  },
});
