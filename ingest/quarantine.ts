// Reading what ingest kept about itself: the quarantine (every rejected row with its reasons)
// and the ingest log (batches and row counts per source and stream).
import { queryRows, toRfc3339, type Platform } from '../warehouse/index.ts'

export interface QuarantineFilter {
  batch_id?: string
  stream?: string
  /** key_id of the source key that sent the rows. */
  source?: string
  code?: string
  /** Rows after this position (the previous page's last), for paging. */
  after?: { received_ms: number; batch_id: string; row: number }
  limit: number
}

export interface QuarantinedRow {
  batch_id: string
  stream: string
  source: string
  row: number
  raw: string
  errors: Array<{ field: string | null; code: string; message: string }>
  received_at: string
}

export async function listQuarantine(platform: Platform, f: QuarantineFilter): Promise<QuarantinedRow[]> {
  const where: string[] = []
  if (f.batch_id) where.push('batch_id = {batch_id:UUID}')
  if (f.stream) where.push('stream = {stream:String}')
  if (f.source) where.push('source_key = {source:String}')
  if (f.code) where.push('arrayExists(e -> e.code = {code:String}, errors)')
  if (f.after) where.push('(toUnixTimestamp64Milli(received_at), toString(batch_id), row) > ({after_ms:Int64}, {after_batch:String}, {after_row:UInt32})')
  const rows = await queryRows<{ batch: string; stream: string; source_key: string; row: number; raw: string; errors: Array<{ field: string; code: string; message: string }>; received_ms: string }>(
    platform.warehouse,
    `SELECT toString(batch_id) AS batch, stream, source_key, row, raw, errors, toUnixTimestamp64Milli(received_at) AS received_ms
     FROM quarantine ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY received_at, batch_id, row LIMIT {limit:UInt32}`,
    {
      batch_id: f.batch_id, stream: f.stream, source: f.source, code: f.code, limit: f.limit,
      after_ms: f.after?.received_ms, after_batch: f.after?.batch_id, after_row: f.after?.row,
    },
  )
  const tz = platform.warehouse.timezone
  return rows.map((r) => ({
    batch_id: r.batch,
    stream: r.stream,
    source: r.source_key,
    row: Number(r.row),
    raw: r.raw,
    errors: r.errors.map((e) => ({ field: e.field === '' ? null : e.field, code: e.code, message: e.message })),
    received_at: toRfc3339(Number(r.received_ms), tz),
  }))
}

export interface IngestLogRow {
  source: string
  source_name: string
  stream: string
  batches: number
  received: number
  accepted: number
  duplicates: number
  rejected: number
  first_received_at: string
  last_received_at: string
}

/** Per source and stream: how much arrived, how much was kept, and when data last came. */
export async function ingestLog(platform: Platform, source?: string): Promise<IngestLogRow[]> {
  const rows = await queryRows<Record<string, string>>(
    platform.warehouse,
    `SELECT source_key, any(source_name) AS source_name, stream, count() AS batches, sum(received) AS received, sum(accepted) AS accepted,
       sum(duplicates) AS duplicates, sum(rejected) AS rejected,
       toUnixTimestamp64Milli(min(received_at)) AS first_ms, toUnixTimestamp64Milli(max(received_at)) AS last_ms
     FROM ingest_batches ${source ? 'WHERE source_key = {source:String}' : ''}
     GROUP BY source_key, stream ORDER BY source_key, stream`,
    { source },
  )
  const tz = platform.warehouse.timezone
  return rows.map((r) => ({
    source: r.source_key!,
    source_name: r.source_name!,
    stream: r.stream!,
    batches: Number(r.batches),
    received: Number(r.received),
    accepted: Number(r.accepted),
    duplicates: Number(r.duplicates),
    rejected: Number(r.rejected),
    first_received_at: toRfc3339(Number(r.first_ms), tz),
    last_received_at: toRfc3339(Number(r.last_ms), tz),
  }))
}
