// One factory hands every module the same @clickhouse/client API, whether the engine is
// embedded (chdb, in this process) or a ClickHouse server reached over HTTP.
import { randomUUID } from 'node:crypto'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { tmpdir } from 'node:os'
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client'
import { createChdbConnection } from 'chdb/connection'
import { Session } from 'chdb'
import type { Settings } from './config.ts'
import { migrate } from './migrations.ts'
import { dataDirProblem, serverProblem } from './startup.ts'

export interface Warehouse {
  client: ClickHouseClient
  kind: 'embedded' | 'server'
  /** The district's IANA time zone; every time column of the schema carries it. */
  timezone: string
  /** Where the embedded engine keeps its data (undefined on a server). */
  dataDir: string | undefined
  /** The cluster the schema was made for (CLICKHOUSE_CLUSTER): the platform then never makes a table itself. */
  cluster?: string
  /**
   * How many writes through `client` (insert, command) have ended in this process, but for
   * the tables no figure reads (WRITES_NOT_COUNTED): equal at two moments, nothing this process
   * stored came in between (what lets metrics share one answer among equal questions).
   */
  readonly writes: number
  /**
   * The same writes by the table each wrote (`writtenTable`); a statement whose table is not read
   * off it (DDL of other kinds, SYSTEM, …) counts under '', which every answer depends on.
   */
  readonly writesByTable: ReadonlyMap<string, number>
  close(): Promise<void>
}

/** Tables written on every request, which no figure reads: their writes do not count in `writes`. */
const WRITES_NOT_COUNTED = new Set(['past_answers', 'api_key_use', 'audit_log', 'sessions'])

const WRITE_STATEMENT = /^\s*(?:INSERT\s+INTO(?:\s+TABLE)?|CREATE\s+TABLE(?:\s+IF\s+NOT\s+EXISTS)?|DROP\s+TABLE(?:\s+IF\s+EXISTS)?|TRUNCATE\s+TABLE(?:\s+IF\s+EXISTS)?|OPTIMIZE\s+TABLE|ALTER\s+TABLE)\s+(?!(?:IF|FUNCTION)\s)(?:`?[A-Za-z_][A-Za-z0-9_]*`?\.)?`?([A-Za-z_][A-Za-z0-9_]*)`?(?:[\s(;]|$)/i

/**
 * The table a write statement writes ('' when it is not one of those forms); a per-body working
 * table (`ingest_stage_<32 hex digits>`) under its prefix, so the counts stay a handful of names.
 */
export function writtenTable(statement: string): string {
  return countedName(WRITE_STATEMENT.exec(statement)?.[1] ?? '')
}

/** A table's name as writes are counted under it: a per-body table under its prefix. */
const countedName = (table: string) => table.replace(/_[0-9a-f]{32}$/, '')

export type WarehouseSettings = Pick<Settings, 'dataDir' | 'timezone' | 'clickhouse'> & Partial<Pick<Settings, 'backupDir'>>

export interface OpenOptions {
  /** Apply the schema migrations (default). A backup or a restore opens the engine without them (backup.ts). */
  migrate?: boolean
}

/**
 * What every query runs with on a cluster (CLICKHOUSE_CLUSTER; warehouse/CLUSTER.md): a subquery
 * of IN or JOIN that reads a distributed table, in a query on one, is GLOBAL (run once, its rows
 * sent to the shards; the default refuses such queries); an insert through a Distributed table
 * returns once the shards hold its rows (the refresh reads them next); and a shard's reads and
 * writes go to its first replica while it is up, so what was just written is what is read.
 */
export const CLUSTER_SETTINGS = { distributed_product_mode: 'global', distributed_foreground_insert: 1, load_balancing: 'in_order' } as const

export async function openWarehouse(settings: WarehouseSettings, options: OpenOptions = {}): Promise<Warehouse> {
  let client: ClickHouseClient
  let dataDir: string | undefined
  let engineSession: Session | undefined
  if (settings.clickhouse) {
    const { url, username, password, database } = settings.clickhouse
    // the client's own log prints every failed request with its stack; the problem is reported
    // once, in a sentence (startup.ts), and with TIERSCOPE_LOG_LEVEL=debug the stack with it
    const log = { level: process.env.TIERSCOPE_LOG_LEVEL === 'debug' ? ClickHouseLogLevel.WARN : ClickHouseLogLevel.OFF }
    const bootstrap = createClient({ url, username, password, log })
    try {
      await bootstrap.command({ query: `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(database)}` })
    } catch (err) {
      throw serverProblem(err, settings.clickhouse) ?? err
    } finally {
      await bootstrap.close()
    }
    client = createClient({ url, username, password, database, log, clickhouse_settings: { date_time_output_format: 'simple', ...(settings.clickhouse.cluster ? CLUSTER_SETTINGS : {}) } })
  } else {
    dataDir = resolve(settings.dataDir)
    try {
      mkdirSync(dataDir, { recursive: true })
      lockDataDir(dataDir)
    } catch (err) {
      throw dataDirProblem(err, dataDir) ?? err
    }
    // The engine's server configuration is given when its data directory is first opened: a
    // session with --config-file, kept open for the warehouse's life, starts the engine, and the
    // client's connection below shares it (same path). The file sets backups.allowed_path, which
    // BACKUP … TO File(…) and RESTORE … FROM File(…) need (backup.ts).
    engineSession = new Session(dataDir, { connectionArgs: [`--config-file=${engineConfigFile(settings.backupDir)}`] })
    // libchdb holds one data directory per process: the second distinct path is refused by chdb itself.
    // chdb types its connection against @clickhouse/client-common, which @clickhouse/client now
    // bundles under its own path: the shapes are the same, the type identities are not.
    const connection = createChdbConnection({ path: dataDir }) as unknown as NonNullable<Parameters<typeof createClient>[0]>['connection']
    client = createClient({ connection })
  }
  // every write is counted once it has ended, failed too (it may have stored part of its rows);
  // a command counts under the table its statement names (writtenTable), any command, DDL too
  let writes = 0
  const writesByTable = new Map<string, number>()
  const count = (table: string) => {
    writes++
    writesByTable.set(table, (writesByTable.get(table) ?? 0) + 1)
  }
  const insert = client.insert.bind(client)
  const command = client.command.bind(client)
  client.insert = (async (params: Parameters<typeof insert>[0]) => {
    try {
      return await insert(params)
    } finally {
      if (!WRITES_NOT_COUNTED.has(params.table)) count(countedName(params.table))
    }
  }) as typeof client.insert
  client.command = async (params) => {
    try {
      return await command(params)
    } finally {
      count(writtenTable(params.query))
    }
  }
  const warehouse: Warehouse = {
    client,
    kind: settings.clickhouse ? 'server' : 'embedded',
    timezone: settings.timezone,
    dataDir,
    cluster: settings.clickhouse?.cluster,
    get writes() {
      return writes
    },
    writesByTable,
    close: async () => {
      await client.close()
      engineSession?.close()
      if (dataDir) unlockDataDir(dataDir)
    },
  }
  if (options.migrate === false) return warehouse
  try {
    await migrate(warehouse)
  } catch (err) {
    await warehouse.close()
    throw (settings.clickhouse ? serverProblem(err, settings.clickhouse) : dataDir ? dataDirProblem(err, dataDir) : undefined) ?? err
  }
  return warehouse
}

/**
 * The embedded engine's configuration file (written once per process to the system's temporary
 * directory): backups may be written to and read from `backupDir` and below, or anywhere the
 * process may write when it is not set.
 */
function engineConfigFile(backupDir: string | undefined): string {
  const allowed = backupDir ? resolve(backupDir) : '/'
  const file = join(tmpdir(), `tierscope-engine-${process.pid}.xml`)
  const xml = `<clickhouse><backups><allowed_path>${escapeXml(allowed.endsWith('/') ? allowed : allowed + '/')}</allowed_path></backups></clickhouse>\n`
  writeFileSync(file, xml)
  return file
}

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/** The warehouse directory is held by another live process (a running server, a CLI load). */
export class DataDirLockedError extends Error {
  readonly code = 'data_dir_locked'
  constructor(readonly dataDir: string, readonly pid: number) {
    super(`The warehouse in ${dataDir} is in use by process ${pid} (a running tierscope server?). Send data through its API (tierscope ingest --url …), or stop it first.`)
  }
}

// Two engines writing one directory would corrupt it, and libchdb does not lock it itself.
const lockFile = (dir: string) => join(dir, 'tierscope.lock')

function lockDataDir(dir: string): void {
  try {
    const pid = Number(readFileSync(lockFile(dir), 'utf8').trim())
    if (pid && pid !== process.pid && processAlive(pid)) throw new DataDirLockedError(dir, pid)
  } catch (err) {
    if (err instanceof DataDirLockedError) throw err
    // no lock file, or an unreadable one: take it
  }
  writeFileSync(lockFile(dir), String(process.pid))
}

function unlockDataDir(dir: string): void {
  try {
    if (Number(readFileSync(lockFile(dir), 'utf8').trim()) === process.pid) rmSync(lockFile(dir), { force: true })
  } catch {
    // already gone
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function quoteIdentifier(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`CLICKHOUSE_DATABASE must be a plain identifier, got ${JSON.stringify(name)}`)
  return '`' + name + '`'
}

/** Runs a parameterised SELECT and returns its rows. */
export async function queryRows<T>(warehouse: Warehouse, query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const result = await warehouse.client.query({ query, query_params: params, format: 'JSONEachRow' })
  return result.json<T>()
}

/** How the platform's own periodic reads are named (query_id), apart from the questions asked of it. */
export const BACKGROUND_QUERY_PREFIX = 'tierscope-background-'

/** queryRows for a read the platform makes by itself (a sweep, a look for others' work): its query_id says so. */
export async function backgroundRows<T>(warehouse: Warehouse, query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const result = await warehouse.client.query({ query, query_params: params, format: 'JSONEachRow', query_id: `${BACKGROUND_QUERY_PREFIX}${randomUUID()}` })
  return result.json<T>()
}
