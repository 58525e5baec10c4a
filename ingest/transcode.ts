// For a ClickHouse server, which cannot read this process's files: a spooled body's records as
// JSON lines (row, line), the same lines the embedded engine derives itself (sources.ts).
import { createReadStream, readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { RecordBatchStreamReader } from 'apache-arrow'
import type { SpooledBody } from './service.ts'
import { BodyFormatError, type ArrowColumn } from './sources.ts'

export async function* linesOf(body: SpooledBody, extra: { arrow?: ArrowColumn[] }): AsyncGenerator<{ row: number; line: string }> {
  switch (body.format) {
    case 'ndjson': {
      let row = 0
      for await (const line of createInterface({ input: createReadStream(body.path), crlfDelay: Infinity })) {
        row++
        if (line.trim() !== '') yield { row, line: row === 1 ? line.replace(/^\ufeff/, '') : line }
      }
      return
    }
    case 'json': {
      let value: unknown
      try {
        value = JSON.parse(readFileSync(body.path, 'utf8').replace(/^\ufeff/, ''))
      } catch (err) {
        throw new BodyFormatError(`The body is not valid JSON (${(err as Error).message}).`)
      }
      if (!Array.isArray(value)) throw new BodyFormatError('Expected a JSON array of objects (or send application/x-ndjson).')
      for (let i = 0; i < value.length; i++) yield { row: i + 1, line: JSON.stringify(value[i]) }
      return
    }
    case 'csv':
      throw new Error('CSV bodies are turned into NDJSON first (csvToNdjson)')
    case 'arrow': {
      const reader = await RecordBatchStreamReader.from(createReadStream(body.path))
      const timestamps = new Set((extra.arrow ?? []).filter((c) => c.timestamp).map((c) => c.name))
      let row = 0
      for await (const batch of reader) {
        for (const r of batch) {
          row++
          const obj: Record<string, unknown> = {}
          for (const [k, v] of Object.entries((r as { toJSON(): Record<string, unknown> }).toJSON())) {
            if (v === null || v === undefined) continue
            // Arrow timestamps arrive as epoch milliseconds; the contract wants RFC 3339
            obj[k] = timestamps.has(k) ? new Date(Number(v)).toISOString() : typeof v === 'bigint' ? Number(v) : v
          }
          yield { row, line: JSON.stringify(obj) }
        }
      }
    }
  }
}
