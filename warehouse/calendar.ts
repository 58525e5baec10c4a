// The official working-day calendar: State Council holidays and 调休 make-up working days.
// Shipped years come from the `chinese-days` package (maintained, follows each State Council
// notice); a later year is loaded through PUT /api/v1/reference/calendar. Nothing here ever
// falls back to "Monday to Friday" for a year that has not been loaded.
import { createRequire } from 'node:module'
import type { Warehouse } from './client.ts'
import { queryRows } from './client.ts'
import { nowSeconds } from './time.ts'

export interface CalendarDay {
  date: string
  is_working: boolean
  name: string
}

/** Raised when a computation needs a date whose year's official arrangement is not loaded. */
export class CalendarMissingError extends Error {
  readonly code = 'calendar_missing'
  constructor(readonly years: number[]) {
    super(
      `The official working-day calendar for ${years.join(', ')} is not loaded; ` +
        `load the State Council arrangement with PUT /api/v1/reference/calendar before asking about ${years.length > 1 ? 'those years' : 'that year'}.`,
    )
  }
}

const DAY_MS = 86_400_000
const dayNumber = (date: string) => Date.parse(date + 'T00:00:00Z') / DAY_MS
const dateOf = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10)
const isWeekend = (day: number) => {
  const wd = new Date(day * DAY_MS).getUTCDay()
  return wd === 0 || wd === 6
}

/**
 * The working-day ordinal W(d) as an array: W(d) = ordinals[d − start], −1 where the year is not
 * loaded. Passed to ClickHouse as a bound parameter so elapsed working days become a subtraction.
 */
export interface WorkingDayIndex {
  start: string
  ordinals: number[]
  years: number[]
}

export class Calendar {
  private days = new Map<number, boolean>()
  private index: WorkingDayIndex | undefined
  /**
   * The first day any dated record needs a working-day count for. The W(d) array handed to each
   * query starts at the beginning of that year, not at 2004: the array is a constant in the query,
   * copied into every place W() is used, and its size was most of the time spent planning.
   */
  private dataFromDay = Number.POSITIVE_INFINITY

  constructor(private readonly warehouse: Warehouse) {}

  /** Loads the stored calendar; seeds every year the shipped package covers that is not stored yet. */
  async load(): Promise<void> {
    const rows = await queryRows<{ date: string; is_working: number }>(
      this.warehouse,
      'SELECT toString(date) AS date, is_working FROM calendar FINAL ORDER BY date',
    )
    this.days.clear()
    for (const r of rows) this.days.set(dayNumber(r.date), Number(r.is_working) === 1)
    const stored = new Set(this.loadedYears())
    const shipped = officialCalendarFromPackage().filter((d) => !stored.has(Number(d.date.slice(0, 4))))
    if (shipped.length > 0) await this.store(shipped, 'chinese-days')
    // (cases are noted by CaseStore from case_state; ratings and complaints here)
    const [earliest] = await queryRows<{ day: string | null }>(
      this.warehouse,
      `SELECT toString(least(
         (SELECT ifNull(toDate(minOrNull(occurred_at)), toDate('2149-01-01')) FROM evaluations),
         (SELECT ifNull(toDate(minOrNull(occurred_at)), toDate('2149-01-01')) FROM complaints))) AS day`,
    )
    this.dataFromDay = Number.POSITIVE_INFINITY
    if (earliest?.day && earliest.day < '2149-01-01') this.noteData(earliest.day)
    this.index = undefined
  }

  /** A record dated `date` (YYYY-MM-DD…) is stored: W() must reach back to the start of its year. */
  noteData(date: string): void {
    const day = dayNumber(`${date.slice(0, 4)}-01-01`)
    if (day < this.dataFromDay) {
      this.dataFromDay = day
      this.index = undefined
    }
  }

  loadedYears(): number[] {
    const years = new Set<number>()
    for (const day of this.days.keys()) years.add(Number(dateOf(day).slice(0, 4)))
    return [...years].sort((a, b) => a - b)
  }

  /** Years among `years` whose arrangement is not loaded. */
  missingYears(years: Iterable<number>): number[] {
    const loaded = new Set(this.loadedYears())
    return [...new Set(years)].filter((y) => !loaded.has(y)).sort((a, b) => a - b)
  }

  isWorkingDay(date: string): boolean {
    const v = this.days.get(dayNumber(date))
    if (v === undefined) throw new CalendarMissingError([Number(date.slice(0, 4))])
    return v
  }

  workingDayIndex(): WorkingDayIndex {
    if (this.index) return this.index
    const keys = [...this.days.keys()].sort((a, b) => a - b)
    if (keys.length === 0) return (this.index = { start: '1970-01-01', ordinals: [], years: [] })
    // from the first year with data (every date before it is outside the array: W = −1, an error)
    const first = Math.max(keys[0]!, Math.min(this.dataFromDay, keys[keys.length - 1]!))
    const last = keys[keys.length - 1]!
    const ordinals: number[] = []
    let w = 0
    for (let d = first; d <= last; d++) {
      const working = this.days.get(d)
      if (working === undefined) ordinals.push(-1)
      else ordinals.push(working ? ++w : w)
    }
    return (this.index = { start: dateOf(first), ordinals, years: this.loadedYears() })
  }

  /**
   * Stores a year's arrangement. `days` lists the holidays and make-up days (as a State Council
   * notice does) or every date; the other dates of each year named follow the ordinary week.
   */
  async loadArrangement(days: CalendarDay[], source: string): Promise<{ years: number[]; days: number }> {
    const byYear = new Map<number, Map<number, CalendarDay>>()
    for (const d of days) {
      const y = Number(d.date.slice(0, 4))
      if (!byYear.has(y)) byYear.set(y, new Map())
      byYear.get(y)!.set(dayNumber(d.date), d)
    }
    const full: CalendarDay[] = []
    for (const [year, given] of byYear) full.push(...completeYear(year, given))
    await this.store(full, source)
    return { years: [...byYear.keys()].sort(), days: days.length }
  }

  private async store(days: CalendarDay[], source: string): Promise<void> {
    const updated_at = nowSeconds()
    await this.warehouse.client.insert({
      table: 'calendar',
      values: days.map((d) => ({ date: d.date, is_working: d.is_working ? 1 : 0, name: d.name, source, updated_at })),
      format: 'JSONEachRow',
    })
    for (const d of days) this.days.set(dayNumber(d.date), d.is_working)
    this.index = undefined
  }
}

function completeYear(year: number, given: Map<number, CalendarDay>): CalendarDay[] {
  const out: CalendarDay[] = []
  for (let d = dayNumber(`${year}-01-01`); d <= dayNumber(`${year}-12-31`); d++) {
    out.push(given.get(d) ?? { date: dateOf(d), is_working: !isWeekend(d), name: '' })
  }
  return out
}

interface ChineseDaysData {
  holidays: Record<string, string>
  workdays: Record<string, string>
}

/** Every date of every year the `chinese-days` package covers, with its official status. */
export function officialCalendarFromPackage(): CalendarDay[] {
  const data = createRequire(import.meta.url)('chinese-days/dist/chinese-days.json') as ChineseDaysData
  const given = new Map<number, Map<number, CalendarDay>>()
  const add = (date: string, label: string, working: boolean) => {
    const y = Number(date.slice(0, 4))
    if (!given.has(y)) given.set(y, new Map())
    given.get(y)!.set(dayNumber(date), { date, is_working: working, name: label.split(',')[1] ?? label })
  }
  for (const [date, label] of Object.entries(data.holidays)) add(date, label, false)
  for (const [date, label] of Object.entries(data.workdays)) add(date, label, true)
  const out: CalendarDay[] = []
  for (const [year, days] of [...given].sort((a, b) => a[0] - b[0])) out.push(...completeYear(year, days))
  return out
}
