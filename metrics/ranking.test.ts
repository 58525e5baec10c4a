// Ranking a tier on one indicator: the value as it is, the span of ranks its interval allows,
// and the funnel mark against the tier, checked on a small tier worked out by hand.
import { describe, expect, it } from 'vitest'
import { rankIndicator } from './ranking.ts'
import type { MetricRow } from './service.ts'

const rate = { unit: 'ratio' as const, quantile: undefined, complement: false, scale: undefined, direction: 'higher_is_better' as const }
const units = ['A', 'B', 'C', 'D'].map((u) => ({ unit_id: u, name: u }))
const rows = (list: Array<[string, number, number]>) => new Map<string, MetricRow>(list.map(([key, num, den]) => [key, { key, value: num / den, numerator: num, denominator: den }]))

describe('ranking a tier on one indicator', () => {
  it('ranks the values as they are: a perfect small unit first, not last', () => {
    const { rows: ranked } = rankIndicator(rate, units, rows([['A', 5, 5], ['B', 180, 200], ['C', 150, 200], ['D', 40, 50]]))
    expect(ranked.map((r) => [r.unit_id, r.rank])).toEqual([['A', 1], ['B', 2], ['D', 3], ['C', 4]])
    // A's 95 % Wilson interval for 5 of 5 is [0.566, 1]: it overlaps everyone, so it may rank anywhere
    expect(ranked[0]!.interval!.lower).toBeCloseTo(0.5655, 3)
    expect(ranked[0]!.rank_range).toEqual({ best: 1, worst: 4 })
    // B (0.90, [0.851, 0.934]) is certainly above C (0.75, [0.686, 0.805]); A and D (0.80, [0.670,
    // 0.888]) may not be: C ranks second at best
    expect(ranked.find((r) => r.unit_id === 'C')!.rank_range).toEqual({ best: 2, worst: 4 })
    expect(ranked.find((r) => r.unit_id === 'B')!.rank_range).toEqual({ best: 1, worst: 3 })
  })

  it("marks each unit against the tier's funnel", () => {
    // the tier: 375 of 455 = 0.824
    const { rows: ranked, funnel } = rankIndicator(rate, units, rows([['A', 5, 5], ['B', 180, 200], ['C', 150, 200], ['D', 40, 50]]))
    expect(funnel!.target).toBeCloseTo(375 / 455, 10)
    expect(funnel!.method).toBe('binomial')
    const mark = Object.fromEntries(ranked.map((r) => [r.unit_id, r.funnel_mark]))
    // A: 5 of 5 has P = 0.824^5 = 0.38 under the tier: within; D: 40 of 50 (0.80) within;
    // B: P(X ≥ 180 | 200, 0.824) ≈ 0.0019: above (not beyond 99.8 %); C: P(X ≤ 150) ≈ 0.0052: below
    expect(mark).toEqual({ A: 'within', B: 'above', C: 'below', D: 'within' })
    // drawn from half the smallest sample (5 cases) to the largest
    expect([funnel!.curve[0]!.n, funnel!.curve.at(-1)!.n]).toEqual([2, 200])
  })

  it('leaves averages without intervals or marks, and unranks a unit without a value', () => {
    const avg = { ...rate, unit: 'working_days' as const, direction: 'lower_is_better' as const }
    const r = new Map<string, MetricRow>([['A', { key: 'A', value: 3, numerator: 30, denominator: 10 }], ['B', { key: 'B', value: 2, numerator: 20, denominator: 10 }]])
    const { rows: ranked, funnel } = rankIndicator(avg, units, r)
    expect(funnel).toBeNull()
    expect(ranked.map((x) => [x.unit_id, x.rank, x.funnel_mark, x.interval])).toEqual([['B', 1, null, null], ['A', 2, null, null], ['C', null, null, null], ['D', null, null, null]])
  })
})
