// The annual assessment: every unit of a tier scored on the scheme's indicators, a composite
// score and grade, its rank within the tier, the points lost per indicator (with where to look),
// targets cascaded district → tier → unit, attainment and a year-end projection.
import { rankIndicator } from './ranking.ts'
import { localDate, nowSeconds, queryRows, toRfc3339, type Platform, type Target, type Unit } from '../warehouse/index.ts'
import { INDICATOR_BY_ID, type Category, type Indicator } from './catalog.ts'
import { sampleOf, sampleSize, type SampleSpec } from './samples.ts'
import { dongchengScheme, gradeOf, minSampleOf, orderedSteps, schemeEntries, schemeProblems, type Scheme, type ScoringMethod } from './scheme.ts'
import { valueOf, type MetricResult, type MetricRow, type MetricsService } from './service.ts'

export { wilsonBound } from './ranking.ts'

/** Competition ranking ("1, 2, 2, 4"): equal scores share a rank. Missing scores are unranked. */
export function rankWithTies<K>(entries: Array<{ key: K; score: number | null }>, higherIsBetter = true): Map<K, number | null> {
  const scored = entries.filter((e) => e.score !== null).sort((a, b) => (higherIsBetter ? b.score! - a.score! : a.score! - b.score!))
  const out = new Map<K, number | null>(entries.map((e) => [e.key, null]))
  scored.forEach((e, i) => {
    const prev = scored[i - 1]
    out.set(e.key, prev && Math.abs(prev.score! - e.score!) < 1e-9 ? out.get(prev.key)! : i + 1)
  })
  return out
}

/**
 * One indicator scored 0–100 by the scheme's method, on the unit's actual value; null when there
 * is nothing to score (no value; the target method and no target). Whatever the method, a value
 * that meets the unit's target scores 100, and so does one at or better than the best step or the
 * best of the tier: a unit never loses points where it did what it was asked to.
 */
export function scoreValue(method: ScoringMethod, higherIsBetter: boolean, value: number | null, ctx: { target?: number | null; tierValues: number[] }): number | null {
  if (value === null || !Number.isFinite(value)) return null
  const t = ctx.target ?? null
  const better = (a: number, b: number) => (higherIsBetter ? a >= b : a <= b)
  if (method.kind === 'target') {
    if (t === null) return null
    const attainment = higherIsBetter ? (t === 0 ? 1 : value / t) : value === 0 ? 1 : t / value
    return 100 * Math.max(0, Math.min(1, attainment))
  }
  if (t !== null && better(value, t)) return 100
  switch (method.kind) {
    case 'minmax': {
      const values = ctx.tierValues.length ? ctx.tierValues : [value]
      const best = higherIsBetter ? Math.max(...values) : Math.min(...values)
      const worst = higherIsBetter ? Math.min(...values) : Math.max(...values)
      // the scale ends at the best of the tier, or at the target where that is less
      const top = t === null ? best : higherIsBetter ? Math.min(best, t) : Math.max(best, t)
      if (better(value, top)) return 100
      const span = Math.abs(top - worst)
      if (!(span > 0)) return 100
      return 100 * Math.max(0, Math.min(1, Math.abs(value - worst) / span))
    }
    case 'stepped': {
      const step = orderedSteps(method, higherIsBetter).find((s) => better(value, s.bound))
      return step ? step.score : 0
    }
    case 'deduction':
      return Math.max(0, 100 - Math.min(method.max, value * method.per))
  }
}

/**
 * How a figure's year-end projection is made: rates and averages stand where they are (`as_is`);
 * counts of what happened accumulate with the days of the year gone by (`pace`); a stock (cases
 * open and overdue now) is the stock as it is, not scaled (`stock`); a count of both (overdue
 * cases: late stops plus open overdue ones) scales the stops and adds the stock (`pace_and_stock`).
 */
export type ProjectionBasis = 'as_is' | 'pace' | 'stock' | 'pace_and_stock'

export function projectionBasis(ind: Pick<Indicator, 'unit' | 'denominator' | 'numerator' | 'plusOpenAtEnd'>): ProjectionBasis {
  if (ind.unit !== 'cases' || ind.denominator) return 'as_is'
  if (ind.numerator.source === 'open_cases') return 'stock'
  if (ind.plusOpenAtEnd?.source === 'open_cases') return 'pace_and_stock'
  return 'pace'
}

export const PROJECTION_NOTES: Record<ProjectionBasis, { zh: string; en: string }> = {
  as_is: { zh: '比率和平均值按当前水平', en: 'a rate or an average stands where it is' },
  pace: { zh: '按已过天数的进度推算全年', en: 'the count so far, scaled to the whole year by the days gone by' },
  stock: { zh: '当前存量（在办超期件），不按天数推算', en: 'the current stock (cases open and overdue now), as it is: not scaled by days' },
  pace_and_stock: { zh: '已超期办结件按进度推算，加上当前在办超期件（不推算）', en: 'late stops scaled to the year by the days gone by, plus the cases open and overdue now as they are' },
}

/**
 * Where a figure ends the year at the current pace (see ProjectionBasis). `stock` is the part of
 * the value that is a stock (for `pace_and_stock`: the cases open and overdue now). A unit in
 * service for part of the year (`part`) is projected to the end of that part, from its start.
 */
export function projectYearEnd(ind: Pick<Indicator, 'unit' | 'denominator' | 'numerator' | 'plusOpenAtEnd'>, value: number | null, year: number, to: string, stock = 0, part: { from: string; to: string } | null = null): number | null {
  if (value === null) return null
  const basis = projectionBasis(ind)
  if (basis === 'as_is' || basis === 'stock') return value
  const span = part ?? wholeYear(year)
  const elapsed = daysIn(span.from, to < span.to ? to : span.to)
  if (!(elapsed > 0)) return value
  const days = daysIn(span.from, span.to)
  const flow = basis === 'pace_and_stock' ? value - stock : value
  return (flow * days) / elapsed + (basis === 'pace_and_stock' ? stock : 0)
}

/** The share of the year's days in a part of it (a unit's time in service; null: the whole year). */
export function shareOfYear(part: { from: string; to: string } | null, year: number): number {
  return part ? daysIn(part.from, part.to) / daysIn(wholeYear(year).from, wholeYear(year).to) : 1
}

/** Calendar days from one date to another, both counted. */
const daysIn = (from: string, to: string) => (Date.parse(to) - Date.parse(from)) / 86_400_000 + 1
const wholeYear = (year: number) => ({ from: `${year}-01-01`, to: `${year}-12-31` })

/**
 * A unit's target for the part of the year it was in service: a target for a count of what
 * happens (overdue cases in the year) is a whole year's, so it is counted for that part, in
 * proportion to its days (a station open from July has half a year's allowance); rates,
 * averages and stocks ask the same of any part. `full_year` is the target as set, when scaled.
 */
export function targetForPart<T extends { value: number; scope: string }>(ind: Pick<Indicator, 'unit' | 'denominator' | 'numerator' | 'plusOpenAtEnd'>, target: T | null, part: { from: string; to: string } | null, year: number): (T & { full_year: number | null }) | null {
  if (!target) return null
  const basis = projectionBasis(ind)
  if (!part || (basis !== 'pace' && basis !== 'pace_and_stock')) return { ...target, full_year: null }
  return { ...target, value: target.value * shareOfYear(part, year), full_year: target.value }
}

/** The target of a unit for a metric: its own, else its tier's, else the district's (指标层层分解). */
export function resolveTarget(targets: Target[], metricId: string, unitId: string, tier: number): { value: number; scope: string } | null {
  for (const scope of [`unit:${unitId}`, `tier:${tier}`, 'district']) {
    const t = targets.find((x) => x.metric_id === metricId && x.scope === scope)
    if (t) return { value: Number(t.value), scope }
  }
  return null
}

/** Why an indicator was not scored for a unit. */
export type NotScoredReason =
  /** no records at all in its sample (no cases, no ratings, …): nothing to judge */
  | 'no_records'
  /** fewer records in its sample than the scheme's minimum for it (样本不足) */
  | 'small_sample'
  /** scored against the unit's target, and the unit has none (no target for it at unit, tier or district) */
  | 'no_target'

export const NOT_SCORED_ZH: Record<NotScoredReason, string> = { no_records: '无记录', small_sample: '样本不足', no_target: '无目标值' }

export interface AssessedIndicator {
  id: string
  name: string
  category: Category
  value: number | null
  numerator: number
  denominator: number | null
  /** Whether the indicator counts in the unit's composite. */
  scored: boolean
  /** Why not, when it does not. */
  not_scored_reason: NotScoredReason | null
  /** How many records the indicator is taken over for the unit (metrics/samples.ts), compared with min_sample. */
  sample: number
  /** What the sample counts, in words. */
  sample_of: string
  /** The scheme's minimum sample for this indicator (its own, else the scheme's default). */
  min_sample: number
  /**
   * The value the score is computed from: the unit's actual value (0 working days overdue for a
   * unit with cases and none of them late); null when not scored.
   */
  scored_value: number | null
  /** Not scored because the sample is below the minimum (not_scored_reason 'small_sample'). */
  small_sample: boolean
  target: number | null
  /**
   * For a unit in service for part of the year, a count's target as set for the whole year
   * (`target` is then that part's: targetForPart); null when the target is not scaled.
   */
  target_full_year: number | null
  score: number | null
  /** The scheme's weight: category weight × indicator weight (its share when everything is scored). */
  scheme_weight: number
  /**
   * The weight it has in the unit's composite after 按比例折算: its scheme weight ÷ the sum of the
   * scheme weights of the unit's scored indicators; 0 when not scored. Adds up to 1 over a unit.
   */
  weight: number
  /** score × weight: the composite is the sum of these. */
  points: number
  /** (100 − score) × weight. */
  points_lost: number
  /** Where to see the cases behind the figure (case indicators). */
  explain: string | null
}

export interface CategoryResult {
  /** Its points over its weight (0–100), from the indicators scored in it; null when none is. */
  score: number | null
  rank: number | null
  /** The category's weight in the scheme. */
  scheme_weight: number
  /** Its weight in the composite after 折算 (the sum of its scored indicators' weights). */
  weight: number
  points: number
}

export interface AssessedUnit {
  unit_id: string
  name: string
  tier: number
  composite_score: number | null
  grade: string | null
  grade_en: string | null
  rank: number | null
  /**
   * The part of the year the unit was in service (its active_from/active_to within the year), when
   * that is not the whole year: it is assessed on what it did then (records outside it are refused).
   */
  in_service: { from: string; to: string } | null
  /**
   * The sum of the scheme weights of the indicators scored for the unit: each scored indicator's
   * weight is its scheme weight ÷ this (按比例折算). 1 when everything is scored, 0 when nothing is.
   */
  scored_scheme_weight: number
  /** Each category's score (its points over its weight, 0–100), its weights and points, and the unit's rank on it within the tier. */
  categories: Partial<Record<Category, CategoryResult>>
  indicators: AssessedIndicator[]
}

export interface TierAssessment {
  year: number
  tier: number
  scheme: { year: number; version: string; name: string; min_sample: number }
  from: string
  to: string
  /** Whether any figure counted a day of a provisional year. */
  calendar_provisional: boolean
  units: AssessedUnit[]
}

/** A unit × indicator before its score: what was counted, and whether it can be scored. */
interface Judged {
  sample: number
  value: number | null
  reason: NotScoredReason | null
}

/**
 * Whether a unit's figure can be scored: its sample against the minimum, then whether it has a
 * value (a count without a row is 0: nothing of it happened).
 */
export function judgeSample(ind: Pick<Indicator, 'denominator'>, spec: SampleSpec, row: MetricRow | undefined, sampleRow: MetricRow | undefined, minSample: number): Judged {
  const sample = sampleSize(spec, row, sampleRow)
  if (!(sample > 0)) return { sample: 0, value: null, reason: 'no_records' }
  if (sample < minSample) return { sample, value: null, reason: 'small_sample' }
  if (spec.needsNumerator && !(row && row.numerator > 0)) return { sample, value: null, reason: 'no_records' }
  const value = (row ? row.value : ind.denominator ? null : 0) ?? spec.none ?? null
  if (value === null || !Number.isFinite(value)) return { sample, value: null, reason: 'no_records' }
  return { sample, value, reason: null }
}

/**
 * The composite's arithmetic (按比例折算) over a unit's indicators, each with its score (null: not
 * scored) and scheme weight: the weight of each scored indicator is its scheme weight over the sum
 * of the scored ones' scheme weights, so what is not scored — an indicator, or a whole category —
 * has its weight spread over what is, in proportion. Returns that sum and the composite (null when
 * nothing is scored); sets weight, points and points_lost on each.
 */
export function spreadWeights(indicators: Array<Pick<AssessedIndicator, 'score' | 'scheme_weight' | 'weight' | 'points' | 'points_lost'>>): { scored_scheme_weight: number; composite: number | null } {
  const total = indicators.reduce((s, i) => s + (i.score === null ? 0 : i.scheme_weight), 0)
  let composite = 0
  for (const i of indicators) {
    i.weight = i.score === null || !(total > 0) ? 0 : i.scheme_weight / total
    i.points = i.score === null ? 0 : i.weight * i.score
    i.points_lost = i.score === null ? 0 : i.weight * (100 - i.score)
    composite += i.points
  }
  // (weights that sum to 1 only up to rounding: a composite of 100.00000000000003 is 100)
  return { scored_scheme_weight: total, composite: total > 0 ? Math.min(100, Math.max(0, composite)) : null }
}

/**
 * Where the records behind an indicator's figure are listed, for the same unit, period and moment
 * the figure counts (`q`: unit_id, the period's days and as_of): for a past year the lists as
 * they stood when it was assessed, not today's.
 */
const EXPLAIN_LINKS: Record<string, (q: string) => string> = {
  on_time_rate: (q) => `/api/v1/cases?${q.replace('from=', 'stopped_from=').replace('to=', 'stopped_to=')}&overdue=true&order=days_over`,
  overdue_cases: (q) => `/api/v1/cases?${q.replace('from=', 'stopped_from=').replace('to=', 'stopped_to=')}&overdue=true&order=days_over`,
  overdue_open: (q) => `/api/v1/cases?${q.replace(/&from=[^&]*&to=[^&]*/, '')}&status=open&overdue=true&order=days_over`,
  avg_overdue_days: (q) => `/api/v1/cases?${q.replace('from=', 'stopped_from=').replace('to=', 'stopped_to=')}&overdue=true&order=days_over`,
  avg_elapsed_days: (q) => `/api/v1/cases?${q.replace('from=', 'stopped_from=').replace('to=', 'stopped_to=')}`,
  first_time_right_rate: (q) => `/api/v1/cases?${q.replace('from=', 'stopped_from=').replace('to=', 'stopped_to=')}`,
  satisfaction_rate: (q) => `/api/v1/ratings?${q}&bad=true`,
  bad_review_rate: (q) => `/api/v1/ratings?${q}&bad=true`,
  bad_review_rectified_on_time_rate: (q) => `/api/v1/ratings?${q}&bad=true`,
  revisit_rate: (q) => `/api/v1/ratings?${q}&bad=true`,
  complaint_resolved_on_time_rate: (q) => `/api/v1/complaints?${q}`,
  complaints_per_10k: (q) => `/api/v1/complaints?${q}`,
  queue_wait_avg: (q) => `/api/v1/queue-tickets?${q}`,
  queue_wait_p90: (q) => `/api/v1/queue-tickets?${q}`,
  cost_per_case: (q) => `/api/v1/cost-entries?${q}`,
  purchased_service_share: (q) => `/api/v1/cost-entries?${q}`,
  cases_per_staff: (q) => `/api/v1/cost-entries?${q}`,
}

/**
 * The part of `year` a unit was in service: null for the whole year, undefined for none of it.
 */
export function inServiceDuring(u: { active_from: string | null; active_to: string | null }, year: number): { from: string; to: string } | null | undefined {
  const from = u.active_from && u.active_from > `${year}-01-01` ? u.active_from : `${year}-01-01`
  const to = u.active_to && u.active_to < `${year}-12-31` ? u.active_to : `${year}-12-31`
  if (from > to) return undefined
  return from === `${year}-01-01` && to === `${year}-12-31` ? null : { from, to }
}

const explainQuery = (unitId: string, from: string, to: string, asOf: string) =>
  new URLSearchParams({ unit_id: unitId, from, to, as_of: asOf }).toString()

/** The tiers assessed, each ranked within itself. */
const ALL_TIERS = [1, 2, 3] as const
/** How many assessment services there are: each shares its answers with itself only. */
let instances = 0
/** The catalogue's indicators that the year's targets name (each once). */
const targetedIds = (targets: Target[]) => [...new Set(targets.map((t) => t.metric_id))].filter((id) => INDICATOR_BY_ID.has(id))
/** The stock of a count of both (cases overdue: stopped late, and open past their deadline): what its projection adds to the pace. */
const STOCK_ID = 'overdue_open'

export class AssessmentService {
  constructor(
    private readonly platform: Platform,
    private readonly metrics: MetricsService,
  ) {}

  private schemes = new Map<number, { scheme: Scheme; stored: boolean }>()

  /** The year's scheme: the one stored for it (PUT /api/v1/assessment/scheme), else the default. */
  async scheme(year: number): Promise<{ scheme: Scheme; stored: boolean }> {
    const cached = this.schemes.get(year)
    if (cached) return cached
    const [row] = await queryRows<{ scheme: string }>(this.platform.warehouse, 'SELECT scheme FROM assessment_schemes FINAL WHERE year = {year:UInt16}', { year })
    const found = row ? { scheme: JSON.parse(row.scheme) as Scheme, stored: true } : { scheme: dongchengScheme(year), stored: false }
    this.schemes.set(year, found)
    return found
  }

  /** Stores a year's scheme after checking it; returns the problems instead when there are any. */
  async storeScheme(value: unknown): Promise<string[]> {
    const problems = schemeProblems(value, new Set(INDICATOR_BY_ID.keys()))
    if (problems.length) return problems
    const scheme = value as Scheme
    await this.platform.warehouse.client.insert({
      table: 'assessment_schemes',
      format: 'JSONEachRow',
      values: [{ year: scheme.year, version: scheme.version, scheme: JSON.stringify(scheme), updated_at: nowSeconds() }],
    })
    this.schemes.set(scheme.year, { scheme, stored: true })
    return []
  }

  /** The year to date at `asOfMs` (or the whole year when it is over). */
  period(year: number, asOfMs: number): { from: string; to: string } {
    const today = localDate(asOfMs, this.platform.warehouse.timezone)
    const end = `${year}-12-31`
    return { from: `${year}-01-01`, to: today < end ? today : end }
  }

  /**
   * runMany by unit for units that may each be in service for a different part of the year: each
   * is asked over its own part of [from, to] (so that per-month averages — staff FTE — count its
   * months, not the year's), units with the same part together. A unit whose part has not begun
   * by `to` has no rows. One result per indicator, the groups' rows together.
   */
  private async runInService(ids: Array<string | Indicator>, units: Array<{ unit_id: string; active_from: string | null; active_to: string | null }>, year: number, from: string, to: string, asOfMs: number): Promise<MetricResult[]> {
    const groups = new Map<string, { from: string; to: string; units: string[] }>()
    for (const u of units) {
      const part = inServiceDuring(u, year)
      if (part === undefined) continue
      const f = part && part.from > from ? part.from : from
      const t = part && part.to < to ? part.to : to
      if (f > t) continue
      const key = `${f}|${t}`
      groups.set(key, { from: f, to: t, units: [...(groups.get(key)?.units ?? []), u.unit_id] })
    }
    if (groups.size === 0) groups.set(`${from}|${to}`, { from, to, units: [] })
    const answers = await Promise.all([...groups.values()].map((g) => this.metrics.runMany(ids, { from: g.from, to: g.to, units: g.units, by: 'unit', asOfMs })))
    return answers[0]!.map((first, i) => ({
      ...first, from, to,
      calendar_provisional: answers.some((a) => a[i]!.calendar_provisional),
      rows: answers.flatMap((a) => a[i]!.rows),
    }))
  }

  /** The year's assessment of one tier (`tiers` for several: their figures asked once). */
  async tier(year: number, tier: 1 | 2 | 3, asOfMs: number): Promise<TierAssessment> {
    return (await this.tiers(year, [tier], asOfMs))[0]!
  }

  /**
   * The year's assessment of each of `tiers`. Every unit's figures are its own records (by unit),
   * whoever else is asked with it, so the figures of every tier's units are asked at once, whichever
   * tiers are assessed: one query per source for the whole district, not one per source and tier.
   * It costs about what one tier's did (at 10M events, 0.76–0.80 s for this year's three tiers
   * against 0.7–0.85 s for one), and the question is the same for every tier, so the pages of
   * different tiers opened at once share one answer, and the whole assessment (the reports,
   * composite_score of every unit) is asked once.
   */
  async tiers(year: number, tiers: ReadonlyArray<1 | 2 | 3>, asOfMs: number): Promise<readonly TierAssessment[]> {
    if (tiers.length === 0) return []
    // the same tiers asked at once (the joint meeting's members opening one page) are assessed
    // once: scoring, ranking and the funnels of 176 stations took 10–15 ms of the server's one
    // thread per request, more than its share of the engine's time once the figures were shared
    // (one answer for all, frozen: warehouse/answers.ts; this service's own, since its metrics may
    // be switched to other ways by a test)
    return this.platform.answers.answer(['assessment', this.instance, year, tiers, asOfMs], () => this.assess(year, tiers, asOfMs), { frozen: true })
  }

  private readonly instance = ++instances

  private async assess(year: number, tiers: ReadonlyArray<1 | 2 | 3>, asOfMs: number): Promise<TierAssessment[]> {
    const { scheme, from, to, inService, targets, specs, schemeIds, figures, samples } = await this.yearFigures(year, asOfMs)
    const rowsOf = (r: MetricResult) => new Map(r.rows.map((x) => [String(x.key), x]))
    // (whether a figure counted days of a provisional year: of the tier's own indicators)
    const provisional = new Map(schemeIds.map((id) => [id, figures.get(id)!.calendar_provisional || (samples.get(id)?.calendar_provisional ?? false)]))
    return tiers.map((tier) => this.assessTier(scheme, year, tier, from, to, asOfMs, inService.filter((u) => u.tier === tier), targets, {
      specs,
      figures: new Map(schemeIds.map((id) => [id, rowsOf(figures.get(id)!)])),
      samples: new Map([...samples].map(([id, r]) => [id, rowsOf(r)])),
      provisional,
    }))
  }

  /**
   * Every unit's figures for the year as of `asOfMs`, each unit on its own records over its part
   * of the year in service: the indicators of every tier's scheme and of every target set for the
   * year, the samples the schemes count apart, and the stock of open overdue cases a target's
   * projection adds. One question whoever asks, the tiers' assessment or a unit's targets: a
   * unit's targets and its score are read from the same figures, and a page that asks for both at
   * once gets one answer (warehouse/answers.ts).
   */
  private async yearFigures(year: number, asOfMs: number, yearTargets?: Target[]) {
    const { scheme } = await this.scheme(year)
    const { from, to } = this.period(year, asOfMs)
    // a unit not in service at any time of the year is not assessed, nor ranked
    const inService = [...this.platform.reference.units.values()].filter((u) => ALL_TIERS.includes(u.tier as 1 | 2 | 3) && inServiceDuring(u, year) !== undefined)
    const targets = yearTargets ?? await this.platform.reference.targets(year)
    const schemeIds = [...new Set(ALL_TIERS.flatMap((t) => schemeEntries(scheme, t).map((e) => e.id)))]
    const targetIds = targetedIds(targets)
    const stock = targetIds.some((id) => projectionBasis(INDICATOR_BY_ID.get(id)!) === 'pace_and_stock') ? [STOCK_ID] : []
    const ids = [...new Set([...schemeIds, ...targetIds, ...stock])]
    const specs = new Map(schemeIds.map((id) => [id, sampleOf(INDICATOR_BY_ID.get(id)!)]))
    const sampleIds = schemeIds.filter((id) => specs.get(id)!.indicator)
    // every indicator and the samples counted apart, in one query per source
    const results = await this.runInService([...ids, ...sampleIds.map((id) => specs.get(id)!.indicator!)], inService, year, from, to, asOfMs)
    return {
      scheme, from, to, inService, targets, specs, schemeIds,
      figures: new Map(ids.map((id, i) => [id, results[i]!])),
      samples: new Map(sampleIds.map((id, i) => [id, results[ids.length + i]!])),
    }
  }

  /** One tier's scores, grades and ranks from the figures of its units. */
  private assessTier(
    scheme: Scheme, year: number, tier: 1 | 2 | 3, from: string, to: string, asOfMs: number, units: Unit[], targets: Awaited<ReturnType<Platform['reference']['targets']>>,
    asked: { specs: Map<string, SampleSpec>; figures: Map<string, Map<string, MetricRow>>; samples: Map<string, Map<string, MetricRow>>; provisional: Map<string, boolean> },
  ): TierAssessment {
    const { specs, figures, samples } = asked
    const asOfText = toRfc3339(asOfMs, this.platform.warehouse.timezone)
    const entries = schemeEntries(scheme, tier)

    // whether each unit can be scored on each indicator, on what value
    const judged = new Map(entries.map((e) => [e.id, new Map(units.map((u) =>
      [u.unit_id, judgeSample(INDICATOR_BY_ID.get(e.id)!, specs.get(e.id)!, figures.get(e.id)!.get(u.unit_id), samples.get(e.id)?.get(u.unit_id), e.min_sample)]))]))
    // the values across the tier (for min–max): of the units scored on the indicator, once per indicator
    const tierValues = new Map(entries.map((e) => [e.id, [...judged.get(e.id)!.values()].map((j) => j.value).filter((v): v is number => v !== null)]))

    const assessed: AssessedUnit[] = units.map((u) => {
      const part = inServiceDuring(u, year) ?? null
      const list: AssessedIndicator[] = entries.map((e) => {
        const ind = INDICATOR_BY_ID.get(e.id)!
        const row = figures.get(e.id)!.get(u.unit_id)
        const j = judged.get(e.id)!.get(u.unit_id)!
        const target = targetForPart(ind, resolveTarget(targets, e.id, u.unit_id, u.tier), part, year)
        const score = j.reason === null ? scoreValue(e.method, ind.direction === 'higher_is_better', j.value, { target: target?.value ?? null, tierValues: tierValues.get(e.id)! }) : null
        const reason: NotScoredReason | null = j.reason ?? (score === null ? (e.method.kind === 'target' && !target ? 'no_target' : 'no_records') : null)
        return {
          id: e.id, name: ind.name.zh, category: e.category, value: row?.value ?? (ind.denominator ? null : 0), numerator: row?.numerator ?? 0, denominator: row?.denominator ?? (ind.denominator ? 0 : null),
          scored: score !== null, not_scored_reason: reason, sample: j.sample, sample_of: specs.get(e.id)!.text.zh, min_sample: e.min_sample,
          scored_value: score === null ? null : j.value, small_sample: reason === 'small_sample',
          target: target?.value ?? null, target_full_year: target?.full_year ?? null, score, scheme_weight: e.scheme_weight, weight: 0, points: 0, points_lost: 0,
          explain: EXPLAIN_LINKS[e.id]?.(explainQuery(u.unit_id, from, to, asOfText)) ?? null,
        }
      })
      const { scored_scheme_weight, composite } = spreadWeights(list)
      const grade = composite === null ? null : gradeOf(scheme, composite)
      return {
        unit_id: u.unit_id, name: u.name, tier: u.tier, composite_score: composite, grade: grade?.grade ?? null, grade_en: grade?.grade_en ?? null, rank: null,
        in_service: part, scored_scheme_weight, categories: {}, indicators: list,
      }
    })
    // scores are ranked to the hundredth of a point, as they are shown
    const rankBy = (score: (a: AssessedUnit) => number | null) =>
      rankWithTies(assessed.map((a) => ({ key: a.unit_id, score: score(a) === null ? null : Math.round(score(a)! * 100) / 100 })))
    const ranks = rankBy((a) => a.composite_score)
    for (const a of assessed) a.rank = ranks.get(a.unit_id) ?? null
    for (const category of [...new Set(entries.map((e) => e.category))]) {
      const of = (a: AssessedUnit) => a.indicators.filter((i) => i.category === category)
      const scoreIn = (a: AssessedUnit) => {
        const scored = of(a).filter((i) => i.score !== null && i.weight > 0)
        const weight = scored.reduce((sum, i) => sum + i.weight, 0)
        return weight > 0 ? scored.reduce((sum, i) => sum + i.points, 0) / weight : null
      }
      const categoryRanks = rankBy(scoreIn)
      const schemeWeight = entries.find((e) => e.category === category)!.category_weight
      for (const a of assessed) {
        a.categories[category] = {
          score: scoreIn(a), rank: categoryRanks.get(a.unit_id) ?? null, scheme_weight: schemeWeight,
          weight: of(a).reduce((s, i) => s + i.weight, 0), points: of(a).reduce((s, i) => s + i.points, 0),
        }
      }
    }
    assessed.sort((a, b) => (a.rank ?? Infinity) - (b.rank ?? Infinity) || a.unit_id.localeCompare(b.unit_id))
    return {
      year, tier, scheme: { year: scheme.year, version: scheme.version, name: scheme.name, min_sample: scheme.min_sample }, from, to,
      calendar_provisional: entries.some((e) => asked.provisional.get(e.id)), units: assessed,
    }
  }

  /**
   * One indicator ranked within a tier. Ranking is where the uncertainty of small samples is
   * shown (never in the score): the units are ranked on their values as they are, each with its
   * 95 % interval, the span of ranks that interval allows and its mark on the tier's funnel
   * (ranking.ts). Units are those in service in the year, each counted over its part of it.
   */
  async ranking(metricId: string, year: number, tier: 1 | 2 | 3, asOfMs: number) {
    // the same ranking asked at once (members opening the meeting page) is ranked once: the
    // funnel's limits are the server's own work, not the engine's (as tiers())
    const ind = this.metrics.indicator(metricId)
    return this.platform.answers.answer(['ranking', this.instance, metricId, year, tier, asOfMs], () => this.rank(ind, metricId, year, tier, asOfMs), { frozen: true })
  }

  private async rank(ind: Indicator, metricId: string, year: number, tier: 1 | 2 | 3, asOfMs: number) {
    const { scheme } = await this.scheme(year)
    const { from, to } = this.period(year, asOfMs)
    // a unit not in service at any time of the year is not ranked; one in service for part of it, on that part
    const units = [...this.platform.reference.units.values()].filter((u) => u.tier === tier && inServiceDuring(u, year) !== undefined)
    const spec = sampleOf(ind)
    const minSample = minSampleOf(scheme, tier, metricId)
    // a mean's records' spread (Σ x²) is asked as a figure of its own, over the same records
    const spread: Indicator | null = ind.spread ? { ...ind, id: `${ind.id}:spread`, numerator: ind.spread, spread: undefined } : null
    const asked: Array<string | Indicator> = [metricId, ...(spec.indicator ? [spec.indicator] : []), ...(spread ? [spread] : [])]
    const answers = await this.runInService(asked, units, year, from, to, asOfMs)
    const result = answers[0]!
    const sampleResult = spec.indicator ? answers[1] : undefined
    const spreadResult = spread ? answers.at(-1) : undefined
    const byUnit = new Map(result.rows.map((r) => [String(r.key), r]))
    const sampleByUnit = new Map((sampleResult?.rows ?? []).map((r) => [String(r.key), r]))
    const spreads = spreadResult ? new Map(spreadResult.rows.map((r) => [String(r.key), r.numerator])) : undefined
    // ranked on the values as they are; small samples are the intervals' and the funnel's to show
    const ranked = rankIndicator(ind, units.map((u) => ({ unit_id: u.unit_id, name: u.name })), byUnit, spreads)
    const rows = ranked.rows.map((r) => {
      const sample = sampleSize(spec, byUnit.get(r.unit_id), sampleByUnit.get(r.unit_id))
      return { ...r, sample, small_sample: sample < minSample }
    })
    return {
      metric: metricId, name: ind.name.zh, name_en: ind.name.en, unit: ind.unit, direction: ind.direction, year, tier, from, to, min_sample: minSample, sample_of: spec.text.zh,
      rank_by: 'value', calendar_provisional: answers.some((a) => a.calendar_provisional), funnel: ranked.funnel, rows,
    }
  }

  /** The indicators a unit has a target for in a year, each with the target it has (its own, its tier's or the district's). */
  async unitTargets(year: number, unit: { unit_id: string; tier: number }, yearTargets?: Target[]): Promise<Array<{ id: string; target: { value: number; scope: string } }>> {
    const targets = yearTargets ?? await this.platform.reference.targets(year)
    return targetedIds(targets).flatMap((id) => {
      const target = resolveTarget(targets, id, unit.unit_id, unit.tier)
      return target ? [{ id, target }] : []
    })
  }

  /**
   * A unit's targets for the year: where it stands and where it will end at the current pace. The
   * unit's figures are its own records (those that belong to it, as the assessment scores it:
   * by=unit), the same numerator and denominator its score is computed from; the units below it
   * (a street hall's stations) are given beside, in `below`, summed, never added to its own.
   */
  async targets(year: number, unitId: string, asOfMs: number) {
    const unit = this.platform.reference.units.get(unitId)
    if (!unit) throw new Error(`no unit ${unitId}`)
    const { from, to } = this.period(year, asOfMs)
    const { scheme } = await this.scheme(year)
    const entries = new Map(schemeEntries(scheme, unit.tier).map((e) => [e.id, e]))
    // (the year's targets read once: the unit's, and the indicators of every target the year's figures hold)
    const yearTargets = await this.platform.reference.targets(year)
    const wanted = await this.unitTargets(year, unit, yearTargets)
    const belowIds = this.platform.reference.withDescendants(unitId).filter((u) => u !== unitId)
    const below = new Set(belowIds)
    // every target indicator of the unit and the units below it, by unit: the figures of the
    // year the assessment scores (each unit over its part of the year in service: a unit opened
    // or closed in it is counted, targeted and projected on that part)
    const part = inServiceDuring(unit, year) ?? null
    const district = wanted.length ? await this.yearFigures(year, asOfMs, yearTargets) : undefined
    const own = (r: MetricResult | undefined) => r?.rows.find((x) => x.key === unitId)
    const used: MetricResult[] = []
    const figureOf = (id: string) => {
      const r = district!.figures.get(id)!
      used.push(r)
      return r
    }
    // a quantile does not add up over units: the units below are asked together for it
    const quantiles = wanted.filter((w) => INDICATOR_BY_ID.get(w.id)!.quantile).map((w) => w.id)
    const pooled = belowIds.length && quantiles.length ? await this.metrics.runMany(quantiles, { from, to, units: belowIds, asOfMs }) : []
    const rows = []
    for (const [k, { id, target: asSet }] of wanted.entries()) {
      const ind = INDICATOR_BY_ID.get(id)!
      const target = targetForPart(ind, asSet, part, year)!
      const figure = figureOf(id)
      const row = own(figure)
      const value = row?.value ?? (ind.denominator ? null : 0)
      const basis = projectionBasis(ind)
      // (the stock a count of both adds: the open overdue cases)
      const stockNow = basis === 'pace_and_stock' ? own(figureOf(STOCK_ID))?.value ?? 0 : 0
      const projection = projectYearEnd(ind, value, year, to, stockNow, part)
      const higher = ind.direction === 'higher_is_better'
      const meets = (v: number | null) => (v === null ? null : higher ? v >= target.value : v <= target.value)
      const entry = entries.get(id)
      // (a sample counted apart: the scheme of the unit's tier names the indicator)
      const counted = entry ? district!.samples.get(id) : undefined
      if (counted) used.push(counted)
      const sample = entry ? sampleSize(district!.specs.get(id)!, row, own(counted)) : null
      let belowFigure: { value: number | null; numerator: number; denominator: number | null } | null = null
      if (belowIds.length) {
        if (ind.quantile) {
          const r = pooled[quantiles.indexOf(id)]?.rows[0]
          belowFigure = { value: r?.value ?? null, numerator: r?.numerator ?? 0, denominator: r?.denominator ?? 0 }
        } else {
          const t = { numerator: 0, denominator: 0 }
          for (const r of figure.rows) {
            if (!below.has(String(r.key))) continue
            t.numerator += r.numerator
            t.denominator += r.denominator ?? 0
          }
          belowFigure = valueOf(ind, t)
        }
      }
      rows.push({
        metric: id, name: ind.name.zh, direction: ind.direction, target: target.value, target_scope: target.scope, target_full_year: target.full_year,
        value, numerator: row?.numerator ?? 0, denominator: row?.denominator ?? (ind.denominator ? 0 : null),
        attainment: value === null ? null : higher ? (target.value === 0 ? null : value / target.value) : value === 0 ? null : target.value / value,
        on_track: meets(value), projection, projection_basis: basis, projection_note: PROJECTION_NOTES[basis].zh, projection_note_en: PROJECTION_NOTES[basis].en,
        projected_to_meet: meets(projection),
        // as the assessment will count it: its sample and the scheme's minimum (null: not in the tier's scheme)
        in_scheme: entry !== undefined, sample, min_sample: entry?.min_sample ?? null,
        below_min_sample: entry && sample !== null ? sample < entry.min_sample : null,
        below: belowFigure,
      })
    }
    return {
      unit_id: unitId, year, from, to, counts: 'own' as const, in_service: part,
      calendar_provisional: used.some((r) => r.calendar_provisional) || pooled.some((r) => r.calendar_provisional),
      below: belowIds.length ? {
        unit_ids: belowIds, units: belowIds.length,
        label: '下属单位合计（单列，不计入本单位数字）', label_en: 'the units below it, summed (shown apart: not in the unit\'s own figures)',
      } : null,
      rows,
    }
  }
}
