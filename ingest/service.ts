// One body of one stream, from a spooled file to a receipt, inside the engine: count its rows,
// validate every row (engine-sql.ts), check the key's scope (its rows' units, and the current
// units of the records they are about: scope.ts), find duplicates within the body and against
// what is stored (and ids another source owns), store the new rows, and stream the rest into the
// quarantine with their reasons. JavaScript handles only the batch: no row passes through it, and
// memory does not grow with rejected rows (only valid ones are staged).
//
// Exactly-once (see README.md): the duplicate lookup reads the stored rows themselves (through
// each table's id projection, written atomically with each part); a receipt is sent only after
// the insert returns; writes of one stream are serialised in this process, and across processes
// the same new rows make the same insert_deduplication_token (stored once by the engine) while
// the reads count an id once whatever is stored. The receipt does not wait for the derived
// state (warehouse/derived.ts): every read of it waits instead.
import { randomUUID } from 'node:crypto'
import { createReadStream, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { Readable } from 'node:stream'
import type { Principal } from '../auth/index.ts'
import { ANY_DAY, epochSeconds, queryRows, sqlString, type DerivedKind, type Platform } from '../warehouse/index.ts'
import { STREAMS, type RecordKind, type StreamName, type StreamSpec } from './contract.ts'
import { compileStream, referenceParams, type CompiledStream, type TypedColumn } from './engine-sql.ts'
import {
  arrowColumns, BodyFormatError, csvHeader, fileSource, JSON_ARRAY_CHECK, jsonArrayProblem, MAX_ROWS_PER_BODY, TooManyRowsError, type BodyFormat,
} from './sources.ts'
import { csvToNdjson, type PreRejected } from './csv-ndjson.ts'
import { stagingRows } from './transcode.ts'
import { currentUnitSql, foreignRecordsSql, RECORD_WORDS } from './scope.ts'
import type { RowError } from './validate.ts'

/** A record as it came out of a body: a value, or text that could not be read as one. */
export type ParsedRecord = { row: number; raw: string; value: unknown } | { row: number; raw: string; error: RowError }

export interface Receipt {
  batch_id: string
  received: number
  accepted: number
  duplicates: number
  rejected: number
  errors: RowError[]
}

export const MAX_ERRORS_IN_RECEIPT = 100

/** A row refused by the key's scope: its unit, or, for a row about a stored record, that record and its current unit. */
export interface OutOfScopeRow {
  row: number
  unit_id: string
  record?: { kind: RecordKind; id: string; unit_id: string }
}

/**
 * A row for a unit outside the key's scope, or about a record (a case, a rating, a complaint, a
 * ticket) whose current unit is outside it: the whole batch is refused (HTTP 403).
 */
export class ScopeError extends Error {
  readonly code = 'out_of_scope'
  constructor(readonly rows: OutOfScopeRow[], readonly total: number) {
    const what = (r: OutOfScopeRow) =>
      r.record ? `row ${r.row} (${RECORD_WORDS[r.record.kind]} ${JSON.stringify(r.record.id)}, which belongs to unit ${r.record.unit_id})` : `row ${r.row} (unit ${r.unit_id})`
    const first = rows.slice(0, 5).map(what).join(', ')
    const why = rows.some((r) => r.record)
      ? ' A key writes only its own units\' records: a case belongs to the unit it was accepted by or last transferred to, a rating to the unit rated, a complaint to the unit of its received, a ticket to the unit that issued it.'
      : ''
    super(`This key may not write for ${total} row(s) of this body: ${first}${total > 5 ? ', …' : ''}.${why} Nothing was stored.`)
  }
}

/** Rows a CSV body lost before the engine saw them (wrong shape, bad encoding), in a file of their own. */
interface PreRejectedRows {
  count: number
  path?: string
}

/**
 * The warehouse refused a write: nothing acknowledged, retrying the same body is safe (HTTP 503).
 * The engine's own text stays in `cause`, for the server log: clients get the plain sentence.
 */
export class WarehouseUnavailableError extends Error {
  readonly code = 'warehouse_unavailable'
  constructor(cause: unknown) {
    super('The warehouse cannot take writes right now. Nothing from this body was acknowledged; sending it again is safe.', { cause })
  }
}

/** A simple FIFO mutex: one writer per stream at a time keeps the duplicate check honest. */
class Mutex {
  private tail: Promise<void> = Promise.resolve()
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn)
    this.tail = result.then(() => undefined, () => undefined)
    return result
  }
}

export interface SpooledBody {
  format: BodyFormat
  path: string
}

type IngestPrincipal = Pick<Principal, 'key_id' | 'name' | 'writableUnits'>

/** The column that places a stream's record in time: answers as of a moment before it do not depend on the record. */
/** The streams whose batches have derived state kept from them (warehouse/derived.ts). */
const DERIVED_KIND: Partial<Record<StreamName, DerivedKind>> = { 'case-events': 'cases', 'queue-tickets': 'queue', evaluations: 'ratings' }

const recordDateOf = (spec: StreamSpec) => (spec.name === 'costs' ? 'period' : 'occurred_at')

/** The streams whose records get working-day counts (W) in queries: the calendar handed to queries must reach back to them. */
const COUNTED_IN_WORKING_DAYS: readonly string[] = ['case-events', 'evaluations', 'complaints']

/** The per-batch working table; its name comes from our own UUID, never from a request. */
const stageTable = (batch: string) => `ingest_stage_${batch.replace(/-/g, '')}`

/** Engine errors that mean the body itself cannot be read in its format (HTTP 400, not 503). */
const UNREADABLE = /CANNOT_PARSE|INCORRECT_DATA|CANNOT_READ|CANNOT_SEEK_THROUGH_FILE|INCORRECT_NUMBER_OF_COLUMNS|ARROW|CANNOT_EXTRACT_TABLE_STRUCTURE|UNKNOWN_FORMAT|TOO_LARGE_STRING_SIZE|BAD_ARGUMENTS/

/**
 * The validator's settings plus small blocks for the insert of rejected rows: their error
 * messages (every check's, with lazy evaluation off) are built a thousand rows at a time and
 * written out in parts of at most 8 MB, so memory stays flat however many there are (with the
 * defaults, 1M rejected rows took 1.8 GB: blocks of 65,505 rows and up to 256 MB gathered per part).
 */
function quarantineSettings(settings: string): string {
  const small = 'max_block_size = 1024, min_insert_block_size_rows = 16384, min_insert_block_size_bytes = 8388608'
  return settings ? `${settings}, ${small}` : `SETTINGS ${small}`
}

export class IngestService {
  private locks = new Map<StreamName, Mutex>()
  private compiled = new Map<StreamName, CompiledStream>()

  /** The most rows a body may hold (413 beyond): the contract's 1,000,000. */
  readonly maxRows = MAX_ROWS_PER_BODY

  constructor(private readonly platform: Platform) {}

  /** Where bodies are spooled: beside the embedded warehouse, or a directory of this process's own. */
  get spoolDir(): string {
    const { dataDir } = this.platform.warehouse
    return dataDir ? join(dataDir, 'ingest-spool') : join(tmpdir(), `tierscope-spool-${process.pid}`)
  }

  private compile(stream: StreamName, typed?: TypedColumn[]): CompiledStream {
    if (typed) return compileStream(STREAMS[stream], this.platform.warehouse.timezone, typed)
    let c = this.compiled.get(stream)
    if (!c) this.compiled.set(stream, (c = compileStream(STREAMS[stream], this.platform.warehouse.timezone)))
    return c
  }

  /** Records already in memory (the demo generator, tests): written as NDJSON, then ingested. */
  async ingest(stream: StreamName, records: ParsedRecord[], principal: IngestPrincipal): Promise<Receipt> {
    mkdirSync(this.spoolDir, { recursive: true })
    const path = join(this.spoolDir, `${randomUUID()}.ndjson`)
    writeFileSync(path, records.map((r) => ('value' in r ? JSON.stringify(r.value) : r.raw.replace(/\n/g, ' '))).join('\n') + '\n')
    try {
      return await this.ingestFile(stream, { format: 'ndjson', path }, principal)
    } finally {
      rmSync(path, { force: true })
    }
  }

  /** A spooled body of one stream → receipt. */
  async ingestFile(stream: StreamName, body: SpooledBody, principal: IngestPrincipal): Promise<Receipt> {
    // (rounds of the derived state nobody waits for hold back until it is answered: receipts first)
    const received = this.platform.derived.receiving()
    try {
      return await this.receiveFile(stream, body, principal)
    } finally {
      received()
    }
  }

  private async receiveFile(stream: StreamName, body: SpooledBody, principal: IngestPrincipal): Promise<Receipt> {
    const spec = STREAMS[stream]
    const batch = randomUUID()
    const pre: PreRejectedRows = { count: 0 }
    let transcoded: string | undefined
    if (body.format === 'csv') {
      transcoded = `${body.path}.ndjson`
      try {
        const csv = await csvToNdjson(body.path, transcoded, spec, csvHeader(body.path, spec), this.maxRows)
        Object.assign(pre, { count: csv.rejected, path: csv.rejectedPath })
      } catch (err) {
        rmSync(transcoded, { force: true })
        rmSync(`${transcoded}.rejected`, { force: true })
        throw err
      }
      body = { format: 'ndjson', path: transcoded }
    }
    try {
      const arrow = body.format === 'arrow' ? await arrowColumns(body.path, spec) : undefined
      const embedded = this.platform.warehouse.kind === 'embedded'
      // rows of a JSON array: counted by the check that reads it anyway
      let knownRows: number | undefined
      if (body.format === 'json' && embedded) {
        const [check] = await queryRows<{ utf8: number; valid: number; type: string; n: string }>(this.platform.warehouse, JSON_ARRAY_CHECK, { path: body.path })
        const problem = jsonArrayProblem(check)
        if (problem) throw new BodyFormatError(problem)
        knownRows = Number(check!.n)
        if (knownRows > this.maxRows) throw new TooManyRowsError(this.maxRows, knownRows)
      }
      const lock = this.locks.get(stream) ?? new Mutex()
      this.locks.set(stream, lock)
      return await lock.run(async () => {
        const params: Record<string, unknown> = {
          batch,
          now: epochSeconds(Date.now()),
          ...referenceParams(this.platform.reference.units.values(), this.platform.reference.items.keys()),
          stream,
          source_key: principal.key_id,
        }
        let source: string
        if (embedded) {
          source = fileSource(body.format, spec, { arrow })
          params.path = body.path
        } else {
          // a ClickHouse server cannot read our files: the body's lines go to it first
          await this.stageLines(batch, body, { arrow })
          source = `(SELECT row, line FROM ingest_lines WHERE batch_id = {batch:UUID})`
        }
        // an Arrow body the engine reads itself is validated column by column
        const typed = embedded && arrow ? arrow.map((c) => ({ name: c.name, kind: c.kind })) : undefined
        return this.runBatch(spec, batch, source, params, principal, typed, pre, knownRows)
      })
    } finally {
      if (transcoded) {
        rmSync(transcoded, { force: true })
        rmSync(`${transcoded}.rejected`, { force: true })
      }
    }
  }

  private async runBatch(
    spec: StreamSpec, batch: string, source: string, params: Record<string, unknown>, principal: IngestPrincipal,
    typed: TypedColumn[] | undefined, pre: PreRejectedRows, knownRows: number | undefined,
  ): Promise<Receipt> {
    const { warehouse } = this.platform
    const client = warehouse.client
    const compiled = this.compile(spec.name, typed)
    // Lazy (short-circuit) evaluation would re-parse each row's JSON once per branch of the
    // validator. A SETTINGS clause, not clickhouse_settings: chdb turns those into session-wide SETs.
    const trace = process.env.TIERSCOPE_TRACE_INGEST ? (label: string, t0: number) => console.error(`[ingest ${batch.slice(0, 8)}] ${label}: ${(performance.now() - t0).toFixed(0)} ms`) : undefined
    const run = async (query: string, settings = compiled.settings) => {
      const t0 = performance.now()
      await client.command({ query: `${query}\n${settings}`, query_params: params })
      trace?.(query.trim().split('\n')[0]!.slice(0, 60), t0)
    }
    const rows = <T>(query: string, extra: Record<string, unknown> = {}) => queryRows<T>(warehouse, query, { ...params, ...extra })
    const stage = stageTable(batch)
    /** The body's first reads: an engine error there is the body's (400) or the warehouse's (503). */
    const reading = async <T>(fn: () => Promise<T>): Promise<T> => {
      try {
        return await fn()
      } catch (err) {
        await client.command({ query: `DROP TABLE IF EXISTS ${stage}` }).catch(() => undefined)
        if (err instanceof Error && UNREADABLE.test(`${(err as { type?: string }).type ?? ''} ${err.message}`)) {
          throw new BodyFormatError(`The body cannot be read as ${spec.name} records: ${err.message.split('\n')[0]!.replace(/\(in file\/uri [^)]*\)/, '').slice(0, 400)}`)
        }
        throw new WarehouseUnavailableError(err)
      }
    }

    // 0. How many rows: a body of more than the limit is refused before it is validated.
    let t0 = performance.now()
    const bodyRows = knownRows ?? Number((await reading(() => rows<{ n: string }>(`SELECT count() AS n FROM ${source}`)))[0]?.n ?? 0)
    trace?.('count', t0)
    const received = bodyRows + pre.count
    if (received > this.maxRows) throw new TooManyRowsError(this.maxRows, received)

    // 1. Validate every row in the engine, once, into a per-batch in-memory table of the valid
    //    rows only: every later step reads typed columns from it instead of parsing the body
    //    again. Error messages are built later, for the rejected rows only, straight into the
    //    quarantine; rejected rows are never held here.
    await reading(() => run(`CREATE TABLE ${stage} ENGINE = Memory AS ${compiled.stage(source)}`))

    // the change this batch makes, once it stores anything (the day of its earliest record), until it is marked ended
    let change: { earliest: string; ended: boolean } | undefined
    try {
      // the valid rows, and the day of the earliest (none: NULL)
      const [counts] = await rows<{ valid: string; earliest: string | null }>(
        `SELECT count() AS valid, if(count() = 0, NULL, toString(toDate(min(${recordDateOf(spec)})))) AS earliest FROM ${stage}`,
      )
      if (counts?.earliest && COUNTED_IN_WORKING_DAYS.includes(spec.name)) this.platform.calendar.noteData(counts.earliest)
      const valid = Number(counts?.valid ?? 0)
      // rows rejected before the engine saw them (CSV rows of the wrong shape) count here too
      const invalid = received - valid
      const writable = principal.writableUnits()

      // 2. The key's scope: a row for a unit outside it refuses the whole body.
      if (writable !== undefined) {
        const outside = await rows<{ row: string; unit: string; total: string }>(
          `SELECT row, unit, count() OVER () AS total FROM ${stage}
           WHERE NOT has({writable:Array(String)}, unit) ORDER BY row LIMIT 100`,
          { writable },
        )
        if (outside.length > 0) throw new ScopeError(outside.map((o) => ({ row: Number(o.row), unit_id: o.unit })), Number(outside[0]!.total))
      }

      // 3. Rows that are not new: repeated in this body, or already stored (same or other
      //    content), or stored by another source (whose id it is). One join against the table's
      //    id projection (id, content hash, source key).
      const idColumn = spec.idField
      await run(`INSERT INTO ingest_row_status (batch_id, row, status, first_row, staged_at)
        SELECT {batch:UUID}, row, status, first_row, {now:DateTime64(3)} FROM (
          SELECT r.row AS row, r.first_row AS first_row,
            multiIf(s.found AND s.stored_source != {source_key:String}, 'foreign_source',
                    s.found, if(s.stored_hash = r.content_hash, 'duplicate', 'conflict_stored'),
                    r.first_row != r.row, if(r.first_hash = r.content_hash, 'duplicate', 'conflict_batch'),
                    'new') AS status
          FROM (
            SELECT row, record_id, content_hash,
              first_value(row) OVER w AS first_row, first_value(content_hash) OVER w AS first_hash
            FROM ${stage}
            WINDOW w AS (PARTITION BY record_id ORDER BY row ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
          ) AS r
          LEFT JOIN (
            SELECT ${idColumn} AS record_id, any(content_hash) AS stored_hash, any(toString(source_key)) AS stored_source, true AS found FROM ${spec.table}
            WHERE ${idColumn} GLOBAL IN (SELECT record_id FROM ${stage})
            GROUP BY ${idColumn}
          ) AS s ON s.record_id = r.record_id
        ) WHERE status != 'new'`)
      // 3b. Links to other records (a complaint's case and rating) must name stored ones: a row
      //     that names none is rejected (unknown_case, unknown_rating), the rest stand.
      if (spec.links?.length) {
        // (the stored records' current state counts every batch acknowledged before this one)
        await this.platform.derived.settled()
        const fresh = `SELECT * FROM ${stage} WHERE row NOT IN (SELECT row FROM ingest_row_status WHERE batch_id = {batch:UUID})`
        const missing = spec.links.map((l) => [
          `isNotNull(${l.field}) AND assumeNotNull(${l.field}) NOT IN (SELECT record FROM (${currentUnitSql(l.kind, `SELECT assumeNotNull(${l.field}) FROM ${stage} WHERE isNotNull(${l.field})`)}))`,
          `'unknown_${l.kind}'`,
        ].join(', '))
        await run(`INSERT INTO ingest_row_status (batch_id, row, status, first_row, staged_at)
          SELECT {batch:UUID}, row, status, row, {now:DateTime64(3)} FROM (
            SELECT row, multiIf(${missing.join(', ')}, '') AS status FROM (${fresh})
          ) WHERE status != ''`)
      }
      const statusCounts = new Map(
        (await rows<{ status: string; n: string }>(`SELECT status, count() AS n FROM ingest_row_status WHERE batch_id = {batch:UUID} GROUP BY status`))
          .map((r) => [r.status, Number(r.n)]),
      )
      const duplicates = statusCounts.get('duplicate') ?? 0
      const conflicts = (statusCounts.get('conflict_batch') ?? 0) + (statusCounts.get('conflict_stored') ?? 0)
      const foreign = statusCounts.get('foreign_source') ?? 0
      const unlinked = (spec.links ?? []).reduce((n, l) => n + (statusCounts.get(`unknown_${l.kind}`) ?? 0), 0)
      const accepted = received - invalid - duplicates - conflicts - foreign - unlinked

      // 4. Writes only to one's own records: a row that would be stored about a stored record
      //    (a case, a rating, a complaint, a ticket) whose current unit is outside the key's
      //    scope refuses the whole body. Admin keys (writable undefined) write anything.
      const foreignRecords = writable !== undefined ? foreignRecordsSql(spec, stage) : undefined
      if (foreignRecords && accepted > 0) {
        t0 = performance.now()
        await this.platform.derived.settled()
        const refused = await rows<{ row: string; unit: string; record: string; record_unit: string; total: string }>(foreignRecords, { writable })
        trace?.('record scope', t0)
        if (refused.length > 0) {
          throw new ScopeError(
            refused.map((r) => ({ row: Number(r.row), unit_id: r.unit, record: { kind: spec.recordOf!.kind, id: r.record, unit_id: r.record_unit } })),
            Number(refused[0]!.total),
          )
        }
      }

      // 5. Store: the change is logged first (answers about the past it reaches back to are not
      //    kept past it), then case ids are queued for their state refresh (crash repair needs that).
      if (accepted > 0) {
        change = { earliest: counts?.earliest ?? ANY_DAY, ended: false }
        await this.platform.changes.starting(batch, change.earliest)
      }
      // (only the cases of the rows stored: a row answered as a duplicate changes no case)
      if (spec.name === 'case-events' && accepted > 0) {
        await run(`INSERT INTO case_refresh_queue (batch_id, case_id, queued_at)
          SELECT {batch:UUID}, case_id, {now:DateTime64(3)} FROM ${stage}
          WHERE row NOT IN (SELECT row FROM ingest_row_status WHERE batch_id = {batch:UUID}) GROUP BY case_id`)
      }
      const columns = this.compile(spec.name).columns
      if (accepted > 0) {
        const newRows = `FROM ${stage} WHERE row NOT IN (SELECT row FROM ingest_row_status WHERE batch_id = {batch:UUID})`
        // The same new rows sent through two processes at once make the same token, and the
        // engine stores the block once (non_replicated_deduplication_window, migration 17; a
        // replicated table by itself): the token is the set of the rows' ids and contents.
        const [set] = await rows<{ n: string; x: string; s: string }>(
          `SELECT count() AS n, toString(groupBitXor(cityHash64(record_id, content_hash))) AS x, toString(sum(cityHash64(content_hash, record_id))) AS s ${newRows}`)
        const token = `${spec.name}:${set?.n}:${set?.x}:${set?.s}`
        const settings = compiled.settings ? `${compiled.settings}, insert_deduplication_token = ${sqlString(token)}` : `SETTINGS insert_deduplication_token = ${sqlString(token)}`
        await run(`INSERT INTO ${spec.table} (${columns.join(', ')}, content_hash, batch_id, source_key, ingested_at)
          SELECT ${columns.join(', ')}, content_hash, {batch:UUID}, {source_key:String}, {now:DateTime64(3)}
          ${newRows}`, settings)
      }

      // 6. Quarantine every rejected row with its reasons, streamed from the body (bounded
      //    memory, however many there are); the receipt lists the first 100.
      const rejected = invalid + conflicts + foreign + unlinked
      if (pre.count > 0) await this.quarantinePreRejected(pre, params)
      if (invalid - pre.count > 0) {
        t0 = performance.now()
        // the rejected rows are the body's rows that were not staged (read again, not validated
        // again: the set of staged row numbers is bounded by the valid rows); their messages are
        // built from their JSON text (also a typed Arrow body's), a block at a time
        const json = this.compile(spec.name)
        const rejectedLines = `(SELECT row, line FROM ${source} WHERE row GLOBAL NOT IN (SELECT row FROM ${stage}))`
        await run(`INSERT INTO quarantine (batch_id, stream, source_key, row, raw, errors, received_at)
          SELECT {batch:UUID}, {stream:String}, {source_key:String}, row, substringUTF8(line, 1, 100000), errors, {now:DateTime64(3)}
          FROM (${json.select(rejectedLines)})`, quarantineSettings(json.settings))
        trace?.('quarantine rejected rows', t0)
      }
      if (conflicts + foreign > 0) {
        params.key_names = foreign > 0 ? await this.sourceNames(principal) : {}
        const notStored = `SELECT row FROM ingest_row_status WHERE batch_id = {batch:UUID} AND status IN ('conflict_batch', 'conflict_stored', 'foreign_source')`
        const keyText = (key: string) => `concat(toJSONString(if(mapContains({key_names:Map(String, String)}, ${key}), {key_names:Map(String, String)}[${key}], ${key})), ' (key ', ${key}, ')')`
        await run(`INSERT INTO quarantine (batch_id, stream, source_key, row, raw, errors, received_at)
          SELECT {batch:UUID}, {stream:String}, {source_key:String}, src.row, substringUTF8(src.line, 1, 100000),
            [if(st.status = 'foreign_source',
              ('${idColumn}', 'id_owned_by_other_source', concat('row ', toString(src.row), ', field ${idColumn}: ', toJSONString(st.record_id),
                ' belongs to source system ', ${keyText('st.owner')}, ', which stored it first; this key is source system ', ${keyText('{source_key:String}')},
                '. An id belongs to the source system that first sent it, so nothing was changed: send a ${idColumn} of your own for a record of your own (an admin sees this row in the quarantine).')),
              ('${idColumn}', 'conflicting_duplicate', concat('row ', toString(src.row), ', field ${idColumn}: ', toJSONString(st.record_id),
                ' was already received with different content (', if(st.status = 'conflict_batch', concat('row ', toString(st.first_row), ' of this body'), 'a row stored earlier'),
                '); the first stored version stands. Send a new ${idColumn} for a new record.')))],
            {now:DateTime64(3)}
          -- the body's text of these rows (a typed body keeps none for valid rows): read again, streamed
          FROM (SELECT row, line FROM ${source} WHERE row IN (${notStored})) AS src
          INNER JOIN (
            SELECT st.row AS row, st.status AS status, st.first_row AS first_row, v.record_id AS record_id, ifNull(o.owner, '') AS owner
            FROM (SELECT row, status, first_row FROM ingest_row_status WHERE batch_id = {batch:UUID} AND row IN (${notStored})) AS st
            INNER JOIN (SELECT row, record_id FROM ${stage} WHERE row IN (${notStored})) AS v ON v.row = st.row
            LEFT JOIN (
              SELECT ${idColumn} AS record_id, any(toString(source_key)) AS owner FROM ${spec.table}
              WHERE ${idColumn} GLOBAL IN (SELECT record_id FROM ${stage}
                WHERE row IN (SELECT row FROM ingest_row_status WHERE batch_id = {batch:UUID} AND status = 'foreign_source'))
              GROUP BY ${idColumn}
            ) AS o ON o.record_id = v.record_id
          ) AS st ON st.row = src.row`, '')
      }
      if (unlinked > 0) {
        const statuses = spec.links!.map((l) => `'unknown_${l.kind}'`).join(', ')
        const unlinkedRows = `SELECT row FROM ingest_row_status WHERE batch_id = {batch:UUID} AND status IN (${statuses})`
        const message = spec.links!.map((l) => [`st.status = 'unknown_${l.kind}'`,
          `('${l.field}', 'unknown_${l.kind}', concat('row ', toString(src.row), ', field ${l.field}: no ${RECORD_WORDS[l.kind]} ', toJSONString(assumeNotNull(v.${l.field})),
            ' is stored; expected the id of a ${RECORD_WORDS[l.kind]} already received (send it first, then this row again), or leave ${l.field} out'))`].join(', '))
        await run(`INSERT INTO quarantine (batch_id, stream, source_key, row, raw, errors, received_at)
          SELECT {batch:UUID}, {stream:String}, {source_key:String}, src.row, substringUTF8(src.line, 1, 100000),
            [multiIf(${message.join(', ')}, ('', 'unknown_link', ''))], {now:DateTime64(3)}
          FROM (SELECT row, line FROM ${source} WHERE row IN (${unlinkedRows})) AS src
          INNER JOIN (SELECT row, status FROM ingest_row_status WHERE batch_id = {batch:UUID} AND row IN (${unlinkedRows})) AS st ON st.row = src.row
          INNER JOIN (SELECT * FROM ${stage} WHERE row IN (${unlinkedRows})) AS v ON v.row = src.row`, '')
      }
      let errors: RowError[] = []
      t0 = performance.now()
      if (rejected > 0) {
        errors = (await rows<{ row: string; field: string; code: string; message: string }>(
          `SELECT row, e.field AS field, e.code AS code, e.message AS message FROM quarantine ARRAY JOIN errors AS e
           WHERE stream = {stream:String} AND received_at = {now:DateTime64(3)} AND batch_id = {batch:UUID} ORDER BY row LIMIT ${MAX_ERRORS_IN_RECEIPT}`,
        )).map((e) => ({ row: Number(e.row), field: e.field === '' ? null : e.field, code: e.code, message: e.message }))
      }

      trace?.('receipt errors', t0)
      // 7. The derived state is brought up to date off the receipt path (warehouse/derived.ts):
      //    every read waits for it, so answers count these rows from the moment of the receipt.
      //    The refresher ends the change once it is refreshed.
      const derived = accepted === 0 ? undefined : DERIVED_KIND[spec.name]
      if (derived) {
        await this.platform.derived.stored(batch, derived, change)
        if (change) change.ended = true
      } else if (change) {
        await this.platform.changes.ended(batch, change.earliest)
        change.ended = true
      }
      await client.insert({
        table: 'ingest_batches',
        format: 'JSONEachRow',
        values: [{ batch_id: batch, stream: spec.name, source_key: principal.key_id, source_name: principal.name, received, accepted, duplicates, rejected, received_at: params.now }],
      })
      return { batch_id: batch, received, accepted, duplicates, rejected, errors }
    } catch (err) {
      if (err instanceof ScopeError) throw err
      throw new WarehouseUnavailableError(err)
    } finally {
      // a batch that failed half-way may have stored some of its records
      if (change && !change.ended) await this.platform.changes.ended(batch, change.earliest).catch(() => undefined)
      await client.command({ query: `DROP TABLE IF EXISTS ${stage}` }).catch(() => undefined)
    }
  }

  /** The names of the source systems, by key_id: the keys', and those the ingest log has for other senders (the demo generator, the CLI). */
  private async sourceNames(principal: IngestPrincipal): Promise<Record<string, string>> {
    const names: Record<string, string> = {}
    for (const r of await queryRows<{ source_key: string; name: string }>(this.platform.warehouse,
      'SELECT source_key, argMax(source_name, received_at) AS name FROM ingest_batches GROUP BY source_key')) names[r.source_key] = r.name
    for (const k of this.platform.keys.list()) names[k.key_id] = k.name
    names[principal.key_id] = principal.name
    return names
  }

  /** CSV rows rejected before the engine saw them, from their file into the quarantine (streamed). */
  private async quarantinePreRejected(pre: PreRejectedRows, params: Record<string, unknown>): Promise<void> {
    const { warehouse } = this.platform
    if (warehouse.kind === 'embedded') {
      await warehouse.client.command({
        query: `INSERT INTO quarantine (batch_id, stream, source_key, row, raw, errors, received_at)
          SELECT {batch:UUID}, {stream:String}, {source_key:String}, row, raw, [(field, code, message)], {now:DateTime64(3)}
          FROM file({pre_path:String}, 'JSONEachRow', 'row UInt64, raw String, field String, code String, message String')`,
        query_params: { ...params, pre_path: pre.path },
      })
      return
    }
    // a ClickHouse server cannot read our files: the lines go to it as a stream
    const path = pre.path!
    const values = Readable.from((async function* () {
      for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
        if (line === '') continue
        const p = JSON.parse(line) as PreRejected
        yield { batch_id: params.batch, stream: params.stream, source_key: params.source_key, row: p.row, raw: p.raw, errors: [{ field: p.field, code: p.code, message: p.message }], received_at: params.now }
      }
    })())
    await warehouse.client.insert({ table: 'quarantine', format: 'JSONEachRow', values })
  }

  /** Working tables and spooled bodies of batches a crash interrupted (never acknowledged). */
  async dropLeftoverStages(): Promise<void> {
    rmSync(this.spoolDir, { recursive: true, force: true })
    // On a ClickHouse server other processes may be mid-batch: their working tables are not ours
    // to drop. (Those of a process that crashed stay until dropped by hand: ingest/README.md.)
    if (this.platform.warehouse.kind !== 'embedded') return
    const tables = await queryRows<{ name: string }>(this.platform.warehouse, `SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE 'ingest\\_stage\\_%'`)
    for (const { name } of tables) await this.platform.warehouse.client.command({ query: `DROP TABLE IF EXISTS ${name}` })
  }

  /** For a ClickHouse server: the body's records as lines in ingest_lines, byte for byte (transcode.ts). */
  private async stageLines(batch: string, body: SpooledBody, extra: Parameters<typeof stagingRows>[1]): Promise<void> {
    const rows = stagingRows(body, extra, { batch, stagedAt: epochSeconds(Date.now()), maxRows: this.maxRows })
    const values = Readable.from(rows, { objectMode: false })
    await this.platform.warehouse.client.insert({ table: 'ingest_lines', values, format: 'TabSeparated', columns: ['batch_id', 'row', 'line', 'staged_at'] })
  }
}

