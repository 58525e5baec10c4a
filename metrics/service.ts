// Runs catalogue indicators against the warehouse and returns rows that carry their numerator
// and denominator, so any figure can be checked by hand.
import { localDate, parseTimestamp, queryRows, toRfc3339, type Platform } from '../warehouse/index.ts'
import { INDICATOR_BY_ID, type Indicator, type Part } from './catalog.ts'
import { compileParts, sourceSupports, TIME_GROUPINGS, type Grouping } from './compile.ts'
import { SOURCES, type SourceId } from './sources.ts'

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

export class UnsupportedGroupingError extends Error {
  readonly code = 'unsupported_grouping'
  constructor(id: string, by: string) {
    super(`${id} cannot be grouped by ${by}: its records have no ${by}.`)
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

type Totals = Map<string, { numerator: number; denominator: number; quantile?: number }>

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
    const parts = [indicator.numerator, indicator.denominator, indicator.quantile, indicator.plusOpenAtEnd].filter((p): p is Part => p !== undefined && p !== null)
    for (const p of parts) if (!sourceSupports(p.source, req.by)) throw new UnsupportedGroupingError(id, req.by!)

    // months of the period up to as_of, for per-month averages (staff FTE)
    const lastDay = to < asOfDate ? to : asOfDate
    const months = Math.max(1, periodsOf('month', from, lastDay).length)
    const params = {
      from, to, units: req.units, months,
      unit_tier: Object.fromEntries([...this.platform.reference.units.values()].map((u) => [u.unit_id, u.tier])),
      // the district's settings (PUT /api/v1/settings)
      rectification_limit: this.platform.settings.get().rectification_limit_days,
      complaint_limit: this.platform.settings.get().complaint_limit_days,
    }

    // Each source once, with every aggregate the indicator needs from it.
    const bySource = new Map<SourceId, Part[]>()
    for (const p of parts) if (p.source !== 'open_cases') bySource.set(p.source, [...new Set([...(bySource.get(p.source) ?? []), p])])
    const results = new Map<Part, Map<string, number>>()
    for (const [source, sourceParts] of bySource) {
      const got = await this.aggregate(source, sourceParts, req, params, req.asOfMs)
      sourceParts.forEach((p, i) => results.set(p, got[i]!))
    }
    // Open cases are judged at the end of each period (or at as_of, if that comes first): all the
    // period ends in one reading of the clock, each row carrying the moment it was read at.
    const openParts = parts.filter((p) => p.source === 'open_cases')
    if (openParts.length) {
      const ends = req.by && TIME_GROUPINGS.includes(req.by)
        ? periodsOf(req.by as 'month', from, to).map((p) => (p.last < to ? p.last : to))
        : [to]
      const moments = ends
        .map((last) => Math.min(parseTimestamp(`${last}T23:59:59.999`, tz)!, req.asOfMs))
        .filter((ms, i, all) => localDate(ms, tz) >= from && all.indexOf(ms) === i)
      if (moments.length) {
        const got = await this.aggregate('open_cases', openParts, req, params, moments)
        openParts.forEach((p, i) => results.set(p, got[i]!))
      }
    }

    const keys = new Set<string>()
    for (const m of results.values()) for (const k of m.keys()) keys.add(k)
    const totals: Totals = new Map()
    for (const key of keys) {
      const v = (p: Part | null | undefined) => (p ? results.get(p)?.get(key) ?? 0 : 0)
      totals.set(key, {
        numerator: v(indicator.numerator) + v(indicator.plusOpenAtEnd),
        denominator: v(indicator.denominator),
        quantile: indicator.quantile ? results.get(indicator.quantile)?.get(key) : undefined,
      })
    }

    const rows: MetricRow[] = [...totals]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, t]) => ({ key: req.by === 'tier' ? Number(key) : key, ...valueOf(indicator, t) }))
    return {
      metric: indicator.id,
      name: indicator.name.zh,
      name_en: indicator.name.en,
      unit: indicator.unit,
      direction: indicator.direction,
      from,
      to,
      as_of: toRfc3339(req.asOfMs, tz),
      rows,
    }
  }

  /** One query over a source: per key, the value of each part. `at` is as_of, or the moments open cases are read at. */
  private async aggregate(source: SourceId, parts: Part[], req: MetricRequest, params: Record<string, unknown>, at: number | number[]): Promise<Array<Map<string, number>>> {
    const { cases, warehouse } = this.platform
    const asOfMs = Array.isArray(at) ? Math.max(...at) : at
    // narrow the cases by their stored facts before any clock work: exact for the period's
    // stops and acceptances (a stop by as_of is the case's first stop), and for scope "now"
    const mode = cases.clockMode(asOfMs)
    const narrow = [
      source === 'stopped_cases' ? 'toDate(f_stopped_at) BETWEEN {from:Date} AND {to:Date}' : '',
      source === 'accepted_cases' ? 'toDate(f_accepted_at) BETWEEN {from:Date} AND {to:Date}' : '',
      source === 'open_cases' ? 'ifNull(f_stopped_at > as_of, true) AND ifNull(f_withdrawn_at > as_of, true)' : '',
      mode === 'facts' && req.units !== undefined && SOURCES[source].clock ? 'f_unit_id IN {units:Array(String)}' : '',
    ].filter(Boolean)
    const filter = narrow.length ? narrow.join(' AND ') : undefined
    const clock = Array.isArray(at) ? cases.clockAt(at, filter) : cases.clock(asOfMs, filter, mode)
    const sql = compileParts(source, parts, req.by, req.units !== undefined, warehouse.timezone, clock.sql)
    const needsCalendar = SOURCES[source].clock || SOURCES[source].calendar
    const run = () => queryRows<Record<string, string | number | null>>(warehouse, sql, { ...clock.params, ...params })
    const rows = needsCalendar ? await cases.withCalendarCheck(asOfMs, run) : await run()
    return parts.map((_, i) => new Map(rows.map((r) => [String(r.key), Number(r[`v${i}`] ?? 0)])))
  }
}

/** value, numerator and denominator of one row, by the indicator's rule. */
function valueOf(i: Indicator, t: { numerator: number; denominator: number; quantile?: number }): Omit<MetricRow, 'key'> {
  if (i.quantile) return { value: Number.isFinite(t.quantile) && t.denominator > 0 ? t.quantile! : null, numerator: t.quantile ?? 0, denominator: t.denominator }
  if (!i.denominator) return { value: t.numerator, numerator: t.numerator, denominator: null }
  if (t.denominator === 0) return { value: null, numerator: t.numerator, denominator: t.denominator }
  const ratio = t.numerator / t.denominator
  return { value: (i.complement ? 1 - ratio : ratio) * (i.scale ?? 1), numerator: t.numerator, denominator: t.denominator }
}
