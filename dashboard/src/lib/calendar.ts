// The official working-day calendar as the dashboard draws it: what kind each day is, the weeks of
// a month (Monday first), and the counts under the twelve month grids. Tested in calendar.test.ts.

/** A day of the calendar, as GET and PUT /api/v1/reference/calendar answer. */
export interface CalendarDay { date: string; is_working: boolean; name: string }

/** A date whose working status or name the notice changes: before (as stored, or provisional) → after. */
export interface CalendarChange {
  date: string
  before: { is_working: boolean; name: string; status?: 'official' | 'provisional' | string } | null
  after: { is_working: boolean; name: string }
}

/** GET /api/v1/reference/calendar?year= */
export interface CalendarYearAnswer { year: number; status: 'official' | 'provisional'; source: string | null; days: CalendarDay[] }

/** PUT /api/v1/reference/calendar (text/plain: the State Council's notice), with or without ?dry_run=true */
export interface CalendarNoticeAnswer extends CalendarYearAnswer {
  dry_run?: boolean; changes: CalendarChange[]; years: number[]
  /** the notice's title, and whether it amends a year already arranged */
  notice?: { title: string | null; amends: boolean }
}

/** GET /api/v1/reference/calendar (no year): every year around the data, with its status */
export interface CalendarYearsAnswer { years: Array<{ year: number; status: 'official' | 'provisional' | string; source: string | null }> }

/**
 * - `holiday`: a day off that is not a plain Saturday or Sunday (a named holiday, weekend days in it included)
 * - `workday`: 调休, a Saturday or Sunday that is worked
 * - `weekend`: a plain Saturday or Sunday off
 * - `working`: a plain Monday to Friday
 * - `unknown`: a date the answer does not cover
 */
export type DayKind = 'holiday' | 'workday' | 'weekend' | 'working' | 'unknown'

/** 0 = Monday … 6 = Sunday (dates are calendar dates: read as UTC, never in the browser's zone). */
export function weekdayOf(date: string): number {
  return (new Date(`${date}T00:00:00Z`).getUTCDay() + 6) % 7
}

export const isWeekend = (date: string): boolean => weekdayOf(date) >= 5

export function kindOf(day: CalendarDay | undefined, date: string): DayKind {
  if (!day) return 'unknown'
  const weekend = isWeekend(date)
  if (day.is_working) return weekend ? 'workday' : 'working'
  return weekend && !day.name ? 'weekend' : 'holiday'
}

/** The weeks of a month, Monday first: each a row of seven dates, null outside the month. */
export function monthWeeks(year: number, month: number): Array<Array<string | null>> {
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate()
  const first = `${year}-${String(month).padStart(2, '0')}-01`
  const weeks: Array<Array<string | null>> = []
  let week: Array<string | null> = Array.from({ length: weekdayOf(first) }, () => null)
  for (let d = 1; d <= days; d++) {
    week.push(`${first.slice(0, 8)}${String(d).padStart(2, '0')}`)
    if (week.length === 7) {
      weeks.push(week)
      week = []
    }
  }
  if (week.length) weeks.push([...week, ...Array.from({ length: 7 - week.length }, () => null)])
  return weeks
}

export interface CalendarCounts { daysOff: number; holidays: number; workdays: number; workingDays: number }

/** Days off (every day not worked), of them holidays, 调休 working days, and working days in all. */
export function countDays(days: CalendarDay[]): CalendarCounts {
  const c: CalendarCounts = { daysOff: 0, holidays: 0, workdays: 0, workingDays: 0 }
  for (const d of days) {
    const kind = kindOf(d, d.date)
    if (d.is_working) c.workingDays++
    else c.daysOff++
    if (kind === 'holiday') c.holidays++
    if (kind === 'workday') c.workdays++
  }
  return c
}
