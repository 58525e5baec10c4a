import { describe, expect, it } from 'vitest'
import { deadlineOf } from './deadline.ts'
import { officialCalendarFromPackage } from './calendar.ts'

const working = new Map(officialCalendarFromPackage().map((d) => [d.date, d.is_working]))
const isWorkingDay = (date: string) => working.get(date)!

describe('deadline of a case', () => {
  it('counts forward over weekends and the National Day holiday with its make-up days', () => {
    // 2025-09-30 (Tue) with 3 working days left: 1–8 October are holidays, 9 and 10 work, 11 (Sat) is a make-up working day
    expect(deadlineOf(isWorkingDay, '2025-09-30', 5, 2)).toBe('2025-10-11')
    // on a Friday with one day left: the Monday
    expect(deadlineOf(isWorkingDay, '2025-11-14', 5, 4)).toBe('2025-11-17')
  })

  it('is the day itself when no time is left, and earlier when the case is over', () => {
    expect(deadlineOf(isWorkingDay, '2025-11-18', 5, 5)).toBe('2025-11-18')
    // asked on a Sunday: the Friday before
    expect(deadlineOf(isWorkingDay, '2025-11-16', 5, 5)).toBe('2025-11-14')
    // two working days over on a Wednesday: the Monday
    expect(deadlineOf(isWorkingDay, '2025-11-19', 5, 7)).toBe('2025-11-17')
  })

  it('agrees with the contract: E at the deadline equals the limit, one working day later exceeds it', () => {
    // W(d) counted from the calendar itself
    const dates = [...working.keys()].filter((d) => d >= '2025-01-01' && d <= '2025-12-31').sort()
    const W = (date: string) => dates.filter((d) => d <= date && working.get(d)).length
    const accepted = '2025-04-28', limit = 10
    const deadline = deadlineOf(isWorkingDay, accepted, limit, 0)
    expect(W(deadline) - W(accepted)).toBe(limit)
    const next = dates.find((d) => d > deadline && working.get(d))!
    expect(W(next) - W(accepted)).toBe(limit + 1)
  })
})
