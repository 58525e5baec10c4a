// Field-by-field validation of one record against its stream's spec (contract.ts). Produces the
// warehouse row, normalised (instants as epoch seconds, ratings as stars), or every error found.
import { localDate, parseTimestamp } from '../warehouse/index.ts'
import type { FieldSpec, FieldType, RecordSpec } from './contract.ts'

export interface RowError {
  row: number
  field: string | null
  code: string
  message: string
}

/** A unit's active period (dates, inclusive); null = open on that side. */
export interface UnitPeriod {
  from: string | null
  to: string | null
}

export interface ValidationContext {
  timezone: string
  nowMs: number
  unitExists(id: string): boolean
  itemExists(code: string): boolean
  /** The unit's active period, when it has one (the unit_inactive rule); absent = always active. */
  unitPeriod?(id: string): UnitPeriod | undefined
}

/** A unit's active period in words: "from 2025-01-01 to 2025-06-30", "from …", "until …". */
export function periodText(p: UnitPeriod): string {
  if (p.from && p.to) return `from ${p.from} to ${p.to}`
  return p.from ? `from ${p.from}` : `until ${p.to}`
}

/** The code of an object field over its size limit: attrs_too_large. */
export const tooLargeCode = (field: string) => `${field}_too_large`

/** The message of a too-large object (the SQL validator builds the same text). */
export function tooLargeText(field: string, maxBytes: number): { expected: string; advice: string } {
  return {
    expected: `expected a JSON object of at most ${maxBytes} bytes (${maxBytes / 1024} KB) serialised`,
    advice: `; keep large documents elsewhere and send a reference to them in ${field}`,
  }
}

/** What the unit_inactive message says after the row and the unit (the SQL validator builds the same text). */
export const unitInactiveText = {
  dated: ', and this record is dated ',
  expected: (dateField: string) => ` (${dateField}); expected a record of a day the unit is in service (active_from and active_to of the units reference data)`,
}

export type WarehouseRow = Record<string, string | number | boolean | null | number[]>

export type RowResult = { ok: true; row: WarehouseRow } | { ok: false; errors: RowError[] }

const FUTURE_TOLERANCE_MS = 24 * 3600 * 1000

/** Shortened JSON of what was received, for messages. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing'
  let s: string
  try {
    s = JSON.stringify(value) ?? String(value)
  } catch {
    s = String(value)
  }
  return s.length > 80 ? s.slice(0, 77) + '…' : s
}

const expected: Record<FieldType['kind'], (t: FieldType) => string> = {
  id: (t) => `a non-empty string of at most ${(t as { max: number }).max} characters`,
  string: (t) => `a string of at most ${(t as { max: number }).max} characters`,
  enum: (t) => `one of ${(t as { values: readonly string[] }).values.join(', ')}`,
  timestamp: () => 'an RFC 3339 timestamp such as 2024-03-05T09:12:00+08:00',
  boolean: () => 'true or false',
  integer: (t) => `a whole number from ${(t as { min: number }).min} to ${(t as { max: number }).max}`,
  number: (t) => `a number of at least ${(t as { min: number }).min}`,
  decimal: (t) => `a decimal amount with at most ${(t as { scale: number }).scale} decimal places, as a string or number`,
  month: () => 'a month written YYYY-MM',
  object: () => 'a JSON object',
  date: () => 'a date written YYYY-MM-DD',
  integer_list: (t) => `a list of whole numbers from ${(t as { min: number }).min} to ${(t as { max: number }).max}, as a JSON array or "1,2"`,
}

export function expectedText(type: FieldType): string {
  return expected[type.kind](type)
}

type Converted = { value: string | number | boolean | number[]; error?: undefined } | { error: { code: string; detail?: string } }

function convert(type: FieldType, v: unknown, ctx: ValidationContext): Converted {
  switch (type.kind) {
    case 'id':
    case 'string':
      if (typeof v !== 'string') return { error: { code: 'invalid_type' } }
      if (type.kind === 'id' && v.length === 0) return { error: { code: 'invalid_value', detail: 'it is empty' } }
      if (v.length > type.max) return { error: { code: 'too_long', detail: `it has ${v.length} characters` } }
      return { value: v }
    case 'enum':
      if (typeof v !== 'string') return { error: { code: 'invalid_type' } }
      if (!type.values.includes(v)) return { error: { code: 'invalid_value' } }
      return { value: v }
    case 'timestamp': {
      if (typeof v !== 'string') return { error: { code: 'invalid_type' } }
      const ms = parseTimestamp(v, ctx.timezone)
      if (ms === undefined) return { error: { code: 'invalid_timestamp' } }
      return { value: ms }
    }
    case 'boolean':
      if (typeof v !== 'boolean') return { error: { code: 'invalid_type' } }
      return { value: v }
    case 'integer':
      if (typeof v !== 'number' || !Number.isInteger(v)) return { error: { code: 'invalid_type' } }
      if (v < type.min || v > type.max) return { error: { code: 'out_of_range' } }
      return { value: v }
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) return { error: { code: 'invalid_type' } }
      if (v < type.min) return { error: { code: 'out_of_range' } }
      return { value: v }
    case 'decimal': {
      const s = typeof v === 'number' && Number.isFinite(v) ? String(v) : typeof v === 'string' ? v.trim() : undefined
      if (s === undefined) return { error: { code: 'invalid_type' } }
      const m = /^(-?)(\d{1,16})(?:\.(\d+))?$/.exec(s)
      if (!m) return { error: { code: 'invalid_value' } }
      if ((m[3]?.length ?? 0) > type.scale) return { error: { code: 'invalid_value', detail: `it has ${m[3]!.length} decimal places` } }
      return { value: `${m[1]}${m[2]}.${(m[3] ?? '').padEnd(type.scale, '0')}` }
    }
    case 'month': {
      if (typeof v !== 'string') return { error: { code: 'invalid_type' } }
      const m = /^(\d{4})-(\d{2})$/.exec(v)
      if (!m || Number(m[2]) < 1 || Number(m[2]) > 12) return { error: { code: 'invalid_value' } }
      return { value: `${v}-01` }
    }
    case 'object': {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return { error: { code: 'invalid_type' } }
      const text = JSON.stringify(v)
      if (type.maxBytes !== undefined && Buffer.byteLength(text, 'utf8') > type.maxBytes) return { error: { code: 'too_large', detail: String(Buffer.byteLength(text, 'utf8')) } }
      return { value: text }
    }
    case 'date': {
      if (typeof v !== 'string') return { error: { code: 'invalid_type' } }
      const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v)
      if (!m || new Date(v + 'T00:00:00Z').toISOString().slice(0, 10) !== v) return { error: { code: 'invalid_value' } }
      return { value: v }
    }
    case 'integer_list': {
      const list = typeof v === 'string' ? (v.trim() === '' ? [] : v.split(/[,;\s]+/).map(Number)) : v
      if (!Array.isArray(list)) return { error: { code: 'invalid_type' } }
      if (!list.every((x) => Number.isInteger(x) && x >= type.min && x <= type.max)) return { error: { code: 'invalid_value' } }
      return { value: list as number[] }
    }
  }
}

function isRequired(f: FieldSpec, record: Record<string, unknown>): boolean {
  if (typeof f.required === 'boolean') return f.required
  return f.required.in.includes(record[f.required.when] as string)
}

function requiredText(f: FieldSpec): string {
  return typeof f.required === 'boolean' ? 'required' : `required when ${f.required.when} is ${f.required.in.join(' or ')}`
}

/** Validates one record (`rowNumber` is 1-based) and returns the warehouse row or its errors. */
export function validateRecord(spec: RecordSpec, record: unknown, rowNumber: number, ctx: ValidationContext): RowResult {
  const errors: RowError[] = []
  const fail = (field: string | null, code: string, message: string) => errors.push({ row: rowNumber, field, code, message })
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    fail(null, 'not_an_object', `row ${rowNumber}: expected a JSON object with the fields of ${spec.name}, got ${describe(record)}`)
    return { ok: false, errors }
  }
  const input = record as Record<string, unknown>
  const known = new Set(spec.fields.map((f) => f.name))
  for (const key of Object.keys(input)) {
    if (!known.has(key)) {
      fail(key, 'unknown_field', `row ${rowNumber}: field ${key} is not part of the ${spec.name} contract; put extra data in attrs${spec.fields.some((f) => f.name === 'attrs') ? '' : ' of a stream that has it, or leave it out'}`)
    }
  }
  const row: WarehouseRow = {}
  for (const f of spec.fields) {
    const v = input[f.name]
    if (v === undefined || v === null) {
      if (isRequired(f, input)) fail(f.name, 'missing_field', `row ${rowNumber}: field ${f.name} is ${requiredText(f)}: expected ${expectedText(f.type)}`)
      row[f.name] = null
      continue
    }
    const c = convert(f.type, v, ctx)
    if (c.error?.code === 'too_large' && f.type.kind === 'object') {
      const t = tooLargeText(f.name, f.type.maxBytes!)
      fail(f.name, tooLargeCode(f.name), `row ${rowNumber}, field ${f.name}: ${t.expected}, got ${c.error.detail} bytes${t.advice}`)
      continue
    }
    if (c.error) {
      fail(f.name, c.error.code, `row ${rowNumber}, field ${f.name}: expected ${expectedText(f.type)}, got ${describe(v)}${c.error.detail ? ` (${c.error.detail})` : ''}`)
      continue
    }
    if (f.type.kind === 'timestamp') {
      const ms = c.value as number
      if (f.notFuture && ms > ctx.nowMs + FUTURE_TOLERANCE_MS) {
        fail(f.name, 'future_timestamp', `row ${rowNumber}, field ${f.name}: ${describe(v)} is more than 24 hours in the future; expected a moment that has happened`)
        continue
      }
      row[f.name] = (ms / 1000).toFixed(3)
    } else {
      row[f.name] = c.value
    }
    if (f.references === 'unit' && !ctx.unitExists(c.value as string)) {
      fail(f.name, 'unknown_unit', `row ${rowNumber}, field ${f.name}: expected a known unit_id (see the units reference data), got ${describe(v)}`)
    } else if (f.references === 'item' && !ctx.itemExists(c.value as string)) {
      fail(f.name, 'unknown_item', `row ${rowNumber}, field ${f.name}: expected a known item_code (see the items reference data), got ${describe(v)}`)
    }
  }
  checkActiveUnit(spec, input, row, rowNumber, errors, ctx)
  if (errors.length > 0) return { ok: false, errors }
  normaliseStream(spec, row)
  return { ok: true, row }
}

/** The unit_inactive rule: only for a known unit and a valid date (their own errors come first). */
function checkActiveUnit(spec: RecordSpec, input: Record<string, unknown>, row: WarehouseRow, rowNumber: number, errors: RowError[], ctx: ValidationContext): void {
  const rule = spec.activeUnit
  if (!rule || !ctx.unitPeriod) return
  if (errors.some((e) => e.field === rule.unit || e.field === rule.date)) return
  const unit = row[rule.unit]
  const date = row[rule.date]
  if (typeof unit !== 'string' || date === null || date === undefined) return
  const period = ctx.unitPeriod(unit)
  if (!period) return
  const dateType = spec.fields.find((f) => f.name === rule.date)!.type
  // a timestamp: its day in the district's zone; a month (stored as its first day): the whole month
  const first = dateType.kind === 'month' ? String(date) : localDate(Number(date) * 1000, ctx.timezone)
  const last = dateType.kind === 'month' ? lastDayOfMonth(first) : first
  const dated = dateType.kind === 'month' ? first.slice(0, 7) : first
  if ((period.from && last < period.from) || (period.to && first > period.to)) {
    errors.push({
      row: rowNumber,
      field: rule.unit,
      code: 'unit_inactive',
      message: `row ${rowNumber}, field ${rule.unit}: unit ${describe(input[rule.unit])} is in service ${periodText(period)}${unitInactiveText.dated}${dated}${unitInactiveText.expected(rule.date)}`,
    })
  }
}

function lastDayOfMonth(firstDay: string): string {
  const [y, m] = firstDay.split('-').map(Number) as [number, number]
  return new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10)
}

/** Stream-specific normalisation after the field checks. */
function normaliseStream(spec: RecordSpec, row: WarehouseRow): void {
  if (spec.name === 'case-events') {
    row.attrs = (row.attrs as string | null) ?? ''
  } else if (spec.name === 'evaluations') {
    // GB/T 39046 codes run 1 非常满意 … 5 非常不满意: the reverse of stars.
    const scheme = (row.rating_scheme as string | null) ?? 'stars'
    if (scheme === 'gbt39046') row.rating = 6 - (row.rating as number)
    row.rating_scheme_received = scheme
    delete row.rating_scheme
    row.active = (row.active as boolean | null) ?? true
    row.follow_up = (row.follow_up as boolean | null) ?? false
  }
}

/**
 * CSV cells are text: turn them into the JSON types the spec expects before validation, so a CSV
 * row and the same JSON row validate (and hash) alike. An empty cell is an absent field.
 */
export function coerceCsvRecord(spec: RecordSpec, record: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const types = new Map(spec.fields.map((f) => [f.name, f.type]))
  for (const [key, text] of Object.entries(record)) {
    if (text === '') continue
    const type = types.get(key)
    out[key] = type ? coerceCell(type, text) : text
  }
  return out
}

function coerceCell(type: FieldType, text: string): unknown {
  switch (type.kind) {
    case 'integer':
    case 'number': {
      const n = Number(text.trim())
      return text.trim() !== '' && Number.isFinite(n) ? n : text
    }
    case 'boolean': {
      const t = text.trim().toLowerCase()
      return t === 'true' || t === '1' ? true : t === 'false' || t === '0' ? false : text
    }
    case 'object':
      try {
        return JSON.parse(text)
      } catch {
        return text
      }
    default:
      return text
  }
}
