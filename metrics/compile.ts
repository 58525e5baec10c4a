// Parts of indicators + (period, scope, by) → one parameterised ClickHouse query per source.
// Every value is a bound parameter ({from:Date}, {units:Array(String)}, …).
import { CALENDAR_WITH } from '../warehouse/index.ts'
import type { Part } from './catalog.ts'
import { SOURCES, type SourceId } from './sources.ts'

export const GROUPINGS = ['unit', 'tier', 'item', 'channel', 'month', 'quarter', 'year'] as const
export type Grouping = (typeof GROUPINGS)[number]
export const TIME_GROUPINGS: readonly Grouping[] = ['month', 'quarter', 'year']

/** The SQL key of a source row for a grouping; open cases are placed in the period whose end they are read at (`as_of`). */
export function keyExpression(by: Grouping | undefined, dateColumn = 'at'): string {
  switch (by) {
    case undefined:
      return `'all'`
    case 'unit':
      return 'unit_id'
    case 'tier':
      return `toString({unit_tier:Map(String, UInt8)}[unit_id])`
    case 'item':
      return `ifNull(item_code, '')`
    case 'channel':
      return `ifNull(channel, '')`
    case 'month':
    case 'quarter':
    case 'year':
      return `toString(toStartOf${by === 'month' ? 'Month' : by === 'quarter' ? 'Quarter' : 'Year'}(toDate(${dateColumn})))`
  }
}

/** Whether a source has a column for the grouping. */
export function sourceSupports(source: SourceId, by: Grouping | undefined): boolean {
  if (by === 'item') return SOURCES[source].item
  if (by === 'channel') return SOURCES[source].channel
  return true
}

/**
 * SELECT key, v0, v1, … FROM the source's rows in [from, to] (or, for open cases, at the moment of
 * the clock), in scope, grouped by key. `clock` is the case clock SQL for the sources built on it.
 */
export function compileParts(source: SourceId, parts: Part[], by: Grouping | undefined, scoped: boolean, tz: string, clock: string): string {
  const def = SOURCES[source]
  const where: string[] = []
  if (source !== 'open_cases') where.push('toDate(at) BETWEEN {from:Date} AND {to:Date}')
  if (scoped) where.push('unit_id IN {units:Array(String)}')
  return `${def.calendar ? CALENDAR_WITH : ''}
SELECT ${keyExpression(by, source === 'open_cases' ? 'as_of' : 'at')} AS key, ${parts.map((p, i) => `toFloat64(${p.sql}) AS v${i}`).join(', ')}
FROM (${def.sql(tz, clock)})
${where.length ? `WHERE ${where.join(' AND ')}` : ''}
GROUP BY key`
}
