// Funnel plots for comparing units (Spiegelhalter, "Funnel plots for comparing institutional
// performance", Statistics in Medicine 24 (2005) 1185–1202, the method England's hospital
// comparisons use): each unit's value against its sample size, with the tier's value as the
// target and control limits that narrow as the sample grows. A unit outside the 95 % limits is
// marked above or below them (outside 99.8 %: far); inside them its difference from the tier is
// what chance alone would give. The limits are exact (binomial for rates, Poisson for counts
// per case) with the paper's interpolation between the discrete quantiles (its appendix A.1.1).

/** The two-sided coverages of the limits drawn: 95 % and 99.8 % (about 2 and 3 standard deviations). */
export const FUNNEL_LEVELS = [0.95, 0.998] as const

export type FunnelMark = 'within' | 'above' | 'below' | 'far_above' | 'far_below'

export interface FunnelLimits {
  /** The sample size (denominator) the limits are for. */
  n: number
  lower95: number
  upper95: number
  lower998: number
  upper998: number
}

// log Γ by Lanczos (g = 7, n = 9): accurate to ~1e-15 over the range used here
const LANCZOS = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7]
function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x)
  x -= 1
  let a = LANCZOS[0]!
  const t = x + 7.5
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (x + i)
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a)
}

/**
 * The probabilities of 0…n successes of Binomial(n, p), summed into the CDF. Only the counts
 * within 40 standard deviations (and 40) of the mean are computed: beyond them the tail holds
 * less than e⁻⁶⁰ (Chernoff), which changes no limit and no mark (the CDF is 0 below them, and
 * above them a sum already at its last value). For a tier of 180,000 cases that is 9,000 terms
 * instead of 180,000: the funnel of one indicator took the server's one thread 1.2 s, 40 curve
 * points and a mark per unit each summing every count (funnel.test.ts checks it against the
 * whole sum).
 */
export function binomialCdf(n: number, p: number): number[] {
  const cdf = new Array<number>(n + 1).fill(0)
  const sd = Math.sqrt(n * p * (1 - p))
  const lo = Math.max(0, Math.floor(n * p - 40 * sd - 40))
  const hi = Math.min(n, Math.ceil(n * p + 40 * sd + 40))
  const logN = logGamma(n + 1)
  let sum = 0
  for (let k = lo; k <= hi; k++) {
    const logPmf = p === 0 ? (k === 0 ? 0 : -Infinity) : p === 1 ? (k === n ? 0 : -Infinity)
      : logN - logGamma(k + 1) - logGamma(n - k + 1) + k * Math.log(p) + (n - k) * Math.log(1 - p)
    sum += Math.exp(logPmf)
    cdf[k] = Math.min(1, sum)
  }
  for (let k = hi + 1; k <= n; k++) cdf[k] = Math.min(1, sum)
  return cdf
}

/** The CDF of Poisson(mean) from 0 up to where it reaches 1 − 1e-12. */
function poissonCdf(mean: number): number[] {
  const cdf: number[] = []
  let sum = 0
  for (let k = 0; ; k++) {
    sum += Math.exp(-mean + k * Math.log(Math.max(mean, 1e-300)) - logGamma(k + 1))
    cdf.push(Math.min(1, sum))
    if (sum >= 1 - 1e-12 || k > mean + 50 * Math.sqrt(mean + 1) + 50) return cdf
  }
}

/**
 * The p-quantile of a discrete distribution given by its CDF, interpolated (Spiegelhalter 2005,
 * A.1.1): r is the smallest count with CDF(r) ≥ p, and the limit is r − α with
 * α = (CDF(r) − p) / (CDF(r) − CDF(r − 1)), so the limits move smoothly with the sample size.
 */
function interpolatedQuantile(cdf: number[], p: number): number {
  // the smallest r with CDF(r) ≥ p, by bisection (a CDF never decreases); the last count if none
  let lo = 0, hi = cdf.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (cdf[mid]! >= p) hi = mid
    else lo = mid + 1
  }
  const r = lo
  const below = r > 0 ? cdf[r - 1]! : 0
  const step = cdf[r]! - below
  const alpha = step > 0 ? (cdf[r]! - p) / step : 0
  return Math.max(0, r - alpha)
}

/** Control limits of a rate (a share of n) around the target share `p0`. */
export function proportionLimits(p0: number, n: number): FunnelLimits {
  const cdf = binomialCdf(n, p0)
  const at = (p: number) => Math.min(1, Math.max(0, interpolatedQuantile(cdf, p) / n))
  const [a, b] = FUNNEL_LEVELS.map((level) => (1 - level) / 2) as [number, number]
  return { n, lower95: at(a), upper95: at(1 - a), lower998: at(b), upper998: at(1 - b) }
}

/**
 * Control limits of a count per `scale` units of exposure (complaints per 10,000 cases: `n` the
 * cases, `rate0` the tier's complaints per case), the count taken as Poisson with mean rate0 · n.
 */
export function poissonRateLimits(rate0: number, n: number, scale: number): FunnelLimits {
  const cdf = poissonCdf(rate0 * n)
  const at = (p: number) => (interpolatedQuantile(cdf, p) / n) * scale
  const [a, b] = FUNNEL_LEVELS.map((level) => (1 - level) / 2) as [number, number]
  return { n, lower95: at(a), upper95: at(1 - a), lower998: at(b), upper998: at(1 - b) }
}

/**
 * Where an observed count stands: above the limits at a level when a count at least as high has
 * less than (1 − level) / 2 chance under the target, below when a count at least as low has.
 * Marks come from these exact tails, not from comparing with the interpolated limits, which sit
 * just inside the largest and smallest counts possible (5 of 5 against a tier at 80 % is what
 * chance gives a third of the time: within).
 */
function markOf(cdf: number[], count: number): FunnelMark {
  const r = Math.round(count)
  const atMost = cdf[Math.min(r, cdf.length - 1)] ?? 1
  const atLeast = 1 - (r > 0 ? (cdf[Math.min(r - 1, cdf.length - 1)] ?? 1) : 0)
  const [a95, a998] = FUNNEL_LEVELS.map((level) => (1 - level) / 2) as [number, number]
  if (atLeast < a998) return 'far_above'
  if (atMost < a998) return 'far_below'
  if (atLeast < a95) return 'above'
  if (atMost < a95) return 'below'
  return 'within'
}

/** A rate of `successes` in `n` against the target share `p0`. */
export const proportionMark = (successes: number, n: number, p0: number): FunnelMark => markOf(binomialCdf(n, p0), successes)

/** A count of `count` in an exposure of `n` against the target rate per unit of exposure `rate0`. */
export const poissonMark = (count: number, n: number, rate0: number): FunnelMark => markOf(poissonCdf(rate0 * n), count)

/** The limits drawn as curves: at sample sizes spread evenly on a log scale from `minN` to `maxN`. */
export function funnelCurve(limitsAt: (n: number) => FunnelLimits, maxN: number, points = 40, minN = 1): FunnelLimits[] {
  const out: FunnelLimits[] = []
  const seen = new Set<number>()
  const lo = Math.log(Math.max(1, minN))
  const hi = Math.log(Math.max(1, minN, maxN))
  for (let i = 0; i < points; i++) {
    const n = Math.max(1, Math.round(Math.exp(lo + ((hi - lo) * i) / (points - 1))))
    if (seen.has(n)) continue
    seen.add(n)
    out.push(limitsAt(n))
  }
  return out
}

// The standard normal quantiles of the two levels: 97.5 % and 99.9 %
const Z = { 0.95: 1.959963984540054, 0.998: 3.090232306167813 } as const

/**
 * Control limits of a mean of `n` records around the tier's mean `mean0`, the records' spread
 * being the tier's standard deviation `sd` (Spiegelhalter 2005, §3.3: normal limits
 * mean0 ± z · sd / √n, which the central limit theorem makes fair from a few dozen records on).
 */
export function meanLimits(mean0: number, sd: number, n: number): FunnelLimits {
  const half = (level: 0.95 | 0.998) => (Z[level] * sd) / Math.sqrt(Math.max(1, n))
  return { n, lower95: mean0 - half(0.95), upper95: mean0 + half(0.95), lower998: mean0 - half(0.998), upper998: mean0 + half(0.998) }
}

/** A mean of `n` records against the tier's mean and standard deviation. */
export function meanMark(mean: number, n: number, mean0: number, sd: number): FunnelMark {
  if (!(sd > 0) || !(n > 0)) return 'within'
  const z = (mean - mean0) / (sd / Math.sqrt(n))
  if (z > Z[0.998]) return 'far_above'
  if (z < -Z[0.998]) return 'far_below'
  if (z > Z[0.95]) return 'above'
  if (z < -Z[0.95]) return 'below'
  return 'within'
}

// Student's t at 97.5 % for 1–30 degrees of freedom (beyond: the Cornish–Fisher expansion below)
const T975 = [12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.306, 2.2622, 2.2281, 2.201, 2.1788, 2.1604, 2.1448,
  2.1314, 2.1199, 2.1098, 2.1009, 2.093, 2.086, 2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423]

/** The 97.5 % quantile of Student's t with `df` degrees of freedom (to 4 decimals). */
export function studentT975(df: number): number {
  if (df < 1) return Infinity
  if (df <= 30) return T975[Math.floor(df) - 1]!
  // Cornish–Fisher (Abramowitz & Stegun 26.7.5): within 1e-5 of the exact quantile from 30 on
  const z = Z[0.95], v = df
  return z + (z ** 3 + z) / (4 * v) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * v ** 2) + (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / (384 * v ** 3)
}

/**
 * The 95 % t interval of a mean from its records' count `n`, sum and sum of squares:
 * mean ± t(n − 1) · s / √n, with s² = (Σx² − n · mean²) / (n − 1). Null below two records.
 */
export function meanInterval(n: number, sum: number, sumSquares: number): { lower: number; upper: number } | null {
  if (!(n >= 2)) return null
  const mean = sum / n
  const variance = Math.max(0, (sumSquares - n * mean * mean) / (n - 1))
  const half = (studentT975(n - 1) * Math.sqrt(variance)) / Math.sqrt(n)
  return { lower: mean - half, upper: mean + half }
}
