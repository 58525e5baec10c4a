// npm run test:server: the platform's ClickHouse server path. tests/support/server-setup.ts starts
// the ClickHouse HTTP test harness (tests/support/clickhouse-http.ts: chdb behind ClickHouse's HTTP
// interface, in a process of its own) and points CLICKHOUSE_URL at it; the files below then run
// with every platform, test app and server process they open on it, each in a database of its own.
import { defineConfig } from 'vitest/config'
import base from './vitest.config.ts'

/** What runs on the server path: what does not need the embedded engine's data directory in this process. */
export const SERVER_PATH_FILES = [
  'warehouse/**/*.test.ts',
  'ingest/**/*.test.ts',
  'metrics/**/*.test.ts',
  'tests/clickhouse-http.test.ts',
  'tests/two-processes.test.ts',
  'tests/clock-modes.test.ts',
  'tests/fault.test.ts',
  'tests/bad-input.test.ts',
  'tests/records.test.ts',
  'tests/writes.test.ts',
  'tests/api.test.ts',
  'tests/scores.test.ts',
  'tests/reports.test.ts',
]

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    globalSetup: ['tests/global-setup.ts', 'tests/support/server-setup.ts'],
    include: SERVER_PATH_FILES,
  },
})
