// A unit's monthly trend of the indicators it has targets for: its own value each month of the
// year to date, the median of its tier's units that month, and the target — what a unit
// leader's page draws, in one answer.
import type { Platform } from '../warehouse/index.ts'
import type { AssessmentService } from './assessment.ts'
import { INDICATOR_BY_ID, type Indicator } from './catalog.ts'
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
  /** The units below the unit (a street hall's stations), summed per month; null for a unit with none below it. Never part of `values`. */
  below: { values: TrendValue[] } | null
}

export interface UnitTrend {
  unit_id: string
  year: number
  from: string
  to: string
  months: string[]
  /** `values` count the unit's own records (by=unit): the same its targets and its score count. */
  counts: 'own'
  /** Which units `below` sums, with a label saying it is apart from the unit's own figures; null for a unit with none below it. */
  below: { unit_ids: string[]; units: number; label: string; label_en: string } | null
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
 * The unit's trend for the year to date at `asOfMs`. The unit's values are its own records (those
 * that belong to it: by=unit, as GET /api/v1/targets and the assessment count them); the units
 * below it (a street hall's stations) are given beside in `below`, summed, never in its values.
 * The tier's median is over the tier's units, each on its own records. Every indicator is asked
 * at once, by unit and month over the tier, the unit and the units below it.
 */
export async function unitTrend(platform: Platform, metrics: MetricsService, assessment: AssessmentService, year: number, unitId: string, asOfMs: number): Promise<UnitTrend> {
  const unit = platform.reference.units.get(unitId)
  if (!unit) throw new Error(`no unit ${unitId}`)
  const { from, to } = assessment.period(year, asOfMs)
  const months = from <= to ? periodsOf('month', from, to).map((p) => p.key) : []
  const wanted = await assessment.unitTargets(year, unit)
  const belowIds = platform.reference.withDescendants(unitId).filter((u) => u !== unitId)
  const tierUnits = platform.reference.unitsOfTier(unit.tier)
  const belowSet = new Set(belowIds)
  const tierSet = new Set(tierUnits)
  const asked = wanted.length === 0 || months.length === 0
  const together = asked ? [] : await metrics.runMany(wanted.map((w) => w.id), { from, to, units: [...new Set([unitId, ...tierUnits, ...belowIds])], by: 'unit_month', asOfMs })
  // the units below, summed per month: the ratio of their summed numerators and denominators (a
  // quantile does not add up: it is asked for them together by month)
  const belowRows = asked || belowIds.length === 0 ? [] : await Promise.all(wanted.map(async ({ id }, i) => {
    const ind = INDICATOR_BY_ID.get(id)!
    if (ind.quantile) return (await metrics.run(id, { from, to, units: belowIds, by: 'month', asOfMs })).rows
    const sums = new Map<string, { numerator: number; denominator: number }>()
    for (const r of together[i]!.rows) {
      const [u, month] = String(r.key).split('|') as [string, string]
      if (!belowSet.has(u)) continue
      const t = sums.get(month) ?? { numerator: 0, denominator: 0 }
      t.numerator += r.numerator
      t.denominator += r.denominator ?? 0
      sums.set(month, t)
    }
    return [...sums].map(([month, t]): MetricRow => ({ key: month, ...valueOf(ind, t) }))
  }))
  const series = (ind: Indicator, byMonth: Map<string, MetricRow>): TrendValue[] => months.map((m) => {
    const r = byMonth.get(m)
    // a month without records: a count is 0, a ratio has no value
    if (!r) return { month: m.slice(0, 7), value: ind.denominator ? null : 0, numerator: 0, denominator: ind.denominator ? 0 : null }
    return { month: m.slice(0, 7), value: r.value, numerator: r.numerator, denominator: r.denominator }
  })
  const out: TrendMetric[] = wanted.map(({ id, target }, i) => {
    const ind = INDICATOR_BY_ID.get(id)!
    const own = new Map<string, MetricRow>()
    const tierByMonth = new Map<string, number[]>()
    for (const r of together[i]?.rows ?? []) {
      const [u, month] = String(r.key).split('|') as [string, string]
      if (u === unitId) own.set(month, r)
      if (tierSet.has(u) && r.value !== null) tierByMonth.set(month, [...(tierByMonth.get(month) ?? []), r.value])
    }
    return {
      metric: id, name: ind.name.zh, name_en: ind.name.en, unit: ind.unit, direction: ind.direction, target: target.value, target_scope: target.scope,
      values: series(ind, own),
      tier_median: months.map((m) => median(tierByMonth.get(m) ?? [])),
      below: belowIds.length ? { values: series(ind, new Map((belowRows[i] ?? []).map((r) => [String(r.key), r]))) } : null,
    }
  })
  return {
    unit_id: unitId, year, from, to, months: months.map((m) => m.slice(0, 7)), counts: 'own',
    below: belowIds.length ? { unit_ids: belowIds, units: belowIds.length, label: '下属单位合计（单列，不计入本单位数字）', label_en: 'the units below it, summed (shown apart: not in the unit\'s own values)' } : null,
    calendar_provisional: together.some((r) => r.calendar_provisional), metrics: out,
  }
}
