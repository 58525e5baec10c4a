// Body formats → records. Each record keeps its 1-based row number and its raw text, so errors
// can name the row and the quarantine can keep what was sent.
import { parse } from 'csv-parse/sync'
import type { RecordSpec } from './contract.ts'
import type { ParsedRecord } from './service.ts'
import { coerceCsvRecord } from './validate.ts'

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** NDJSON: one JSON object per line; the row number is the line number. Blank lines are skipped. */
export function parseNdjson(body: Buffer): ParsedRecord[] {
  const out: ParsedRecord[] = []
  let start = 0
  let line = 0
  // a UTF-8 BOM at the very start is tolerated
  if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) start = 3
  while (start <= body.length) {
    let end = body.indexOf(0x0a, start)
    if (end === -1) end = body.length
    line++
    const bytes = body.subarray(start, end)
    start = end + 1
    let text: string
    try {
      text = utf8.decode(bytes)
    } catch {
      out.push({ row: line, raw: bytes.toString('latin1').slice(0, 2000), error: { row: line, field: null, code: 'invalid_encoding', message: `row ${line}: the line is not valid UTF-8` } })
      continue
    }
    if (text.endsWith('\r')) text = text.slice(0, -1)
    if (text.trim() === '') continue
    try {
      out.push({ row: line, raw: text, value: JSON.parse(text) })
    } catch (err) {
      out.push({
        row: line,
        raw: text.slice(0, 100_000),
        error: { row: line, field: null, code: 'invalid_json', message: `row ${line}: expected one JSON object on the line, but it does not parse (${(err as Error).message})` },
      })
    }
  }
  return out
}

/** A JSON array of objects; the row number is the position in the array. */
export function parseJsonArray(body: Buffer): ParsedRecord[] | { error: string } {
  let text: string
  try {
    text = utf8.decode(body)
  } catch {
    return { error: 'The body is not valid UTF-8.' }
  }
  let value: unknown
  try {
    value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text)
  } catch (err) {
    return { error: `The body is not valid JSON (${(err as Error).message}).` }
  }
  if (!Array.isArray(value)) return { error: 'Expected a JSON array of objects (or send application/x-ndjson).' }
  return value.map((v, i) => ({ row: i + 1, raw: safeStringify(v), value: v }))
}

function safeStringify(v: unknown): string {
  try {
    return JSON.stringify(v).slice(0, 100_000)
  } catch {
    return ''
  }
}

/**
 * CSV with a header row of field names (a BOM is allowed); cells are coerced to the spec's types
 * (validate.ts coerceCsvRecord). Parsed by csv-parse, which handles quoting and embedded newlines.
 */
export function parseCsv(body: Buffer, spec: RecordSpec): ParsedRecord[] | { error: string } {
  let rows: Array<{ record: string[]; info: { lines: number }; raw: string }>
  try {
    rows = parse(body, { bom: true, relax_column_count: true, skip_empty_lines: true, info: true, raw: true }) as unknown as typeof rows
  } catch (err) {
    return { error: `The body is not readable CSV (${(err as Error).message}).` }
  }
  const header = rows.shift()?.record.map((h) => h.trim())
  if (!header) return { error: 'The CSV body is empty: expected a header row of field names and then data rows.' }
  const known = new Set(spec.fields.map((f) => f.name))
  const unknown = header.filter((h) => !known.has(h))
  const missing = spec.fields.filter((f) => f.required === true && !header.includes(f.name)).map((f) => f.name)
  if (missing.length > 0 || unknown.length === header.length) {
    return {
      error: `The CSV header must name the fields of ${spec.name} (${spec.fields.map((f) => f.name).join(', ')}); ` +
        (missing.length ? `missing: ${missing.join(', ')}` : `none of ${header.slice(0, 5).join(', ')} is one`) + '.',
    }
  }
  return rows.map((r, i) => {
    const row = i + 1
    const raw = r.raw.replace(/\r?\n$/, '')
    if (r.record.length !== header.length) {
      return { row, raw, error: { row, field: null, code: 'invalid_csv_row', message: `row ${row}: expected ${header.length} cells like the header, got ${r.record.length}` } }
    }
    const record: Record<string, string> = {}
    header.forEach((h, j) => (record[h] = r.record[j]!))
    return { row, raw, value: coerceCsvRecord(spec, record) }
  })
}
