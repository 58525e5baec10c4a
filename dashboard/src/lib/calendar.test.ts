import { describe, expect, it } from 'vitest'
import { countDays, kindOf, monthWeeks, weekdayOf } from './calendar.ts'

describe('the calendar as drawn', () => {
  it('tells holidays, 调休 working days, plain weekends and working days apart', () => {
    expect(kindOf({ date: '2026-02-15', is_working: false, name: '春节' }, '2026-02-15')).toBe('holiday') // a Sunday in the Spring Festival
    expect(kindOf({ date: '2026-02-16', is_working: false, name: '春节' }, '2026-02-16')).toBe('holiday')
    expect(kindOf({ date: '2026-02-14', is_working: true, name: '春节' }, '2026-02-14')).toBe('workday') // a Saturday worked
    expect(kindOf({ date: '2026-03-07', is_working: false, name: '' }, '2026-03-07')).toBe('weekend')
    expect(kindOf({ date: '2026-03-09', is_working: true, name: '' }, '2026-03-09')).toBe('working')
    expect(kindOf(undefined, '2026-03-09')).toBe('unknown')
  })

  it('lays a month out in Monday-first weeks', () => {
    expect(weekdayOf('2026-02-01')).toBe(6) // a Sunday
    const feb = monthWeeks(2026, 2)
    expect(feb).toHaveLength(5)
    expect(feb[0]).toEqual([null, null, null, null, null, null, '2026-02-01'])
    expect(feb[4]).toEqual(['2026-02-23', '2026-02-24', '2026-02-25', '2026-02-26', '2026-02-27', '2026-02-28', null])
    expect(monthWeeks(2024, 2).flat().filter(Boolean)).toHaveLength(29)
    expect(monthWeeks(2026, 6)[0]![0]).toBe('2026-06-01') // a Monday starts the first row
  })

  it('counts days off, holidays and 调休 working days', () => {
    const days = [
      { date: '2026-02-14', is_working: true, name: '春节' },
      { date: '2026-02-15', is_working: false, name: '春节' },
      { date: '2026-02-16', is_working: false, name: '春节' },
      { date: '2026-03-07', is_working: false, name: '' },
      { date: '2026-03-09', is_working: true, name: '' },
    ]
    expect(countDays(days)).toEqual({ daysOff: 3, holidays: 2, workdays: 1, workingDays: 2 })
  })
})
