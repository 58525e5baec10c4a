// The working-day calendar: State Council holidays and 调休 make-up working days. Official years
// come from the `chinese-days` package (maintained, follows each State Council notice) and from what
// an admin loads (the notice's own text, or every date of a year as rows); a year that is not
// loaded is counted on a provisional calendar worked out from the statutory holidays
// (provisional.ts), so that nothing stops answering on 1 January, and every answer that counted a
// provisional day says so. Nothing here ever counts "Monday to Friday".
import { createRequire } from 'node:module'
import type { Warehouse } from './client.ts'
import { queryRows } from './client.ts'
import { PROVISIONAL_RANGE, provisionalYear } from './provisional.ts'
import { localDate, nowSeconds } from './time.ts'

export interface CalendarDay {
  date: string
  is_working: boolean
  name: string
}

export type CalendarStatus = 'official' | 'provisional'

/** A year as the calendar counts it: every date, and whether it is the official arrangement. */
export interface CalendarYear {
  year: number
  status: CalendarStatus
  /** Where it came from: the package, a notice, date rows, or `statutory holidays` for a provisional year. */
  source: string
  days: Array<CalendarDay & { source: string }>
}

/** What storing would change: each date whose working status or name differs from now. */
export interface CalendarChange {
  date: string
  before: { is_working: boolean; name: string; status: CalendarStatus }
  after: { is_working: boolean; name: string }
}

/** Raised when a computation needs a date no calendar can be worked out for (outside 1901–2099). */
export class CalendarMissingError extends Error {
  readonly code = 'calendar_missing'
  constructor(readonly years: number[]) {
    super(`No working-day calendar can be worked out for ${years.join(', ')}; load the official arrangement with PUT /api/v1/reference/calendar.`)
  }
}

/** Raised when a year is given as date rows that do not list every one of its dates. */
export class PartialYearError extends Error {
  readonly code = 'partial_year'
  constructor(readonly year: number, readonly missing: string[]) {
    super(`Year ${year} is given as date rows but ${missing.length} of its ${daysInYear(year)} dates are missing (the first: ${missing.slice(0, 3).join(', ')}); ` +
      'a year loaded as date rows must list every date, or load the State Council notice as text/plain. Nothing was stored.')
  }
}

const PROVISIONAL_SOURCE = 'statutory holidays (provisional)'
const DAY_MS = 86_400_000
const dayNumber = (date: string) => Date.parse(date + 'T00:00:00Z') / DAY_MS
const dateOf = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10)
const yearOf = (day: number) => Number(dateOf(day).slice(0, 4))
const daysInYear = (year: number) => dayNumber(`${year + 1}-01-01`) - dayNumber(`${year}-01-01`)
const isWeekend = (day: number) => {
  const wd = new Date(day * DAY_MS).getUTCDay()
  return wd === 0 || wd === 6
}

/**
 * The working-day ordinal W(d) as an array: W(d) = ordinals[d − start], −1 outside it. Passed to
 * ClickHouse as a bound parameter so elapsed working days become a subtraction. `working` lists
 * the working days as offsets from `start` (the k-th working day is working[k − 1 − W(start−1)]),
 * so a deadline "N working days after d" is a lookup too.
 */
export interface WorkingDayIndex {
  start: string
  ordinals: number[]
  /** Offsets from `start` of the working days, in order: working[i] has ordinal i + 1. */
  working: number[]
  /** Years within the array counted on the provisional calendar. */
  provisional: number[]
}

export class Calendar {
  /** The official days stored, by day number. */
  private days = new Map<number, { is_working: boolean; name: string; source: string }>()
  private provisional = new Map<number, CalendarDay[]>()
  private indexes = new Map<number, WorkingDayIndex>()
  /**
   * The first day any dated record needs a working-day count for. The W(d) array handed to each
   * query starts at the beginning of that year, not at 2004: the array is a constant in the query,
   * copied into every place W() is used, and its size was most of the time spent planning.
   */
  private dataFromDay = Number.POSITIVE_INFINITY

  constructor(private readonly warehouse: Warehouse, private readonly now: () => number = Date.now) {}

  /** Loads the stored calendar; seeds every year the shipped package covers that is not stored yet. */
  async load(): Promise<void> {
    const rows = await queryRows<{ date: string; is_working: number; name: string; source: string }>(
      this.warehouse,
      'SELECT toString(date) AS date, is_working, name, toString(source) AS source FROM calendar FINAL ORDER BY date',
    )
    this.days.clear()
    this.loaded = undefined
    for (const r of rows) this.days.set(dayNumber(r.date), { is_working: Number(r.is_working) === 1, name: r.name, source: r.source })
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
    this.indexes.clear()
  }

  /** A record dated `date` (YYYY-MM-DD…) is stored: W() must reach back to the start of its year. */
  noteData(date: string): void {
    const day = dayNumber(`${date.slice(0, 4)}-01-01`)
    if (day < this.dataFromDay) {
      this.dataFromDay = day
      this.indexes.clear()
    }
  }

  /** The years whose official arrangement is stored (worked out again only when a year is stored: every query asks). */
  loadedYears(): number[] {
    if (!this.loaded) {
      const years = new Set<number>()
      for (const day of this.days.keys()) years.add(yearOf(day))
      this.loaded = [...years].sort((a, b) => a - b)
    }
    return [...this.loaded]
  }
  private loaded: number[] | undefined

  statusOf(year: number): CalendarStatus {
    return this.days.has(dayNumber(`${year}-01-01`)) ? 'official' : 'provisional'
  }

  /** The current year and the next are always counted; the calendar reaches at least that far. */
  private defaultThrough(): number {
    const loaded = this.loadedYears()
    return Math.max(loaded[loaded.length - 1] ?? 0, Number(localDate(this.now(), this.warehouse.timezone).slice(0, 4)) + 1)
  }

  /** Years among `years` for which no calendar can be worked out at all. */
  missingYears(years: Iterable<number>): number[] {
    return [...new Set(years)].filter((y) => this.statusOf(y) === 'provisional' && (y < PROVISIONAL_RANGE.first || y > PROVISIONAL_RANGE.last)).sort((a, b) => a - b)
  }

  /** Every date of a provisional year (worked out once). */
  private provisionalDays(year: number): CalendarDay[] {
    let days = this.provisional.get(year)
    if (!days) {
      if (year < PROVISIONAL_RANGE.first || year > PROVISIONAL_RANGE.last) throw new CalendarMissingError([year])
      this.provisional.set(year, (days = provisionalYear(year)))
    }
    return days
  }

  private dayOf(day: number): { is_working: boolean; name: string; source: string; status: CalendarStatus } {
    const official = this.days.get(day)
    if (official) return { ...official, status: 'official' }
    const year = yearOf(day)
    const provisional = this.provisionalDays(year)[day - dayNumber(`${year}-01-01`)]!
    return { is_working: provisional.is_working, name: provisional.name, source: PROVISIONAL_SOURCE, status: 'provisional' }
  }

  isWorkingDay(date: string): boolean {
    return this.dayOf(dayNumber(date)).is_working
  }

  /**
   * The working day with ordinal W(date) + n: the n-th working day after `date`, the day itself
   * not counted (n = 0: the last working day on or before it), as the SQL's workingDayOf.
   */
  workingDayAfter(date: string, n: number): string {
    let day = dayNumber(date)
    if (n === 0) {
      while (!this.dayOf(day).is_working) day--
      return dateOf(day)
    }
    for (let counted = 0; counted < n; ) if (this.dayOf(++day).is_working) counted++
    return dateOf(day)
  }

  /** Every date of `year` as it is counted now: official where stored, provisional otherwise. */
  year(year: number): CalendarYear {
    const days: CalendarYear['days'] = []
    for (let d = dayNumber(`${year}-01-01`); d < dayNumber(`${year + 1}-01-01`); d++) {
      const { is_working, name, source } = this.dayOf(d)
      days.push({ date: dateOf(d), is_working, name, source })
    }
    const status = this.statusOf(year)
    const sources = [...new Set(days.map((d) => d.source))]
    return { year, status, source: status === 'provisional' ? PROVISIONAL_SOURCE : sources.join(' + '), days }
  }

  /**
   * Whether a question whose working-day counts reach `lastDate` (YYYY-MM-DD) counted a day of a
   * provisional year: a provisional year from the first year with data up to that date's.
   */
  provisionalThrough(lastDate: string): boolean {
    const first = Number.isFinite(this.dataFromDay) ? yearOf(this.dataFromDay) : Number(lastDate.slice(0, 4))
    for (let y = first; y <= Number(lastDate.slice(0, 4)); y++) if (this.statusOf(y) === 'provisional') return true
    return false
  }

  /**
   * The W() arrays, from the first year with data through `throughYear` at least (the current
   * year and the next by default; a question about a later moment asks for more).
   */
  workingDayIndex(throughYear?: number): WorkingDayIndex {
    // (no calendar is worked out past the provisional range: dates there are outside the array)
    const through = Math.min(Math.max(this.defaultThrough(), throughYear ?? 0), PROVISIONAL_RANGE.last)
    const cached = this.indexes.get(through)
    if (cached) return cached
    const loaded = [...this.days.keys()].sort((a, b) => a - b)
    // from the first year with data (every date before it is outside the array: W = −1)
    const first = Math.max(dayNumber(`${PROVISIONAL_RANGE.first}-01-01`), Number.isFinite(this.dataFromDay)
      ? Math.min(this.dataFromDay, dayNumber(`${through}-01-01`))
      : Math.min(loaded[loaded.length - 1] ?? Number.POSITIVE_INFINITY, dayNumber(`${through}-01-01`)))
    const firstDay = dayNumber(`${yearOf(first)}-01-01`)
    const last = dayNumber(`${through}-12-31`)
    const ordinals: number[] = []
    const working: number[] = []
    let w = 0
    for (let d = firstDay; d <= last; d++) {
      if (this.dayOf(d).is_working) working.push(d - firstDay), w++
      ordinals.push(w)
    }
    const provisional: number[] = []
    for (let y = yearOf(firstDay); y <= through; y++) if (this.statusOf(y) === 'provisional') provisional.push(y)
    const index = { start: dateOf(firstDay), ordinals, working, provisional }
    if (this.indexes.size > 8) this.indexes.clear()
    this.indexes.set(through, index)
    return index
  }

  /**
   * What storing `years` (each a whole year, every date) would change, date by date, against the
   * year as it is counted now.
   */
  changesOf(years: Map<number, CalendarDay[]>): CalendarChange[] {
    const changes: CalendarChange[] = []
    for (const d of [...years.values()].flat()) {
      const now = this.dayOf(dayNumber(d.date))
      if (now.is_working === d.is_working && now.name === d.name) continue
      changes.push({ date: d.date, before: { is_working: now.is_working, name: now.name, status: now.status }, after: { is_working: d.is_working, name: d.name } })
    }
    return changes
  }

  /**
   * Stores whole years as the official arrangement (in one insert: a year is replaced whole or
   * not at all). Each year must list every one of its dates.
   */
  async storeYears(years: Map<number, CalendarDay[]>, source: string): Promise<void> {
    for (const [year, days] of years) {
      const missing = missingDates(year, days)
      if (missing.length > 0 || days.length !== daysInYear(year)) throw new PartialYearError(year, missing)
    }
    await this.store([...years.values()].flat(), source)
  }

  /** Date rows grouped into years, each of which must be whole (PartialYearError otherwise). */
  static wholeYears(days: CalendarDay[]): Map<number, CalendarDay[]> {
    const byYear = new Map<number, Map<string, CalendarDay>>()
    for (const d of days) {
      const y = Number(d.date.slice(0, 4))
      if (!byYear.has(y)) byYear.set(y, new Map())
      byYear.get(y)!.set(d.date, d) // a date given twice: the later row
    }
    const out = new Map<number, CalendarDay[]>()
    for (const [year, given] of [...byYear].sort((a, b) => a[0] - b[0])) {
      const list = [...given.values()].sort((a, b) => (a.date < b.date ? -1 : 1))
      const missing = missingDates(year, list)
      if (missing.length > 0) throw new PartialYearError(year, missing)
      out.set(year, list)
    }
    return out
  }

  private async store(days: CalendarDay[], source: string): Promise<void> {
    const updated_at = nowSeconds()
    await this.warehouse.client.insert({
      table: 'calendar',
      values: days.map((d) => ({ date: d.date, is_working: d.is_working ? 1 : 0, name: d.name, source, updated_at })),
      format: 'JSONEachRow',
    })
    for (const d of days) this.days.set(dayNumber(d.date), { is_working: d.is_working, name: d.name, source })
    this.loaded = undefined
    this.indexes.clear()
  }

  /**
   * Whether people must be told the calendar needs attention: always while the current year is
   * provisional, and from 1 November while the next year is.
   */
  warning(nowMs = this.now()): { code: 'calendar_provisional'; years: number[]; message: string } | null {
    const today = localDate(nowMs, this.warehouse.timezone)
    const year = Number(today.slice(0, 4))
    const years = [year, ...(today.slice(5) >= '11-01' ? [year + 1] : [])].filter((y) => this.statusOf(y) === 'provisional')
    if (years.length === 0) return null
    return {
      code: 'calendar_provisional',
      years,
      message: `The State Council's holiday arrangement for ${years.join(' and ')} is not loaded: figures that count days of ${years.length > 1 ? 'those years' : 'that year'} ` +
        'use a provisional calendar (statutory holidays, no 调休) and say calendar_provisional. Load the notice with PUT /api/v1/reference/calendar (text/plain) or `npx tierscope calendar load`.',
    }
  }
}

/** The dates of `year` that `days` does not list. */
function missingDates(year: number, days: CalendarDay[]): string[] {
  const given = new Set(days.map((d) => d.date))
  const missing: string[] = []
  for (let d = dayNumber(`${year}-01-01`); d < dayNumber(`${year + 1}-01-01`); d++) if (!given.has(dateOf(d))) missing.push(dateOf(d))
  return missing
}

/**
 * Fills a year named only by its holidays and make-up days (a published arrangement) with the
 * ordinary week: every other date is Monday–Friday working.
 */
export function arrangementYear(year: number, named: CalendarDay[]): CalendarDay[] {
  const given = new Map(named.filter((d) => Number(d.date.slice(0, 4)) === year).map((d) => [dayNumber(d.date), d]))
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
  const given = new Map<number, CalendarDay[]>()
  const add = (date: string, label: string, working: boolean) => {
    const y = Number(date.slice(0, 4))
    if (!given.has(y)) given.set(y, [])
    given.get(y)!.push({ date, is_working: working, name: label.split(',')[1] ?? label })
  }
  for (const [date, label] of Object.entries(data.holidays)) add(date, label, false)
  for (const [date, label] of Object.entries(data.workdays)) add(date, label, true)
  return [...given].sort((a, b) => a[0] - b[0]).flatMap(([year, days]) => arrangementYear(year, days))
}
