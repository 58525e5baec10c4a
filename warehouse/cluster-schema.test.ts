// `tierscope schema`: the schema for a server and for a cluster, checked against the tables a
// migrated warehouse really has. No cluster runs here: the cluster's statements are checked by
// the embedded engine's parser and by what they say; the single-server schema is run.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openTestPlatform } from './testing.ts'
import { CLUSTER_SETTINGS, openWarehouse, queryRows } from './client.ts'
import { settingsFromEnv } from './config.ts'
import { PLACEMENT, readSchema, renderSchema, shardingKey, type Schema } from './cluster-schema.ts'

const CLUSTER = 'tierscope_cluster'
const root = join(import.meta.dirname, '..')

let platform: Awaited<ReturnType<typeof openTestPlatform>>
let database: string
let cluster: Schema
/** The tables of the migrated warehouse (its Memory tables aside), by name. */
let tables: Map<string, { engine: string; engine_full: string; sorting_key: string; partition_key: string; create_table_query: string }>

const rows = <T>(query: string, params: Record<string, unknown> = {}) => queryRows<T>(platform.warehouse, query, params)
/** Whether the engine parses `sql`: formatQuery refuses what it cannot parse. */
const parses = async (sql: string) => rows<{ f: string }>('SELECT formatQuery({q:String}) AS f', { q: sql }).then(() => true, () => false)
const creates = (s: { sql: string }) => s.sql.match(/^CREATE TABLE IF NOT EXISTS (\w+)\.(\w+)/)?.[2]
/** A cluster statement as one node alone can run it, in the database cluster_check. */
const onOneNode = (sql: string) => sql.replace(` ON CLUSTER ${CLUSTER}`, '').replace(/^CREATE TABLE IF NOT EXISTS tierscope\./, 'CREATE TABLE cluster_check.')

beforeAll(async () => {
  platform = await openTestPlatform()
  database = (await rows<{ db: string }>('SELECT currentDatabase() AS db'))[0]!.db
  // an ingest batch's working table, as ingest/service.ts makes one: not part of the schema
  await platform.warehouse.client.command({ query: 'CREATE TABLE ingest_stage_probe ENGINE = Memory AS SELECT 1 AS row' })
  tables = new Map((await rows<{ name: string; engine: string; engine_full: string; sorting_key: string; partition_key: string; create_table_query: string }>(
    `SELECT name, engine, engine_full, sorting_key, partition_key, create_table_query FROM system.tables
     WHERE database = currentDatabase() AND engine != 'Memory' ORDER BY name`)).map(({ name, ...t }) => [name, t]))
  cluster = await readSchema(platform.warehouse, { cluster: CLUSTER, database: 'tierscope' })
})

afterAll(async () => {
  await platform?.close()
})

describe('tierscope schema --cluster', () => {
  it('has every table a migrated warehouse has, each placed as PLACEMENT says, and no Memory table', () => {
    expect(tables.size).toBeGreaterThan(30)
    const placed = cluster.statements.filter((s) => s.role === 'local' || s.role === 'replicated').map((s) => s.table)
    expect(placed.sort()).toEqual([...tables.keys()].sort())
    // no placement is kept for a table the migrations no longer make
    expect(Object.keys(PLACEMENT).sort()).toEqual([...tables.keys()].sort())
    for (const name of tables.keys()) {
      const made = cluster.statements.filter((s) => s.table === name && creates(s)).map((s) => `${s.role} ${creates(s)}`)
      expect(made, name).toEqual(PLACEMENT[name]!.sharded ? [`local ${name}_local`, `distributed ${name}`] : [`replicated ${name}`])
    }
    expect(cluster.statements.some((s) => s.sql.includes('ingest_stage_probe'))).toBe(false)
    expect(renderSchema(cluster)).toContain('Memory tables')
  })

  it('is made of statements the engine parses, every DDL statement ON CLUSTER', async () => {
    expect(await parses('CREATE TABLE IF NOT EXISTS tierscope.x ON CLUSTER c (a String ENGINE = Log')).toBe(false)
    for (const s of cluster.statements) expect(await parses(s.sql), s.sql.slice(0, 120)).toBe(true)
    const ddl = cluster.statements.filter((s) => /^(CREATE|ALTER|DROP|TRUNCATE|RENAME|EXCHANGE)\b/.test(s.sql))
    expect(ddl.length).toBe(1 + cluster.statements.filter((s) => creates(s)).length)
    for (const s of ddl) expect(s.sql.split('\n')[0], s.sql.slice(0, 120)).toMatch(new RegExp(`^CREATE (DATABASE|TABLE) IF NOT EXISTS tierscope(\\.\\w+)? ON CLUSTER ${CLUSTER}$`))
    // the rest only writes the rows that say which schema it is
    expect(cluster.statements.filter((s) => !ddl.includes(s)).map((s) => s.sql.split(' ').slice(0, 3).join(' '))).toEqual(['INSERT INTO tierscope.schema_migrations', 'INSERT INTO tierscope.meta'])
  })

  it('makes every MergeTree-family engine Replicated, the table otherwise as the migrations made it', async () => {
    for (const s of cluster.statements) expect(s.sql).not.toMatch(/ENGINE = (?!Replicated\w*MergeTree\('|Distributed\()/)
    expect([...tables.values()].some((t) => t.create_table_query.includes('PROJECTION'))).toBe(true)
    try {
      await platform.warehouse.client.command({ query: 'CREATE DATABASE cluster_check' })
      for (const [name, t] of tables) {
        const sharded = PLACEMENT[name]!.sharded
        const table = sharded ? `${name}_local` : name
        const [statement, ...others] = cluster.statements.filter((s) => creates(s) === table)
        expect(others).toEqual([])
        // its Keeper path (a shard's, or the whole cluster's), its replica, then the engine's own arguments (a version column)
        const version = t.engine_full.match(new RegExp(`^${t.engine}\\(([^)]*)\\)`))?.[1]
        expect(statement!.sql, name).toContain(`ENGINE = Replicated${t.engine}('/clickhouse/tables/${sharded ? '{shard}' : 'all'}/{database}/${table}', '{replica}'${version ? `, ${version}` : ''})`)
        // without the replication and ON CLUSTER it makes the very table the migrations made
        // (columns, projections, keys, partition, TTL, settings)
        await platform.warehouse.client.command({ query: onOneNode(statement!.sql).replace(/Replicated(\w*MergeTree)\('[^']*', '\{replica\}'(, )?/, '$1(').replace(/MergeTree\(\)/, 'MergeTree') })
        const [made] = await rows<{ q: string }>('SELECT create_table_query AS q FROM system.tables WHERE database = \'cluster_check\' AND name = {table:String}', { table })
        expect(made?.q.replace(`cluster_check.${table} `, `${database}.${name} `), name).toBe(t.create_table_query)
      }
    } finally {
      await platform.warehouse.client.command({ query: 'DROP DATABASE IF EXISTS cluster_check SYNC' })
    }
  })

  it('puts a Distributed table with the declared sharding key over each large table', async () => {
    // what is read together lives on one shard
    for (const t of ['case_events', 'case_state', 'case_open', 'case_month_end']) expect(PLACEMENT[t], t).toMatchObject({ sharded: true, by: 'case_id' })
    for (const t of ['queue_tickets', 'queue_ticket_state']) expect(PLACEMENT[t], t).toMatchObject({ sharded: true, by: 'ticket_id' })
    expect([PLACEMENT.evaluations, PLACEMENT.evaluation_followups]).toMatchObject([{ by: 'event_id' }, { by: 'evaluation_id' }])
    for (const t of ['units', 'items', 'calendar', 'settings', 'meta', 'api_keys', 'users']) expect(PLACEMENT[t], t).toMatchObject({ sharded: false })
    const columnsOf = (db: string, table: string) => rows<Record<string, string>>(
      'SELECT name, type, default_kind, default_expression, comment FROM system.columns WHERE database = {db:String} AND table = {table:String} ORDER BY position', { db, table })
    try {
      await platform.warehouse.client.command({ query: 'CREATE DATABASE cluster_check' })
      for (const [name, p] of Object.entries(PLACEMENT)) {
        if (!p.sharded) continue
        const distributed = cluster.statements.filter((s) => s.role === 'distributed' && creates(s) === name)
        expect(distributed.length, name).toBe(1)
        expect(distributed[0]!.sql, name).toMatch(new RegExp(`\\nENGINE = Distributed\\('${CLUSTER}', 'tierscope', '${name}_local', ${shardingKey(p).replace(/[()]/g, '\\$&')}\\)$`))
        // the local table's columns, as the engine reads the statement (made here with an engine that needs no cluster)
        await platform.warehouse.client.command({ query: onOneNode(distributed[0]!.sql).replace(/\nENGINE = Distributed\(.*\)$/, '\nENGINE = Memory') })
        expect(await columnsOf('cluster_check', name), name).toEqual(await columnsOf(database, name))
        // the key is an expression over the table's own columns; a ReplacingMergeTree's is a column
        // of its sorting key, so every version of a row is on one shard, where FINAL replaces them
        await rows(`SELECT ${shardingKey(p)} FROM ${name} LIMIT 0`)
        if (tables.get(name)!.engine.includes('Replacing')) expect(tables.get(name)!.sorting_key.split(', '), name).toContain(p.by)
      }
    } finally {
      await platform.warehouse.client.command({ query: 'DROP DATABASE IF EXISTS cluster_check SYNC' })
    }
  })

  it('records the migrations it holds and its time zone, for a new database only', async () => {
    const applied = (await rows<{ version: number }>('SELECT version FROM schema_migrations FINAL ORDER BY version')).map((r) => Number(r.version))
    expect(applied).toContain(1002)
    expect(cluster.versions).toEqual(applied)
    const [migrations, zone] = cluster.statements.filter((s) => s.role === 'record')
    for (const v of applied) expect(migrations!.sql).toContain(`(${v}, '`)
    expect(migrations!.sql).toContain('FROM tierscope.schema_migrations\n) = 0')
    expect(zone!.sql).toContain(`'${platform.warehouse.timezone}'`)
  })

  it('says in the script where each table lives and why', () => {
    const script = renderSchema(cluster)
    expect(script).toContain(`-- case_events: sharded by cityHash64(case_id): ${PLACEMENT.case_events!.why}.`)
    expect(script).toContain(`-- units: whole on every node: ${PLACEMENT.units!.why}.`)
    for (const s of cluster.statements) expect(script).toContain(`${s.sql};\n`)
  })
})

describe('tierscope schema (a single server)', () => {
  it('makes, when run, the tables of the migrated warehouse, and copies every row into them', async () => {
    // a stored record, so that a stream table with a projection is copied too
    await platform.warehouse.client.insert({
      table: 'case_events', format: 'JSONEachRow',
      values: [{ event_id: 'E1', case_id: 'C1', type: 'accepted', occurred_at: '2025-03-03 10:00:00.000', unit_id: 'S1', attrs: '{}', content_hash: 1, batch_id: '00000000-0000-0000-0000-000000000001', source_key: 'k', ingested_at: '2025-03-03 10:00:00.000' }],
    })
    const single = await readSchema(platform.warehouse, { database: 'tierscope_check', copyFrom: database })
    for (const s of single.statements) expect(s.sql).not.toMatch(/ON CLUSTER|Replicated|Distributed/)
    expect(single.statements.filter((s) => s.role === 'table').map((s) => s.table).sort()).toEqual([...tables.keys()].sort())
    const run = async (role: string) => {
      for (const s of single.statements.filter((x) => x.role === role)) await platform.warehouse.client.command({ query: s.sql })
    }
    try {
      await run('database')
      await run('table')
      const made = await rows<{ name: string; create_table_query: string }>(`SELECT name, create_table_query FROM system.tables WHERE database = 'tierscope_check' ORDER BY name`)
      expect(made.map((t) => [t.name, t.create_table_query.replace('CREATE TABLE tierscope_check.', `CREATE TABLE ${database}.`)]))
        .toEqual([...tables].map(([name, t]) => [name, t.create_table_query]))
      await run('copy')
      for (const [name, t] of tables) {
        // (a ReplacingMergeTree may replace rows as they are inserted: its rows are counted as read, FINAL)
        const final = t.engine.includes('Replacing') ? ' FINAL' : ''
        const [a, b] = await Promise.all([database, 'tierscope_check'].map((db) => rows<{ n: string }>(`SELECT count() AS n FROM ${db}.${name}${final}`)))
        expect(b, name).toEqual(a)
      }
      expect(Number((await rows<{ n: string }>('SELECT count() AS n FROM tierscope_check.case_events'))[0]!.n)).toBe(1)
      // the schema's record rows go into a new database only: this one holds the copied ones
      const stored = () => Promise.all(['schema_migrations', 'meta'].map((name) => rows<{ n: string }>(`SELECT count() AS n FROM tierscope_check.${name}`)))
      const before = await stored()
      await run('record')
      expect(await stored()).toEqual(before)
    } finally {
      await platform.warehouse.client.command({ query: 'DROP DATABASE IF EXISTS tierscope_check SYNC' })
    }
  })

  it('records its migrations and zone in a new database', async () => {
    const single = await readSchema(platform.warehouse, { database: 'tierscope_new' })
    try {
      for (const s of single.statements) await platform.warehouse.client.command({ query: s.sql })
      const versions = (await rows<{ version: number }>('SELECT version FROM tierscope_new.schema_migrations FINAL ORDER BY version')).map((r) => Number(r.version))
      expect(versions).toEqual(single.versions)
      expect(await rows('SELECT value FROM tierscope_new.meta FINAL WHERE key = \'timezone\'')).toEqual([{ value: platform.warehouse.timezone }])
    } finally {
      await platform.warehouse.client.command({ query: 'DROP DATABASE IF EXISTS tierscope_new SYNC' })
    }
  })
})

function cli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, TIERSCOPE_TIMEZONE: platform.warehouse.timezone }
  delete env.CLICKHOUSE_DATABASE
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin', 'tierscope.js'), 'schema', ...args], { cwd: root, env })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('exit', (code) => resolve({ code, out, err }))
  })
}

describe('the command', () => {
  it('prints the schema read from its own new warehouse, and refuses a name it cannot put in SQL', async () => {
    const printed = await cli(['--cluster', CLUSTER])
    expect(printed.err).toBe('')
    expect(printed.code).toBe(0)
    expect(printed.out).toBe(renderSchema(cluster))
    const refused = await cli(['--cluster', 'a b'])
    expect(refused.code).toBe(1)
    expect(refused.err).toContain('--cluster must be the name of a cluster')
  })
})

describe('a warehouse on a cluster', () => {
  it('takes CLICKHOUSE_CLUSTER with CLICKHOUSE_URL only', () => {
    expect(settingsFromEnv({ CLICKHOUSE_URL: 'http://ch1:8123', CLICKHOUSE_CLUSTER: CLUSTER }).clickhouse?.cluster).toBe(CLUSTER)
    expect(settingsFromEnv({ CLICKHOUSE_URL: 'http://ch1:8123' }).clickhouse?.cluster).toBeUndefined()
    expect(() => settingsFromEnv({ CLICKHOUSE_CLUSTER: CLUSTER })).toThrow(/CLICKHOUSE_URL/)
  })

  it('sends the cluster settings with every query, and none without a cluster', async () => {
    // a stand-in for a ClickHouse server's HTTP interface that notes each request's settings
    const seen: URLSearchParams[] = []
    const server = createServer((req, res) => {
      seen.push(new URL(req.url!, 'http://x').searchParams)
      req.resume()
      req.on('end', () => res.writeHead(200, { 'Content-Type': 'text/plain' }).end())
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      for (const clusterName of [CLUSTER, undefined]) {
        seen.length = 0
        const w = await openWarehouse({ dataDir: '', timezone: 'Asia/Shanghai', clickhouse: { url, database: 'tierscope', cluster: clusterName } }, { migrate: false })
        await w.client.command({ query: 'SELECT 1' })
        await w.close()
        const sent = seen.at(-1)!
        for (const [name, value] of Object.entries(CLUSTER_SETTINGS)) expect(sent.get(name), name).toBe(clusterName ? String(value) : null)
        expect(sent.get('date_time_output_format')).toBe('simple')
      }
    } finally {
      server.close()
    }
  })
})

describe('warehouse/CLUSTER.md', () => {
  it('lists the sharding keys PLACEMENT declares', () => {
    const doc = readFileSync(join(import.meta.dirname, 'CLUSTER.md'), 'utf8')
    const listed = Object.fromEntries([...doc.matchAll(/^\| `(\w+)` \| `(cityHash64\(\w+\))` \|/gm)].map(([, t, key]) => [t, key]))
    const declared = Object.fromEntries(Object.entries(PLACEMENT).flatMap(([t, p]) => (p.sharded ? [[t, shardingKey(p)]] : [])))
    expect(listed).toEqual(declared)
  })
})
