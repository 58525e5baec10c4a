// Files of any size → bodies of at most N records, read as streams so memory stays flat: NDJSON
// and CSV by lines (csv-parse keeps quoted newlines inside a record), Arrow by record batches.
// Parquet is turned into an Arrow stream by the engine first (see bulk.ts).
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
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

export async function* ndjsonChunks(path: string, gzip: boolean, size: number): AsyncGenerator<Chunk> {
  const { stream, bytes } = open(path, gzip)
  let lines: string[] = []
  for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
    if (line.trim() === '') continue
    lines.push(line)
    if (lines.length >= size) {
      yield { format: 'ndjson', body: Buffer.from(lines.join('\n') + '\n'), records: lines.length, bytesRead: bytes() }
      lines = []
    }
  }
  if (lines.length) yield { format: 'ndjson', body: Buffer.from(lines.join('\n') + '\n'), records: lines.length, bytesRead: bytes() }
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
