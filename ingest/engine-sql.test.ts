// The engine's validation (engine-sql.ts) against the TypeScript validator (validate.ts) on a
// corpus of good and bad rows: the same rows pass, the same fields fail with the same codes,
// and the normalised values agree.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { epochSeconds, queryRows } from '../warehouse/index.ts'
import { openTestPlatform } from '../warehouse/testing.ts'
import { STREAMS, type StreamName } from './contract.ts'
import { compileStream, referenceParams } from './engine-sql.ts'
import { validateRecord, type UnitPeriod, type ValidationContext } from './validate.ts'

let p: Awaited<ReturnType<typeof openTestPlatform>>
beforeAll(async () => {
  p = await openTestPlatform()
}, 120_000)
afterAll(async () => p?.close())

const now = Date.parse('2025-06-01T00:00:00Z')
// U3 is in service in the first quarter of 2025 only, U4 from 1 March 2025, U5 until 31 January 2025
const units = [
  { unit_id: 'U1', active_from: null, active_to: null },
  { unit_id: 'U2', active_from: null, active_to: null },
  { unit_id: 'U3', active_from: '2025-01-01', active_to: '2025-03-31' },
  { unit_id: 'U4', active_from: '2025-03-01', active_to: null },
  { unit_id: 'U5', active_from: null, active_to: '2025-01-31' },
]
const periods = new Map<string, UnitPeriod>(units.filter((u) => u.active_from || u.active_to).map((u) => [u.unit_id, { from: u.active_from, to: u.active_to }]))
const ctx: ValidationContext = {
  timezone: 'Asia/Shanghai', nowMs: now, unitExists: (u) => units.some((x) => x.unit_id === u), itemExists: (i) => i === 'I1', unitPeriod: (u) => periods.get(u),
}
const ok = { event_id: 'e1', case_id: 'c1', type: 'accepted', occurred_at: '2025-03-05T09:12:00+08:00', unit_id: 'U1', item_code: 'I1' }

const corpus: Record<StreamName, unknown[]> = {
  'case-events': [
    ok,
    { ...ok, occurred_at: '2025-03-05T09:12:00' },
    { ...ok, occurred_at: '2025-03-05 01:12:00.5Z', channel: 'online', attrs: { a: [1, 2] }, staff_id: '张三' },
    { ...ok, type: 'transferred', item_code: undefined, to_unit_id: 'U2' },
    { ...ok, type: 'transferred' },
    { ...ok, item_code: undefined },
    { ...ok, type: 'finished' },
    { ...ok, type: 3 },
    { ...ok, case_id: 42 },
    { ...ok, case_id: '' },
    { ...ok, case_id: 'x'.repeat(129) },
    { ...ok, occurred_at: 'yesterday' },
    { ...ok, occurred_at: '2025-02-30T10:00:00Z' },
    { ...ok, occurred_at: '2025-03-05T25:00:00Z' },
    { ...ok, occurred_at: '2025-06-03T00:00:00Z' },
    { ...ok, occurred_at: '2025-06-01T20:00:00Z' },
    { ...ok, unit_id: 'GHOST', item_code: 'NOPE' },
    { ...ok, extra: 1, another: 'x' },
    { ...ok, attrs: 'not an object' },
    { ...ok, due_at: null, channel: null },
    // attrs: at most 65,536 bytes serialised
    { ...ok, attrs: { blob: 'x'.repeat(70_000) } },
    { ...ok, attrs: { b: 'x'.repeat(65_528) } },
    { ...ok, attrs: { b: 'x'.repeat(65_529) } },
    { ...ok, attrs: { b: '字'.repeat(21_841) } },
    { ...ok, attrs: { b: '字'.repeat(21_843) }, channel: 'fax' },
    // unit_inactive: the record's day in the district's zone against the unit's period
    { ...ok, unit_id: 'U3', occurred_at: '2024-12-31T23:30:00+08:00' },
    { ...ok, unit_id: 'U3', occurred_at: '2024-12-31T16:30:00Z' },
    { ...ok, unit_id: 'U3', occurred_at: '2025-03-31T23:59:59+08:00' },
    { ...ok, unit_id: 'U3', occurred_at: '2025-04-01T00:00:00+08:00' },
    { ...ok, unit_id: 'U4', occurred_at: '2025-02-28T10:00:00+08:00' },
    { ...ok, unit_id: 'U4', occurred_at: '2025-03-01T10:00:00+08:00' },
    { ...ok, unit_id: 'U5', occurred_at: '2025-02-01T10:00:00+08:00', item_code: 'NOPE' },
    { ...ok, unit_id: 'U5', occurred_at: 'yesterday' },
    { ...ok, unit_id: 'U5', occurred_at: '2025-01-31T10:00:00+08:00' },
    { ...ok, type: 'transferred', item_code: undefined, to_unit_id: 'U5', occurred_at: '2025-02-01T10:00:00+08:00' },
    [1, 2],
    'a string',
    '{"event_id": "broken"',
    { event_id: 'e1' },
  ],
  evaluations: [
    { event_id: 'v1', unit_id: 'U1', rating: 5, occurred_at: '2025-01-02T10:00:00+08:00', channel: 'sms' },
    { event_id: 'v2', unit_id: 'U1', rating: 1, rating_scheme: 'gbt39046', occurred_at: '2025-01-02T10:00:00+08:00', channel: 'sms', active: false, comment: '很好' },
    { event_id: 'v3', unit_id: 'U1', rating: 6, occurred_at: '2025-01-02T10:00:00+08:00', channel: 'sms' },
    { event_id: 'v4', unit_id: 'U1', rating: '5', occurred_at: '2025-01-02T10:00:00+08:00', channel: 'fax' },
    { event_id: 'v5', unit_id: 'U1', rating: 4.5, occurred_at: '2025-01-02T10:00:00+08:00', channel: 'sms', active: 'yes' },
    { event_id: 'v6', unit_id: 'U1', rating: 3, occurred_at: '2025-01-02T10:00:00+08:00', channel: 'web', comment: 'x'.repeat(2001) },
    { event_id: 'v7', unit_id: 'U4', rating: 3, occurred_at: '2025-01-02T10:00:00+08:00', channel: 'web' },
  ],
  'evaluation-followups': [
    { event_id: 'f1', evaluation_id: 'v1', type: 'rectified', occurred_at: '2025-01-05T10:00:00+08:00', unit_id: 'U1', note: '已整改' },
    { event_id: 'f2', evaluation_id: 'v1', type: 'fixed', occurred_at: '2025-01-05T10:00:00+08:00', unit_id: 'U1' },
  ],
  complaints: [
    { event_id: 'k1', complaint_id: 'K1', type: 'resolved', occurred_at: '2025-01-05T10:00:00+08:00', unit_id: 'U1', substantiated: true, source: 'hotline', category: '服务态度' },
    { event_id: 'k2', complaint_id: 'K1', type: 'resolved', occurred_at: '2025-01-05T10:00:00+08:00', unit_id: 'U1', substantiated: 'true', source: 'phone' },
  ],
  'queue-tickets': [
    { event_id: 'q1', ticket_id: 'T1', type: 'issued', occurred_at: '2025-01-05T10:00:00+08:00', unit_id: 'U1', window_id: 'W3', item_code: 'I1' },
    { event_id: 'q2', ticket_id: 'T1', type: 'served', occurred_at: '2025-01-05T10:00:00+08:00', unit_id: 'U1', item_code: 'I9' },
  ],
  costs: [
    { entry_id: 'c1', unit_id: 'U1', period: '2025-03', category: 'staff', amount: '123456.5', staff_fte: 12.5 },
    { entry_id: 'c2', unit_id: 'U1', period: '2025-03', category: 'it', amount: 99.99, note: '=HYPERLINK("x")' },
    { entry_id: 'c3', unit_id: 'U1', period: '2025-13', category: 'it', amount: '1.234' },
    { entry_id: 'c4', unit_id: 'U1', period: '2025-03', category: 'it', amount: 'ten', staff_fte: -1 },
    // a month overlapping the unit's period is within it
    { entry_id: 'c5', unit_id: 'U3', period: '2024-12', category: 'it', amount: 1 },
    { entry_id: 'c6', unit_id: 'U3', period: '2025-03', category: 'it', amount: 1 },
    { entry_id: 'c7', unit_id: 'U3', period: '2025-04', category: 'it', amount: 1 },
    { entry_id: 'c8', unit_id: 'U4', period: '2025-02', category: 'it', amount: 1 },
    { entry_id: 'c9', unit_id: 'U5', period: '2025-01', category: 'it', amount: 1 },
  ],
}

describe('engine validation agrees with the TypeScript validator', () => {
  for (const [stream, rows] of Object.entries(corpus) as Array<[StreamName, unknown[]]>) {
    it(stream, async () => {
      const spec = STREAMS[stream]
      const lines = rows.map((r) => (typeof r === 'string' && r.startsWith('{') ? r : JSON.stringify(r)))
      const compiled = compileStream(spec, 'Asia/Shanghai')
      // the lines as the engine reads a spooled body (file(), embedded), or as bound values on a
      // ClickHouse server, which cannot read this process's files
      let source = `(SELECT toUInt64(number + 1) AS row, {lines:Array(String)}[number + 1] AS line FROM numbers(length({lines:Array(String)})))`
      const file = join(p.dataDir, `${stream}.ndjson`)
      if (p.warehouse.kind === 'embedded') {
        writeFileSync(file, lines.join('\n') + '\n')
        source = `(SELECT toUInt64(_row_number + 1) AS row, line FROM file({path:String}, 'LineAsString'))`
      }
      const sqlRows = await queryRows<Record<string, unknown> & { row: number; ok: number | boolean; errors: Array<{ field: string; code: string; message: string }> }>(
        p.warehouse,
        `SELECT * FROM (${compiled.select(source)}) ORDER BY row`,
        { path: file, lines, now: epochSeconds(now), ...referenceParams(units, ['I1']) },
      )
      expect(sqlRows).toHaveLength(rows.length)
      // what a body stages (no messages in its statement) is the valid rows, as validated
      const staged = await queryRows<Record<string, unknown>>(p.warehouse, `SELECT * FROM (${compiled.stage(source)}) ORDER BY row`,
        { path: file, lines, now: epochSeconds(now), ...referenceParams(units, ['I1']) })
      const valid = sqlRows.filter((r) => Number(r.ok)).map(({ line: _line, ok: _ok, errors: _errors, ...r }) => r)
      expect(valid.length).toBeGreaterThan(0)
      expect(staged).toEqual(valid)
      // the corpus exercises the rules beyond one field too
      const codes = new Set(sqlRows.flatMap((r) => r.errors.map((e) => e.code)))
      if (stream === 'case-events') expect([...codes]).toEqual(expect.arrayContaining(['attrs_too_large', 'unit_inactive']))
      if (stream === 'costs' || stream === 'evaluations') expect([...codes]).toContain('unit_inactive')
      lines.forEach((line, i) => {
        let value: unknown
        let parsed = true
        try {
          value = JSON.parse(line)
        } catch {
          parsed = false
        }
        const sql = sqlRows[i]!
        const label = `${stream} row ${i + 1}: ${line.slice(0, 100)}`
        if (!parsed) {
          expect(sql.errors.map((e) => e.code), label).toEqual(['invalid_json'])
          return
        }
        const js = validateRecord(spec, value, i + 1, ctx)
        const jsErrors = js.ok ? [] : js.errors.map((e) => `${e.field ?? ''}:${e.code}`).sort()
        expect(sql.errors.map((e) => `${e.field}:${e.code}`).sort(), label).toEqual(jsErrors)
        if (!js.ok) {
          // the messages say the same things
          for (const e of js.errors) expect(sql.errors.find((s) => s.field === (e.field ?? '') && s.code === e.code)?.message, label).toBe(e.message)
          return
        }
        for (const [k, v] of Object.entries(js.row)) {
          const s = sql[k]
          if (v === null) expect(s, `${label} ${k}`).toBeNull()
          else if (/_at$/.test(k)) expect(Date.parse(String(s).replace(' ', 'T') + '+08:00') / 1000, `${label} ${k}`).toBeCloseTo(Number(v), 3)
          else if (k === 'attrs' && v !== '') expect(JSON.parse(String(s)), `${label} ${k}`).toEqual(JSON.parse(String(v)))
          else if (k === 'period') expect(String(s)).toBe(v)
          else if (k === 'amount') expect(Number(s), `${label} ${k}`).toBe(Number(v))
          else expect(typeof v === 'boolean' ? Boolean(s) : typeof v === 'number' ? Number(s) : String(s), `${label} ${k}`).toBe(v)
        }
      })
    })
  }
})
