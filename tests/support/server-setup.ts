// vitest globalSetup of `npm run test:server` (vitest.server.config.ts): one ClickHouse HTTP test
// harness for the whole run (clickhouse-http.ts), and CLICKHOUSE_URL pointed at it for the test
// workers and the servers they start. Every test file makes its own database on it
// (warehouse/testing.ts). A password is set, so that the platform's credentials are checked too.
// CHHTTP_LOG=1 npm run test:server prints a line per request the harness answers.
import { startClickHouseHttp, type ClickHouseHttp } from './clickhouse-http.ts'

let harness: ClickHouseHttp | undefined

export async function setup(): Promise<void> {
  const password = 'test-server-password'
  harness = await startClickHouseHttp({ password, log: process.env.CHHTTP_LOG === '1' })
  process.env.CLICKHOUSE_URL = harness.url
  process.env.CLICKHOUSE_USER = 'default'
  process.env.CLICKHOUSE_PASSWORD = password
  delete process.env.CLICKHOUSE_DATABASE
  console.log(`test:server: the ClickHouse HTTP test harness (engine ${harness.version}) at ${harness.url}`)
}

export async function teardown(): Promise<void> {
  await harness?.stop()
}
