// The provisional calendar against the law it follows and against the official arrangements of
// the years the 2024 revision governs.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { provisionalYear, statutoryHolidays } from './provisional.ts'

const off = (year: number) => provisionalYear(year).filter((d) => !d.is_working && d.name).map((d) => `${d.date} ${d.name}`)
const weekday = (date: string) => new Date(date + 'T00:00:00Z').getUTCDay()

describe('the provisional calendar', () => {
  it('gives 2027 its statutory days, 补假 for those on a weekend, and no 调休', () => {
    expect(off(2027)).toEqual([
      '2027-01-01 元旦',
      // 除夕 Fri 5 Feb to 初三 Mon 8 Feb; 初一 and 初二 fall on Sat and Sun: made up Tue 9 and Wed 10
      '2027-02-05 春节', '2027-02-06 春节', '2027-02-07 春节', '2027-02-08 春节', '2027-02-09 春节', '2027-02-10 春节',
      '2027-04-05 清明节',
      // 1–2 May are Sat and Sun: made up Mon 3 and Tue 4
      '2027-05-01 劳动节', '2027-05-02 劳动节', '2027-05-03 劳动节', '2027-05-04 劳动节',
      '2027-06-09 端午节',
      '2027-09-15 中秋节',
      // 1 Oct Fri, 2–3 Oct Sat and Sun: made up Mon 4 and Tue 5
      '2027-10-01 国庆节', '2027-10-02 国庆节', '2027-10-03 国庆节', '2027-10-04 国庆节', '2027-10-05 国庆节',
    ])
    const days = provisionalYear(2027)
    expect(days).toHaveLength(365)
    // no weekend is made a working day: that is the State Council's to decide
    expect(days.filter((d) => d.is_working && [0, 6].includes(weekday(d.date)))).toEqual([])
    // every other date is the ordinary week
    for (const d of days) if (!d.name) expect(d.is_working, d.date).toBe(![0, 6].includes(weekday(d.date)))
  })

  it('counts 13 statutory days a year, on their solar and lunar dates', () => {
    for (const year of [2025, 2026, 2027, 2030, 2040]) {
      const holidays = statutoryHolidays(year)
      expect(holidays.flatMap((h) => h.dates), String(year)).toHaveLength(13)
      expect(holidays.map((h) => h.name).sort()).toEqual(['中秋节', '元旦', '劳动节', '国庆节', '春节', '清明节', '端午节'].sort())
    }
    // 除夕 of 2025 was Tue 28 Jan; 中秋 of 2025 Mon 6 Oct; 端午 of 2026 Fri 19 Jun
    expect(statutoryHolidays(2025).find((h) => h.name === '春节')!.dates[0]).toBe('2025-01-28')
    expect(statutoryHolidays(2025).find((h) => h.name === '中秋节')!.dates).toEqual(['2025-10-06'])
    expect(statutoryHolidays(2026).find((h) => h.name === '端午节')!.dates).toEqual(['2026-06-19'])
  })

  it('makes up a statutory day that coincides with another (中秋 on 1 October) on the next working day', () => {
    const days = off(2028)
    // 国庆 1–3 Oct (1 Oct a Sunday: made up on Wed 4 Oct); 中秋 on 3 Oct is a day of 国庆 already: made up on Thu 5 Oct
    expect(days.filter((d) => d >= '2028-10-01' && d < '2028-10-10')).toEqual(['2028-10-01 国庆节', '2028-10-02 国庆节', '2028-10-03 国庆节', '2028-10-04 国庆节', '2028-10-05 中秋节'])
    expect(provisionalYear(2028).find((d) => d.date === '2028-10-06')!.is_working).toBe(true)
  })

  it('has every statutory day off in the official arrangements of 2025 and 2026 (the 2024 revision)', () => {
    for (const year of [2025, 2026]) {
      const official = JSON.parse(readFileSync(new URL(`../ingest/fixtures/holiday-cn/${year}.json`, import.meta.url), 'utf8')) as { days: Array<{ date: string; isOffDay: boolean }> }
      const offDays = new Set(official.days.filter((d) => d.isOffDay).map((d) => d.date))
      const statutory = statutoryHolidays(year).flatMap((h) => h.dates)
      expect(statutory.length).toBe(13)
      for (const date of statutory) expect(offDays.has(date) || [0, 6].includes(weekday(date)), date).toBe(true)
    }
  })
})
