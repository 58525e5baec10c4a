import { describe, expect, it } from 'vitest'
import { STREAMS } from './contract.ts'
import { coerceCsvRecord, validateRecord, type ValidationContext } from './validate.ts'
import { parseTimestamp } from '../warehouse/index.ts'

const ctx: ValidationContext = {
  timezone: 'Asia/Shanghai',
  nowMs: Date.parse('2025-06-01T00:00:00Z'),
  unitExists: (id) => id === 'U1' || id === 'U2',
  itemExists: (code) => code === 'I1',
}
const spec = STREAMS['case-events']
const good = { event_id: 'e1', case_id: 'c1', type: 'accepted', occurred_at: '2025-03-05T09:12:00+08:00', unit_id: 'U1', item_code: 'I1' }

describe('timestamps', () => {
  it('reads offsets, Z, and the district zone when there is no offset', () => {
    expect(parseTimestamp('2024-03-05T09:12:00+08:00', 'Asia/Shanghai')).toBe(Date.parse('2024-03-05T01:12:00Z'))
    expect(parseTimestamp('2024-03-05T01:12:00Z', 'Asia/Shanghai')).toBe(Date.parse('2024-03-05T01:12:00Z'))
    expect(parseTimestamp('2024-03-05T09:12:00', 'Asia/Shanghai')).toBe(Date.parse('2024-03-05T01:12:00Z'))
    expect(parseTimestamp('2024-03-05T09:12:00.250-05:00', 'Asia/Shanghai')).toBe(Date.parse('2024-03-05T14:12:00.250Z'))
  })
  it('refuses what is not a moment', () => {
    for (const bad of ['2024-02-30T10:00:00Z', '2024-13-01T10:00:00Z', 'yesterday', '2024-03-05', '2024-03-05T25:00:00Z']) {
      expect(parseTimestamp(bad, 'Asia/Shanghai'), bad).toBeUndefined()
    }
  })
})

describe('validateRecord', () => {
  it('normalises a good case event', () => {
    const r = validateRecord(spec, good, 1, ctx)
    expect(r.ok).toBe(true)
    if (r.ok) expect(r.row).toMatchObject({ event_id: 'e1', occurred_at: (Date.parse('2025-03-05T01:12:00Z') / 1000).toFixed(3), channel: null, attrs: '' })
  })

  it('names the row, the field, and what was expected', () => {
    const r = validateRecord(spec, { ...good, occurred_at: 'soon', unit_id: 'NOPE', type: 'finished' }, 7, ctx)
    expect(r.ok).toBe(false)
    if (r.ok) return
    const byField = Object.fromEntries(r.errors.map((e) => [e.field, e]))
    expect(byField.type).toMatchObject({ row: 7, code: 'invalid_value' })
    expect(byField.type!.message).toContain('one of submitted, accepted')
    expect(byField.occurred_at).toMatchObject({ code: 'invalid_timestamp' })
    expect(byField.occurred_at!.message).toContain('"soon"')
    expect(byField.unit_id).toMatchObject({ code: 'unknown_unit' })
  })

  it('requires item_code on accepted and to_unit_id on transferred only', () => {
    const noItem = validateRecord(spec, { ...good, item_code: undefined }, 1, ctx)
    expect(!noItem.ok && noItem.errors[0]).toMatchObject({ field: 'item_code', code: 'missing_field' })
    expect(validateRecord(spec, { ...good, type: 'completed', item_code: undefined }, 1, ctx).ok).toBe(true)
    const noTo = validateRecord(spec, { ...good, type: 'transferred' }, 1, ctx)
    expect(!noTo.ok && noTo.errors[0]).toMatchObject({ field: 'to_unit_id', code: 'missing_field' })
  })

  it('rejects a timestamp more than 24 hours ahead, not one just ahead', () => {
    const ahead = (h: number) => new Date(ctx.nowMs + h * 3600_000).toISOString()
    const far = validateRecord(spec, { ...good, occurred_at: ahead(25) }, 1, ctx)
    expect(!far.ok && far.errors[0]!.code).toBe('future_timestamp')
    expect(validateRecord(spec, { ...good, occurred_at: ahead(23) }, 1, ctx).ok).toBe(true)
  })

  it('rejects wrong types and unknown fields', () => {
    const r = validateRecord(spec, { ...good, case_id: 42, extra: 1 }, 3, ctx)
    expect(!r.ok && r.errors.map((e) => [e.field, e.code])).toEqual([['extra', 'unknown_field'], ['case_id', 'invalid_type']])
    const notObject = validateRecord(spec, [1, 2], 4, ctx)
    expect(!notObject.ok && notObject.errors[0]!.code).toBe('not_an_object')
  })

  it('normalises GB/T 39046 ratings to stars', () => {
    const rating = (r: number, scheme?: string) =>
      validateRecord(STREAMS.evaluations, { event_id: 'v', unit_id: 'U1', rating: r, rating_scheme: scheme, occurred_at: '2025-01-02T10:00:00+08:00', channel: 'sms' }, 1, ctx)
    const g1 = rating(1, 'gbt39046')
    const s5 = rating(5)
    expect(g1.ok && g1.row.rating).toBe(5)
    expect(s5.ok && s5.row.rating).toBe(5)
    const g5 = rating(5, 'gbt39046')
    expect(g5.ok && g5.row.rating).toBe(1)
  })

  it('reads CSV cells as the types the spec expects', () => {
    const rec = coerceCsvRecord(STREAMS.costs, { entry_id: 'k1', unit_id: 'U1', period: '2025-03', category: 'staff', amount: '123456.5', staff_fte: '12.5', note: '' })
    const r = validateRecord(STREAMS.costs, rec, 1, ctx)
    expect(r.ok && r.row).toMatchObject({ amount: '123456.50', staff_fte: 12.5, period: '2025-03-01', note: null })
  })
})

describe('the rules of the contract beyond one field', () => {
  const periods: Record<string, { from: string | null; to: string | null }> = { OLD: { from: null, to: '2024-12-31' }, NEW: { from: '2025-03-01', to: null }, Q1: { from: '2025-01-01', to: '2025-03-31' } }
  const withPeriods: ValidationContext = { ...ctx, unitExists: (id) => id === 'U1' || id in periods, unitPeriod: (id) => periods[id] }

  it('rejects attrs over 64 KB serialised with attrs_too_large, naming its size', () => {
    const atLimit = validateRecord(spec, { ...good, attrs: { b: 'x'.repeat(65_536 - 8) } }, 1, ctx)
    expect(atLimit.ok).toBe(true)
    const over = validateRecord(spec, { ...good, attrs: { b: 'x'.repeat(65 * 1024) } }, 2, ctx)
    expect(!over.ok && over.errors).toEqual([{
      row: 2, field: 'attrs', code: 'attrs_too_large',
      message: `row 2, field attrs: expected a JSON object of at most 65536 bytes (64 KB) serialised, got ${65 * 1024 + 8} bytes; keep large documents elsewhere and send a reference to them in attrs`,
    }])
  })

  it('rejects a record dated outside its unit\'s active period with unit_inactive, naming the period', () => {
    const before = validateRecord(spec, { ...good, unit_id: 'NEW', occurred_at: '2025-02-28T23:59:00+08:00' }, 3, withPeriods)
    expect(!before.ok && before.errors).toEqual([{
      row: 3, field: 'unit_id', code: 'unit_inactive',
      message: 'row 3, field unit_id: unit "NEW" is in service from 2025-03-01, and this record is dated 2025-02-28 (occurred_at); expected a record of a day the unit is in service (active_from and active_to of the units reference data)',
    }])
    const after = validateRecord(spec, { ...good, unit_id: 'OLD', occurred_at: '2025-01-01T00:10:00+08:00' }, 4, withPeriods)
    expect(!after.ok && after.errors[0]!.message).toContain('is in service until 2024-12-31, and this record is dated 2025-01-01')
    // the day in the district's zone: 16:30 UTC on 31 December is 1 January in Beijing
    expect(validateRecord(spec, { ...good, unit_id: 'Q1', occurred_at: '2024-12-31T16:30:00Z' }, 5, withPeriods).ok).toBe(true)
    const late = validateRecord(spec, { ...good, unit_id: 'Q1', occurred_at: '2025-04-01T00:00:00+08:00' }, 6, withPeriods)
    expect(!late.ok && late.errors[0]!.message).toContain('from 2025-01-01 to 2025-03-31')
    // a unit without a period, or a row whose date is itself wrong, is not unit_inactive
    expect(validateRecord(spec, { ...good, occurred_at: '1999-01-01T00:00:00+08:00' }, 7, withPeriods).ok).toBe(true)
    const badDate = validateRecord(spec, { ...good, unit_id: 'OLD', occurred_at: 'soon' }, 8, withPeriods)
    expect(!badDate.ok && badDate.errors.map((e) => e.code)).toEqual(['invalid_timestamp'])
  })

  it('takes a month of costs when it overlaps the unit\'s period', () => {
    const cost = (unit_id: string, period: string) => validateRecord(STREAMS.costs, { entry_id: 'k', unit_id, period, category: 'it', amount: 1 }, 1, withPeriods)
    expect(cost('Q1', '2024-12').ok).toBe(false)
    expect(cost('Q1', '2025-01').ok).toBe(true)
    expect(cost('Q1', '2025-03').ok).toBe(true)
    const r = cost('Q1', '2025-04')
    expect(!r.ok && r.errors[0]!.message).toContain('this record is dated 2025-04 (period)')
  })
})
