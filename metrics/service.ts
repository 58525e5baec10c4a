// Runs catalogue indicators against the warehouse and returns rows that carry their numerator
// and denominator, so any figure can be checked by hand.
import { localDate, parseTimestamp, queryRows, type Platform } from '../warehouse/index.ts'
import { INDICATOR_BY_ID, type Indicator } from './catalog.ts'
import { compileOpenAt, compileStopped, type Grouping } from './compile.ts'

export interface MetricRequest {
  from?: string
  to?: string
  /** Units in scope (already resolved from district / tier:N / unit:ID); undefined = district. */
  units?: string[]
  by?: Grouping
  asOfMs: number
}

export interface MetricRow {
  key: string | number
  value: number | null
  numerator: number
  denominator: number | null
}

export interface MetricResult {
  metric: string
  name: string
  name_en: string
  unit: string
  direction: string
  from: string
  to: string
  as_of: string
  rows: MetricRow[]
}

export class UnknownMetricError extends Error {
  readonly code = 'unknown_metric'
  constructor(id: string) {
    super(`There is no indicator ${JSON.stringify(id)}; GET /api/v1/metrics lists them.`)
  }
}

const addMonths = (date: string, n: number) => {
  const d = new Date(date + 'T00:00:00Z')
  d.setUTCMonth(d.getUTCMonth() + n)
  return d.toISOString().slice(0, 10)
}
const dayBefore = (date: string) => new Date(Date.parse(date + 'T00:00:00Z') - 86_400_000).toISOString().slice(0, 10)

/** The periods of a time grouping that overlap [from, to]: first day and last day of each. */
export function periodsOf(by: 'month' | 'quarter' | 'year', from: string, to: string): Array<{ key: string; last: string }> {
  const step = by === 'month' ? 1 : by === 'quarter' ? 3 : 12
  const [y, m] = from.split('-').map(Number) as [number, number]
  const startMonth = by === 'month' ? m : by === 'quarter' ? Math.floor((m - 1) / 3) * 3 + 1 : 1
  let key = `${y}-${String(startMonth).padStart(2, '0')}-01`
  const out: Array<{ key: string; last: string }> = []
  while (key <= to) {
    const next = addMonths(key, step)
    out.push({ key, last: dayBefore(next) })
    key = next
  }
  return out
}

export class MetricsService {
  constructor(private readonly platform: Platform) {}

  indicator(id: string): Indicator {
    const indicator = INDICATOR_BY_ID.get(id)
    if (!indicator) throw new UnknownMetricError(id)
    return indicator
  }

  async run(id: string, req: MetricRequest): Promise<MetricResult> {
    const indicator = this.indicator(id)
    const tz = this.platform.warehouse.timezone
    const asOfDate = localDate(req.asOfMs, tz)
    const to = req.to ?? asOfDate
    const from = req.from ?? `${to.slice(0, 4)}-01-01`
    const unitTier = Object.fromEntries([...this.platform.reference.units.values()].map((u) => [u.unit_id, u.tier]))
    const scopeParams = { from, to, units: req.units, unit_tier: unitTier }
    const { cases } = this.platform

    const totals = new Map<string, { numerator: number; denominator: number | null }>()
    const add = (key: string, numerator: number, denominator: number | null) => {
      const t = totals.get(key) ?? { numerator: 0, denominator: indicator.denominator ? 0 : null }
      t.numerator += numerator
      if (t.denominator !== null && denominator !== null) t.denominator += denominator
      totals.set(key, t)
    }

    const clock = cases.clock(req.asOfMs)
    const stopped = await cases.withCalendarCheck(req.asOfMs, () =>
      queryRows<{ key: string; numerator: number; denominator: number | null }>(
        this.platform.warehouse,
        compileStopped(indicator, { from, to, units: req.units, by: req.by }, clock.sql),
        { ...clock.params, ...scopeParams },
      ),
    )
    for (const r of stopped) add(r.key, Number(r.numerator), r.denominator === null ? null : Number(r.denominator))

    if (indicator.openAtPeriodEnd) {
      // Open cases are judged at the end of each period (or at as_of, if that comes first).
      const ends = req.by === 'month' || req.by === 'quarter' || req.by === 'year'
        ? periodsOf(req.by, from, to).map((p) => ({ key: p.key, last: p.last < to ? p.last : to }))
        : [{ key: '', last: to }]
      for (const period of ends) {
        const endMs = Math.min(parseTimestamp(`${period.last}T23:59:59.999`, tz)!, req.asOfMs)
        if (localDate(endMs, tz) < from || (period.key && period.key > asOfDate)) continue
        const atEnd = cases.clock(endMs)
        const open = await cases.withCalendarCheck(endMs, () =>
          queryRows<{ key: string; numerator: number }>(
            this.platform.warehouse,
            compileOpenAt(indicator.openAtPeriodEnd!, req.by, req.units, atEnd.sql),
            { ...atEnd.params, ...scopeParams, period_key: period.key },
          ),
        )
        for (const r of open) add(r.key, Number(r.numerator), null)
      }
    }

    const rows: MetricRow[] = [...totals]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, t]) => ({
        key: req.by === 'tier' ? Number(key) : key,
        value: t.denominator === null ? t.numerator : t.denominator === 0 ? null : t.numerator / t.denominator,
        numerator: t.numerator,
        denominator: t.denominator,
      }))
    return {
      metric: indicator.id,
      name: indicator.name.zh,
      name_en: indicator.name.en,
      unit: indicator.unit,
      direction: indicator.direction,
      from,
      to,
      as_of: new Date(req.asOfMs).toISOString(),
      rows,
    }
  }
}
