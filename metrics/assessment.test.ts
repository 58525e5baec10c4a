// The assessment scheme's arithmetic (methods, grades, ties, the minimum sample, the target
// cascade, the projection) on hand-made numbers, and the whole assessment of the demo district's
// tiers. The small-hall scenarios (equal records of different sizes, 按比例折算 by hand) are in
// tests/scores.test.ts.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { IngestService } from '../ingest/index.ts'
import { loadDemoDistrict } from '../ingest/demo/index.ts'
import { openTestPlatform } from '../warehouse/testing.ts'
import { AssessmentService, projectionBasis, projectYearEnd, rankWithTies, resolveTarget, scoreValue, shareOfYear, targetForPart, wilsonBound } from './assessment.ts'
import { INDICATOR_BY_ID } from './catalog.ts'
import { dongchengScheme, gradeOf, minSampleOf, schemeEntries, schemeProblems } from './scheme.ts'
import { MetricsService } from './service.ts'

describe('scoring methods', () => {
  it('scores against the target, capped at 100, both directions', () => {
    expect(scoreValue({ kind: 'target' }, true, 0.95, { target: 0.98, tierValues: [] })).toBeCloseTo(100 * 0.95 / 0.98, 9)
    expect(scoreValue({ kind: 'target' }, true, 0.99, { target: 0.98, tierValues: [] })).toBe(100)
    expect(scoreValue({ kind: 'target' }, false, 0.04, { target: 0.02, tierValues: [] })).toBeCloseTo(50, 9)
    expect(scoreValue({ kind: 'target' }, true, 0.9, { target: null, tierValues: [] })).toBeNull()
  })
  it('scores min–max within the tier', () => {
    expect(scoreValue({ kind: 'minmax' }, true, 7, { tierValues: [5, 7, 9] })).toBe(50)
    expect(scoreValue({ kind: 'minmax' }, false, 5, { tierValues: [5, 7, 9] })).toBe(100)
    expect(scoreValue({ kind: 'minmax' }, false, 9, { tierValues: [5, 7, 9] })).toBe(0)
    expect(scoreValue({ kind: 'minmax' }, true, 3, { tierValues: [3, 3] })).toBe(100)
  })
  it('scores 100 for a value that meets the unit\'s target, whatever the method', () => {
    const steps = { kind: 'stepped' as const, steps: [{ at_least: 1, score: 100 }, { at_least: 0.9, score: 80 }, { at_least: 0, score: 30 }] }
    // 98 % against a target of 97 %: no points lost, though the steps want 100 %
    expect(scoreValue(steps, true, 0.98, { target: 0.97, tierValues: [] })).toBe(100)
    expect(scoreValue(steps, true, 0.96, { target: 0.97, tierValues: [] })).toBe(80)
    // min–max: meeting the target is the top of the scale when the target is less than the tier's best
    expect(scoreValue({ kind: 'minmax' }, true, 0.95, { target: 0.95, tierValues: [0.9, 0.95, 0.99] })).toBe(100)
    expect(scoreValue({ kind: 'minmax' }, true, 0.925, { target: 0.95, tierValues: [0.9, 0.925, 0.99] })).toBeCloseTo(50, 9)
    // a target above the tier's best leaves the best at 100
    expect(scoreValue({ kind: 'minmax' }, true, 0.99, { target: 0.995, tierValues: [0.9, 0.99] })).toBe(100)
    expect(scoreValue({ kind: 'minmax' }, false, 3, { target: 4, tierValues: [1, 3, 9] })).toBe(100)
    expect(scoreValue({ kind: 'deduction', per: 2, max: 30 }, false, 2, { target: 2, tierValues: [] })).toBe(100)
  })
  it('tries the steps from the most demanding, whatever their order in the scheme', () => {
    const shuffled = { kind: 'stepped' as const, steps: [{ at_least: 0, score: 40 }, { at_least: 0.99, score: 100 }, { at_least: 0.95, score: 75 }] }
    expect(scoreValue(shuffled, true, 0.995, { tierValues: [] })).toBe(100)
    expect(scoreValue(shuffled, true, 0.96, { tierValues: [] })).toBe(75)
    expect(scoreValue(shuffled, true, 0.5, { tierValues: [] })).toBe(40)
    const lower = { kind: 'stepped' as const, steps: [{ at_most: 10, score: 50 }, { at_most: 2, score: 100 }] }
    expect(scoreValue(lower, false, 1, { tierValues: [] })).toBe(100)
    expect(scoreValue(lower, false, 5, { tierValues: [] })).toBe(50)
    expect(scoreValue(lower, false, 11, { tierValues: [] })).toBe(0)
  })
  it('scores stepped thresholds and deductions per event', () => {
    const steps = { kind: 'stepped' as const, steps: [{ at_least: 0.99, score: 100 }, { at_least: 0.95, score: 75 }, { at_least: 0, score: 40 }] }
    expect(scoreValue(steps, true, 0.99, { tierValues: [] })).toBe(100)
    expect(scoreValue(steps, true, 0.97, { tierValues: [] })).toBe(75)
    expect(scoreValue(steps, true, 0.5, { tierValues: [] })).toBe(40)
    expect(scoreValue({ kind: 'deduction', per: 2, max: 30 }, false, 4, { tierValues: [] })).toBe(92)
    expect(scoreValue({ kind: 'deduction', per: 2, max: 30 }, false, 40, { tierValues: [] })).toBe(70)
    expect(scoreValue({ kind: 'minmax' }, true, null, { tierValues: [1] })).toBeNull()
  })
  it('grades by the bands: 优秀 ≥ 90, 良好 ≥ 80, 合格 ≥ 60, else 不合格', () => {
    const s = dongchengScheme(2025)
    expect([95, 90, 89.99, 80, 60, 59.9, 0].map((x) => gradeOf(s, x).grade)).toEqual(['优秀', '优秀', '良好', '良好', '合格', '不合格', '不合格'])
  })
  it("takes the hotline's three rates into satisfaction from the 2027 scheme on, and leaves the years before as they were", () => {
    const known = new Set(INDICATOR_BY_ID.keys())
    const hotline = ['complaint_response_rate', 'complaint_resolution_rate', 'complaint_satisfaction_rate']
    for (const tier of [1, 2, 3]) {
      const ids2027 = schemeEntries(dongchengScheme(2027), tier).filter((e) => e.category === 'satisfaction').map((e) => e.id)
      expect(ids2027).toEqual(expect.arrayContaining(hotline))
      expect(schemeEntries(dongchengScheme(2026), tier).map((e) => e.id)).not.toContain('complaint_response_rate')
      // the category's weights still add up to one
      expect(schemeEntries(dongchengScheme(2027), tier).filter((e) => e.category === 'satisfaction').reduce((s, e) => s + e.weight, 0)).toBeCloseTo(1, 12)
    }
    expect(schemeProblems(dongchengScheme(2027), known)).toEqual([])
  })
  it('refuses steps that would take points off a value at or better than the best step, or score a better value lower', () => {
    const known = new Set(INDICATOR_BY_ID.keys())
    expect(schemeProblems(dongchengScheme(2025), known)).toEqual([])
    const withSteps = (steps: unknown, id = 'on_time_rate') => {
      const s = structuredClone(dongchengScheme(2025)) as unknown as { tiers: Record<string, { timeliness: { indicators: Array<Record<string, unknown>> } }> }
      s.tiers['2']!.timeliness.indicators[0] = { id, weight: 0.5, method: { kind: 'stepped', steps } }
      return schemeProblems(s, known)
    }
    expect(withSteps([{ at_least: 0.99, score: 90 }, { at_least: 0, score: 40 }])).toEqual([expect.stringMatching(/most demanding step \(at_least 0\.99\) must score 100/)])
    expect(withSteps([{ at_least: 0.99, score: 100 }, { at_least: 0.9, score: 40 }, { at_least: 0, score: 60 }])).toEqual([expect.stringMatching(/at_least 0 scores more than the more demanding at_least 0\.9/)])
    expect(withSteps([{ at_least: 1.05, score: 100 }, { at_least: 0, score: 40 }])).toEqual([expect.stringMatching(/out of reach of a rate/)])
    expect(withSteps([{ at_most: 0.99, score: 100 }])).toEqual([expect.stringMatching(/steps\[0\]: expected at_least/)])
    // an indicator's own minimum sample, and deductions only where lower is better
    const s = structuredClone(dongchengScheme(2025))
    s.tiers['3'].efficiency.indicators[0]!.min_sample = 0
    s.tiers['1'].efficiency.indicators[0]!.method = { kind: 'deduction', per: 2, max: 100 }
    expect(schemeProblems(s, known)).toEqual([
      expect.stringMatching(/^tiers\.1\.efficiency\.indicators\[0\]\.method: deduction .* online_rate is higher-is-better/),
      expect.stringMatching(/^tiers\.3\.efficiency\.indicators\[0\]\.min_sample: expected a whole number/),
    ])
    // a scheme stored before per-indicator minimums (min_sample alone) is valid, and its min_sample is every indicator's minimum
    const old = structuredClone(dongchengScheme(2025))
    expect(schemeProblems(old, known)).toEqual([])
    expect(minSampleOf(old, 2, 'on_time_rate')).toBe(old.min_sample)
    const own = structuredClone(old)
    own.tiers['2'].satisfaction.indicators[1]!.min_sample = 5
    expect(minSampleOf(own, 2, 'bad_review_rectified_on_time_rate')).toBe(5)
    expect(minSampleOf(own, 2, 'satisfaction_rate')).toBe(30)
  })
  it('has weights that add up to 1 in every tier and category', () => {
    for (const tier of Object.values(dongchengScheme(2025).tiers)) {
      expect(Object.values(tier).reduce((s, c) => s + c.weight, 0)).toBeCloseTo(1, 9)
      for (const c of Object.values(tier)) expect(c.indicators.reduce((s, i) => s + i.weight, 0)).toBeCloseTo(1, 9)
    }
  })
})

describe('ranking', () => {
  it('gives equal scores the same rank and skips the next ("1, 2, 2, 4")', () => {
    const r = rankWithTies([{ key: 'a', score: 90 }, { key: 'b', score: 80 }, { key: 'c', score: 80 }, { key: 'd', score: 70 }, { key: 'e', score: null }])
    expect([...r]).toEqual([['a', 1], ['b', 2], ['c', 2], ['d', 4], ['e', null]])
  })
  it('never puts three ratings at 100 % above three thousand at 98 %', () => {
    const small = wilsonBound(3, 3, 'lower')
    const big = wilsonBound(2940, 3000, 'lower')
    expect(small).toBeLessThan(0.5)
    expect(big).toBeGreaterThan(0.97)
    const r = rankWithTies([{ key: 'small', score: small }, { key: 'big', score: big }])
    expect(r.get('big')).toBe(1)
    // and for a lower-is-better rate (bad ratings), the upper bound: none bad of 3 is no proof
    expect(wilsonBound(0, 3, 'upper')).toBeGreaterThan(wilsonBound(30, 3000, 'upper'))
  })
  it('matches the Wilson interval', () => {
    // 8 of 10 at 95 %: 0.4902 – 0.9433
    expect(wilsonBound(8, 10, 'lower')).toBeCloseTo(0.4902, 3)
    expect(wilsonBound(8, 10, 'upper')).toBeCloseTo(0.9433, 3)
  })
})

describe('targets cascade district → tier → unit', () => {
  const targets = [
    { year: 2025, metric_id: 'on_time_rate', scope: 'district', value: 0.98 },
    { year: 2025, metric_id: 'on_time_rate', scope: 'tier:2', value: 0.97 },
    { year: 2025, metric_id: 'on_time_rate', scope: 'unit:S1', value: 0.99 },
    { year: 2025, metric_id: 'online_rate', scope: 'district', value: 0.4 },
  ]
  it('takes the unit\'s own, else its tier\'s, else the district\'s', () => {
    expect(resolveTarget(targets, 'on_time_rate', 'S1', 2)).toEqual({ value: 0.99, scope: 'unit:S1' })
    expect(resolveTarget(targets, 'on_time_rate', 'S2', 2)).toEqual({ value: 0.97, scope: 'tier:2' })
    expect(resolveTarget(targets, 'on_time_rate', 'B1', 1)).toEqual({ value: 0.98, scope: 'district' })
    expect(resolveTarget(targets, 'online_rate', 'S1', 2)).toEqual({ value: 0.4, scope: 'district' })
    expect(resolveTarget(targets, 'satisfaction_rate', 'S1', 2)).toBeNull()
  })
})

describe('the year-end projection', () => {
  const ind = (id: string) => INDICATOR_BY_ID.get(id)!
  it('extrapolates counts of what happened by the share of the year gone by, and leaves rates where they are', () => {
    // 30 June 2025 is day 181 of 365; overdue_cases without open ones is all late stops
    expect(projectionBasis(ind('overdue_cases'))).toBe('pace_and_stock')
    expect(projectYearEnd(ind('overdue_cases'), 181, 2025, '2025-06-30')).toBeCloseTo(365, 9)
    expect(projectYearEnd(ind('on_time_rate'), 0.97, 2025, '2025-06-30')).toBe(0.97)
    expect(projectionBasis(ind('on_time_rate'))).toBe('as_is')
    expect(projectYearEnd(ind('overdue_cases'), 12, 2025, '2025-12-31')).toBe(12)
    expect(projectYearEnd(ind('overdue_cases'), null, 2025, '2025-06-30')).toBeNull()
  })
  it('takes a stock as it is: open overdue cases now are not scaled by calendar days', () => {
    expect(projectionBasis(ind('overdue_open'))).toBe('stock')
    expect(projectYearEnd(ind('overdue_open'), 7, 2025, '2025-06-30')).toBe(7)
    // 181 late stops and 7 open overdue now: the stops scale to 365, the 7 stay 7
    expect(projectYearEnd(ind('overdue_cases'), 188, 2025, '2025-06-30', 7)).toBeCloseTo(372, 9)
  })
  it('projects a unit in service for part of the year to the end of that part, and counts its count targets for its days', () => {
    const closedInJune = { from: '2025-01-01', to: '2025-06-30' }
    // 31 March is day 90 of its 181: 9 late stops go on to 9 × 181 / 90
    expect(projectYearEnd(ind('overdue_cases'), 9, 2025, '2025-03-31', 0, closedInJune)).toBeCloseTo((9 * 181) / 90, 9)
    // once it has closed, what it did is where it ends
    expect(projectYearEnd(ind('overdue_cases'), 9, 2025, '2025-12-31', 0, closedInJune)).toBe(9)
    // opened on 1 October: on 31 October it has served 31 of its 92 days
    expect(projectYearEnd(ind('overdue_cases'), 2, 2025, '2025-10-31', 0, { from: '2025-10-01', to: '2025-12-31' })).toBeCloseTo((2 * 92) / 31, 9)
    expect(shareOfYear(closedInJune, 2025)).toBeCloseTo(181 / 365, 12)
    expect(targetForPart(ind('overdue_cases'), { value: 10, scope: 'district' }, closedInJune, 2025)).toEqual({ value: (10 * 181) / 365, scope: 'district', full_year: 10 })
    // a rate asks the same of any part; the stock is what it is
    expect(targetForPart(ind('on_time_rate'), { value: 0.98, scope: 'district' }, closedInJune, 2025)).toEqual({ value: 0.98, scope: 'district', full_year: null })
    expect(targetForPart(ind('overdue_open'), { value: 3, scope: 'district' }, closedInJune, 2025)).toEqual({ value: 3, scope: 'district', full_year: null })
    expect(targetForPart(ind('overdue_cases'), { value: 10, scope: 'district' }, null, 2025)).toEqual({ value: 10, scope: 'district', full_year: null })
  })
})

describe('the assessment of the demo district', () => {
  let p: Awaited<ReturnType<typeof openTestPlatform>>
  let assessment: AssessmentService
  const AS_OF = Date.parse('2025-06-30T23:59:59+08:00')
  beforeAll(async () => {
    p = await openTestPlatform()
    await loadDemoDistrict(p, new IngestService(p), { cases: 3000, from: '2025-01-01', to: '2025-06-30' })
    assessment = new AssessmentService(p, new MetricsService(p))
  }, 300_000)
  afterAll(async () => p?.close())

  /** A service of its own, with kept answers off (and none kept across moments): each way computes its figures. */
  const fresh = () => {
    p.answers.keepAcrossMoments = false
    const m = new MetricsService(p)
    m.usePastAnswers = false
    return new AssessmentService(p, m)
  }
  /** What `run` gives, and how many queries it sent (but those `except` matches). */
  const queries = async <T,>(run: () => Promise<T>, except?: RegExp): Promise<[T, number]> => {
    let n = 0
    const query = p.warehouse.client.query.bind(p.warehouse.client)
    const spy = vi.spyOn(p.warehouse.client, 'query').mockImplementation((args) => (n += except?.test(args.query) ? 0 : 1, query(args)))
    try {
      return [await run(), n]
    } finally {
      spy.mockRestore()
    }
  }

  it('assesses the three tiers at once as it assesses each alone, asking each source once for all of them, on the figures of each tier asked alone', async () => {
    const oneByOne = fresh()
    const [alone, aloneQueries] = await queries(async () => [await oneByOne.tier(2025, 1, AS_OF), await oneByOne.tier(2025, 2, AS_OF), await oneByOne.tier(2025, 3, AS_OF)])
    const [together, togetherQueries] = await queries(() => fresh().tiers(2025, [1, 2, 3], AS_OF))
    expect(together).toEqual(alone)
    expect(together.map((t) => t.tier)).toEqual([1, 2, 3])
    expect(together.flatMap((t) => t.units).filter((u) => u.composite_score !== null).length).toBeGreaterThan(20)
    expect(togetherQueries).toBeLessThan(aloneQueries / 2)
    // and each unit's figures are those of its tier's units asked alone (its own records, whoever is asked with it)
    const metrics = new MetricsService(p)
    metrics.usePastAnswers = false
    let compared = 0
    for (const t of together) {
      const full = t.units.filter((u) => u.in_service === null)
      const ids = [...new Set(full.flatMap((u) => u.indicators.map((i) => i.id)))]
      const asked = await metrics.runMany(ids, { from: t.from, to: t.to, units: full.map((u) => u.unit_id), by: 'unit', asOfMs: AS_OF })
      for (const u of full) {
        for (const i of u.indicators) {
          const row = asked[ids.indexOf(i.id)]!.rows.find((r) => r.key === u.unit_id)
          expect([i.numerator, i.denominator], `${u.unit_id} ${i.id}`).toEqual([row?.numerator ?? 0, row?.denominator ?? (i.denominator === null ? null : 0)])
          compared += row ? 1 : 0
        }
      }
    }
    expect(compared).toBeGreaterThan(100)
  })

  it('reads a unit\'s targets from the figures its score is computed from, and a page asking for both gets one answer', async () => {
    // the queries of the figures (not the reads of the year's scheme and targets each call makes)
    const reference = /FROM (targets|assessment_schemes) FINAL/
    const unitId = 'DC-S-DHM'
    const [, targetsAlone] = await queries(() => fresh().targets(2025, unitId, AS_OF), reference)
    const [, tierAlone] = await queries(() => fresh().tier(2025, 2, AS_OF), reference)
    const both = fresh()
    const [[tier, targets], together] = await queries(() => Promise.all([both.tier(2025, 2, AS_OF), both.targets(2025, unitId, AS_OF)]), reference)
    // the unit page's two questions at once cost what its targets alone do (on a ClickHouse
    // server nothing is shared, other processes store records too: warehouse/answers.ts; and
    // the reads of what other processes wrote come in between)
    expect(tierAlone).toBeGreaterThan(3)
    if (p.warehouse.kind === 'embedded') expect(together).toBe(targetsAlone)
    const assessed = tier.units.find((u) => u.unit_id === unitId)!
    let compared = 0
    for (const row of targets.rows) {
      const i = assessed.indicators.find((x) => x.id === row.metric)
      if (!i) continue
      expect([row.numerator, row.denominator, row.value], row.metric).toEqual([i.numerator, i.denominator, i.value])
      compared++
    }
    expect(compared).toBeGreaterThan(3)
  })

  it('assesses a tier asked by several at once once, and gives them all the one answer, frozen', async () => {
    const shared = fresh()
    // (the first question also reads the year's scheme, which the service keeps)
    await shared.tier(2025, 3, AS_OF)
    const [alone, once] = await queries(() => shared.tier(2025, 3, AS_OF))
    const [answers, together] = await queries(() => Promise.all([1, 2, 3, 4].map(() => shared.tier(2025, 3, AS_OF))))
    // (on a ClickHouse server nothing is shared: each is assessed, and each answer frozen)
    const embedded = p.warehouse.kind === 'embedded'
    if (embedded) expect(together).toBe(once)
    expect(once).toBeGreaterThan(3)
    expect(answers.every((a) => a === answers[0])).toBe(embedded)
    for (const a of answers) expect(a).toEqual(alone)
    expect(Object.isFrozen(answers[0]!.units[0]!.indicators)).toBe(true)
    expect(() => (answers[0]!.units as unknown[]).pop()).toThrow(TypeError)
  })

  it('ranks an indicator asked by several at once once (its funnel is the server\'s own work), and gives them all the one answer, frozen', async () => {
    const shared = fresh()
    const alone = await shared.ranking('on_time_rate', 2025, 2, AS_OF)
    const answers = await Promise.all([1, 2, 3, 4].map(() => shared.ranking('on_time_rate', 2025, 2, AS_OF)))
    // (on a ClickHouse server nothing is shared: each is ranked, and each answer frozen)
    expect(answers.every((a) => a === answers[0])).toBe(p.warehouse.kind === 'embedded')
    for (const a of answers) expect(a).toEqual(alone)
    expect(alone.funnel?.curve.length).toBeGreaterThan(10)
    expect(() => (answers[0]!.rows as unknown[]).pop()).toThrow(TypeError)
  })

  it.each([1, 2, 3] as const)('tier %i: scores, grades, ranks and points lost add up', async (tier) => {
    const a = await assessment.tier(2025, tier, AS_OF)
    expect(a.units.length).toBe(p.reference.unitsOfTier(tier).length)
    const scheme = dongchengScheme(2025)
    // a unit has a composite exactly when something is scored, and every indicator not scored says why
    for (const u of a.units) {
      expect(u.composite_score === null, u.unit_id).toBe(u.indicators.every((i) => !i.scored))
      for (const i of u.indicators) {
        expect(i.scored, `${u.unit_id} ${i.id}`).toBe(i.score !== null)
        expect(i.not_scored_reason === null, `${u.unit_id} ${i.id}`).toBe(i.scored)
        if (i.not_scored_reason === 'small_sample') expect(i.sample).toBeLessThan(i.min_sample)
        if (i.scored) expect(i.sample).toBeGreaterThanOrEqual(i.min_sample)
      }
    }
    // the street halls (a hundred records or so each, even in this small district's half year) are all scored; the
    // stations are held to the default scheme's minimum of 10 records an indicator (30 for the halls)
    if (tier === 2) expect(a.units.every((u) => u.composite_score !== null)).toBe(true)
    if (tier !== 3) expect(a.units.some((u) => u.composite_score !== null)).toBe(true)
    else expect(new Set(a.units.flatMap((u) => u.indicators.map((i) => i.min_sample)))).toEqual(new Set([10]))
    let previous = Infinity
    for (const u of a.units) {
      if (u.composite_score === null) continue
      expect(u.composite_score).toBeGreaterThanOrEqual(0)
      expect(u.composite_score).toBeLessThanOrEqual(100)
      expect(u.grade).toBe(gradeOf(scheme, u.composite_score).grade)
      // ranks compare scores to the hundredth of a point: equal there is a tie
      const shown = Math.round(u.composite_score * 100) / 100
      expect(shown).toBeLessThanOrEqual(previous)
      previous = shown
      const weights = u.indicators.reduce((s, i) => s + i.weight, 0)
      expect(weights).toBeCloseTo(1, 9)
      // 按比例折算: each scored indicator's weight is its scheme weight over the scored ones' scheme weights
      const base = u.indicators.reduce((s, i) => s + (i.scored ? i.scheme_weight : 0), 0)
      expect(u.scored_scheme_weight).toBeCloseTo(base, 12)
      for (const i of u.indicators) expect(i.weight, `${u.unit_id} ${i.id}`).toBeCloseTo(i.scored ? i.scheme_weight / base : 0, 12)
      const points = u.indicators.reduce((s, i) => s + i.points, 0)
      const lost = u.indicators.reduce((s, i) => s + i.points_lost, 0)
      expect(points).toBeCloseTo(u.composite_score, 9)
      expect(points + lost).toBeCloseTo(100, 9)
    }
    if (a.units.some((u) => u.composite_score !== null)) expect(a.units[0]!.rank).toBe(1)
  })

  it('scores and ranks every category within the tier', async () => {
    const a = await assessment.tier(2025, 2, AS_OF)
    const categories = Object.keys(dongchengScheme(2025).tiers['2'])
    for (const category of categories) {
      // the category's score: its points over its weight, from the indicators the unit was scored on
      const scores = a.units.map((u) => {
        const scored = u.indicators.filter((i) => i.category === category && i.score !== null && i.weight > 0)
        const w = scored.reduce((s, i) => s + i.weight, 0)
        return { u, want: w > 0 ? scored.reduce((s, i) => s + i.points, 0) / w : null }
      })
      expect(scores.filter((x) => x.want !== null).length, category).toBeGreaterThan(a.units.length / 2)
      for (const { u, want } of scores) {
        const got = u.categories[category as keyof typeof u.categories]!
        expect(got.points, `${u.unit_id} ${category}`).toBeCloseTo(u.indicators.filter((i) => i.category === category).reduce((s, i) => s + i.points, 0), 9)
        if (want === null) expect({ score: got.score, rank: got.rank }, `${u.unit_id} ${category}`).toEqual({ score: null, rank: null })
        else {
          expect(got.score, `${u.unit_id} ${category}`).toBeCloseTo(want, 9)
          // rank = 1 + how many units score higher (to the hundredth of a point)
          const shown = (v: number) => Math.round(v * 100) / 100
          expect(got.rank).toBe(1 + scores.filter((x) => x.want !== null && shown(x.want) > shown(want)).length)
        }
      }
    }
  })

  it('ranks an indicator within a tier with sample sizes and small-sample flags', async () => {
    const r = await assessment.ranking('satisfaction_rate', 2025, 3, AS_OF)
    expect(r.rows.length).toBe(p.reference.unitsOfTier(3).length)
    for (const row of r.rows) {
      // a rate's sample is its denominator
      expect(row.sample).toBe(row.denominator ?? 0)
      expect(row.small_sample).toBe(row.sample < r.min_sample)
    }
    // ranked on the value itself (higher is better), with the span of ranks each interval allows
    const ranked = r.rows.filter((x) => x.rank !== null)
    expect(ranked.length).toBeGreaterThan(10)
    for (let i = 1; i < ranked.length; i++) expect(ranked[i]!.value!).toBeLessThanOrEqual(ranked[i - 1]!.value!)
    for (const x of ranked) expect(x.rank_range!.best).toBeLessThanOrEqual(x.rank!)
    expect(r.funnel?.method).toBe('binomial')
    expect(new Set(ranked.map((x) => x.funnel_mark)).has(null)).toBe(false)
  })

  it('gives a unit its cascaded targets, attainment and a year-end projection', async () => {
    const t = await assessment.targets(2025, 'DC-S-DHM', AS_OF)
    const onTime = t.rows.find((r) => r.metric === 'on_time_rate')!
    expect(onTime.target_scope).toMatch(/^(unit:DC-S-DHM|tier:2|district)$/)
    expect(onTime.attainment).toBeCloseTo(onTime.value! / onTime.target, 9)
    // a rate stands where it is; the projection of a rate is its value to date
    expect(onTime.projection).toBe(onTime.value)
  })
})
