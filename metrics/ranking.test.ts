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

  it('gives a mean of records a t interval and normal funnel limits from the tier\'s spread', () => {
    const avg = { ...rate, unit: 'working_days' as const, direction: 'lower_is_better' as const, spread: { source: 'stopped_cases' as const, sql: '', text: { zh: '', en: '' } } }
    // A: 2, 4, 4, 4, 5, 5, 7, 9 (mean 5); B: 1, 1, 2, 2, 2, 3, 3, 2 (mean 2)
    const a = [2, 4, 4, 4, 5, 5, 7, 9], b = [1, 1, 2, 2, 2, 3, 3, 2]
    const sum = (x: number[]) => x.reduce((s, v) => s + v, 0), sq = (x: number[]) => x.reduce((s, v) => s + v * v, 0)
    const r = new Map<string, MetricRow>([['A', { key: 'A', value: 5, numerator: sum(a), denominator: 8 }], ['B', { key: 'B', value: 2, numerator: sum(b), denominator: 8 }]])
    const { rows: ranked, funnel } = rankIndicator(avg, units.slice(0, 2), r, new Map([['A', sq(a)], ['B', sq(b)]]))
    expect(ranked.map((x) => x.unit_id)).toEqual(['B', 'A'])
    // A's interval: 5 ± 2.3646 × √(32/7) / √8
    const A = ranked.find((x) => x.unit_id === 'A')!
    expect(A.interval!.lower).toBeCloseTo(5 - (2.3646 * Math.sqrt(32 / 7)) / Math.sqrt(8), 10)
    // the tier: 16 records, mean 3.5, sd of all of them together
    const all = [...a, ...b]
    const sd = Math.sqrt(all.reduce((s, v) => s + (v - 3.5) ** 2, 0) / 15)
    expect(funnel!.method).toBe('normal')
    expect(funnel!.target).toBeCloseTo(3.5, 12)
    expect(funnel!.sd).toBeCloseTo(sd, 12)
    // Σ (x − 3.5)² = 50 + 22 = 72 over 15: sd = 2.191; A: z = 1.5 / (sd / √8) = 1.94, B: −1.94,
    // both just inside the 95 % limits (1.96) of a tier whose records spread that widely
    expect(sd).toBeCloseTo(Math.sqrt(72 / 15), 12)
    expect(1.5 / (sd / Math.sqrt(8))).toBeCloseTo(1.9365, 3)
    expect(Object.fromEntries(ranked.map((x) => [x.unit_id, x.funnel_mark]))).toEqual({ A: 'within', B: 'within' })
    // with B's records all at 1 the tier narrows and moves: A is above its limits, B below
    const b1 = new Map<string, MetricRow>([...r, ['B', { key: 'B', value: 1, numerator: 8, denominator: 8 }]])
    const marks = rankIndicator(avg, units.slice(0, 2), b1, new Map([['A', sq(a)], ['B', 8]])).rows
    expect(Object.fromEntries(marks.map((x) => [x.unit_id, x.funnel_mark]))).toEqual({ A: 'above', B: 'below' })
    // their intervals [3.21, 6.79] and [1.40, 2.60] do not overlap: the order is certain
    expect(ranked.map((x) => x.rank_range)).toEqual([{ best: 1, worst: 1 }, { best: 2, worst: 2 }])
  })

  it('gives no interval or funnel to a ratio of sums that is no share of records', () => {
    const share = { ...rate, id: 'purchased_service_share', direction: 'lower_is_better' as const }
    const { rows: ranked, funnel } = rankIndicator(share, units.slice(0, 2), rows([['A', 30000, 100000], ['B', 10000, 100000]]))
    expect(funnel).toBeNull()
    expect(ranked.map((x) => [x.unit_id, x.rank, x.interval, x.funnel_mark])).toEqual([['B', 1, null, null], ['A', 2, null, null]])
  })
})
