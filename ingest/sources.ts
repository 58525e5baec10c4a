// Each body format as one SQL relation `(row UInt64, line String)`: a JSON object per record,
// numbered from 1, that the compiled validator (engine-sql.ts) reads. The engine parses the
// spooled file itself; CSV cells and Arrow columns become JSON text the same way validate.ts
// coerces them, so every format is validated (and hashed) alike.
import { openSync, readSync, closeSync } from 'node:fs'
import { parse } from 'csv-parse/sync'
import { RecordBatchStreamReader, Type, type Field } from 'apache-arrow'
import { createReadStream } from 'node:fs'
import type { FieldType, StreamSpec } from './contract.ts'
import { sqlString } from '../warehouse/index.ts'

export const BODY_FORMATS = ['ndjson', 'json', 'csv', 'arrow'] as const
export type BodyFormat = (typeof BODY_FORMATS)[number]

export const MEDIA_TYPES: Record<string, BodyFormat> = {
  'application/x-ndjson': 'ndjson',
  'application/json': 'json',
  'text/csv': 'csv',
  'application/vnd.apache.arrow.stream': 'arrow',
}

/** The body cannot be read as its format at all (HTTP 400). */
export class BodyFormatError extends Error {
  readonly code = 'unreadable_body'
}

/** The most rows one body may hold (CONTRACT.md Transport: 413 beyond). */
export const MAX_ROWS_PER_BODY = 1_000_000

/** A body of more rows than a body may hold (HTTP 413): nothing is stored. */
export class TooManyRowsError extends Error {
  readonly code = 'too_many_rows'
  constructor(readonly limit: number, readonly rows?: number) {
    const n = (x: number) => x.toLocaleString('en-US')
    super(
      `The body holds ${rows === undefined ? `more than ${n(limit)}` : n(rows)} rows; a body may hold at most ${n(limit)} rows. ` +
        'Split it into smaller bodies (tierscope ingest sends --batch-rows rows in each). Nothing was stored.',
    )
  }
}

/** Quotes a column name for ClickHouse (header names come from the request). */
const ident = (name: string) => '`' + name.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`'

/** SQL that turns one text cell into JSON text the way validate.ts coerceCsvRecord does. */
function cellToJson(type: FieldType | undefined, cell: string): string {
  switch (type?.kind) {
    case 'integer':
    case 'number':
      return `if(match(trimBoth(${cell}), '^-?[0-9]+(\\\\.[0-9]+)?([eE][-+]?[0-9]+)?$'), trimBoth(${cell}), toJSONString(${cell}))`
    case 'boolean':
      return `multiIf(lower(trimBoth(${cell})) IN ('true', '1'), 'true', lower(trimBoth(${cell})) IN ('false', '0'), 'false', toJSONString(${cell}))`
    case 'object':
      return `if(isValidJSON(${cell}) AND startsWith(trimLeft(${cell}), '{'), ${cell}, toJSONString(${cell}))`
    default:
      return `toJSONString(${cell})`
  }
}

/** `{"name": value, …}` from per-column JSON expressions, leaving out NULL cells. */
function objectLine(parts: Array<{ name: string; isNull: string; json: string }>): string {
  const members = parts.map((p) => `if(${p.isNull}, '', concat(${sqlString(JSON.stringify(p.name))}, ':', ${p.json}))`)
  // ifNull: nullable input columns must not make the line (and so every later column) Nullable
  return `ifNull(concat('{', arrayStringConcat(arrayFilter(x -> x != '', [${members.join(', ')}]), ','), '}'), '')`
}

/** Reads the header row of a spooled CSV (csv-parse handles quotes and a BOM). */
export function csvHeader(path: string, spec: StreamSpec): string[] {
  const fd = openSync(path, 'r')
  const buf = Buffer.alloc(64 * 1024)
  const n = readSync(fd, buf, 0, buf.length, 0)
  closeSync(fd)
  const text = buf.subarray(0, n).toString('utf8')
  const firstLine = text.split(/\r?\n/, 1)[0] ?? ''
  let header: string[] = []
  try {
    header = ((parse(firstLine, { bom: true, to_line: 1 }) as string[][])[0] ?? []).map((h) => h.trim())
  } catch (err) {
    throw new BodyFormatError(`The CSV header row cannot be read (${(err as Error).message}).`)
  }
  const known = new Set(spec.fields.map((f) => f.name))
  const missing = spec.fields.filter((f) => f.required === true && !header.includes(f.name)).map((f) => f.name)
  const unknown = header.filter((h) => !known.has(h))
  if (header.length === 0 || missing.length > 0 || unknown.length > 0) {
    throw new BodyFormatError(
      `The first CSV row must be a header naming fields of ${spec.name} (${spec.fields.map((f) => f.name).join(', ')})` +
        (missing.length ? `; missing: ${missing.join(', ')}` : '') +
        (unknown.length ? `; not fields of ${spec.name}: ${unknown.slice(0, 5).map((u) => JSON.stringify(u.slice(0, 40))).join(', ')}` : '') + '.',
    )
  }
  if (new Set(header).size !== header.length) throw new BodyFormatError('The CSV header names a field twice.')
  return header
}

/** Arrow types each contract field type accepts. */
function arrowAccepts(type: FieldType, field: Field): boolean {
  const t = field.type.typeId
  const isText = t === Type.Utf8 || t === Type.LargeUtf8 || (t === Type.Dictionary && [Type.Utf8, Type.LargeUtf8].includes((field.type as unknown as { valueType: { typeId: Type } }).valueType.typeId))
  const isInt = t === Type.Int
  const isNumber = isInt || t === Type.Float
  switch (type.kind) {
    case 'id':
    case 'string':
    case 'enum':
    case 'month':
    case 'date':
    case 'object':
      return isText
    case 'timestamp':
      return isText || t === Type.Timestamp
    case 'boolean':
      return t === Type.Bool
    case 'integer':
      return isInt
    case 'number':
      return isNumber
    case 'decimal':
      return isText || isNumber || t === Type.Decimal
    case 'integer_list':
      return false
  }
}

export interface ArrowColumn {
  name: string
  timestamp: boolean
  text: boolean
  /** Text of a JSON-object field (attrs): JSON text of an object is the object, as sent. */
  object: boolean
  kind: 'text' | 'number' | 'bool' | 'timestamp'
}

/** Reads the schema of a spooled Arrow IPC stream and checks each column's type. */
export async function arrowColumns(path: string, spec: StreamSpec): Promise<ArrowColumn[]> {
  let fields: Field[]
  try {
    const reader = await RecordBatchStreamReader.from(createReadStream(path))
    await reader.open()
    fields = reader.schema.fields
    await reader.cancel()
  } catch (err) {
    throw new BodyFormatError(`The body is not a readable Arrow IPC stream (${(err as Error).message}).`)
  }
  const byName = new Map(spec.fields.map((f) => [f.name, f]))
  const problems: string[] = []
  for (const f of fields) {
    const spec = byName.get(f.name)
    if (!spec) problems.push(`column ${JSON.stringify(f.name)} is not a field of this stream`)
    else if (!arrowAccepts(spec.type, f)) problems.push(`column ${f.name} has Arrow type ${String(f.type)}; expected one for ${spec.type.kind} (${spec.type.kind === 'timestamp' ? 'Utf8 RFC 3339 or Timestamp' : spec.type.kind === 'boolean' ? 'Bool' : spec.type.kind === 'integer' ? 'Int' : spec.type.kind === 'number' ? 'Int or Float' : 'Utf8'})`)
  }
  const missing = spec.fields.filter((f) => f.required === true && !fields.some((c) => c.name === f.name)).map((f) => f.name)
  if (missing.length) problems.push(`missing columns: ${missing.join(', ')}`)
  if (problems.length) throw new BodyFormatError(`The Arrow stream does not fit ${spec.name}: ${problems.join('; ')}.`)
  const text = (f: Field) => [Type.Utf8, Type.LargeUtf8, Type.Dictionary].includes(f.type.typeId)
  const kind = (f: Field): ArrowColumn['kind'] =>
    f.type.typeId === Type.Timestamp ? 'timestamp' : f.type.typeId === Type.Bool ? 'bool' : text(f) ? 'text' : 'number'
  return fields.map((f) => ({ name: f.name, timestamp: f.type.typeId === Type.Timestamp, text: text(f), object: text(f) && byName.get(f.name)?.type.kind === 'object', kind: kind(f) }))
}

/** SQL answering whether a spooled JSON body is an array (the engine reads it; nothing in JS). */
export const JSON_ARRAY_CHECK = `SELECT isValidUTF8(raw_blob) AS utf8, isValidJSON(raw_blob) AS valid, JSONType(raw_blob) AS type,
    if(valid AND type = 'Array', JSONLength(raw_blob), 0) AS n
  FROM file({path:String}, 'RawBLOB', 'raw_blob String')`

export function jsonArrayProblem(check: { utf8: number | boolean; valid: number | boolean; type: string; n?: number | string } | undefined): string | undefined {
  if (!check) return 'The body is empty: expected a JSON array of objects.'
  if (!Number(check.utf8)) return 'The body is not valid UTF-8.'
  if (!Number(check.valid)) return 'The body is not valid JSON (truncated, or nested deeper than 1,000 levels?): expected a JSON array of objects.'
  if (check.type !== 'Array') return `The body is a JSON ${String(check.type).toLowerCase()}: expected a JSON array of objects (or send application/x-ndjson).`
  return undefined
}

/** `(row, line)` relation over a spooled file, for the embedded engine's file() function. */
export function fileSource(format: BodyFormat, spec: StreamSpec, extra: { arrow?: ArrowColumn[] }): string {
  switch (format) {
    case 'ndjson':
      return `(SELECT toUInt64(_row_number + 1) AS row, line FROM file({path:String}, 'LineAsString') WHERE notEmpty(trim(BOTH ' \\t\\r' FROM line)))`
    case 'json':
      // the array's elements, each as JSON text; the engine parses the body once (checked by jsonArrayCheck)
      return `(SELECT toUInt64(e.1) AS row, e.2 AS line
        FROM (SELECT arrayJoin(arrayZip(arrayEnumerate(a), a)) AS e FROM (SELECT JSONExtractArrayRaw(raw_blob) AS a FROM file({path:String}, 'RawBLOB', 'raw_blob String'))))`
    case 'csv':
      throw new Error('CSV bodies are turned into NDJSON first (csvToNdjson)')
    case 'arrow': {
      const cols = extra.arrow!
      const types = new Map(spec.fields.map((f) => [f.name, f.type]))
      const line = objectLine(cols.map((c) => ({
        name: c.name,
        isNull: `${ident(c.name)} IS NULL`,
        json: c.timestamp
          ? `toJSONString(concat(formatDateTime(assumeNotNull(${ident(c.name)}), '%Y-%m-%dT%H:%i:%S', 'UTC'), '.', leftPad(toString(toUnixTimestamp64Milli(toDateTime64(assumeNotNull(${ident(c.name)}), 3)) % 1000), 3, '0'), 'Z'))`
          : c.text
            ? cellToJson(types.get(c.name), `toString(assumeNotNull(${ident(c.name)}))`) // JSON text of an object stays an object
            : `toJSONString(assumeNotNull(${ident(c.name)}))`,
      })))
      // typed columns c_<field> for the typed validator, and the JSON line for rejected rows;
      // ArrowStream has no _row_number: the rows are numbered as they are read, in one thread
      const typedColumns = cols.map((c) => `${ident(c.name)} AS ${ident('c_' + c.name)}`).join(', ')
      return `(SELECT toUInt64(rowNumberInAllBlocks() + 1) AS row, ${line} AS line, ${typedColumns} FROM file({path:String}, 'ArrowStream') SETTINGS max_threads = 1)`
    }
  }
}
