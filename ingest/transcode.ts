// For a ClickHouse server, which cannot read this process's files: a spooled body's records as
// lines (row, line), the same lines the embedded engine derives itself (sources.ts), and those
// lines as rows of ingest_lines. An NDJSON line goes byte for byte as it was sent: one that is not
// valid UTF-8 reaches the engine's validator as it is, which rejects it (invalid_encoding) as the
// embedded engine does, instead of storing it with its bytes replaced.
import { createReadStream, readFileSync } from 'node:fs'
import { isUtf8 } from 'node:buffer'
import { RecordBatchStreamReader } from 'apache-arrow'
import type { SpooledBody } from './service.ts'
import { BodyFormatError, TooManyRowsError, type ArrowColumn } from './sources.ts'

export async function* linesOf(body: SpooledBody, extra: { arrow?: ArrowColumn[] }): AsyncGenerator<{ row: number; line: Buffer }> {
  switch (body.format) {
    case 'ndjson': {
      let row = 0
      for await (const line of byteLines(body.path)) {
        row++
        // blank lines are not rows, as in the embedded engine's reading (sources.ts)
        if (!isBlank(line)) yield { row, line: row === 1 && line[0] === 0xef && line[1] === 0xbb && line[2] === 0xbf ? line.subarray(3) : line }
      }
      return
    }
    case 'json': {
      const bytes = readFileSync(body.path)
      // the same refusal as the embedded engine's check of a JSON body (jsonArrayProblem)
      if (!isUtf8(bytes)) throw new BodyFormatError('The body is not valid UTF-8.')
      let value: unknown
      try {
        value = JSON.parse(bytes.toString('utf8').replace(/^\ufeff/, ''))
      } catch (err) {
        throw new BodyFormatError(`The body is not valid JSON (${(err as Error).message}).`)
      }
      if (!Array.isArray(value)) throw new BodyFormatError('Expected a JSON array of objects (or send application/x-ndjson).')
      for (let i = 0; i < value.length; i++) yield { row: i + 1, line: Buffer.from(JSON.stringify(value[i])) }
      return
    }
    case 'csv':
      throw new Error('CSV bodies are turned into NDJSON first (csvToNdjson)')
    case 'arrow': {
      // a truncated or damaged stream is the body's problem, not the server's
      const unreadable = (err: unknown) => new BodyFormatError(`The body cannot be read as an Arrow IPC stream: ${(err as Error).message}`)
      const reader = await RecordBatchStreamReader.from(createReadStream(body.path)).catch((err: unknown) => { throw unreadable(err) })
      const batches = reader[Symbol.asyncIterator]()
      const timestamps = new Set((extra.arrow ?? []).filter((c) => c.timestamp).map((c) => c.name))
      const objects = new Set((extra.arrow ?? []).filter((c) => c.object).map((c) => c.name))
      let row = 0
      for (;;) {
        const next = await batches.next().catch((err: unknown) => { throw unreadable(err) })
        if (next.done) return
        for (const r of next.value) {
          row++
          const members: string[] = []
          for (const [k, v] of Object.entries((r as { toJSON(): Record<string, unknown> }).toJSON())) {
            if (v === null || v === undefined) continue
            // JSON text of an object stays that object, as sent (its size is checked as sent), as
            // the embedded engine reads it (sources.ts); anything else is a string for the validator
            if (objects.has(k) && typeof v === 'string' && isJsonObject(v)) {
              members.push(`${JSON.stringify(k)}:${v}`)
              continue
            }
            // Arrow timestamps arrive as epoch milliseconds; the contract wants RFC 3339
            members.push(`${JSON.stringify(k)}:${JSON.stringify(timestamps.has(k) ? new Date(Number(v)).toISOString() : typeof v === 'bigint' ? Number(v) : v)}`)
          }
          yield { row, line: Buffer.from(`{${members.join(',')}}`) }
        }
      }
    }
  }
}

/**
 * The body's lines as TabSeparated rows of ingest_lines (batch_id, row, line, staged_at): bytes
 * escaped as the format wants them, never decoded. More than maxRows lines: TooManyRowsError with
 * the body's count (the rest of the lines counted, not staged).
 */
export async function* stagingRows(body: SpooledBody, extra: { arrow?: ArrowColumn[] }, o: { batch: string; stagedAt: string; maxRows: number }): AsyncGenerator<Buffer> {
  const lines = linesOf(body, extra)
  let n = 0
  for await (const { row, line } of lines) {
    if (++n > o.maxRows) {
      for await (const _ of lines) n++
      throw new TooManyRowsError(o.maxRows, n)
    }
    yield Buffer.concat([Buffer.from(`${o.batch}\t${row}\t`), tsvEscape(line), Buffer.from(`\t${o.stagedAt}\n`)])
  }
}

const TSV_ESCAPES: Record<number, string> = { 0x5c: '\\\\', 0x09: '\\t', 0x0a: '\\n', 0x0d: '\\r', 0x00: '\\0', 0x08: '\\b', 0x0c: '\\f' }

function tsvEscape(bytes: Buffer): Buffer {
  let parts: Buffer[] | undefined
  let from = 0
  for (let i = 0; i < bytes.length; i++) {
    const escape = TSV_ESCAPES[bytes[i]!]
    if (escape === undefined) continue
    parts ??= []
    parts.push(bytes.subarray(from, i), Buffer.from(escape))
    from = i + 1
  }
  if (!parts) return bytes
  parts.push(bytes.subarray(from))
  return Buffer.concat(parts)
}

/** Lines split at \n (a \r before it dropped), as bytes. */
async function* byteLines(path: string): AsyncGenerator<Buffer> {
  let pending: Buffer[] = []
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    let from = 0
    for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, from)) {
      pending.push(chunk.subarray(from, nl))
      const line = pending.length === 1 ? pending[0]! : Buffer.concat(pending)
      pending = []
      from = nl + 1
      yield line[line.length - 1] === 0x0d ? line.subarray(0, -1) : line
    }
    if (from < chunk.length) pending.push(chunk.subarray(from))
  }
  if (pending.length > 0) {
    const line = Buffer.concat(pending)
    yield line[line.length - 1] === 0x0d ? line.subarray(0, -1) : line
  }
}

function isJsonObject(text: string): boolean {
  if (!text.trimStart().startsWith('{')) return false
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

/** Only spaces, tabs and carriage returns (the embedded reading's trim). */
function isBlank(line: Buffer): boolean {
  for (const b of line) if (b !== 0x20 && b !== 0x09 && b !== 0x0d) return false
  return true
}
