import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests start real processes and real HTTP servers; give slow CI machines room.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
