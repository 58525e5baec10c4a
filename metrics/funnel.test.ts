// Funnel limits against values worked out by hand from the binomial and Poisson distributions.
import { describe, expect, it } from 'vitest'
import { binomialCdf, funnelCurve, meanInterval, meanLimits, meanMark, poissonMark, poissonRateLimits, proportionLimits, proportionMark, studentT975 } from './funnel.ts'

describe('funnel limits', () => {
  it('sums the binomial CDF over the counts that matter, as the sum over every count gives it', () => {
    // the whole sum, each probability from log-factorials added up (no shortcut shared with the code)
    const whole = (n: number, p: number) => {
      const logFact = [0]
      for (let i = 1; i <= n; i++) logFact.push(logFact[i - 1]! + Math.log(i))
      let sum = 0
      return Array.from({ length: n + 1 }, (_, k) => {
        const pmf = p === 0 ? (k === 0 ? 1 : 0) : p === 1 ? (k === n ? 1 : 0) : Math.exp(logFact[n]! - logFact[k]! - logFact[n - k]! + k * Math.log(p) + (n - k) * Math.log(1 - p))
        return Math.min(1, (sum += pmf))
      })
    }
    let compared = 0
    for (const n of [1, 7, 50, 400, 3000, 20_000]) {
      for (const p of [0, 1e-4, 0.003, 0.2, 0.5, 0.93, 0.9995, 1]) {
        const fast = binomialCdf(n, p), slow = whole(n, p)
        expect(fast).toHaveLength(n + 1)
        for (let k = 0; k <= n; k++) expect(Math.abs(fast[k]! - slow[k]!), `n ${n}, p ${p}, k ${k}`).toBeLessThan(1e-9)
        compared++
      }
    }
    expect(compared).toBe(48)
  })

  it('a rate: Binomial(10, 0.5) quantiles interpolated as Spiegelhalter (2005) A.1.1 does', () => {
    // CDF(1) = 11/1024, CDF(2) = 56/1024: r = 2 at p = 0.025, α = (56/1024 − 0.025) / (45/1024)
    const lower = (2 - (56 / 1024 - 0.025) / (45 / 1024)) / 10
    // CDF(7) = 968/1024, CDF(8) = 1013/1024: r = 8 at p = 0.975
    const upper = (8 - (1013 / 1024 - 0.975) / (45 / 1024)) / 10
    const limits = proportionLimits(0.5, 10)
    expect(limits.lower95).toBeCloseTo(lower, 10)
    expect(limits.upper95).toBeCloseTo(upper, 10)
    expect(lower).toBeCloseTo(0.1324444, 6)
    expect(upper).toBeCloseTo(0.7675556, 6)
    // 99.8 %: CDF(0) = 1/1024 < 0.001 ≤ CDF(1) = 11/1024: r = 1, α = (11/1024 − 0.001) / (10/1024)
    expect(limits.lower998).toBeCloseTo((1 - (11 / 1024 - 0.001) / (10 / 1024)) / 10, 10)
  })

  it('narrows as the sample grows, and stays within 0 and 1', () => {
    const widths = [5, 20, 100, 1000].map((n) => { const l = proportionLimits(0.9, n); return l.upper95 - l.lower95 })
    for (let i = 1; i < widths.length; i++) expect(widths[i]!).toBeLessThan(widths[i - 1]!)
    const tiny = proportionLimits(0.99, 3)
    expect(tiny.upper998).toBeLessThanOrEqual(1)
    expect(tiny.lower998).toBeGreaterThanOrEqual(0)
  })

  it('a count per 10,000 cases: Poisson(4) for 100 cases at 400 per 10,000', () => {
    // CDF(0) = e^−4, CDF(1) = 5·e^−4: r = 1 at p = 0.025
    const e4 = Math.exp(-4)
    const lower = ((1 - (5 * e4 - 0.025) / (4 * e4)) / 100) * 10_000
    expect(poissonRateLimits(0.04, 100, 10_000).lower95).toBeCloseTo(lower, 8)
    expect(lower).toBeCloseTo(9.1239, 3)
  })

  it('marks a count by its exact tail under the target', () => {
    // 40 of 50 against 80 %: the target itself
    expect(proportionMark(40, 50, 0.8)).toBe('within')
    // 47 of 50: P(X ≥ 47) = 0.0057, under 0.025 and over 0.001: above; 50 of 50: P = 0.8^50 ≈ 1.4e−5: far above
    expect(proportionMark(47, 50, 0.8)).toBe('above')
    expect(proportionMark(50, 50, 0.8)).toBe('far_above')
    expect(proportionMark(25, 50, 0.8)).toBe('far_below')
    // a perfect record of 5 cases is what chance gives a tier at 80 % a third of the time
    expect(proportionMark(5, 5, 0.8)).toBe('within')
    // counts: 12 complaints where 4 are expected: P(X ≥ 12 | 4) ≈ 0.00091 < 0.001
    expect(poissonMark(12, 100, 0.04)).toBe('far_above')
    expect(poissonMark(4, 100, 0.04)).toBe('within')
  })

  it('draws the curves at sample sizes spread from 1 to the largest', () => {
    const curve = funnelCurve((n) => proportionLimits(0.7, n), 500)
    expect(curve[0]!.n).toBe(1)
    expect(curve.at(-1)!.n).toBe(500)
    expect(new Set(curve.map((c) => c.n)).size).toBe(curve.length)
  })
})

describe('means of records', () => {
  it("Student's t at 97.5 %: the table, and the expansion past 30 degrees of freedom", () => {
    expect(studentT975(1)).toBe(12.7062)
    expect(studentT975(9)).toBe(2.2622)
    // published values: 2.0211 (40), 2.0086 (50), 1.9840 (100), 1.9600 in the limit
    expect(studentT975(40)).toBeCloseTo(2.0211, 4)
    expect(studentT975(50)).toBeCloseTo(2.0086, 4)
    expect(studentT975(100)).toBeCloseTo(1.984, 3)
    expect(studentT975(1e9)).toBeCloseTo(1.959964, 5)
  })

  it('a t interval from the count, the sum and the sum of squares', () => {
    // records 2, 4, 4, 4, 5, 5, 7, 9: mean 5, s² = 32 / 7; t(7) = 2.3646
    const x = [2, 4, 4, 4, 5, 5, 7, 9]
    const i = meanInterval(x.length, x.reduce((a, b) => a + b, 0), x.reduce((a, b) => a + b * b, 0))!
    const half = (2.3646 * Math.sqrt(32 / 7)) / Math.sqrt(8)
    expect(i.lower).toBeCloseTo(5 - half, 10)
    expect(i.upper).toBeCloseTo(5 + half, 10)
    expect(i.lower).toBeCloseTo(3.2125, 3)
    expect(meanInterval(1, 3, 9)).toBeNull()
  })

  it('normal limits around the tier mean, and marks from the z score', () => {
    // tier mean 4 days, sd 2: at 16 records the 95 % limits are 4 ± 1.96 × 2 / 4
    const l = meanLimits(4, 2, 16)
    expect(l.lower95).toBeCloseTo(4 - 0.979982, 5)
    expect(l.upper95).toBeCloseTo(4 + 0.979982, 5)
    expect(l.upper998).toBeCloseTo(4 + 1.545116, 5)
    // z = (5 − 4) / 0.5 = 2: above 95 %, inside 99.8 %; z = −3.2: far below; z = 1.9: within
    expect(meanMark(5, 16, 4, 2)).toBe('above')
    expect(meanMark(2.4, 16, 4, 2)).toBe('far_below')
    expect(meanMark(4.95, 16, 4, 2)).toBe('within')
  })
})
