// A year whose official arrangement is not loaded is counted on a provisional calendar: the
// statutory holidays of 《全国年节及纪念日放假办法》 (as revised in 2024) on their solar and lunar
// dates, Saturdays and Sundays off, 补假 on the next working days for a statutory day that falls on
// a weekend (its article 6), and no 调休 — the State Council's notice decides those, and replaces
// the provisional year when it is loaded. The lunar calendar and the solar terms come from the
// `chinese-days` package (its lunar tables cover 1900–2100).
import chineseDays from 'chinese-days'
import type { CalendarDay } from './calendar.ts'

const DAY_MS = 86_400_000
const dayNumber = (date: string) => Date.parse(date + 'T00:00:00Z') / DAY_MS
const dateOf = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10)
const isWeekend = (day: number) => {
  const wd = new Date(day * DAY_MS).getUTCDay()
  return wd === 0 || wd === 6
}

/** The years a provisional calendar can be worked out for (the package's lunar tables). */
export const PROVISIONAL_RANGE = { first: 1901, last: 2099 } as const

/** The statutory days off of `year`, holiday by holiday, in date order (article 2 of the 2024 revision). */
export function statutoryHolidays(year: number): Array<{ name: string; dates: string[] }> {
  const lunar = (month: number, day: number) => chineseDays.getSolarDateFromLunar(`${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`).date
  const newYear = dayNumber(lunar(1, 1))
  // 清明 is the day of the solar term 清明 (pure brightness), early April
  const qingming = chineseDays.getSolarTerms(`${year}-04-01`, `${year}-04-10`).find((t) => t.term === 'pure_brightness')?.date
  if (!qingming) throw new Error(`no 清明 solar term found for ${year}`)
  const holidays = [
    { name: '元旦', dates: [`${year}-01-01`] },
    // 春节: 4 days, from 除夕 (the last day of the lunar year) to 正月初三
    { name: '春节', dates: [newYear - 1, newYear, newYear + 1, newYear + 2].map(dateOf) },
    { name: '清明节', dates: [qingming] },
    { name: '劳动节', dates: [`${year}-05-01`, `${year}-05-02`] },
    { name: '端午节', dates: [lunar(5, 5)] },
    { name: '中秋节', dates: [lunar(8, 15)] },
    { name: '国庆节', dates: [`${year}-10-01`, `${year}-10-02`, `${year}-10-03`] },
  ]
  return holidays.sort((a, b) => (a.dates[0]! < b.dates[0]! ? -1 : 1))
}

/**
 * Every date of `year` on the provisional calendar. A statutory day on a Saturday or Sunday — or on
 * the same date as another statutory day (中秋 on 1 October) — is made up on the next working day
 * after its holiday that is not itself a holiday (补假), named after the holiday it makes up for.
 */
export function provisionalYear(year: number): CalendarDay[] {
  if (year < PROVISIONAL_RANGE.first || year > PROVISIONAL_RANGE.last) throw new RangeError(`no provisional calendar for ${year}`)
  const holidays = statutoryHolidays(year)
  const statutory = new Set(holidays.flatMap((h) => h.dates.map(dayNumber)))
  const off = new Map<number, string>()
  for (const h of holidays) {
    let owed = 0
    for (const day of h.dates.map(dayNumber)) {
      if (isWeekend(day) || off.has(day)) owed++
      if (!off.has(day)) off.set(day, h.name)
    }
    // the next working days after the holiday that no statutory day takes
    for (let day = dayNumber(h.dates[h.dates.length - 1]!) + 1; owed > 0; day++) {
      if (isWeekend(day) || statutory.has(day) || off.has(day)) continue
      off.set(day, h.name)
      owed--
    }
  }
  const out: CalendarDay[] = []
  for (let d = dayNumber(`${year}-01-01`); d <= dayNumber(`${year}-12-31`); d++) {
    const name = off.get(d)
    out.push({ date: dateOf(d), is_working: name === undefined && !isWeekend(d), name: name ?? '' })
  }
  return out
}
