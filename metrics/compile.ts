// Indicator + (period, scope, by, as_of) → parameterised ClickHouse SQL over the case clock.
// Every value is a bound parameter; a ratio is Σ numerator / Σ denominator with nullIf.
import type { CaseIndicator } from './catalog.ts'

export const GROUPINGS = ['unit', 'tier', 'item', 'month', 'quarter', 'year'] as const
export type Grouping = (typeof GROUPINGS)[number]

export interface MetricQuery {
  from: string
  to: string
  /** Units in scope; undefined = the whole district. */
  units: string[] | undefined
  by: Grouping | undefined
}

/** The SQL key of a row of the clock relation for a grouping; `dateColumn` places it in time. */
export function keyExpression(by: Grouping | undefined, dateColumn: string): string {
  switch (by) {
    case undefined:
      return `'all'`
    case 'unit':
      return 'unit_id'
    case 'tier':
      return `toString({unit_tier:Map(String, UInt8)}[unit_id])`
    case 'item':
      return `ifNull(item_code, '')`
    case 'month':
      return `toString(toStartOfMonth(toDate(${dateColumn})))`
    case 'quarter':
      return `toString(toStartOfQuarter(toDate(${dateColumn})))`
    case 'year':
      return `toString(toStartOfYear(toDate(${dateColumn})))`
  }
}

/** Cases stopped in [from, to], aggregated per key. */
export function compileStopped(indicator: CaseIndicator, q: MetricQuery, clockSql: string): string {
  const scope = q.units ? `AND unit_id IN {units:Array(String)}` : ''
  return `
SELECT ${keyExpression(q.by, 'stopped_at')} AS key,
  toFloat64(${indicator.numerator}) AS numerator,
  ${indicator.denominator ? `toFloat64(${indicator.denominator})` : 'NULL'} AS denominator
FROM (${clockSql})
WHERE status IN ('completed', 'rejected') AND toDate(stopped_at) BETWEEN {from:Date} AND {to:Date} ${scope}
GROUP BY key`
}

/** Open cases meeting `condition` at the clock's moment (one period end), counted per key. */
export function compileOpenAt(condition: string, by: Grouping | undefined, units: string[] | undefined, clockSql: string): string {
  const scope = units ? `AND unit_id IN {units:Array(String)}` : ''
  // open cases are placed in the period whose end they are judged at
  const key = by === 'month' || by === 'quarter' || by === 'year' ? `{period_key:String}` : keyExpression(by, 'stopped_at')
  return `
SELECT ${key} AS key, toFloat64(count()) AS numerator
FROM (${clockSql})
WHERE ${condition} ${scope}
GROUP BY key`
}
