// One batch of one stream, from parsed records to a receipt: validate, check the key's scope,
// drop duplicates (within the batch and against what is stored), store, quarantine the rest.
//
// Exactly-once rests on three facts (see README.md): the duplicate lookup reads the stored rows
// themselves (through the by_event_id projection, written atomically with each part); writes of
// one stream are serialised in this process; and a receipt is sent only after the insert returns.
import { randomUUID } from 'node:crypto'
import { nowSeconds, queryRows, type Platform, type Principal } from '../warehouse/index.ts'
import { STREAMS, type StreamName } from './contract.ts'
import { contentHash, describe, validateRecord, type RowError, type ValidationContext, type WarehouseRow } from './validate.ts'

/** A record as it came out of the body: a value to validate, or the reason it could not be read. */
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
  constructor(readonly rows: Array<{ row: number; unit_id: string }>) {
    const first = rows.slice(0, 5).map((r) => `row ${r.row} (unit ${r.unit_id})`).join(', ')
    super(`This key may not write for ${rows.length} row(s) of this body: ${first}${rows.length > 5 ? ', …' : ''}. Nothing was stored.`)
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

interface Accepted {
  row: number
  id: string
  hash: string
  values: WarehouseRow
}

export class IngestService {
  private locks = new Map<StreamName, Mutex>()

  constructor(private readonly platform: Platform) {}

  validationContext(nowMs = Date.now()): ValidationContext {
    const { reference, warehouse } = this.platform
    return {
      timezone: warehouse.timezone,
      nowMs,
      unitExists: (id) => reference.units.has(id),
      itemExists: (code) => reference.items.has(code),
    }
  }

  async ingest(streamName: StreamName, records: ParsedRecord[], principal: Pick<Principal, 'key_id' | 'name' | 'writableUnits'>): Promise<Receipt> {
    const spec = STREAMS[streamName]
    const ctx = this.validationContext()
    const batchId = randomUUID()
    const errors: RowError[] = []
    const rejected = new Map<number, string>() // row → raw text, for quarantine
    const valid: Accepted[] = []
    let rawByRow: Map<number, string> | undefined
    const rawOf = (row: number) => (rawByRow ??= new Map(records.map((r) => [r.row, r.raw]))).get(row) ?? ''

    for (const r of records) {
      if ('error' in r) {
        errors.push(r.error)
        rejected.set(r.row, r.raw)
        continue
      }
      const result = validateRecord(spec, r.value, r.row, ctx)
      if (result.ok) valid.push({ row: r.row, id: result.row[spec.idField] as string, hash: contentHash(spec, result.row), values: result.row })
      else {
        errors.push(...result.errors)
        rejected.set(r.row, r.raw)
      }
    }

    const writable = principal.writableUnits()
    if (writable !== undefined) {
      const allowed = new Set(writable)
      const outside = valid.filter((v) => !allowed.has(v.values[spec.unitField] as string)).map((v) => ({ row: v.row, unit_id: v.values[spec.unitField] as string }))
      if (outside.length > 0) throw new ScopeError(outside)
    }

    // Within the body: the first occurrence of an id stands.
    const firstById = new Map<string, Accepted>()
    const unique: Accepted[] = []
    let duplicates = 0
    for (const v of valid) {
      const first = firstById.get(v.id)
      if (!first) {
        firstById.set(v.id, v)
        unique.push(v)
      } else if (first.hash === v.hash) duplicates++
      else {
        errors.push(conflict(spec.idField, v.row, v.id, `row ${first.row} of this body`))
        rejected.set(v.row, rawOf(v.row))
      }
    }

    const lock = this.locks.get(streamName) ?? new Mutex()
    this.locks.set(streamName, lock)
    let accepted = 0
    try {
      await lock.run(async () => {
        const stored = await this.storedHashes(spec.table, spec.idField, batchId, unique.map((u) => u.id))
        const fresh: Accepted[] = []
        for (const u of unique) {
          const hash = stored.get(u.id)
          if (hash === undefined) fresh.push(u)
          else if (hash === u.hash) duplicates++
          else {
            errors.push(conflict(spec.idField, u.row, u.id, 'a row stored earlier'))
            rejected.set(u.row, rawOf(u.row))
          }
        }
        const ingestedAt = nowSeconds()
        if (streamName === 'case-events') {
          await this.platform.cases.queueRefresh(batchId, valid.map((v) => v.values.case_id as string))
        }
        if (fresh.length > 0) {
          await this.platform.warehouse.client.insert({
            table: spec.table,
            format: 'JSONEachRow',
            values: fresh.map((f) => ({ ...f.values, content_hash: f.hash, batch_id: batchId, source_key: principal.key_id, ingested_at: ingestedAt })),
          })
        }
        accepted = fresh.length
        if (streamName === 'case-events' && valid.length > 0) await this.platform.cases.refreshBatch(batchId)
      })
    } catch (err) {
      throw new WarehouseUnavailableError(err)
    }

    errors.sort((a, b) => a.row - b.row)
    await this.record(streamName, batchId, principal, records.length, accepted, duplicates, rejected, errors)
    return {
      batch_id: batchId,
      received: records.length,
      accepted,
      duplicates,
      rejected: rejected.size,
      errors: errors.slice(0, MAX_ERRORS_IN_RECEIPT),
    }
  }

  /** content_hash of every id of the batch that is already stored, looked up in one join. */
  private async storedHashes(table: string, idField: string, batchId: string, ids: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>()
    if (ids.length === 0) return out
    const staged_at = nowSeconds()
    await this.platform.warehouse.client.insert({
      table: 'ingest_batch_ids',
      format: 'JSONEachRow',
      values: ids.map((id) => ({ batch_id: batchId, id, staged_at })),
    })
    const rows = await queryRows<{ id: string; content_hash: string }>(
      this.platform.warehouse,
      `SELECT ${idField} AS id, toString(any(content_hash)) AS content_hash FROM ${table}
       WHERE ${idField} IN (SELECT id FROM ingest_batch_ids WHERE batch_id = {batch:UUID})
       GROUP BY ${idField}`,
      { batch: batchId },
    )
    for (const r of rows) out.set(r.id, r.content_hash)
    return out
  }

  /** Quarantine and ingest log. Best effort after the rows are stored: the receipt is what counts. */
  private async record(
    stream: StreamName, batchId: string, principal: Pick<Principal, 'key_id' | 'name'>, received: number,
    accepted: number, duplicates: number, rejected: Map<number, string>, errors: RowError[],
  ): Promise<void> {
    const received_at = nowSeconds()
    const client = this.platform.warehouse.client
    if (rejected.size > 0) {
      const byRow = new Map<number, RowError[]>()
      for (const e of errors) byRow.set(e.row, [...(byRow.get(e.row) ?? []), e])
      await client.insert({
        table: 'quarantine',
        format: 'JSONEachRow',
        values: [...rejected].map(([row, raw]) => ({
          batch_id: batchId, stream, source_key: principal.key_id, row, raw,
          errors: (byRow.get(row) ?? []).map((e) => ({ field: e.field ?? '', code: e.code, message: e.message })), received_at,
        })),
      })
    }
    await client.insert({
      table: 'ingest_batches',
      format: 'JSONEachRow',
      values: [{ batch_id: batchId, stream, source_key: principal.key_id, source_name: principal.name, received, accepted, duplicates, rejected: rejected.size, received_at }],
    })
  }
}

function conflict(idField: string, row: number, id: string, where: string): RowError {
  return {
    row,
    field: idField,
    code: 'conflicting_duplicate',
    message: `row ${row}, field ${idField}: ${describe(id)} was already received with different content (${where}); the first stored version stands. Send a new ${idField} for a new record.`,
  }
}

