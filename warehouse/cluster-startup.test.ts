// With CLICKHOUSE_CLUSTER set the platform makes no table itself (its migrations would make
// single-server tables on the one node it talks to): start-up refuses a database without the
// cluster schema, and one whose schema lacks a migration of this release, saying what to run.
// Needs a ClickHouse server (npm run test:server): the check reads the server's tables.
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { createClient } from '@clickhouse/client'
import { describe, expect, it } from 'vitest'
import { openWarehouse, RELEASE_SCHEMA_VERSION } from './index.ts'
import { dropTestDatabase, testServer } from './testing.ts'

const server = testServer(`tierscope_test_cluster_${randomBytes(5).toString('hex')}`)
const open = (cluster?: string) => openWarehouse({ dataDir: tmpdir(), timezone: 'Asia/Shanghai', clickhouse: { ...server!, cluster } })

describe.skipIf(!server)('start-up with CLICKHOUSE_CLUSTER (needs a ClickHouse server: npm run test:server)', () => {
  it('refuses a database without the cluster schema, and one that lacks a migration, making nothing', async () => {
    const raw = createClient({ url: server!.url, username: server!.username, password: server!.password, database: server!.database })
    const tableCount = async () => Number((await (await raw.query({ query: 'SELECT count() AS n FROM system.tables WHERE database = currentDatabase()', format: 'JSONEachRow' })).json<{ n: string }>())[0]!.n)
    try {
      await expect(open('district')).rejects.toMatchObject({ code: 'cluster_schema_missing', message: expect.stringContaining('npx tierscope schema --cluster district') })
      expect(await tableCount()).toBe(0)
      // the single-server schema, as the migrations make it, with the release's last migration not recorded
      const plain = await open()
      await plain.client.command({ query: `DELETE FROM schema_migrations WHERE version = ${RELEASE_SCHEMA_VERSION}` })
      await plain.close()
      const tables = await tableCount()
      await expect(open('district')).rejects.toMatchObject({ code: 'cluster_schema_behind', message: expect.stringContaining(`migration ${RELEASE_SCHEMA_VERSION} (`) })
      expect(await tableCount()).toBe(tables)
      // recorded again (as the operator would, having applied it ON CLUSTER): the cluster start-up opens it
      await raw.insert({ table: 'schema_migrations', values: [{ version: RELEASE_SCHEMA_VERSION, name: 'applied by hand', applied_at: Math.floor(Date.now() / 1000) }], format: 'JSONEachRow' })
      const onCluster = await open('district')
      expect(onCluster.cluster).toBe('district')
      await onCluster.close()
    } finally {
      await raw.close()
      await dropTestDatabase(server!)
    }
  })
})
