// `tierscope schema [--cluster NAME]`: the platform's whole schema as SQL for a ClickHouse server
// or cluster, read from a warehouse the migrations made (never a second hand-written copy): every
// table in its final shape after all migrations, the warehouse's and auth's. On a cluster the
// MergeTree-family engines become their Replicated counterparts, and each large table is a
// `<t>_local` table with a Distributed table `<t>` over it. Where each table lives (PLACEMENT)
// is the one decision kept by hand. warehouse/CLUSTER.md says how it is used and what was verified.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { authMigrations } from '../auth/schema.ts'
import { openWarehouse, queryRows, type Warehouse } from './client.ts'
import { settingsFromEnv } from './config.ts'
import { applyMigrations } from './migrations.ts'
import { sqlString } from './sql.ts'

/**
 * A table sharded across the cluster by `cityHash64(by)`, or held whole by every node (replicated,
 * one Keeper path for the whole cluster), so that joins with it stay on the shard.
 */
export type Placement = { sharded: true; by: string; why: string } | { sharded: false; why: string }

const sharded = (by: string, why: string): Placement => ({ sharded: true, by, why })
const whole = (why: string): Placement => ({ sharded: false, why })

const REFERENCE = 'reference data the figures join with: with a copy on every shard, those joins stay local'
const BOOKKEEPING = 'bookkeeping, a row or a few per batch or change'
const REPORT = 'the frozen figures of published years (units × indicators per version): whole, a publication row is never on another shard than its figures'
const AUTH = 'auth\'s: small, read whole into memory by every process'

/**
 * Where every table of the schema lives on a cluster, and why. A table the migrations make that
 * is missing here stops `tierscope schema` (a new table needs this decision, not a default).
 * A ReplacingMergeTree is sharded only by a column of its sorting key: every version of a row
 * lands on one shard, where FINAL replaces them.
 */
export const PLACEMENT: Record<string, Placement> = {
  // the case tables: a case's events, its state row and the copies of it on one shard
  case_events: sharded('case_id', 'a case\'s events beside its state rows: the refresh rebuilds a case from its events, the case page reads one case\'s events'),
  case_state: sharded('case_id', 'one row per case (ReplacingMergeTree by case_id): a case\'s versions on one shard, where FINAL replaces them, beside its events'),
  case_open: sharded('case_id', 'a copy of case_state rows, keyed like it; a stopped case\'s deleted row (is_deleted) meets its open one on its shard, where FINAL and the cleanup merges apply it'),
  case_month_end: sharded('case_id', 'copies of case_state rows as they stood at each month end since the start of last year, keyed like it'),
  case_daily_cases: sharded('case_id', 'each case\'s contributions to case_daily (ReplacingMergeTree keyed by where it counts, ending with case_id): a case\'s versions on one shard, beside its state row it is computed from'),
  case_refresh_queue: sharded('case_id', 'the cases a batch queued for the refresh, beside those cases\' rows'),
  // ratings and their handling: a rating and its follow-ups together
  evaluations: sharded('event_id', 'a rating beside its follow-ups (evaluation_followups.evaluation_id is its event_id): the bad-rating figures and the ratings list join them on it. Not by case: follow-ups do not carry it. Not by unit: a few halls hold most ratings'),
  evaluation_followups: sharded('evaluation_id', 'a rating\'s verification, rectification and revisit beside the rating (sharded by its event_id)'),
  complaints: sharded('complaint_id', 'a complaint\'s events (received, responded, resolved, rated) on one shard: every complaint figure groups them by complaint_id, so each shard\'s groups are whole. Not by unit: a complaint\'s events may name different units'),
  // queue tickets: a ticket's events and its state row together
  queue_tickets: sharded('ticket_id', 'a ticket\'s events (issued, called, abandoned) beside its queue_ticket_state row, which is rebuilt from them'),
  queue_ticket_state: sharded('ticket_id', 'one row per ticket (ReplacingMergeTree by ticket_id): a ticket\'s versions on one shard, where FINAL replaces them'),
  // the ingest's working rows and what it rejected, by batch
  ingest_lines: sharded('batch_id', 'a body\'s lines (server path), read only by the process handling that batch, always by batch_id: on one shard, not copied to every node'),
  ingest_row_status: sharded('batch_id', 'a batch\'s rows that are not new, read by batch_id by the process handling it'),
  quarantine: sharded('batch_id', 'rejected rows with their raw text, never deleted: spread over the shards rather than held whole by every node; a batch\'s rejections together'),
  audit_log: sharded('audit_id', 'one row per audited request, kept for years: spread evenly; read by time range over every shard, joined with nothing'),
  // small tables, whole on every node
  meta: whole('a few rows every process reads at start-up and on changes'),
  settings: whole('the tunable settings: a few rows, read whole into memory'),
  schema_migrations: whole('the migrations applied: a row each'),
  units: whole(REFERENCE),
  items: whole(`${REFERENCE} (the clock joins items)`),
  calendar: whole(REFERENCE),
  targets: whole(REFERENCE),
  assessment_schemes: whole(REFERENCE),
  costs: whole('a monthly ledger per unit and category: thousands of rows a year'),
  case_daily: whole('sums over the cases of every shard per (kind, day, unit): no case to shard by; ~200,000 rows for 2.5M cases, and whole, a rebuilt row\'s versions always meet for FINAL'),
  rating_contests: whole('the rated cases with more than one rating: a few keys per thousand ratings, read whole as a set by every rating figure, and found from the ratings of every shard'),
  case_daily_pending: whole(BOOKKEEPING),
  case_refresh_done: whole(BOOKKEEPING),
  derived_refresh_batches: whole(`${BOOKKEEPING}: every process reads which batches are due for their refresh`),
  ingest_batches: whole(BOOKKEEPING),
  data_changes: whole(BOOKKEEPING),
  past_answers: whole('answers kept for past moments, read by key on every such question (kept 90 days)'),
  report_publications: whole(REPORT),
  report_units: whole(REPORT),
  report_indicators: whole(REPORT),
  api_keys: whole(AUTH),
  api_key_use: whole(AUTH),
  users: whole(AUTH),
  sessions: whole(AUTH),
}

/** The sharding key of a sharded table's Distributed table. */
export const shardingKey = (p: Extract<Placement, { sharded: true }>) => `cityHash64(${p.by})`

export interface SchemaOptions {
  /** The cluster's name (the servers' remote_servers); without it, the single-server schema. */
  cluster?: string
  /** The database the tables are made in. */
  database: string
  /** A database holding the tables as this release's migrations made them: statements copying every row from it. */
  copyFrom?: string
}

export interface SchemaStatement {
  /** The platform's name of the table the statement is about (none: the database, a setting). */
  table?: string
  /**
   * `table`: a table of the single-server schema; on a cluster, `local` and `distributed`: a
   * sharded table's two, `replicated`: a table every node holds whole; `record`: the rows that
   * say which schema it is; `setting` and `copy`: copying the rows of `copyFrom`.
   */
  role: 'database' | 'table' | 'local' | 'distributed' | 'replicated' | 'record' | 'setting' | 'copy'
  /** The statement as the engine formats it. */
  sql: string
}

export interface Schema {
  options: SchemaOptions
  /** The zone every time column carries. */
  timezone: string
  /** The migrations the schema holds (the warehouse's and auth's). */
  versions: number[]
  statements: SchemaStatement[]
}

interface TableRow { name: string; engine: string; engine_full: string; create_table_query: string }
interface ColumnRow { table: string; name: string; type: string; default_kind: string; default_expression: string; comment: string }

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/
const CLUSTER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/

/** The names go into the statements as they are: only plain ones pass. */
function checkSchemaOptions({ cluster, database, copyFrom }: SchemaOptions): void {
  if (!IDENTIFIER.test(database)) throw new Error(`--database must be a plain identifier, got ${JSON.stringify(database)}`)
  if (copyFrom !== undefined && !IDENTIFIER.test(copyFrom)) throw new Error(`--copy-from must be a plain identifier, got ${JSON.stringify(copyFrom)}`)
  if (cluster !== undefined && !CLUSTER_NAME.test(cluster)) throw new Error(`--cluster must be the name of a cluster in the servers' remote_servers, got ${JSON.stringify(cluster)}`)
}

/**
 * The platform's schema read from `warehouse` (its current database, migrated): its tables as
 * system.tables describes them, rewritten for `options`. Memory tables (the ingest's per-batch
 * working tables) are made at run time and are left out; an engine this does not know how to
 * place is refused rather than left out.
 */
export async function readSchema(warehouse: Warehouse, options: SchemaOptions): Promise<Schema> {
  checkSchemaOptions(options)
  const { cluster, database, copyFrom } = options
  const [{ db }] = await queryRows<{ db: string }>(warehouse, 'SELECT currentDatabase() AS db') as [{ db: string }]
  const tables = (await queryRows<TableRow>(warehouse,
    'SELECT name, engine, engine_full, create_table_query FROM system.tables WHERE database = {db:String} AND NOT is_temporary ORDER BY name', { db }))
    .filter((t) => t.engine !== 'Memory')
  const columns = await queryRows<ColumnRow>(warehouse,
    'SELECT table, name, type, default_kind, default_expression, comment FROM system.columns WHERE database = {db:String} ORDER BY table, position', { db })
  for (const t of tables) {
    if (!t.engine.endsWith('MergeTree')) throw new Error(`table ${t.name} has engine ${t.engine}: tierscope schema knows how to place MergeTree-family tables only`)
    if (cluster !== undefined && !PLACEMENT[t.name]) throw new Error(`table ${t.name} has no placement on a cluster: add it to PLACEMENT in warehouse/cluster-schema.ts (sharded by which column, or whole, and why)`)
  }
  const onCluster = cluster === undefined ? '' : ` ON CLUSTER \`${cluster}\``
  const statements: Array<Omit<SchemaStatement, 'sql'> & { text: string }> = [{ role: 'database', text: `CREATE DATABASE IF NOT EXISTS ${database}${onCluster}` }]
  for (const t of tables) {
    const { head, engine, args, clauses } = splitTable(t, db)
    const create = (name: string) => `CREATE TABLE IF NOT EXISTS ${database}.${name}${onCluster} ${head}`
    if (cluster === undefined) {
      statements.push({ table: t.name, role: 'table', text: `${create(t.name)} ENGINE = ${t.engine_full}` })
      continue
    }
    const placement = PLACEMENT[t.name]! // every table has one (checked above)
    if (placement.sharded) {
      const local = `${t.name}_local`
      statements.push({ table: t.name, role: 'local', text: `${create(local)} ENGINE = ${replicated(engine, args, `/clickhouse/tables/{shard}/{database}/${local}`)}${clauses}` })
      // it names the database (currentDatabase() would be the session's of whoever runs it) and
      // has the local table's columns without its projections
      const cols = columns.filter((c) => c.table === t.name).map(columnDefinition).join(', ')
      statements.push({ table: t.name, role: 'distributed', text: `CREATE TABLE IF NOT EXISTS ${database}.${t.name}${onCluster} (${cols}) ENGINE = Distributed(${sqlString(cluster)}, ${sqlString(database)}, ${sqlString(local)}, ${shardingKey(placement)})` })
    } else {
      // one Keeper path for every node of the cluster: each shard holds the table whole
      statements.push({ table: t.name, role: 'replicated', text: `${create(t.name)} ENGINE = ${replicated(engine, args, `/clickhouse/tables/all/{database}/${t.name}`)}${clauses}` })
    }
  }
  // Which schema this is, written into a new database only (one with no migrations recorded, no
  // zone): the migrations it holds, so the platform starting on it runs none of them again (on a
  // cluster they would run without ON CLUSTER), and the zone its columns carry. On an existing
  // database the tables above change nothing (IF NOT EXISTS), and neither do these.
  const versions = (await queryRows<{ version: number; name: string }>(warehouse, 'SELECT version, name FROM schema_migrations FINAL ORDER BY version'))
  const rows = versions.map((m) => `(${Number(m.version)}, ${sqlString(m.name)})`).join(', ')
  statements.push({ table: 'schema_migrations', role: 'record', text: `INSERT INTO ${database}.schema_migrations (version, name, applied_at)
    SELECT version, name, now64(3) FROM values('version UInt32, name String', ${rows}) WHERE (SELECT count() FROM ${database}.schema_migrations) = 0` })
  statements.push({ table: 'meta', role: 'record', text: `INSERT INTO ${database}.meta (key, value, updated_at)
    SELECT 'timezone', ${sqlString(warehouse.timezone)}, now64(3) WHERE (SELECT count() FROM ${database}.meta WHERE key = 'timezone') = 0` })
  if (copyFrom !== undefined) {
    // an insert through a Distributed table returns once the shards hold its rows
    if (cluster !== undefined) statements.push({ role: 'setting', text: 'SET distributed_foreground_insert = 1' })
    for (const t of tables) {
      const names = columns.filter((c) => c.table === t.name && (c.default_kind === '' || c.default_kind === 'DEFAULT')).map((c) => '`' + c.name + '`').join(', ')
      statements.push({ table: t.name, role: 'copy', text: `INSERT INTO ${database}.${t.name} (${names}) SELECT ${names} FROM ${copyFrom}.${t.name}` })
    }
  }
  // the engine formats every statement, and refuses one it cannot parse
  const [{ formatted }] = await queryRows<{ formatted: string[] }>(warehouse, 'SELECT arrayMap(q -> formatQuery(q), {qs:Array(String)}) AS formatted',
    { qs: statements.map((s) => s.text) }) as [{ formatted: string[] }]
  return {
    options,
    timezone: warehouse.timezone,
    versions: versions.map((m) => Number(m.version)),
    statements: statements.map(({ text: _text, ...s }, i) => ({ ...s, sql: formatted[i]! })),
  }
}

/** A table's create_table_query cut into its columns, its engine (name and arguments) and the clauses after the engine. */
function splitTable(t: TableRow, db: string): { head: string; engine: string; args: string; clauses: string } {
  const prefix = `CREATE TABLE ${db}.${t.name} `
  const tail = ` ENGINE = ${t.engine_full}`
  if (!t.create_table_query.startsWith(prefix) || !t.create_table_query.endsWith(tail) || !t.engine_full.startsWith(t.engine)) {
    throw new Error(`cannot read the definition of table ${t.name}: ${t.create_table_query.slice(0, 200)}`)
  }
  const head = t.create_table_query.slice(prefix.length, -tail.length)
  let clauses = t.engine_full.slice(t.engine.length)
  let args = ''
  if (clauses.startsWith('(')) {
    const close = closingParenthesis(clauses)
    args = clauses.slice(1, close)
    clauses = clauses.slice(close + 1)
  }
  return { head, engine: t.engine, args, clauses }
}

/** Where the parenthesis opened at s[0] closes (quoted text skipped). */
function closingParenthesis(s: string): number {
  let depth = 0
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "'") {
      while (++i < s.length && s[i] !== "'") if (s[i] === '\\') i++
    } else if (s[i] === '(') depth++
    else if (s[i] === ')' && --depth === 0) return i
  }
  throw new Error(`unbalanced engine arguments: ${s}`)
}

/** ReplacingMergeTree + (version) → ReplicatedReplacingMergeTree('<path>', '{replica}', version), and so on. */
const replicated = (engine: string, args: string, path: string) =>
  `Replicated${engine}(${[sqlString(path), `'{replica}'`, ...(args ? [args] : [])].join(', ')})`

function columnDefinition(c: ColumnRow): string {
  const defaultPart = c.default_kind ? ` ${c.default_kind} ${c.default_expression}` : ''
  const comment = c.comment ? ` COMMENT ${sqlString(c.comment)}` : ''
  return '`' + c.name + '` ' + c.type + defaultPart + comment
}

/** The schema as one script for clickhouse-client (`--multiquery`), saying where each table lives and why. */
export function renderSchema(schema: Schema): string {
  const { cluster, database, copyFrom } = schema.options
  const out = [
    `-- tierscope's schema for ${cluster === undefined ? 'a ClickHouse server' : `the ClickHouse cluster ${cluster}`}: database ${database}, ` +
      `time zone ${schema.timezone}, migrations ${schema.versions.join(', ')}.`,
    '-- Read from the migrations (warehouse/migrations.ts, auth/schema.ts) applied to a new embedded warehouse. Memory tables',
    '-- (the ingest\'s per-batch working tables) are made at run time and are not part of it.',
    ...(cluster === undefined ? [] : [
      '-- Needs Keeper and the macros {shard} (the same on a shard\'s replicas) and {replica} (unique in the cluster) on every node.',
      '-- Run it once, on any node: ON CLUSTER makes the tables on all of them. warehouse/CLUSTER.md says more.',
    ]),
    '',
  ]
  schema.statements.forEach((s, i) => {
    const previous = schema.statements[i - 1]?.role
    if (cluster !== undefined && s.table && (s.role === 'local' || s.role === 'replicated')) {
      const p = PLACEMENT[s.table]!
      out.push(p.sharded ? `-- ${s.table}: sharded by ${shardingKey(p)}: ${p.why}.` : `-- ${s.table}: whole on every node: ${p.why}.`)
    }
    if (s.role === 'record' && previous !== 'record') out.push('-- which schema this is, in a new database only: the migrations it holds (the platform runs none of them again) and its time zone')
    if ((s.role === 'setting' || s.role === 'copy') && previous !== 'setting' && previous !== 'copy') {
      out.push(`-- every row of ${copyFrom} (made by this release's migrations: a backup of this release restored as ${copyFrom})`)
    }
    out.push(`${s.sql};`, '')
  })
  return out.join('\n')
}

export const SCHEMA_USAGE = `  tierscope schema [--cluster NAME] [--database DB] [--copy-from DB]
      prints the platform's whole schema as SQL: every table after all migrations, its columns in TIERSCOPE_TIMEZONE's zone
      [--cluster NAME]   for the ClickHouse cluster NAME: ON CLUSTER, Replicated engines, Distributed tables (warehouse/CLUSTER.md)
      [--database DB]    the database it makes (default: CLICKHOUSE_DATABASE or tierscope)
      [--copy-from DB]   also statements copying every row from DB (a backup restored there) into it`

export async function schemaCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { cluster: { type: 'string' }, database: { type: 'string' }, 'copy-from': { type: 'string' } },
  })
  if (positionals.length > 0) throw new Error(`schema takes no ${JSON.stringify(positionals[0])}\n${SCHEMA_USAGE}`)
  const settings = settingsFromEnv()
  const options: SchemaOptions = { cluster: values.cluster, database: values.database ?? process.env.CLICKHOUSE_DATABASE ?? 'tierscope', copyFrom: values['copy-from'] }
  checkSchemaOptions(options)
  // a new embedded warehouse of its own with every migration applied, as openPlatform applies
  // them (the warehouse's, then auth's): what the platform makes is what is printed
  const dataDir = mkdtempSync(join(tmpdir(), 'tierscope-schema-'))
  try {
    const warehouse = await openWarehouse({ dataDir, timezone: settings.timezone, clickhouse: undefined })
    try {
      await applyMigrations(warehouse, authMigrations)
      process.stdout.write(renderSchema(await readSchema(warehouse, options)))
    } finally {
      await warehouse.close()
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
  return 0
}
