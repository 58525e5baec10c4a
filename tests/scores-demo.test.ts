// The demo district's 2025 assessment (a few thousand cases) against the real engine: no unit
// loses points on an indicator where it meets its target, the scheme's best step or the tier's
// best; and one scope per unit — a street hall's target page, its trend and its score count the
// same records (its own), with the stations under it beside, apart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { IngestService } from '../ingest/index.ts'
import { loadDemoDistrict } from '../ingest/demo/index.ts'
import { INDICATOR_BY_ID, orderedSteps, schemeEntries, type AssessedUnit, type TierAssessment, type UnitTrend } from '../metrics/index.ts'
import { ADMIN, auth, openTestApp } from './support.ts'

const YEAR = 2025
const UNIT = 'DC-S-DHM'
// after the year's end: the whole year, every limit of December's records run out
const AS_OF = encodeURIComponent('2026-01-20T12:00:00+08:00')

let t: Awaited<ReturnType<typeof openTestApp>>
const get = async <T>(url: string) => {
  const r = await t.app.inject({ method: 'GET', url, headers: auth(ADMIN) })
  if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode} ${r.body}`)
  return r.json() as T
}
let tiers: TierAssessment[]

beforeAll(async () => {
  t = await openTestApp()
  await loadDemoDistrict(t.platform, new IngestService(t.platform), { cases: 3000, from: '2025-01-01', to: '2025-12-31' })
  tiers = await Promise.all([1, 2, 3].map((tier) => get<TierAssessment>(`/api/v1/assessment?year=${YEAR}&tier=${tier}&as_of=${AS_OF}`)))
}, 300_000)
afterAll(async () => t?.close())

describe('the demo district\'s 2025 assessment', () => {
  it('takes no points off an indicator where the unit meets its target, the best step, the tier\'s best or a perfect record', async () => {
    const scheme = (await get<{ tiers: never }>(`/api/v1/assessment/scheme?year=${YEAR}`)) as unknown as Parameters<typeof schemeEntries>[0]
    let checked = { target: 0, step: 0, best: 0, perfect: 0 }
    for (const a of tiers) {
      const entries = new Map(schemeEntries(scheme, a.tier).map((e) => [e.id, e]))
      for (const u of a.units) {
        for (const i of u.indicators) {
          if (!i.scored) {
            expect(i.points_lost, `${u.unit_id} ${i.id}`).toBe(0)
            continue
          }
          const ind = INDICATOR_BY_ID.get(i.id)!
          const higher = ind.direction === 'higher_is_better'
          const better = (a: number, b: number) => (higher ? a >= b : a <= b)
          const v = i.scored_value!
          const e = entries.get(i.id)!
          const why: string[] = []
          if (i.target !== null && better(v, i.target)) (why.push('target'), checked.target++)
          if (e.method.kind === 'stepped' && better(v, orderedSteps(e.method, higher)[0]!.bound)) (why.push('best step'), checked.step++)
          if (e.method.kind === 'minmax') {
            const values = a.units.map((x) => x.indicators.find((y) => y.id === i.id)!).filter((y) => y.scored).map((y) => y.scored_value!)
            if (v === (higher ? Math.max(...values) : Math.min(...values))) (why.push('tier\'s best'), checked.best++)
          }
          const perfect = ind.unit === 'ratio' ? (higher ? v === 1 : v === 0) : !higher && v === 0
          if (perfect) (why.push('perfect'), checked.perfect++)
          if (why.length) {
            expect({ unit: u.unit_id, id: i.id, why, score: i.score, lost: i.points_lost }).toEqual({ unit: u.unit_id, id: i.id, why, score: 100, lost: 0 })
          }
        }
      }
    }
    // the fixture has each case
    expect(checked.target).toBeGreaterThan(10)
    expect(checked.step).toBeGreaterThan(5)
    expect(checked.best).toBeGreaterThan(5)
    expect(checked.perfect).toBeGreaterThan(5)
  })

  it('says for every indicator whether it was scored and why not, and the composite is Σ points over the 折算 weights', () => {
    let notScored = 0
    for (const a of tiers) {
      for (const u of a.units) {
        const scored = u.indicators.filter((i) => i.scored)
        const base = scored.reduce((s, i) => s + i.scheme_weight, 0)
        expect(u.scored_scheme_weight).toBeCloseTo(base, 12)
        for (const i of u.indicators) {
          if (i.scored) expect(i.weight).toBeCloseTo(i.scheme_weight / base, 12)
          else {
            notScored++
            expect(['small_sample', 'no_records', 'no_target']).toContain(i.not_scored_reason)
            if (i.not_scored_reason === 'small_sample') expect(i.sample).toBeLessThan(i.min_sample)
            if (i.not_scored_reason === 'no_records') expect(i.sample === 0 || i.value === null || i.id === 'cost_per_case').toBe(true)
          }
        }
        if (scored.length) expect(u.composite_score!).toBeCloseTo(scored.reduce((s, i) => s + i.points, 0), 9)
        else expect(u.composite_score).toBeNull()
      }
    }
    expect(notScored).toBeGreaterThan(0)
  })
})

describe('one scope per unit: a street hall with stations', () => {
  interface TargetRow { metric: string; value: number | null; numerator: number; denominator: number | null; sample: number | null; min_sample: number | null; below: { value: number | null; numerator: number; denominator: number | null } | null }
  let targets: { counts: string; below: { unit_ids: string[]; label: string } | null; rows: TargetRow[] }
  let hall: AssessedUnit
  let stations: AssessedUnit[]
  beforeAll(async () => {
    targets = await get(`/api/v1/targets?year=${YEAR}&unit_id=${UNIT}&as_of=${AS_OF}`)
    hall = tiers[1]!.units.find((u) => u.unit_id === UNIT)!
    const below = t.platform.reference.withDescendants(UNIT).filter((u) => u !== UNIT)
    stations = tiers[2]!.units.filter((u) => below.includes(u.unit_id))
  })

  it('gives the target page the numerator and denominator the score has, for every indicator both have', () => {
    expect(stations.length).toBeGreaterThan(3)
    expect(targets.counts).toBe('own')
    let compared = 0
    for (const r of targets.rows) {
      const i = hall.indicators.find((x) => x.id === r.metric)
      if (!i) continue
      expect({ metric: r.metric, numerator: r.numerator, denominator: r.denominator, value: r.value, sample: r.sample, min: r.min_sample })
        .toEqual({ metric: r.metric, numerator: i.numerator, denominator: i.denominator, value: i.value, sample: i.sample, min: i.min_sample })
      compared++
    }
    // on-time, online, satisfaction, rectification, first-time-right
    expect(compared).toBeGreaterThanOrEqual(4)
  })

  it('shows the stations beside: their summed figures, not added to the hall\'s own', () => {
    expect(new Set(targets.below!.unit_ids)).toEqual(new Set(t.platform.reference.withDescendants(UNIT).filter((u) => u !== UNIT)))
    expect(targets.below!.label).toContain('不计入本单位')
    let theirs = 0
    for (const r of targets.rows) {
      const per = stations.map((s) => s.indicators.find((x) => x.id === r.metric)).filter((x) => x !== undefined)
      if (per.length === 0) continue
      const n = per.reduce((s, x) => s + x.numerator, 0)
      const d = per.reduce((s, x) => s + (x.denominator ?? 0), 0)
      expect([r.metric, r.below!.numerator, r.below!.denominator ?? 0]).toEqual([r.metric, n, d])
      if (n > 0) theirs++
    }
    expect(theirs).toBeGreaterThan(0)
  })

  it('gives the trend the same records: its months add up to the target page\'s year, the stations apart', async () => {
    const trend = await get<UnitTrend>(`/api/v1/trend?unit_id=${UNIT}&year=${YEAR}&as_of=${AS_OF}`)
    expect(trend.counts).toBe('own')
    expect(trend.months).toHaveLength(12)
    for (const m of trend.metrics) {
      const r = targets.rows.find((x) => x.metric === m.metric)!
      // each record falls in one month (its stop, rating, acceptance date): the months add up to the year
      expect([m.metric, m.values.reduce((s, v) => s + v.numerator, 0)]).toEqual([m.metric, r.numerator])
      expect([m.metric, m.values.reduce((s, v) => s + (v.denominator ?? 0), 0)]).toEqual([m.metric, r.denominator ?? 0])
      expect([m.metric, m.below!.values.reduce((s, v) => s + v.numerator, 0)]).toEqual([m.metric, r.below!.numerator])
    }
  })
})
