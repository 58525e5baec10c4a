// npm run test:server: the platform's ClickHouse server path. tests/support/server-setup.ts starts
// the ClickHouse HTTP test harness (tests/support/clickhouse-http.ts: chdb behind ClickHouse's HTTP
// interface, in a process of its own) and points CLICKHOUSE_URL at it; the files below then run
// with every platform, test app and server process they open on it, each in a database of its own.
import { defineConfig } from 'vitest/config'
import base from './vitest.config.ts'

/** What runs on the server path: the tests of the warehouse, of ingest and of the figures, and those of the API that store and read through it. */
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
  // every body format through the server path's staging, and the stores auth and reference data keep there
  'tests/formats.test.ts',
  'tests/access.test.ts',
  'tests/audit.test.ts',
  'tests/sign-in.test.ts',
  'tests/calendar.test.ts',
  'tests/in-service.test.ts',
  'tests/request-log.test.ts',
  'tests/scores-demo.test.ts',
]
// Not here: the browser and PDF tests (slow, and nothing of the server path of their own); the
// backup, CLI and report-CLI tests (the embedded engine's directories by design); readiness and
// monitoring (their disk and busy-engine checks, and the backup metric, are the embedded engine's);
// draft and security (long, and not about the warehouse); typecheck.

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    globalSetup: ['tests/global-setup.ts', 'tests/support/server-setup.ts'],
    include: SERVER_PATH_FILES,
  },
})
