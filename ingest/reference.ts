// Reference data through the contract's PUT /api/v1/reference/{units|items|calendar|targets}:
// the same field specs and validation as the streams. A reference body is applied whole or not
// at all: half a unit tree is worse than the old one.
import { HttpError, ITEM_CATEGORIES, UNIT_KINDS, type CalendarDay, type Item, type Platform, type Target, type Unit } from '../warehouse/index.ts'
import { parseCsv, parseJsonArray, parseNdjson } from './formats.ts'
import type { RecordSpec } from './contract.ts'
import type { ParsedRecord } from './service.ts'
import { describe, validateRecord, type RowError, type WarehouseRow } from './validate.ts'

export const REFERENCE_KINDS = ['units', 'items', 'calendar', 'targets'] as const
export type ReferenceKind = (typeof REFERENCE_KINDS)[number]

export const REFERENCE_SPECS: Record<ReferenceKind, RecordSpec> = {
  units: {
    name: 'units',
    fields: [
      { name: 'unit_id', type: { kind: 'id', max: 64 }, required: true, meaning: 'the unit id the streams use' },
      { name: 'name', type: { kind: 'string', max: 200 }, required: true, meaning: 'the unit name' },
      { name: 'tier', type: { kind: 'integer', min: 1, max: 3 }, required: true, meaning: '1 district centre and bureau halls, 2 street halls, 3 stations' },
      { name: 'kind', type: { kind: 'enum', values: UNIT_KINDS }, required: true, meaning: 'what kind of unit' },
      { name: 'parent_id', type: { kind: 'id', max: 64 }, required: false, meaning: "a street hall's parent is the district centre; a station's, its street hall" },
      { name: 'active_from', type: { kind: 'date' }, required: false, meaning: 'first day in service' },
      { name: 'active_to', type: { kind: 'date' }, required: false, meaning: 'last day in service' },
    ],
  },
  items: {
    name: 'items',
    fields: [
      { name: 'item_code', type: { kind: 'id', max: 64 }, required: true, meaning: 'the item code the streams use' },
      { name: 'name', type: { kind: 'string', max: 300 }, required: true, meaning: 'the item name' },
      { name: 'category', type: { kind: 'enum', values: ITEM_CATEGORIES }, required: true, meaning: '行政许可, 公共服务 or other' },
      { name: 'statutory_days', type: { kind: 'integer', min: 0, max: 3650 }, required: false, meaning: '法定时限, working days' },
      { name: 'promised_days', type: { kind: 'integer', min: 0, max: 3650 }, required: false, meaning: '承诺时限, working days; 0 = 即办件; empty = no time limit' },
      { name: 'owner_unit_id', type: { kind: 'id', max: 64 }, required: false, references: 'unit', meaning: 'the unit that owns the item' },
      { name: 'tiers', type: { kind: 'integer_list', min: 1, max: 3 }, required: false, meaning: 'tiers where it may be handled' },
      { name: 'warning_days', type: { kind: 'number', min: 0 }, required: false, meaning: 'warning (黄牌) threshold in working days before the deadline' },
      { name: 'warning_share', type: { kind: 'number', min: 0 }, required: false, meaning: 'warning threshold as a share of the limit (0.2 = the last fifth)' },
    ],
  },
  targets: {
    name: 'targets',
    fields: [
      { name: 'year', type: { kind: 'integer', min: 2000, max: 2100 }, required: true, meaning: 'the assessment year' },
      { name: 'metric_id', type: { kind: 'id', max: 64 }, required: true, meaning: 'an indicator id' },
      { name: 'scope', type: { kind: 'id', max: 80 }, required: true, meaning: 'district, tier:N or unit:ID' },
      { name: 'value', type: { kind: 'number', min: -1e12 }, required: true, meaning: 'the target value' },
    ],
  },
  calendar: {
    name: 'calendar',
    fields: [
      { name: 'date', type: { kind: 'date' }, required: true, meaning: 'a date of the year being loaded' },
      { name: 'is_working', type: { kind: 'boolean' }, required: true, meaning: 'true for a working day (also a 调休 weekend), false for a holiday' },
      { name: 'name', type: { kind: 'string', max: 100 }, required: false, meaning: 'the holiday, e.g. 国庆节' },
    ],
  },
}

const UNIT_TIER: Record<Unit['kind'], number> = {
  district_centre: 1, bureau_hall: 1, street_hall: 2, community_station: 3, enterprise_station: 3,
}

export type ReferenceResult = { ok: true; stored: number } | { ok: false; errors: RowError[] }

/**
 * The published arrangement as JSON, as holiday-cn publishes it: { year, days: [{ name, date,
 * isOffDay }] }, the holidays and make-up days of one year (everything else an ordinary week, as
 * in the notice). Undefined when the value is not that shape.
 */
export function arrangementFromJson(value: unknown): { year: number; records: ParsedRecord[] } | undefined {
  if (typeof value !== 'object' || value === null || !Array.isArray((value as { days?: unknown }).days)) return undefined
  const year = (value as { year?: unknown }).year
  if (typeof year !== 'number' || !Number.isInteger(year)) return undefined
  return {
    year,
    records: ((value as { days: unknown[] }).days).map((d, i) => {
      const day = d as { name?: unknown; date?: unknown; isOffDay?: unknown }
      return { row: i + 1, raw: JSON.stringify(d), value: { date: day.date, is_working: typeof day.isOffDay === 'boolean' ? !day.isOffDay : day.isOffDay, name: day.name } }
    }),
  }
}

/** The body's rows checked against the kind's spec and each other: the rows, or every problem. */
export function validateReference(platform: Platform, kind: ReferenceKind, records: ParsedRecord[]): { ok: true; rows: WarehouseRow[] } | { ok: false; errors: RowError[] } {
  const spec = REFERENCE_SPECS[kind]
  const { reference } = platform
  const pendingUnits = new Set<string>()
  if (kind === 'units') for (const r of records) if ('value' in r) pendingUnits.add(String((r.value as { unit_id?: unknown })?.unit_id))
  const ctx = {
    timezone: platform.warehouse.timezone,
    nowMs: Date.now(),
    unitExists: (id: string) => reference.units.has(id) || pendingUnits.has(id),
    itemExists: (code: string) => reference.items.has(code),
  }
  const errors: RowError[] = []
  const rows: Array<{ row: number; values: WarehouseRow }> = []
  for (const r of records) {
    if ('error' in r) {
      errors.push(r.error)
      continue
    }
    const result = validateRecord(spec, r.value, r.row, ctx)
    if (!result.ok) errors.push(...result.errors)
    else rows.push({ row: r.row, values: result.row })
  }
  for (const { row, values } of rows) errors.push(...crossChecks(kind, row, values, ctx.unitExists))
  if (errors.length > 0) return { ok: false, errors: errors.sort((a, b) => a.row - b.row) }
  return { ok: true, rows: rows.map((r) => r.values) }
}

/** Validated calendar rows as days. */
export function calendarDaysOf(rows: WarehouseRow[]): CalendarDay[] {
  return rows.map((v) => ({ date: v.date as string, is_working: v.is_working as boolean, name: (v.name as string | null) ?? '' }))
}

/** Units, items and targets, applied whole or not at all (the calendar: ingest/calendar.ts). */
export async function applyReference(platform: Platform, kind: Exclude<ReferenceKind, 'calendar'>, records: ParsedRecord[]): Promise<ReferenceResult> {
  const checked = validateReference(platform, kind, records)
  if (!checked.ok) return checked
  const { reference } = platform
  const rows = checked.rows
  switch (kind) {
    case 'units':
      await reference.upsertUnits(rows.map((v) => v as unknown as Unit))
      return { ok: true, stored: rows.length }
    case 'items':
      await reference.upsertItems(rows.map((v) => ({ ...v, tiers: (v.tiers as number[] | null) ?? [] }) as unknown as Item))
      return { ok: true, stored: rows.length }
    case 'targets':
      await reference.upsertTargets(rows.map((v) => v as unknown as Target))
      return { ok: true, stored: rows.length }
  }
}

function crossChecks(kind: ReferenceKind, row: number, v: WarehouseRow, unitExists: (id: string) => boolean): RowError[] {
  const errors: RowError[] = []
  if (kind === 'units') {
    const expectedTier = UNIT_TIER[v.kind as Unit['kind']]
    if (v.tier !== expectedTier) errors.push({ row, field: 'tier', code: 'invalid_value', message: `row ${row}, field tier: a ${v.kind} is on tier ${expectedTier}, got ${v.tier}` })
    if (v.parent_id !== null && !unitExists(v.parent_id as string)) {
      errors.push({ row, field: 'parent_id', code: 'unknown_unit', message: `row ${row}, field parent_id: expected a known unit_id (stored or in this body), got ${describe(v.parent_id)}` })
    }
    if (v.parent_id === v.unit_id) errors.push({ row, field: 'parent_id', code: 'invalid_value', message: `row ${row}, field parent_id: a unit cannot be its own parent` })
  }
  if (kind === 'targets' && !/^(district|tier:[123]|unit:.+)$/.test(v.scope as string)) {
    errors.push({ row, field: 'scope', code: 'invalid_value', message: `row ${row}, field scope: expected district, tier:1, tier:2, tier:3 or unit:<unit_id>, got ${describe(v.scope)}` })
  }
  return errors
}

/** A reference body as records: a JSON array, NDJSON or CSV (415 for another type, 400 when unreadable). */
export function parseReferenceBody(type: string, body: Buffer, spec: RecordSpec): ParsedRecord[] {
  let parsed: ParsedRecord[] | { error: string }
  switch (type) {
    case 'application/x-ndjson':
      parsed = parseNdjson(body)
      break
    case 'application/json':
      parsed = parseJsonArray(body)
      break
    case 'text/csv':
      parsed = parseCsv(body, spec)
      break
    default:
      throw new HttpError(415, 'unsupported_media_type', `Content-Type ${type || '(none)'} is not accepted here; send application/json, application/x-ndjson or text/csv.`)
  }
  if ('error' in parsed) throw new HttpError(400, 'unreadable_body', parsed.error)
  return parsed
}

