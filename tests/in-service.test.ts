// A unit in service for part of the year (opened or closed in it) is assessed on that part: its
// per-month figures over its months, its count targets for its days, its projection to its
// closing; a unit not in service that year is neither assessed nor ranked.
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN, auth, loadSmallDistrict, makeKey, openTestApp, SMALL_DISTRICT, toNdjson } from './support.ts'

let app: FastifyInstance
let close: () => Promise<void>
let reader: string

const get = async (url: string) => {
  const r = await app.inject({ method: 'GET', url, headers: auth(reader) })
  expect(r.statusCode, `${url}: ${r.body}`).toBe(200)
  return r.json()
}
async function put(kind: string, rows: unknown[]) {
  const r = await app.inject({ method: 'PUT', url: `/api/v1/reference/${kind}`, headers: { 'content-type': 'application/json', ...auth(ADMIN) }, payload: rows })
  expect(r.statusCode, r.body).toBe(200)
}
async function ingest(stream: string, rows: unknown[]) {
  const r = await app.inject({ method: 'POST', url: `/api/v1/ingest/${stream}`, headers: { 'content-type': 'application/x-ndjson', ...auth(ADMIN) }, payload: toNdjson(rows) })
  expect(r.statusCode, r.body).toBe(200)
  expect(r.json().accepted, r.body).toBe(rows.length)
}

const CLOSED = { unit_id: 'S9', name: '临时街道服务大厅', tier: 2, kind: 'street_hall', parent_id: 'CENTRE', active_from: '2024-01-01', active_to: '2025-06-30' }
const LATER = { unit_id: 'S8', name: '新设街道服务大厅', tier: 2, kind: 'street_hall', parent_id: 'CENTRE', active_from: '2026-03-01' }
// 2025 has 365 days; S9 served 1 January – 30 June: 181 of them
const SHARE = 181 / 365

beforeAll(async () => {
  ;({ app, close } = await openTestApp())
  await loadSmallDistrict(app)
  await put('units', [...SMALL_DISTRICT.units, CLOSED, LATER])
  reader = await makeKey(app, 'joint_meeting')
  // a district target of at most 10 overdue cases in the year
  await put('targets', [{ year: 2025, metric_id: 'overdue_cases', scope: 'district', value: 10 }])
  // S1 (all year) and S9 (to June) each complete 10 cases a month in the months they serve, with
  // 6 staff every one of those months: 10 ÷ 6 cases per staff per month, whatever the months
  const events: unknown[] = []
  const costs: unknown[] = []
  for (const [unit, months] of [['S1', 12], ['S9', 6]] as const) {
    for (let m = 1; m <= months; m++) {
      const mm = String(m).padStart(2, '0')
      for (let k = 0; k < 10; k++) {
        const id = `${unit}-${mm}-${k}`
        events.push({ event_id: `${id}-a`, case_id: id, type: 'accepted', occurred_at: `2025-${mm}-0${3 + (k % 3)}T09:00:00+08:00`, unit_id: unit, item_code: 'I3', channel: 'window' })
        events.push({ event_id: `${id}-z`, case_id: id, type: 'completed', occurred_at: `2025-${mm}-1${k % 5}T16:00:00+08:00`, unit_id: unit })
      }
      costs.push({ entry_id: `${unit}-${mm}`, unit_id: unit, period: `2025-${mm}`, category: 'staff', amount: 60000, staff_fte: 6 })
    }
  }
  await ingest('case-events', events)
  await ingest('costs', costs)
}, 120_000)

afterAll(async () => close?.())

describe('a unit in service for part of the year', () => {
  it('counts per-month averages over its own months: the same staff and pace give the same cases per staff', async () => {
    const a = await get('/api/v1/assessment?year=2025&tier=2&as_of=2026-01-10T12:00:00%2B08:00')
    const units = new Map((a.units as Array<{ unit_id: string; in_service: unknown; indicators: Array<{ id: string; value: number | null }> }>).map((u) => [u.unit_id, u]))
    expect(units.get('S9')!.in_service).toEqual({ from: '2025-01-01', to: '2025-06-30' })
    expect(units.has('S8')).toBe(false)
    // the staff figure is the ledger's FTE per month served: 36 FTE-months over 6 months = 6, not 36 over 12 = 3
    const perStaff = await get('/api/v1/rankings/cases_per_staff?year=2025&tier=2&as_of=2026-01-10T12:00:00%2B08:00')
    const rows = new Map((perStaff.rows as Array<{ unit_id: string; value: number | null }>).map((r) => [r.unit_id, r.value]))
    expect(rows.get('S1')).toBeCloseTo(120 / 6, 6)
    expect(rows.get('S9')).toBeCloseTo(60 / 6, 6)
    expect(rows.has('S8')).toBe(false)
  })

  it("counts a count's target for its days in service, and projects to its closing", async () => {
    // as of 31 March: S9 has served 90 of its 181 days
    const t = await get('/api/v1/targets?year=2025&unit_id=S9&as_of=2025-03-31T20:00:00%2B08:00')
    expect(t.in_service).toEqual({ from: '2025-01-01', to: '2025-06-30' })
    const row = (t.rows as Array<{ metric: string; target: number; target_full_year: number | null; value: number; projection: number; projection_basis: string }>).find((r) => r.metric === 'overdue_cases')!
    expect(row.target_full_year).toBe(10)
    expect(row.target).toBeCloseTo(10 * SHARE, 9)
    expect(row.projection_basis).toBe('pace_and_stock')
    // (its cases take longer than item I3's 3 promised days: late ones, all stopped by 31 March, none open)
    // projected to its closing on 30 June at the pace of its 90 days, not to 31 December
    expect(row.value).toBeGreaterThan(0)
    expect(row.projection).toBeCloseTo((row.value * 181) / 90, 9)
    // a whole-year unit keeps the target as set
    const s1 = (await get('/api/v1/targets?year=2025&unit_id=S1&as_of=2025-03-31T20:00:00%2B08:00')).rows.find((r: { metric: string }) => r.metric === 'overdue_cases')
    expect(s1).toMatchObject({ target: 10, target_full_year: null })
  })

  it('is ranked with the units that served, each mean of records with its t interval and the funnel\'s normal limits', async () => {
    const mean = await get('/api/v1/rankings/avg_elapsed_days?year=2025&tier=2&as_of=2026-01-10T12:00:00%2B08:00')
    expect(mean.funnel).toMatchObject({ method: 'normal' })
    expect(mean.funnel.sd).toBeGreaterThan(0)
    const rows = mean.rows as Array<{ unit_id: string; value: number | null; denominator: number | null; interval: { lower: number; upper: number } | null; funnel_mark: string | null }>
    expect(rows.map((r) => r.unit_id).sort()).toEqual(['S1', 'S2', 'S9'])
    for (const r of rows.filter((x) => x.value !== null)) {
      expect(r.interval!.lower).toBeLessThan(r.value!)
      expect(r.interval!.upper).toBeGreaterThan(r.value!)
      expect(r.funnel_mark).not.toBeNull()
    }
    expect(rows.find((r) => r.unit_id === 'S9')!.denominator).toBe(60)
  })

  it('is shown as closed in the draft documents: the district report and its own', async () => {
    const district = await app.inject({ method: 'GET', url: '/reports/2025/draft/district.html', headers: auth(reader) })
    expect(district.statusCode, district.body.slice(0, 300)).toBe(200)
    expect(district.body).toContain('2025-06-30 后停用')
    const own = await app.inject({ method: 'GET', url: '/reports/2025/draft/units/S9.html', headers: auth(reader) })
    expect(own.statusCode, own.body.slice(0, 300)).toBe(200)
    expect(own.body).toMatch(/data-in-service>本单位2025-06-30 后停用/)
  })
})
