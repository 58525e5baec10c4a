// Files of any size → bodies of at most N records, read as streams so memory stays flat: NDJSON
// and CSV by lines (csv-parse keeps quoted newlines inside a record), Arrow by record batches.
// Parquet is turned into an Arrow stream by the engine first (see bulk.ts).
import { createReadStream } from 'node:fs'
import type { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { parse } from 'csv-parse'
import { RecordBatch, RecordBatchReader, RecordBatchStreamWriter, Table } from 'apache-arrow'
import type { BodyFormat } from './sources.ts'

export interface Chunk {
  format: BodyFormat
  body: Buffer
  records: number
  /** Bytes of the input file read so far (for progress). */
  bytesRead: number
}

export type FileFormat = BodyFormat | 'parquet'

/** The format of a file by its name (`.gz` allowed for NDJSON and CSV). */
export function fileFormat(path: string): { format: FileFormat; gzip: boolean } | undefined {
  const gzip = /\.gz$/i.test(path)
  const name = path.replace(/\.gz$/i, '').toLowerCase()
  if (/\.(ndjson|jsonl)$/.test(name)) return { format: 'ndjson', gzip }
  if (/\.csv$/.test(name)) return { format: 'csv', gzip }
  if (/\.(arrow|arrows|ipc)$/.test(name) && !gzip) return { format: 'arrow', gzip }
  if (/\.parquet$/.test(name) && !gzip) return { format: 'parquet', gzip }
  return undefined
}

function open(path: string, gzip: boolean): { stream: Readable; bytes: () => number } {
  const file = createReadStream(path, { highWaterMark: 1 << 20 })
  return { stream: gzip ? file.pipe(createGunzip()) : file, bytes: () => file.bytesRead }
}

/** NDJSON cut at line ends by scanning bytes: lines are neither decoded nor copied one by one. */
export async function* ndjsonChunks(path: string, gzip: boolean, size: number): AsyncGenerator<Chunk> {
  const { stream, bytes } = open(path, gzip)
  let pending: Buffer[] = []
  let lines = 0
  for await (const data of stream as AsyncIterable<Buffer>) {
    let from = 0 // where the part of `data` not yet in a body starts
    let pos = 0
    for (let nl = data.indexOf(0x0a, pos); nl !== -1; nl = data.indexOf(0x0a, pos)) {
      lines++
      pos = nl + 1
      if (lines >= size) {
        pending.push(data.subarray(from, pos))
        yield { format: 'ndjson', body: Buffer.concat(pending), records: lines, bytesRead: bytes() }
        pending = []
        lines = 0
        from = pos
      }
    }
    if (from < data.length) pending.push(data.subarray(from))
  }
  const last = Buffer.concat(pending)
  // a last line without its newline still counts
  if (last.toString('utf8').trim() !== '') yield { format: 'ndjson', body: last, records: lines + (last[last.length - 1] === 0x0a ? 0 : 1), bytesRead: bytes() }
}

export async function* csvChunks(path: string, gzip: boolean, size: number): AsyncGenerator<Chunk> {
  const { stream, bytes } = open(path, gzip)
  const parser = stream.pipe(parse({ bom: true, raw: true, relax_column_count: true, relax_quotes: true }))
  let header: string | undefined
  let rows: string[] = []
  const body = () => Buffer.from(header + '\n' + rows.join(''))
  for await (const { raw } of parser as AsyncIterable<{ raw: string }>) {
    if (header === undefined) {
      header = raw.replace(/\r?\n$/, '')
      continue
    }
    rows.push(raw.endsWith('\n') ? raw : raw + '\n')
    if (rows.length >= size) {
      yield { format: 'csv', body: body(), records: rows.length, bytesRead: bytes() }
      rows = []
    }
  }
  if (rows.length) yield { format: 'csv', body: body(), records: rows.length, bytesRead: bytes() }
}

/** Arrow IPC (stream or file format) → Arrow IPC streams of at most `size` rows. */
export async function* arrowChunks(path: string, size: number): AsyncGenerator<Chunk> {
  const file = createReadStream(path, { highWaterMark: 1 << 20 })
  const reader = await RecordBatchReader.from(file)
  let pending: RecordBatch[] = []
  let count = 0
  const flush = (): Chunk => {
    const body = Buffer.from(RecordBatchStreamWriter.writeAll(new Table(pending)).toUint8Array(true))
    const chunk = { format: 'arrow' as const, body, records: count, bytesRead: file.bytesRead }
    pending = []
    count = 0
    return chunk
  }
  for await (const batch of reader) {
    for (let start = 0; start < batch.numRows; start += size) {
      const part = batch.slice(start, Math.min(batch.numRows, start + size))
      pending.push(part)
      count += part.numRows
      if (count >= size) yield flush()
    }
  }
  if (count > 0) yield flush()
}
