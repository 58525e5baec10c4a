// Backups of the embedded warehouse with ClickHouse's own BACKUP and RESTORE (never a copy of a
// live directory): the engine writes a consistent snapshot of the database, every table at one
// moment, while the platform keeps serving. A backup is a directory: ClickHouse's `.backup` and
// `data/`, and `tierscope-backup.json` beside them, which says what it holds (the schema version,
// the time zone, the backup it is incremental on). A restore goes into an empty directory only and
// then runs the migrations of this release, so a backup of an older release comes up current.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { isAbsolute, join, relative, resolve } from 'node:path'
import { openWarehouse, queryRows, type Warehouse, type WarehouseSettings } from './client.ts'
import { AUTH_MIGRATIONS_FROM, migrate, migrations } from './migrations.ts'
import { nowSeconds } from './time.ts'

export const MANIFEST_FILE = 'tierscope-backup.json'

/** What a backup directory says about itself. */
export interface BackupManifest {
  format: 'tierscope-backup'
  format_version: 1
  /** The highest schema migration applied in the warehouse backed up. */
  schema_version: number
  /** The time zone the warehouse's columns carry (TIERSCOPE_TIMEZONE must match it). */
  timezone: string
  /** The database backed up (`default` when embedded). */
  database: string
  created_at: string
  /** The backup this one is incremental on (absolute path), or null for a full backup. */
  base: string | null
  /** Bytes of the database's parts when it was backed up (the restore's progress measure). */
  data_bytes: number
  /** Bytes written to this directory (an incremental backup holds only what changed). */
  backup_bytes: number
  /** Rows per table at the moment of the backup. */
  tables: Record<string, number>
}

/** A backup or restore refused or failed, with what to do; `status` is its HTTP answer. */
export class BackupError extends Error {
  constructor(readonly code: string, message: string, readonly status = 400) {
    super(message)
  }
}

/** The schema version this release migrates to. */
export const RELEASE_SCHEMA_VERSION = Math.max(...migrations.map((m) => m.version))

export interface BackupProgress {
  phase: 'backup' | 'restore' | 'migrate'
  done_bytes: number
  total_bytes: number
}

export function readManifest(dir: string): BackupManifest {
  const file = join(dir, MANIFEST_FILE)
  if (!existsSync(file) || !existsSync(join(dir, '.backup'))) {
    throw new BackupError('not_a_backup', `${dir} is not a tierscope backup (it has no ${MANIFEST_FILE} and .backup); name the directory \`tierscope backup --out\` wrote.`)
  }
  const m = JSON.parse(readFileSync(file, 'utf8')) as BackupManifest
  if (m.format !== 'tierscope-backup') throw new BackupError('not_a_backup', `${file} is not a tierscope backup manifest.`)
  return m
}

/** Bytes of the files under a directory (what a backup or a restore has written so far). */
export function directoryBytes(dir: string): number {
  let total = 0
  const walk = (d: string) => {
    let entries
    try {
      entries = readdirSync(d, { withFileTypes: true })
    } catch {
      return
    }
    for (const e of entries) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.isFile()) {
        try {
          total += statSync(p).size
        } catch {
          // removed meanwhile (the engine's temporary files)
        }
      }
    }
  }
  walk(dir)
  return total
}

function checkAllowed(dir: string, backupDir: string | undefined, what: string): void {
  if (!backupDir) return
  const rel = relative(resolve(backupDir), dir)
  if (rel.startsWith('..') || isAbsolute(rel)) {
    throw new BackupError('outside_backup_dir', `${what} ${dir} is outside TIERSCOPE_BACKUP_DIR (${resolve(backupDir)}); backups are written and read only there.`, 403)
  }
}

export interface BackupOptions {
  /** The new backup's directory: absent or empty. */
  out: string
  /** A previous backup (full or incremental) to build an incremental one on. */
  base?: string
  /** TIERSCOPE_BACKUP_DIR of the engine. */
  backupDir?: string
  onProgress?: (p: BackupProgress) => void
}

/** Checks a backup's destination and base before anything is written; returns their absolute paths. */
export function checkBackupTarget(opts: Pick<BackupOptions, 'out' | 'base' | 'backupDir'>): { out: string; base: string | undefined } {
  const out = resolve(opts.out)
  checkAllowed(out, opts.backupDir, 'The backup directory')
  if (existsSync(out) && readdirSync(out).length > 0) {
    throw new BackupError('backup_dir_not_empty', `${out} is not empty; a backup is written into a new or empty directory (name one per backup, e.g. by date).`, 409)
  }
  let base: string | undefined
  if (opts.base) {
    base = resolve(opts.base)
    checkAllowed(base, opts.backupDir, 'The base backup')
    readManifest(base)
  }
  return { out, base }
}

/**
 * Backs up the warehouse's database to `out` (incremental on `base` when given) with the
 * engine's BACKUP, while it keeps answering other queries; writes the manifest and records the
 * moment in `meta` (`last_backup_at`, read by the monitoring).
 */
export async function backupWarehouse(warehouse: Warehouse, opts: BackupOptions): Promise<BackupManifest> {
  if (warehouse.kind !== 'embedded') {
    throw new BackupError('backup_on_server', 'The warehouse is a ClickHouse server: back it up with the server\'s own BACKUP to a disk or an object store (warehouse/README.md "Backups"), not through tierscope.', 409)
  }
  const { out, base } = checkBackupTarget(opts)
  const [db] = await queryRows<{ db: string }>(warehouse, 'SELECT currentDatabase() AS db')
  const database = db!.db
  const [size] = await queryRows<{ bytes: string }>(warehouse, 'SELECT sum(bytes_on_disk) AS bytes FROM system.parts WHERE database = {db:String} AND active', { db: database })
  const dataBytes = Number(size?.bytes ?? 0)
  const schemaVersion = await schemaVersionOf(warehouse)
  const tables = await tableRows(warehouse, database)
  mkdirSync(out, { recursive: true })
  const settings = base ? ' SETTINGS base_backup = File({base:String})' : ''
  const id = await startAsync(warehouse, `BACKUP DATABASE ${quoteIdentifier(database)} TO File({out:String})${settings} ASYNC`, { out, base })
  await waitFor(warehouse, id, 'BACKUP_CREATED', ['BACKUP_FAILED', 'BACKUP_CANCELLED'], () =>
    opts.onProgress?.({ phase: 'backup', done_bytes: directoryBytes(out), total_bytes: dataBytes }))
  const [zone] = await queryRows<{ value: string }>(warehouse, `SELECT value FROM meta FINAL WHERE key = 'timezone'`)
  const manifest: BackupManifest = {
    format: 'tierscope-backup', format_version: 1, schema_version: schemaVersion, timezone: zone?.value ?? warehouse.timezone, database,
    created_at: new Date().toISOString(), base: base ?? null, data_bytes: dataBytes, backup_bytes: directoryBytes(out), tables,
  }
  writeFileSync(join(out, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n')
  await warehouse.client.insert({ table: 'meta', values: [{ key: 'last_backup_at', value: manifest.created_at, updated_at: nowSeconds() }], format: 'JSONEachRow' })
  opts.onProgress?.({ phase: 'backup', done_bytes: dataBytes, total_bytes: dataBytes })
  return manifest
}

/** When the last backup of this warehouse succeeded (epoch ms), if ever. */
export async function lastBackupAt(warehouse: Warehouse): Promise<number | undefined> {
  const [row] = await queryRows<{ value: string }>(warehouse, `SELECT value FROM meta FINAL WHERE key = 'last_backup_at'`)
  return row ? Date.parse(row.value) : undefined
}

export interface RestoreOptions {
  from: string
  /** The new warehouse directory: absent or empty. */
  dataDir: string
  /** TIERSCOPE_TIMEZONE: must be the backup's, if given. */
  timezone?: string
  onProgress?: (p: BackupProgress) => void
}

export interface RestoreResult {
  manifest: BackupManifest
  /** The schema version after the migrations of this release ran. */
  schema_version: number
  tables: Record<string, number>
}

/**
 * Restores a backup into a new, empty warehouse directory with the engine's RESTORE, then runs the
 * migrations of this release. Refuses a directory that holds anything, and a backup made by a
 * newer release (its schema is one this release does not know).
 */
export async function restoreWarehouse(opts: RestoreOptions): Promise<RestoreResult> {
  const from = resolve(opts.from)
  const manifest = readManifest(from)
  if (manifest.base && !existsSync(join(manifest.base, '.backup'))) {
    throw new BackupError('base_missing', `${from} is an incremental backup on ${manifest.base}, which is not there any more; an incremental backup restores only with its base where it was.`)
  }
  if (manifest.schema_version > RELEASE_SCHEMA_VERSION) {
    throw new BackupError('backup_from_newer_release', `The backup in ${from} has schema version ${manifest.schema_version}, made by a newer release of tierscope than this one (schema ${RELEASE_SCHEMA_VERSION}); restore it with that release or a later one.`, 409)
  }
  if (opts.timezone && opts.timezone !== manifest.timezone) {
    throw new BackupError('timezone_mismatch', `The backup's warehouse was made for time zone ${manifest.timezone}; TIERSCOPE_TIMEZONE is ${opts.timezone}. Restore and serve it with TIERSCOPE_TIMEZONE=${manifest.timezone}.`)
  }
  const dataDir = resolve(opts.dataDir)
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
    throw new BackupError('data_dir_not_empty', `${dataDir} is not empty; a backup is restored only into a new or empty directory, so nothing in it is overwritten or mixed with the backup.`, 409)
  }
  const settings: WarehouseSettings = { dataDir, timezone: manifest.timezone, clickhouse: undefined }
  const warehouse = await openWarehouse(settings, { migrate: false })
  try {
    const [db] = await queryRows<{ db: string }>(warehouse, 'SELECT currentDatabase() AS db')
    const target = db!.db
    const source = manifest.database
    const what = source === target ? `DATABASE ${quoteIdentifier(source)}` : `DATABASE ${quoteIdentifier(source)} AS ${quoteIdentifier(target)}`
    const id = await startAsync(warehouse, `RESTORE ${what} FROM File({from:String}) ASYNC`, { from })
    await waitFor(warehouse, id, 'RESTORED', ['RESTORE_FAILED', 'RESTORE_CANCELLED'], () =>
      opts.onProgress?.({ phase: 'restore', done_bytes: Math.min(directoryBytes(dataDir), manifest.data_bytes), total_bytes: manifest.data_bytes }))
    opts.onProgress?.({ phase: 'restore', done_bytes: manifest.data_bytes, total_bytes: manifest.data_bytes })
    opts.onProgress?.({ phase: 'migrate', done_bytes: 0, total_bytes: 1 })
    await migrate(warehouse)
    opts.onProgress?.({ phase: 'migrate', done_bytes: 1, total_bytes: 1 })
    return { manifest, schema_version: await schemaVersionOf(warehouse), tables: await tableRows(warehouse, target) }
  } finally {
    await warehouse.close()
  }
}

/** The warehouse's schema version: its newest migration of the warehouse's own block (auth's are numbered from 1001). */
async function schemaVersionOf(warehouse: Warehouse): Promise<number> {
  const [row] = await queryRows<{ v: number }>(warehouse, 'SELECT max(version) AS v FROM schema_migrations WHERE version < {auth_from:UInt32}', { auth_from: AUTH_MIGRATIONS_FROM })
  return Number(row?.v ?? 0)
}

async function tableRows(warehouse: Warehouse, database: string): Promise<Record<string, number>> {
  const rows = await queryRows<{ name: string; rows: string | null }>(warehouse,
    'SELECT name, total_rows AS rows FROM system.tables WHERE database = {db:String} AND NOT is_temporary ORDER BY name', { db: database })
  return Object.fromEntries(rows.filter((r) => r.rows !== null).map((r) => [r.name, Number(r.rows)]))
}

async function startAsync(warehouse: Warehouse, query: string, params: Record<string, unknown>): Promise<string> {
  try {
    const [row] = await queryRows<{ id: string; status: string }>(warehouse, query, params)
    return row!.id
  } catch (err) {
    throw new BackupError('engine_refused', `The engine refused: ${(err as Error).message.split('\n')[0]}`, 500)
  }
}

async function waitFor(warehouse: Warehouse, id: string, done: string, failed: string[], tick: () => void): Promise<void> {
  for (;;) {
    const [row] = await queryRows<{ status: string; error: string }>(warehouse, 'SELECT toString(status) AS status, error FROM system.backups WHERE id = {id:String}', { id })
    if (row?.status === done) return
    if (row && failed.includes(row.status)) throw new BackupError('engine_failed', `The engine's ${done === 'RESTORED' ? 'RESTORE' : 'BACKUP'} failed: ${row.error.split('\n')[0]}`, 500)
    tick()
    await new Promise((r) => setTimeout(r, 200))
  }
}

function quoteIdentifier(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`'
}
