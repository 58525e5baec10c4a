// For tests: a platform on a fresh warehouse of its own. By default the embedded engine in a
// temporary directory — libchdb holds one data directory per process, so each test file (vitest
// runs files in separate forks) opens one of these and shares it among its tests. With
// CLICKHOUSE_URL set (npm run test:server), a ClickHouse server instead, in a fresh database
// dropped on close, so that test files sharing the server never see each other's rows.
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createClient, ClickHouseLogLevel } from '@clickhouse/client'
import type { SessionPolicy } from '../auth/index.ts'
import type { Settings } from './config.ts'
import { openPlatform, type Platform } from './index.ts'

export type TestServer = NonNullable<Settings['clickhouse']>

/** The ClickHouse server of CLICKHOUSE_URL with `database` (a fresh name by default); undefined without one. */
export function testServer(database = `tierscope_test_${randomBytes(6).toString('hex')}`, env: NodeJS.ProcessEnv = process.env): TestServer | undefined {
  if (!env.CLICKHOUSE_URL) return undefined
  return { url: env.CLICKHOUSE_URL, username: env.CLICKHOUSE_USER, password: env.CLICKHOUSE_PASSWORD, database }
}

/** The database a server process started on `dataDir` uses in tests: the same one after every restart on it. */
export function testDatabaseFor(dataDir: string): string {
  return `tierscope_test_${createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 12)}`
}

export async function dropTestDatabase(server: TestServer): Promise<void> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(server.database)) throw new Error(`not a test database name: ${server.database}`)
  const client = createClient({ url: server.url, username: server.username, password: server.password, log: { level: ClickHouseLogLevel.OFF } })
  try {
    await client.command({ query: `DROP DATABASE IF EXISTS \`${server.database}\`` })
  } finally {
    await client.close()
  }
}

export async function openTestPlatform(timezone = 'Asia/Shanghai', sessionPolicy: Partial<SessionPolicy> = {}): Promise<Platform & { dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tierscope-test-'))
  const clickhouse = testServer()
  let platform: Platform
  try {
    platform = await openPlatform({ dataDir, timezone, clickhouse }, sessionPolicy)
  } catch (err) {
    if (clickhouse) await dropTestDatabase(clickhouse).catch(() => undefined)
    rmSync(dataDir, { recursive: true, force: true })
    throw err
  }
  return {
    ...platform,
    dataDir,
    close: async () => {
      await platform.close()
      if (clickhouse) await dropTestDatabase(clickhouse)
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
