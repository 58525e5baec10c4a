import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // libchdb allows one data directory per process: every test file runs in its own fork.
    pool: 'forks',
    maxWorkers: 2,
    isolate: true,
    globalSetup: ['tests/global-setup.ts'],
    include: ['{ingest,warehouse,metrics,dashboard,reports,tests}/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
})
