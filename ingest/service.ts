// One body of one stream, from a spooled file to a receipt, inside the engine: validate every row
// (engine-sql.ts), check the key's scope, find duplicates within the body and against what is
// stored, store the new rows, quarantine the rest with their reasons. JavaScript handles only the
// batch: no row passes through it.
//
// Exactly-once rests on three facts (see README.md): the duplicate lookup reads the stored rows
// themselves (through each table's id projection, written atomically with each part); writes of
// one stream are serialised in this process; and a receipt is sent only after the insert returns.
import { randomUUID } from 'node:crypto'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { ANY_DAY, epochSeconds, queryRows, type Platform, type Principal } from '../warehouse/index.ts'
import { STREAMS, type StreamName, type StreamSpec } from './contract.ts'
import { compileStream, type CompiledStream, type TypedColumn } from './engine-sql.ts'
import { arrowColumns, BodyFormatError, csvHeader, fileSource, JSON_ARRAY_CHECK, jsonArrayProblem, type BodyFormat } from './sources.ts'
import { csvToNdjson, type PreRejected } from './csv-ndjson.ts'
import { linesOf } from './transcode.ts'
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

/** A row for a unit outside the key's scope: the whole batch is refused (HTTP 403). */
export class ScopeError extends Error {
  readonly code = 'out_of_scope'
  constructor(readonly rows: Array<{ row: number; unit_id: string }>, readonly total: number) {
    const first = rows.slice(0, 5).map((r) => `row ${r.row} (unit ${r.unit_id})`).join(', ')
    super(`This key may not write for ${total} row(s) of this body: ${first}${total > 5 ? ', …' : ''}. Nothing was stored.`)
  }
}

/** The warehouse refused a write: nothing acknowledged, retrying the same body is safe (HTTP 503). */
export class WarehouseUnavailableError extends Error {
  readonly code = 'warehouse_unavailable'
  constructor(cause: unknown) {
    super(`The warehouse cannot take writes right now (${cause instanceof Error ? cause.message.split('\n')[0] : String(cause)}). Nothing from this body was acknowledged; sending it again is safe.`, { cause })
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
const recordDateOf = (spec: StreamSpec) => (spec.name === 'costs' ? 'period' : 'occurred_at')

/** The streams whose records get working-day counts (W) in queries: the calendar handed to queries must reach back to them. */
const COUNTED_IN_WORKING_DAYS: readonly string[] = ['case-events', 'evaluations', 'complaints']

/** The per-batch working table; its name comes from our own UUID, never from a request. */
const stageTable = (batch: string) => `ingest_stage_${batch.replace(/-/g, '')}`

/** Engine errors that mean the body itself cannot be read in its format (HTTP 400, not 503). */
const UNREADABLE = /CANNOT_PARSE|INCORRECT_DATA|CANNOT_READ|INCORRECT_NUMBER_OF_COLUMNS|ARROW|CANNOT_EXTRACT_TABLE_STRUCTURE|UNKNOWN_FORMAT|TOO_LARGE_STRING_SIZE|BAD_ARGUMENTS/

export class IngestService {
  private locks = new Map<StreamName, Mutex>()
  private compiled = new Map<StreamName, CompiledStream>()

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
    const spec = STREAMS[stream]
    const batch = randomUUID()
    let pre: PreRejected[] = []
    let transcoded: string | undefined
    if (body.format === 'csv') {
      transcoded = `${body.path}.ndjson`
      try {
        pre = await csvToNdjson(body.path, transcoded, spec, csvHeader(body.path, spec))
      } catch (err) {
        rmSync(transcoded, { force: true })
        throw err
      }
      body = { format: 'ndjson', path: transcoded }
    }
    try {
      const arrow = body.format === 'arrow' ? await arrowColumns(body.path, spec) : undefined
      const embedded = this.platform.warehouse.kind === 'embedded'
      if (body.format === 'json' && embedded) {
        const [check] = await queryRows<{ utf8: number; valid: number; type: string }>(this.platform.warehouse, JSON_ARRAY_CHECK, { path: body.path })
        const problem = jsonArrayProblem(check)
        if (problem) throw new BodyFormatError(problem)
      }
      const lock = this.locks.get(stream) ?? new Mutex()
      this.locks.set(stream, lock)
      return await lock.run(async () => {
        const params: Record<string, unknown> = {
          batch,
          now: epochSeconds(Date.now()),
          known_units: [...this.platform.reference.units.keys()],
          known_items: [...this.platform.reference.items.keys()],
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
        return this.runBatch(spec, batch, source, params, principal, typed, pre)
      })
    } finally {
      if (transcoded) rmSync(transcoded, { force: true })
    }
  }

  private async runBatch(
    spec: StreamSpec, batch: string, source: string, params: Record<string, unknown>, principal: IngestPrincipal,
    typed: TypedColumn[] | undefined, pre: PreRejected[],
  ): Promise<Receipt> {
    const { warehouse } = this.platform
    const client = warehouse.client
    const compiled = this.compile(spec.name, typed)
    const validated = compiled.select(source)
    // Lazy (short-circuit) evaluation would re-parse each row's JSON once per branch of the
    // validator. A SETTINGS clause, not clickhouse_settings: chdb turns those into session-wide SETs.
    const trace = process.env.TIERSCOPE_TRACE_INGEST ? (label: string, t0: number) => console.error(`[ingest ${batch.slice(0, 8)}] ${label}: ${(performance.now() - t0).toFixed(0)} ms`) : undefined
    const run = async (query: string) => {
      const t0 = performance.now()
      await client.command({ query: `${query}\n${compiled.settings}`, query_params: params })
      trace?.(query.trim().split('\n')[0]!.slice(0, 60), t0)
    }
    const rows = <T>(query: string) => queryRows<T>(warehouse, query, params)

    // 1. Validate every row in the engine, once, into a per-batch in-memory table: every later
    //    step reads typed columns from it instead of parsing the body again.
    const stage = stageTable(batch)
    try {
      // error messages are built later, for the rejected rows only
      await run(`CREATE TABLE ${stage} ENGINE = Memory AS
        SELECT * EXCEPT (errors) FROM (${validated})`)
    } catch (err) {
      await client.command({ query: `DROP TABLE IF EXISTS ${stage}` }).catch(() => undefined)
      if (err instanceof Error && UNREADABLE.test(`${(err as { type?: string }).type ?? ''} ${err.message}`)) {
        throw new BodyFormatError(`The body cannot be read as ${spec.name} records: ${err.message.split('\n')[0]!.replace(/\(in file\/uri [^)]*\)/, '').slice(0, 400)}`)
      }
      throw new WarehouseUnavailableError(err)
    }

    // the change this batch makes, once it stores anything (the day of its earliest record), until it is marked ended
    let change: { earliest: string; ended: boolean } | undefined
    try {
      // and the day of the earliest valid record (none: NULL)
      const [counts] = await rows<{ received: string; invalid: string; earliest: string | null }>(
        `SELECT count() AS received, countIf(NOT ok) AS invalid,
          if(countIf(ok) = 0, NULL, toString(toDate(minIf(${recordDateOf(spec)}, ok)))) AS earliest FROM ${stage}`,
      )
      if (counts?.earliest && COUNTED_IN_WORKING_DAYS.includes(spec.name)) this.platform.calendar.noteData(counts.earliest)
      // rows rejected before the engine saw them (CSV rows of the wrong shape) count here too
      const received = Number(counts?.received ?? 0) + pre.length
      const invalid = Number(counts?.invalid ?? 0) + pre.length

      // 2. The key's scope: a row for a unit outside it refuses the whole body.
      const writable = principal.writableUnits()
      if (writable !== undefined) {
        const outside = await queryRows<{ row: string; unit: string; total: string }>(
          warehouse,
          `SELECT row, unit, count() OVER () AS total FROM ${stage}
           WHERE ok AND unit NOT IN (SELECT arrayJoin({writable:Array(String)})) ORDER BY row LIMIT 100`,
          { ...params, writable },
        )
        if (outside.length > 0) throw new ScopeError(outside.map((o) => ({ row: Number(o.row), unit_id: o.unit })), Number(outside[0]!.total))
      }

      // 3. Rows that are not new: repeated in this body, or already stored (same or other content).
      const idColumn = spec.idField
      await run(`INSERT INTO ingest_row_status (batch_id, row, status, first_row, staged_at)
        SELECT {batch:UUID}, row, status, first_row, {now:DateTime64(3)} FROM (
          SELECT r.row AS row, r.first_row AS first_row,
            multiIf(s.found, if(s.stored_hash = r.content_hash, 'duplicate', 'conflict_stored'),
                    r.first_row != r.row, if(r.first_hash = r.content_hash, 'duplicate', 'conflict_batch'),
                    'new') AS status
          FROM (
            SELECT row, record_id, content_hash,
              first_value(row) OVER w AS first_row, first_value(content_hash) OVER w AS first_hash
            FROM ${stage} WHERE ok
            WINDOW w AS (PARTITION BY record_id ORDER BY row ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
          ) AS r
          LEFT JOIN (
            SELECT ${idColumn} AS record_id, any(content_hash) AS stored_hash, true AS found FROM ${spec.table}
            WHERE ${idColumn} IN (SELECT record_id FROM ${stage} WHERE ok)
            GROUP BY ${idColumn}
          ) AS s ON s.record_id = r.record_id
        ) WHERE status != 'new'`)
      const statusCounts = new Map(
        (await rows<{ status: string; n: string }>(`SELECT status, count() AS n FROM ingest_row_status WHERE batch_id = {batch:UUID} GROUP BY status`))
          .map((r) => [r.status, Number(r.n)]),
      )
      const duplicates = statusCounts.get('duplicate') ?? 0
      const conflicts = (statusCounts.get('conflict_batch') ?? 0) + (statusCounts.get('conflict_stored') ?? 0)
      const accepted = received - invalid - duplicates - conflicts

      // 4. Store: the change is logged first (answers about the past it reaches back to are not
      //    kept past it), then case ids are queued for their state refresh (crash repair needs that).
      if (accepted > 0) {
        change = { earliest: counts?.earliest ?? ANY_DAY, ended: false }
        await this.platform.changes.starting(batch, change.earliest)
      }
      if (spec.name === 'case-events') {
        await run(`INSERT INTO case_refresh_queue (batch_id, case_id, queued_at)
          SELECT {batch:UUID}, case_id, {now:DateTime64(3)} FROM ${stage} WHERE ok GROUP BY case_id`)
      }
      const columns = this.compile(spec.name).columns
      if (accepted > 0) {
        await run(`INSERT INTO ${spec.table} (${columns.join(', ')}, content_hash, batch_id, source_key, ingested_at)
          SELECT ${columns.join(', ')}, content_hash, {batch:UUID}, {source_key:String}, {now:DateTime64(3)}
          FROM ${stage}
          WHERE ok AND row NOT IN (SELECT row FROM ingest_row_status WHERE batch_id = {batch:UUID})`)
      }

      // 5. Quarantine every rejected row with its reasons; the receipt lists the first 100.
      let errors: RowError[] = []
      if (pre.length > 0) {
        await client.insert({
          table: 'quarantine',
          format: 'JSONEachRow',
          values: pre.map((p) => ({
            batch_id: batch, stream: spec.name, source_key: principal.key_id, row: p.row, raw: p.raw,
            errors: [{ field: p.error.field ?? '', code: p.error.code, message: p.error.message }], received_at: params.now,
          })),
        })
      }
      if (invalid + conflicts > 0) {
        await run(`INSERT INTO quarantine (batch_id, stream, source_key, row, raw, errors, received_at)
          SELECT {batch:UUID}, {stream:String}, {source_key:String}, v.row, substringUTF8(if(v.line != '', v.line, ifNull(src.line, '')), 1, 100000),
            if(st.status = '', e.errors, [('${idColumn}', 'conflicting_duplicate', concat('row ', toString(v.row), ', field ${idColumn}: ', toJSONString(v.record_id),
              ' was already received with different content (', if(st.status = 'conflict_batch', concat('row ', toString(st.first_row), ' of this body'), 'a row stored earlier'),
              '); the first stored version stands. Send a new ${idColumn} for a new record.'))]),
            {now:DateTime64(3)}
          FROM ${stage} AS v
          LEFT JOIN (SELECT row, status, first_row FROM ingest_row_status WHERE batch_id = {batch:UUID} AND status LIKE 'conflict%') AS st ON st.row = v.row
          LEFT JOIN (SELECT row, errors FROM (${this.compile(spec.name).select(`(SELECT row, line FROM ${stage} WHERE NOT ok)`)})) AS e ON e.row = v.row
          -- a typed (Arrow) body keeps no text for valid rows: a conflicting one's is read again
          LEFT JOIN (SELECT row, line FROM ${source}
            WHERE row IN (SELECT row FROM ingest_row_status WHERE batch_id = {batch:UUID} AND status LIKE 'conflict%')) AS src ON src.row = v.row
          WHERE NOT v.ok OR st.status != ''`)
        errors = (await rows<{ row: string; field: string; code: string; message: string }>(
          `SELECT row, e.field AS field, e.code AS code, e.message AS message FROM quarantine ARRAY JOIN errors AS e
           WHERE stream = {stream:String} AND batch_id = {batch:UUID} ORDER BY row LIMIT ${MAX_ERRORS_IN_RECEIPT}`,
        )).map((e) => ({ row: Number(e.row), field: e.field === '' ? null : e.field, code: e.code, message: e.message }))
      }

      const t0 = performance.now()
      if (spec.name === 'case-events' && received > invalid) await this.platform.cases.refreshBatch(batch)
      trace?.('case state refresh', t0)
      if (spec.name === 'queue-tickets' && accepted > 0) await this.platform.queue.refreshBatch(batch)
      if (change) {
        await this.platform.changes.ended(batch, change.earliest)
        change.ended = true
      }
      await client.insert({
        table: 'ingest_batches',
        format: 'JSONEachRow',
        values: [{ batch_id: batch, stream: spec.name, source_key: principal.key_id, source_name: principal.name, received, accepted, duplicates, rejected: invalid + conflicts, received_at: params.now }],
      })
      return { batch_id: batch, received, accepted, duplicates, rejected: invalid + conflicts, errors }
    } catch (err) {
      if (err instanceof ScopeError) throw err
      throw new WarehouseUnavailableError(err)
    } finally {
      // a batch that failed half-way may have stored some of its records
      if (change && !change.ended) await this.platform.changes.ended(batch, change.earliest).catch(() => undefined)
      await client.command({ query: `DROP TABLE IF EXISTS ${stage}` }).catch(() => undefined)
    }
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

  /** For a ClickHouse server: the body's records as JSON lines in ingest_lines. */
  private async stageLines(batch: string, body: SpooledBody, extra: Parameters<typeof linesOf>[1]): Promise<void> {
    const staged_at = epochSeconds(Date.now())
    const values = Readable.from((async function* () {
      for await (const { row, line } of linesOf(body, extra)) yield { batch_id: batch, row, line, staged_at }
    })())
    await this.platform.warehouse.client.insert({ table: 'ingest_lines', values, format: 'JSONEachRow' })
  }
}

