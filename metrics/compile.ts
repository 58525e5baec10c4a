// Parts of indicators + (period, scope, by) → one parameterised ClickHouse query per source.
// Every value is a bound parameter ({from:Date}, {units:Array(String)}, …).
import { CALENDAR_GAP_MARKER, CALENDAR_WITH, dailyLastDay, type DailyKind } from '../warehouse/index.ts'
import type { Part } from './catalog.ts'
import { SOURCES, type SourceId } from './sources.ts'

export const GROUPINGS = ['unit', 'tier', 'item', 'channel', 'category', 'month', 'quarter', 'year'] as const
export type Grouping = (typeof GROUPINGS)[number]
export const TIME_GROUPINGS: readonly Grouping[] = ['month', 'quarter', 'year']

/** Groupings for use inside the service (not offered over HTTP): unit and month together, keyed `unit_id|YYYY-MM-01`. */
export type InternalGrouping = Grouping | 'unit_month'

/** The SQL key of a source row for a grouping; open cases are placed in the period whose end they are read at (`as_of`). */
export function keyExpression(by: InternalGrouping | undefined, dateColumn = 'at'): string {
  switch (by) {
    case 'unit_month':
      return `concat(unit_id, '|', toString(toStartOfMonth(toDate(${dateColumn}))))`
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
    case 'category':
      return `ifNull(category, '')`
    case 'month':
    case 'quarter':
    case 'year':
      return `toString(toStartOf${by === 'month' ? 'Month' : by === 'quarter' ? 'Quarter' : 'Year'}(toDate(${dateColumn})))`
  }
}

/** Whether a source has a column for the grouping. */
export function sourceSupports(source: SourceId, by: InternalGrouping | undefined): boolean {
  if (by === 'category') return SOURCES[source].category === true
  if (by === 'item') return SOURCES[source].item
  if (by === 'channel') return SOURCES[source].channel
  return true
}

/**
 * SELECT key, v0, v1, … FROM the source's rows in [from, to] (or, for open cases, at the moment of
 * the clock), in scope, grouped by key. `clock` is the case clock SQL for the sources built on it.
 */
export function compileParts(source: SourceId, parts: Part[], by: InternalGrouping | undefined, scoped: boolean, tz: string, clock: string): string {
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

/** The sources read from the daily aggregate (case_daily) when it is usable, and its kind for each. */
export const DAILY_KIND: Partial<Record<SourceId, DailyKind>> = { stopped_cases: 'stopped', accepted_cases: 'accepted', proxy_cases: 'proxy' }

/** The groupings the daily aggregate has (it is per day and unit: item and channel take the clock's way). */
export const dailyGroups = (by: InternalGrouping | undefined) => by !== 'item' && by !== 'channel' && by !== 'category'

/** The cases of a source that the daily aggregate leaves to the clock as of {as_of} (a case_state filter). */
export const dailyLeftToClock = (source: SourceId) => `${dailyLastDay(DAILY_KIND[source]!, 'last_at')} >= toDate(as_of)`

/**
 * The same figures as compileParts for stopped or accepted cases, from the daily aggregate: the
 * rows of cases with no event on or after the day of as_of (`split`; all rows when every stored
 * event is at or before as_of), and through the clock (`clockSql`, compileParts over the cases
 * the aggregate leaves out) the others. A case that needs a calendar year not loaded raises, as
 * through the clock.
 */
export function compileDailyParts(source: SourceId, parts: Part[], by: InternalGrouping | undefined, scoped: boolean, tz: string, split: boolean, clockSql: string | null): string {
  const kind = DAILY_KIND[source]!
  const where = [`kind = '${kind}'`, 'day BETWEEN {from:Date} AND {to:Date}']
  if (split) where.push(`last_day < toDate({as_of:DateTime64(3, '${tz}')})`)
  if (scoped) where.push('unit_id IN {units:Array(String)}')
  const values = parts.map((_, i) => `v${i}`)
  const daily = `SELECT key, ${values.join(', ')} FROM (
  SELECT ${keyExpression(by, 'at')} AS key, ${parts.map((p, i) => `toFloat64(${p.daily}) AS v${i}`).join(', ')}, sum(n) AS cases, sum(gaps) AS gaps
  FROM (SELECT *, day AS at FROM case_daily FINAL WHERE ${where.join(' AND ')})
  GROUP BY key
  -- rows rewritten as zeros (no case left in them) are no figure
  HAVING cases > 0
) WHERE throwIf(gaps > 0, '${CALENDAR_GAP_MARKER}') = 0`
  if (clockSql === null) return daily
  return `SELECT key, ${values.map((v) => `sum(${v}) AS ${v}`).join(', ')} FROM (${daily}\nUNION ALL\n${clockSql}) GROUP BY key`
}
