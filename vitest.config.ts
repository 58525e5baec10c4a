import { defineConfig } from 'vitest/config'

export default defineConfig({
  // every file is compiled with the platform's tsconfig: dashboard/tsconfig.json extends one that
  // exists only after svelte-kit sync, and the test run must work right after npm install
  tsconfig: 'tsconfig.json',
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
