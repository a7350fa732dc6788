import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // 2 cores: the real clients and servers the tests start need the other one
    maxWorkers: 2,
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
