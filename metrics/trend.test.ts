// GET /api/v1/trend on the demo district, against the real engine: a month of the unit's values
// against GET /api/v1/metrics by=unit for that month (its own records), its stations' sum apart,
// and the tier's median against a median computed here from every unit's value that month; the
// access rule of /api/v1/targets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { IngestService } from '../ingest/index.ts'
import { loadDemoDistrict } from '../ingest/demo/index.ts'
import { ADMIN, auth, makeKey, openTestApp } from '../tests/support.ts'
import type { UnitTrend } from './trend.ts'

let t: Awaited<ReturnType<typeof openTestApp>>
let leader: string
let otherLeader: string
const UNIT = 'DC-S-DHM'
const AS_OF = encodeURIComponent('2025-06-30T23:59:59+08:00')
const get = async <T>(url: string, token = ADMIN) => {
  const r = await t.app.inject({ method: 'GET', url, headers: auth(token) })
  return { status: r.statusCode, body: r.json() as T }
}

beforeAll(async () => {
  t = await openTestApp()
  await loadDemoDistrict(t.platform, new IngestService(t.platform), { cases: 3000, from: '2025-01-01', to: '2025-06-30' })
  leader = await makeKey(t.app, 'unit_leader', [UNIT])
  const other = t.platform.reference.unitsOfTier(2).find((u) => u !== UNIT)!
  otherLeader = await makeKey(t.app, 'unit_leader', [other])
}, 300_000)
afterAll(async () => t?.close())

/** The median, computed on its own here: sort, take the middle (or the mean of the two middle). */
function middle(values: number[]): number | null {
  if (values.length === 0) return null
  const s = values.slice().sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

describe('GET /api/v1/trend', () => {
  let trend: UnitTrend
  beforeAll(async () => {
    const r = await get<UnitTrend>(`/api/v1/trend?unit_id=${UNIT}&year=2025&as_of=${AS_OF}`, leader)
    expect(r.status, JSON.stringify(r.body)).toBe(200)
    trend = r.body
  })

  it('has every indicator the unit has a target for, each month of the year to date', async () => {
    const targets = await get<{ rows: Array<{ metric: string; target: number; target_scope: string }> }>(`/api/v1/targets?unit_id=${UNIT}&year=2025&as_of=${AS_OF}`, leader)
    expect(trend.metrics.map((m) => [m.metric, m.target, m.target_scope]).sort()).toEqual(targets.body.rows.map((r) => [r.metric, r.target, r.target_scope]).sort())
    expect(trend.metrics.length).toBeGreaterThan(3)
    expect(trend.months).toEqual(['2025-01', '2025-02', '2025-03', '2025-04', '2025-05', '2025-06'])
    expect([trend.from, trend.to]).toEqual(['2025-01-01', '2025-06-30'])
    for (const m of trend.metrics) {
      expect(m.values.map((v) => v.month)).toEqual(trend.months)
      expect(m.tier_median).toHaveLength(trend.months.length)
    }
  })

  it.each([['2025-03', '2025-03-01', '2025-03-31'], ['2025-06', '2025-06-01', '2025-06-30']])('in %s: the unit\'s values are its own records (by=unit), the stations below it apart, the median the tier\'s', async (month, from, to) => {
    const i = trend.months.indexOf(month)
    const stations = t.platform.reference.withDescendants(UNIT).filter((u) => u !== UNIT)
    expect(stations.length).toBeGreaterThan(0)
    expect(trend.counts).toBe('own')
    expect(new Set(trend.below!.unit_ids)).toEqual(new Set(stations))
    let counted = 0
    let apart = 0
    for (const m of trend.metrics) {
      type Rows = { rows: Array<{ key: string; value: number | null; numerator: number; denominator: number | null }> }
      // the unit's own: the row by=unit gives it (the records that belong to it), not scope=unit: (which has its stations too)
      const own = await get<Rows>(`/api/v1/metrics/${m.metric}?scope=tier:2&by=unit&from=${from}&to=${to}&as_of=${AS_OF}`)
      expect(own.status).toBe(200)
      const row = own.body.rows.find((r) => r.key === UNIT)
      const v = m.values[i]!
      if (row) {
        expect(v.numerator, `${m.metric} numerator`).toBeCloseTo(row.numerator, 9)
        expect(v.denominator, `${m.metric} denominator`).toEqual(row.denominator)
        if (row.value === null) expect(v.value).toBeNull()
        else expect(v.value, `${m.metric} value`).toBeCloseTo(row.value, 9)
        counted++
      } else {
        expect(v.numerator).toBe(0)
      }
      // the stations: summed apart, and what they add to the unit is not in its values
      const below = await get<Rows>(`/api/v1/metrics/${m.metric}?scope=tier:3&by=unit&from=${from}&to=${to}&as_of=${AS_OF}`)
      const theirs = below.body.rows.filter((r) => stations.includes(r.key))
      const b = m.below!.values[i]!
      // (the demo's targets have no quantile, whose numerators would not add up)
      expect(b.numerator, `${m.metric} stations' numerator`).toBeCloseTo(theirs.reduce((s, r) => s + r.numerator, 0), 9)
      expect(b.denominator ?? 0, `${m.metric} stations' denominator`).toBeCloseTo(theirs.reduce((s, r) => s + (r.denominator ?? 0), 0), 9)
      if (theirs.some((r) => r.numerator > 0)) apart++
      const tier = await get<{ rows: Array<{ key: string; value: number | null }> }>(`/api/v1/metrics/${m.metric}?scope=tier:2&by=unit&from=${from}&to=${to}&as_of=${AS_OF}`)
      const want = middle(tier.body.rows.map((r) => r.value).filter((x): x is number => x !== null))
      if (want === null) expect(m.tier_median[i]).toBeNull()
      else expect(m.tier_median[i], `${m.metric} tier median`).toBeCloseTo(want, 9)
    }
    // the month has figures to compare, and the stations have figures of their own
    expect(counted).toBeGreaterThan(2)
    expect(apart).toBeGreaterThan(0)
  })

  it('answers a unit leader only for its own units, like /api/v1/targets', async () => {
    expect((await get(`/api/v1/trend?unit_id=${UNIT}&year=2025`, otherLeader)).status).toBe(403)
    expect((await get(`/api/v1/targets?unit_id=${UNIT}&year=2025`, otherLeader)).status).toBe(403)
    const station = t.platform.reference.withDescendants(UNIT).find((u) => u !== UNIT)!
    expect((await get(`/api/v1/trend?unit_id=${station}&year=2025&as_of=${AS_OF}`, leader)).status).toBe(200)
    expect((await get('/api/v1/trend?unit_id=NOPE&year=2025')).status).toBe(400)
  })
})
