// One indicator ranked within a tier, with what is noise said beside it: the units' values are
// ranked as they are (no small-sample penalty), each with its 95 % interval and the span of ranks
// that interval allows, and for rates and counts per case a funnel plot (funnel.ts) with each
// unit's mark against the tier. Means of records (working days, minutes: indicators that declare
// their records' `spread`) get a t interval and normal funnel limits from the tier's spread;
// ratios of totals that are no mean of records (yuan per case, cases per staff) get neither.
import type { Indicator } from './catalog.ts'
import { funnelCurve, meanInterval, meanLimits, meanMark, poissonMark, poissonRateLimits, proportionLimits, proportionMark, type FunnelLimits, type FunnelMark } from './funnel.ts'
import { denominatorCountsRecords } from './samples.ts'
import type { MetricRow } from './service.ts'

export interface RankedUnit {
  unit_id: string
  name: string
  value: number | null
  numerator: number
  denominator: number | null
  /** 95 % interval of the value (Wilson for rates, exact Poisson for counts per case, t for means of records), null where not known. */
  interval: { lower: number; upper: number } | null
  rank: number | null
  /**
   * The ranks the unit could hold given the intervals: best = 1 + the units certainly better
   * (their interval wholly better than this one's), worst = the ranked units − those certainly worse.
   */
  rank_range: { best: number; worst: number } | null
  funnel_mark: FunnelMark | null
}

export interface Funnel {
  /** binomial: exact limits of a rate; poisson: of a count per case; normal: of a mean of records, from the tier's standard deviation (`sd`). */
  method: 'binomial' | 'poisson' | 'normal'
  /** The tier's value (Σ numerators / Σ denominators, on the indicator's scale): the funnel's centre. */
  target: number
  /** For a mean: the standard deviation of the tier's records the limits are drawn from. */
  sd?: number
  curve: FunnelLimits[]
}

/** Wilson score bound of a proportion n/d at 95 %: the lower bound, or the upper one. */
export function wilsonBound(n: number, d: number, side: 'lower' | 'upper'): number {
  if (d <= 0) return side === 'lower' ? 0 : 1
  const z = 1.959964
  const p = n / d
  const centre = p + (z * z) / (2 * d)
  const spread = z * Math.sqrt((p * (1 - p)) / d + (z * z) / (4 * d * d))
  const bound = (side === 'lower' ? centre - spread : centre + spread) / (1 + (z * z) / d)
  return Math.min(1, Math.max(0, bound))
}

/** Exact 95 % limits of a Poisson count (Garwood), by bisection on the CDF. */
function poissonInterval(count: number): { lower: number; upper: number } {
  const cdf = (k: number, mean: number) => {
    let term = Math.exp(-mean), sum = term
    for (let i = 1; i <= k; i++) sum += (term *= mean / i)
    return sum
  }
  const solve = (f: (m: number) => number, target: number) => {
    let lo = 0, hi = count * 3 + 20
    for (let i = 0; i < 100; i++) {
      const mid = (lo + hi) / 2
      if (f(mid) > target) lo = mid
      else hi = mid
    }
    return (lo + hi) / 2
  }
  // upper: P(X ≤ count | m) = 0.025; lower: P(X ≥ count | m) = 0.025, i.e. P(X ≤ count − 1 | m) = 0.975
  const upper = solve((m) => cdf(count, m), 0.025)
  const lower = count === 0 ? 0 : solve((m) => cdf(count - 1, m), 0.975)
  return { lower, upper }
}

/** The indicator's parts that decide how its rows can be judged. */
export type RankedIndicator = Pick<Indicator, 'unit' | 'quantile' | 'complement' | 'scale' | 'direction' | 'spread'> & { id?: string }

/**
 * How an indicator's rows can be judged: as a share of records (a rate whose denominator counts
 * records), a count per case, a mean of records (one that declares their spread), or not at all
 * (a quantile; a ratio of sums of days or yuan, or of cases to staff, which is no share of records).
 */
export function funnelMethodOf(ind: RankedIndicator): Funnel['method'] | null {
  if (ind.quantile) return null
  if (ind.unit === 'ratio') return denominatorCountsRecords(ind.id) ? 'binomial' : null
  if (ind.unit === 'per_10k_cases') return 'poisson'
  if (ind.spread) return 'normal'
  return null
}

/**
 * Ranks the units of a tier on one indicator's rows (by unit), with intervals, rank ranges and,
 * for rates, counts per case and means of records, the funnel. `spreads`: for a mean, each unit's
 * sum of the squares of its records' values (the indicator's `spread` part).
 */
export function rankIndicator(
  ind: RankedIndicator,
  units: Array<{ unit_id: string; name: string }>,
  rows: Map<string, MetricRow>,
  spreads?: Map<string, number>,
): { rows: RankedUnit[]; funnel: Funnel | null } {
  const method = funnelMethodOf(ind)
  const kind = method === 'normal' && !spreads ? null : method
  const scale = ind.scale ?? 1
  const higher = ind.direction === 'higher_is_better'
  // the count the value is a share of: value = counted / denominator × scale (a complement,
  // 1 − numerator / denominator, is the share of the other side)
  const counted = (r: MetricRow) => (ind.complement ? (r.denominator ?? 0) - r.numerator : r.numerator)
  const present = units.map((u) => ({ u, r: rows.get(u.unit_id) })).filter((x): x is { u: typeof x.u; r: MetricRow } => !!x.r && x.r.value !== null && (x.r.denominator ?? 0) > 0)
  const sumCount = present.reduce((s, x) => s + counted(x.r), 0)
  const sumN = present.reduce((s, x) => s + (x.r.denominator ?? 0), 0)
  const share = sumN > 0 ? sumCount / sumN : null // per unit of denominator, unscaled
  // a mean's tier: the standard deviation of all its units' records together
  const sumSquares = present.reduce((s, x) => s + (spreads?.get(x.u.unit_id) ?? 0), 0)
  const sd = kind === 'normal' && share !== null && sumN > 1 ? Math.sqrt(Math.max(0, (sumSquares - sumN * share * share) / (sumN - 1))) : null
  const intervalOf = (r: MetricRow): RankedUnit['interval'] => {
    const n = r.denominator ?? 0
    if (!kind || n <= 0) return null
    if (kind === 'normal') return meanInterval(n, r.numerator, spreads?.get(String(r.key)) ?? 0)
    if (kind === 'binomial') {
      return { lower: wilsonBound(counted(r), n, 'lower') * scale, upper: wilsonBound(counted(r), n, 'upper') * scale }
    }
    const p = poissonInterval(counted(r))
    return { lower: (p.lower / n) * scale, upper: (p.upper / n) * scale }
  }
  const ranked: RankedUnit[] = units.map((u) => {
    const r = rows.get(u.unit_id)
    const n = r?.denominator ?? 0
    const mark = !r || r.value === null || !kind || n <= 0 || share === null ? null
      : kind === 'binomial' ? proportionMark(counted(r), n, share)
        : kind === 'poisson' ? poissonMark(counted(r), n, share)
          : sd === null ? null : meanMark(r.value, n, share, sd)
    // (above and below are of the value: which is better is the indicator's direction)
    return {
      unit_id: u.unit_id, name: u.name, value: r?.value ?? null, numerator: r?.numerator ?? 0, denominator: r?.denominator ?? null,
      interval: r && r.value !== null ? intervalOf(r) : null, rank: null, rank_range: null,
      funnel_mark: mark,
    }
  })
  // competition ranking on the value itself
  const scored = ranked.filter((x) => x.value !== null).sort((a, b) => (higher ? b.value! - a.value! : a.value! - b.value!))
  scored.forEach((x, i) => {
    const prev = scored[i - 1]
    x.rank = prev && Math.abs(prev.value! - x.value!) < 1e-9 ? prev.rank : i + 1
  })
  for (const x of scored) {
    if (!x.interval) {
      x.rank_range = { best: x.rank!, worst: x.rank! }
      continue
    }
    const better = (o: RankedUnit) => o.interval !== null && (higher ? o.interval.lower > x.interval!.upper : o.interval.upper < x.interval!.lower)
    const worse = (o: RankedUnit) => o.interval !== null && (higher ? o.interval.upper < x.interval!.lower : o.interval.lower > x.interval!.upper)
    x.rank_range = { best: 1 + scored.filter(better).length, worst: scored.length - scored.filter(worse).length }
  }
  ranked.sort((a, b) => (a.rank ?? Infinity) - (b.rank ?? Infinity) || (a.unit_id < b.unit_id ? -1 : 1))
  if (!kind || share === null || (kind === 'normal' && sd === null)) return { rows: ranked, funnel: null }
  const maxN = Math.max(...present.map((x) => x.r.denominator ?? 0))
  // drawn from half the smallest sample on: further left the limits only squash the units' points
  const minN = Math.max(1, Math.floor(Math.min(...present.map((x) => x.r.denominator ?? 0)) / 2))
  const limitsAt = (n: number): FunnelLimits => {
    if (kind === 'normal') return meanLimits(share, sd!, n)
    if (kind === 'poisson') return poissonRateLimits(share, n, scale)
    const l = proportionLimits(share, n)
    return { n, lower95: l.lower95 * scale, upper95: l.upper95 * scale, lower998: l.lower998 * scale, upper998: l.upper998 * scale }
  }
  return { rows: ranked, funnel: { method: kind, target: share * scale, ...(sd !== null ? { sd } : {}), curve: funnelCurve(limitsAt, maxN, 40, minN) } }
}
