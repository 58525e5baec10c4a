// Loading the working-day calendar: the State Council's notice as published (text/plain), whole
// years of date rows, or the published arrangement as JSON ({ year, days: [{ name, date, isOffDay }] }).
// One function for the API and the CLI, so both read, check and store a year the same way; a dry
// run answers what would be stored, and the changes from the year as it is counted now.
import { arrangementYear, Calendar, type CalendarChange, type CalendarDay, type CalendarStatus, type Platform } from '../warehouse/index.ts'
import { calendarAfterNotice, readHolidayNotice } from './holiday-notice.ts'
import { arrangementFromJson, calendarDaysOf, parseReferenceBody, REFERENCE_SPECS, validateReference } from './reference.ts'
import type { RowError } from './validate.ts'

export type CalendarInput =
  | { kind: 'notice'; text: string }
  | { kind: 'rows'; days: CalendarDay[] }
  | { kind: 'arrangement'; year: number; days: CalendarDay[] }

export interface CalendarAnswer {
  year: number
  status: CalendarStatus
  source: string
  dry_run: boolean
  /** Every date of `year`, as stored (or as it would be). */
  days: Array<CalendarDay & { source?: string }>
  /** Every year the body changes (a notice may name days of the year before, as 2019's did). */
  years: number[]
  /** The dates whose working status or name differ from the year as it was counted before. */
  changes: CalendarChange[]
  /** For a notice: its title, and whether it amends a year already arranged. */
  notice?: { title: string | null; amends: boolean }
}

/** A notice that changes a year whose own arrangement is not loaded: there is nothing official to change. */
export class ArrangementMissingError extends Error {
  readonly code = 'arrangement_missing'
  constructor(readonly year: number, amends: boolean) {
    super(amends
      ? `This notice amends the arrangement of ${year}, which is not loaded (${year} is counted on the provisional calendar): load ${year}'s own notice first, then this one. Nothing was stored.`
      : `This notice names days of ${year}, whose arrangement is not loaded: load ${year}'s notice first. Nothing was stored.`)
  }
}

/**
 * A calendar body by its media type: text/plain is the notice; JSON the published arrangement
 * ({ year, days: [{ name, date, isOffDay }] }) or date rows; NDJSON and CSV date rows, validated.
 */
export function calendarInputOf(platform: Platform, type: string, body: Buffer): { ok: true; input: CalendarInput } | { ok: false; errors: RowError[] } {
  if (type === 'text/plain') return { ok: true, input: { kind: 'notice', text: new TextDecoder('utf-8').decode(body) } }
  let arrangement: ReturnType<typeof arrangementFromJson>
  if (type === 'application/json') {
    try {
      arrangement = arrangementFromJson(JSON.parse(body.toString('utf8')))
    } catch {
      arrangement = undefined // not that shape: read as rows below, which reports the problem
    }
  }
  const checked = validateReference(platform, 'calendar', arrangement?.records ?? parseReferenceBody(type, body, REFERENCE_SPECS.calendar))
  if (!checked.ok) return checked
  const days = calendarDaysOf(checked.rows)
  return { ok: true, input: arrangement ? { kind: 'arrangement', year: arrangement.year, days } : { kind: 'rows', days } }
}

/** A published arrangement (JSON) must name every statutory holiday: one that does not is not a year's arrangement. */
export class IncompleteArrangementError extends Error {
  readonly code = 'incomplete_arrangement'
  constructor(readonly year: number, readonly missing: string[]) {
    super(`The arrangement given for ${year} names no days of ${missing.join(', ')}: an arrangement names every statutory holiday ` +
      '(or send the State Council notice as text/plain, or every date of the year as rows). Nothing was stored.')
  }
}

const HOLIDAY_NAMES = ['元旦', '春节', '清明', '劳动', '端午', '中秋', '国庆']

const SOURCES: Record<CalendarInput['kind'], string> = { notice: 'notice', rows: 'date rows', arrangement: 'arrangement json' }

/**
 * Reads a calendar body into whole years and stores them unless `dryRun`. Throws NoticeReadError
 * (text it cannot read, quoting the line), PartialYearError (date rows missing dates),
 * IncompleteArrangementError or ArrangementMissingError, having stored nothing.
 */
export async function loadCalendar(platform: Platform, input: CalendarInput, dryRun: boolean): Promise<CalendarAnswer> {
  const { calendar } = platform
  let years: Map<number, CalendarDay[]>
  let year: number
  let notice: CalendarAnswer['notice']
  switch (input.kind) {
    case 'notice': {
      const read = readHolidayNotice(input.text)
      years = calendarAfterNotice(read, (y) => calendar.year(y).days.map(({ date, is_working, name }) => ({ date, is_working, name })))
      // what is changed over the year as it stands must change an official arrangement
      for (const y of years.keys()) if ((read.amends || y !== read.year) && calendar.statusOf(y) === 'provisional') throw new ArrangementMissingError(y, read.amends)
      year = read.year
      notice = { title: read.title, amends: read.amends }
      break
    }
    case 'rows':
      years = Calendar.wholeYears(input.days)
      year = [...years.keys()][0]!
      break
    case 'arrangement': {
      const missing = HOLIDAY_NAMES.filter((h) => !input.days.some((d) => d.name.includes(h) && d.date.startsWith(String(input.year))))
      if (missing.length > 0) throw new IncompleteArrangementError(input.year, missing)
      years = new Map([[input.year, arrangementYear(input.year, input.days)]])
      year = input.year
      break
    }
  }
  const changes = calendar.changesOf(years)
  const source = SOURCES[input.kind]
  if (dryRun) {
    return { year, status: 'official', source, dry_run: true, days: years.get(year) ?? calendar.year(year).days, years: [...years.keys()], changes, ...(notice ? { notice } : {}) }
  }
  await calendar.storeYears(years, source)
  const stored = calendar.year(year)
  return { year, status: stored.status, source: stored.source, dry_run: false, days: stored.days, years: [...years.keys()], changes, ...(notice ? { notice } : {}) }
}
