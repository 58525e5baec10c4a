// A unit's monthly trend of the indicators it has targets for: its own value each month of the
// year to date, the median of its tier's units that month, and the target — what a unit
// leader's page draws, in one answer.
import type { Platform } from '../warehouse/index.ts'
import type { AssessmentService } from './assessment.ts'
import { INDICATOR_BY_ID } from './catalog.ts'
import { periodsOf, valueOf, type MetricRow, type MetricsService } from './service.ts'

export interface TrendValue {
  month: string
  value: number | null
  numerator: number
  denominator: number | null
}

export interface TrendMetric {
  metric: string
  name: string
  name_en: string
  unit: string
  direction: string
  target: number
  target_scope: string
  values: TrendValue[]
  /** Per month: the median of the tier's units' values that month (units without a figure left out). */
  tier_median: Array<number | null>
}

export interface UnitTrend {
  unit_id: string
  year: number
  from: string
  to: string
  months: string[]
  /** Whether any figure counted a day of a provisional year. */
  calendar_provisional: boolean
  metrics: TrendMetric[]
}

/** The median of some numbers (the mean of the middle two of an even count); null for none. */
export function median(values: number[]): number | null {
  if (values.length === 0) return null
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/**
 * The unit's trend for the year to date at `asOfMs`. The unit's value is the unit with the units
 * below it (as GET /api/v1/targets has it); the tier's median is over the tier's units, each on
 * the records that belong to it (as the assessment ranks them). Every indicator's two questions
 * are asked at once.
 */
export async function unitTrend(platform: Platform, metrics: MetricsService, assessment: AssessmentService, year: number, unitId: string, asOfMs: number): Promise<UnitTrend> {
  const unit = platform.reference.units.get(unitId)
  if (!unit) throw new Error(`no unit ${unitId}`)
  const { from, to } = assessment.period(year, asOfMs)
  const months = from <= to ? periodsOf('month', from, to).map((p) => p.key) : []
  const wanted = await assessment.unitTargets(year, unit)
  const own = platform.reference.withDescendants(unitId)
  const tierUnits = platform.reference.unitsOfTier(unit.tier)
  const ownSet = new Set(own)
  const tierSet = new Set(tierUnits)
  // one question for every indicator, by unit and month over the tier's units and the unit's own:
  // the unit's value each month is the ratio of its units' summed numerators and denominators (a
  // quantile does not add up: it is asked for the unit by month on its own)
  const together = months.length === 0 || wanted.length === 0 ? [] : await metrics.runMany(wanted.map((w) => w.id), { from, to, units: [...new Set([...tierUnits, ...own])], by: 'unit_month', asOfMs })
  const results = months.length === 0 ? [] : await Promise.all(wanted.map(async ({ id }, i) => {
    const ind = INDICATOR_BY_ID.get(id)!
    const both = together[i]!
    if (ind.quantile) return { rows: both.rows, own: (await metrics.run(id, { from, to, units: own, by: 'month', asOfMs })).rows }
    const sums = new Map<string, { numerator: number; denominator: number }>()
    for (const r of both.rows) {
      const [u, month] = String(r.key).split('|') as [string, string]
      if (!ownSet.has(u)) continue
      const t = sums.get(month) ?? { numerator: 0, denominator: 0 }
      t.numerator += r.numerator
      t.denominator += r.denominator ?? 0
      sums.set(month, t)
    }
    return { rows: both.rows, own: [...sums].map(([month, t]): MetricRow => ({ key: month, ...valueOf(ind, t) })) }
  }))
  const out: TrendMetric[] = wanted.map(({ id, target }, i) => {
    const ind = INDICATOR_BY_ID.get(id)!
    const result = results[i]
    const byMonth = new Map<string, MetricRow>((result?.own ?? []).map((r) => [String(r.key), r]))
    const tierByMonth = new Map<string, number[]>()
    for (const r of result?.rows ?? []) {
      const [u, month] = String(r.key).split('|') as [string, string]
      if (tierSet.has(u) && r.value !== null) tierByMonth.set(month, [...(tierByMonth.get(month) ?? []), r.value])
    }
    return {
      metric: id, name: ind.name.zh, name_en: ind.name.en, unit: ind.unit, direction: ind.direction, target: target.value, target_scope: target.scope,
      values: months.map((m) => {
        const r = byMonth.get(m)
        // a month without records: a count is 0, a ratio has no value
        if (!r) return { month: m.slice(0, 7), value: ind.denominator ? null : 0, numerator: 0, denominator: ind.denominator ? 0 : null }
        return { month: m.slice(0, 7), value: r.value, numerator: r.numerator, denominator: r.denominator }
      }),
      tier_median: months.map((m) => median(tierByMonth.get(m) ?? [])),
    }
  })
  return { unit_id: unitId, year, from, to, months: months.map((m) => m.slice(0, 7)), calendar_provisional: together.some((r) => r.calendar_provisional), metrics: out }
}
