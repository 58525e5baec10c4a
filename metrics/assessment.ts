// The annual assessment: every unit of a tier scored on the scheme's indicators, a composite
// score and grade, its rank within the tier, the points lost per indicator (with where to look),
// targets cascaded district → tier → unit, attainment and a year-end projection.
import { localDate, nowSeconds, queryRows, type Platform, type Target } from '../warehouse/index.ts'
import { INDICATOR_BY_ID, type Category, type Indicator } from './catalog.ts'
import { dongchengScheme, gradeOf, schemeProblems, type Scheme, type ScoringMethod } from './scheme.ts'
import type { MetricRow, MetricsService } from './service.ts'

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

/** One indicator scored 0–100 by the scheme's method; null when there is nothing to score. */
export function scoreValue(method: ScoringMethod, higherIsBetter: boolean, value: number | null, ctx: { target?: number | null; tierValues: number[] }): number | null {
  if (value === null || !Number.isFinite(value)) return null
  switch (method.kind) {
    case 'target': {
      const t = ctx.target
      if (t === null || t === undefined) return null
      const attainment = higherIsBetter ? (t === 0 ? 1 : value / t) : value === 0 ? 1 : t / value
      return 100 * Math.max(0, Math.min(1, attainment))
    }
    case 'minmax': {
      const min = Math.min(...ctx.tierValues)
      const max = Math.max(...ctx.tierValues)
      if (!(max > min)) return 100
      return 100 * (higherIsBetter ? (value - min) / (max - min) : (max - value) / (max - min))
    }
    case 'stepped': {
      const step = method.steps.find((s) => (higherIsBetter ? value >= (s.at_least ?? -Infinity) : value <= (s.at_most ?? Infinity)))
      return step ? step.score : 0
    }
    case 'deduction':
      return Math.max(0, 100 - Math.min(method.max, value * method.per))
  }
}

/**
 * Where a figure ends the year at the current pace: counts accumulate with the days of the year
 * gone by; rates and averages stand where they are.
 */
export function projectYearEnd(ind: Pick<Indicator, 'unit'>, value: number | null, year: number, to: string): number | null {
  if (value === null) return null
  if (ind.unit !== 'cases') return value
  const from = Date.parse(`${year}-01-01`)
  const elapsed = (Date.parse(to) - from) / 86_400_000 + 1
  const days = (Date.parse(`${year}-12-31`) - from) / 86_400_000 + 1
  return (value * days) / elapsed
}

/** The target of a unit for a metric: its own, else its tier's, else the district's (指标层层分解). */
export function resolveTarget(targets: Target[], metricId: string, unitId: string, tier: number): { value: number; scope: string } | null {
  for (const scope of [`unit:${unitId}`, `tier:${tier}`, 'district']) {
    const t = targets.find((x) => x.metric_id === metricId && x.scope === scope)
    if (t) return { value: Number(t.value), scope }
  }
  return null
}

export interface AssessedIndicator {
  id: string
  name: string
  category: Category
  value: number | null
  numerator: number
  denominator: number | null
  /** The value the score is computed from: a rate of a small sample is taken at its conservative Wilson bound. */
  scored_value: number | null
  small_sample: boolean
  target: number | null
  score: number | null
  /** Effective weight in the composite (category × indicator, renormalised over what could be scored). */
  weight: number
  points: number
  points_lost: number
  /** Where to see the cases behind the figure (case indicators). */
  explain: string | null
}

export interface AssessedUnit {
  unit_id: string
  name: string
  tier: number
  composite_score: number | null
  grade: string | null
  grade_en: string | null
  rank: number | null
  /** Each category's score (its points over its weight, 0–100) and the unit's rank on it within the tier. */
  categories: Partial<Record<Category, { score: number | null; rank: number | null }>>
  indicators: AssessedIndicator[]
}

export interface TierAssessment {
  year: number
  tier: number
  scheme: { year: number; version: string; name: string }
  from: string
  to: string
  /** Whether any figure counted a day of a provisional year. */
  calendar_provisional: boolean
  units: AssessedUnit[]
}

/** Where the records behind an indicator's lost points are listed. */
const EXPLAIN_LINKS: Record<string, (unit: string) => string> = {
  on_time_rate: (u) => `/api/v1/cases?unit_id=${u}&overdue=true`,
  overdue_cases: (u) => `/api/v1/cases?unit_id=${u}&overdue=true`,
  overdue_open: (u) => `/api/v1/cases?unit_id=${u}&status=open&overdue=true`,
  avg_overdue_days: (u) => `/api/v1/cases?unit_id=${u}&overdue=true`,
  satisfaction_rate: (u) => `/api/v1/ratings?unit_id=${u}&bad=true`,
  bad_review_rate: (u) => `/api/v1/ratings?unit_id=${u}&bad=true`,
  bad_review_rectified_on_time_rate: (u) => `/api/v1/ratings?unit_id=${u}&bad=true`,
  revisit_rate: (u) => `/api/v1/ratings?unit_id=${u}&bad=true`,
}

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

  async tier(year: number, tier: 1 | 2 | 3, asOfMs: number): Promise<TierAssessment> {
    const { scheme } = await this.scheme(year)
    const { from, to } = this.period(year, asOfMs)
    const units = [...this.platform.reference.units.values()].filter((u) => u.tier === tier)
    const unitIds = units.map((u) => u.unit_id)
    const targets = await this.platform.reference.targets(year)
    const categories = scheme.tiers[String(tier) as '1']
    const ids = [...new Set(Object.values(categories).flatMap((c) => c.indicators.map((i) => i.id)))]
    const figures = new Map<string, Map<string, MetricRow>>()
    // every indicator of the scheme in one query
    const results = await this.metrics.runMany(ids, { from, to, units: unitIds, by: 'unit', asOfMs })
    ids.forEach((id, i) => figures.set(id, new Map(results[i]!.rows.map((r) => [String(r.key), r]))))

    // the value each unit is scored on
    const scoredValue = (ind: Indicator, row: MetricRow | undefined) => {
      if (!row || row.value === null) return { value: null, small: false }
      const small = row.denominator !== null && row.denominator < scheme.min_sample
      if (ind.unit === 'ratio' && small && row.denominator !== null && !ind.complement) {
        const bound = wilsonBound(row.numerator, row.denominator, ind.direction === 'higher_is_better' ? 'lower' : 'upper')
        return { value: bound, small }
      }
      return { value: row.value, small }
    }

    // what each indicator's values are across the tier (for min–max), once per indicator
    const tierValues = new Map(ids.map((id) => {
      const ind = INDICATOR_BY_ID.get(id)!
      return [id, unitIds.map((u) => scoredValue(ind, figures.get(id)!.get(u)).value).filter((v): v is number => v !== null)]
    }))

    const assessed: AssessedUnit[] = units.map((u) => {
      const list: AssessedIndicator[] = []
      let composite = 0
      let scoredWeight = 0
      for (const [category, def] of Object.entries(categories) as Array<[Category, (typeof categories)['cost']]>) {
        const inCategory: AssessedIndicator[] = []
        for (const si of def.indicators) {
          const ind = INDICATOR_BY_ID.get(si.id)!
          const row = figures.get(si.id)!.get(u.unit_id)
          const { value, small } = scoredValue(ind, row)
          const target = resolveTarget(targets, si.id, u.unit_id, u.tier)
          const score = scoreValue(si.method, ind.direction === 'higher_is_better', value, { target: target?.value ?? null, tierValues: tierValues.get(si.id)! })
          inCategory.push({
            id: si.id, name: ind.name.zh, category, value: row?.value ?? null, numerator: row?.numerator ?? 0, denominator: row?.denominator ?? null,
            scored_value: value, small_sample: small, target: target?.value ?? null, score, weight: si.weight, points: 0, points_lost: 0,
            explain: EXPLAIN_LINKS[si.id]?.(encodeURIComponent(u.unit_id)) ?? null,
          })
        }
        // weights renormalised over what could be scored, within the category and across them
        const present = inCategory.filter((i) => i.score !== null)
        const presentWeight = present.reduce((s, i) => s + i.weight, 0)
        for (const i of inCategory) i.weight = i.score === null || presentWeight === 0 ? 0 : (def.weight * i.weight) / presentWeight
        if (presentWeight > 0) scoredWeight += def.weight
        list.push(...inCategory)
      }
      for (const i of list) {
        i.weight = scoredWeight > 0 ? i.weight / scoredWeight : 0
        i.points = i.score === null ? 0 : i.weight * i.score
        i.points_lost = i.score === null ? 0 : i.weight * (100 - i.score)
        composite += i.points
      }
      const score = scoredWeight > 0 ? composite : null
      const grade = score === null ? null : gradeOf(scheme, score)
      return { unit_id: u.unit_id, name: u.name, tier: u.tier, composite_score: score, grade: grade?.grade ?? null, grade_en: grade?.grade_en ?? null, rank: null, categories: {}, indicators: list }
    })
    // scores are ranked to the hundredth of a point, as they are shown
    const rankBy = (score: (a: AssessedUnit) => number | null) =>
      rankWithTies(assessed.map((a) => ({ key: a.unit_id, score: score(a) === null ? null : Math.round(score(a)! * 100) / 100 })))
    const ranks = rankBy((a) => a.composite_score)
    for (const a of assessed) a.rank = ranks.get(a.unit_id) ?? null
    for (const category of Object.keys(categories) as Category[]) {
      const scoreIn = (a: AssessedUnit) => {
        const scored = a.indicators.filter((i) => i.category === category && i.score !== null && i.weight > 0)
        const weight = scored.reduce((sum, i) => sum + i.weight, 0)
        return weight > 0 ? scored.reduce((sum, i) => sum + i.points, 0) / weight : null
      }
      const categoryRanks = rankBy(scoreIn)
      for (const a of assessed) a.categories[category] = { score: scoreIn(a), rank: categoryRanks.get(a.unit_id) ?? null }
    }
    assessed.sort((a, b) => (a.rank ?? Infinity) - (b.rank ?? Infinity) || a.unit_id.localeCompare(b.unit_id))
    return { year, tier, scheme: { year: scheme.year, version: scheme.version, name: scheme.name }, from, to, calendar_provisional: results.some((r) => r.calendar_provisional), units: assessed }
  }

  /** One indicator ranked within a tier; rates of small samples at their conservative Wilson bound. */
  async ranking(metricId: string, year: number, tier: 1 | 2 | 3, asOfMs: number) {
    const ind = this.metrics.indicator(metricId)
    const { scheme } = await this.scheme(year)
    const { from, to } = this.period(year, asOfMs)
    const units = [...this.platform.reference.units.values()].filter((u) => u.tier === tier)
    const result = await this.metrics.run(metricId, { from, to, units: units.map((u) => u.unit_id), by: 'unit', asOfMs })
    const byUnit = new Map(result.rows.map((r) => [String(r.key), r]))
    const higher = ind.direction === 'higher_is_better'
    const rows = units.map((u) => {
      const r = byUnit.get(u.unit_id)
      const sample = r?.denominator ?? null
      const isRate = ind.unit === 'ratio' && !ind.complement && r && r.denominator !== null
      const rankValue = !r || r.value === null ? null : isRate ? wilsonBound(r.numerator, r.denominator!, higher ? 'lower' : 'upper') : r.value
      return {
        unit_id: u.unit_id, name: u.name, value: r?.value ?? null, numerator: r?.numerator ?? 0, denominator: r?.denominator ?? null,
        sample, small_sample: sample !== null && sample < scheme.min_sample, rank_value: rankValue, rank: null as number | null,
      }
    })
    const ranks = rankWithTies(rows.map((r) => ({ key: r.unit_id, score: r.rank_value })), higher)
    for (const r of rows) r.rank = ranks.get(r.unit_id) ?? null
    rows.sort((a, b) => (a.rank ?? Infinity) - (b.rank ?? Infinity) || a.unit_id.localeCompare(b.unit_id))
    return { metric: metricId, name: ind.name.zh, direction: ind.direction, year, tier, from, to, min_sample: scheme.min_sample, rank_by: ind.unit === 'ratio' ? 'wilson_bound_95' : 'value', calendar_provisional: result.calendar_provisional, rows }
  }

  /** The indicators a unit has a target for in a year, each with the target it has (its own, its tier's or the district's). */
  async unitTargets(year: number, unit: { unit_id: string; tier: number }): Promise<Array<{ id: string; target: { value: number; scope: string } }>> {
    const targets = await this.platform.reference.targets(year)
    const ids = [...new Set(targets.map((t) => t.metric_id))].filter((id) => INDICATOR_BY_ID.has(id))
    return ids.flatMap((id) => {
      const target = resolveTarget(targets, id, unit.unit_id, unit.tier)
      return target ? [{ id, target }] : []
    })
  }

  /** A unit's targets for the year: where it stands and where it will end at the current pace. */
  async targets(year: number, unitId: string, asOfMs: number) {
    const unit = this.platform.reference.units.get(unitId)
    if (!unit) throw new Error(`no unit ${unitId}`)
    const { from, to } = this.period(year, asOfMs)
    const wanted = await this.unitTargets(year, unit)
    // every target indicator in one query
    const results = wanted.length ? await this.metrics.runMany(wanted.map((w) => w.id), { from, to, units: this.platform.reference.withDescendants(unitId), asOfMs }) : []
    const rows = []
    for (const [i, { id, target }] of wanted.entries()) {
      const ind = INDICATOR_BY_ID.get(id)!
      const [row] = results[i]!.rows
      const value = row?.value ?? null
      const projection = projectYearEnd(ind, value, year, to)
      const higher = ind.direction === 'higher_is_better'
      const meets = (v: number | null) => (v === null ? null : higher ? v >= target.value : v <= target.value)
      rows.push({
        metric: id, name: ind.name.zh, direction: ind.direction, target: target.value, target_scope: target.scope,
        value, numerator: row?.numerator ?? 0, denominator: row?.denominator ?? null,
        attainment: value === null ? null : higher ? (target.value === 0 ? null : value / target.value) : value === 0 ? null : target.value / value,
        on_track: meets(value), projection, projected_to_meet: meets(projection),
      })
    }
    return { unit_id: unitId, year, from, to, calendar_provisional: results.some((r) => r.calendar_provisional), rows }
  }
}
