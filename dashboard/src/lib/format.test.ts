import { describe, expect, it } from 'vitest'
import { formatValue, monthEnd, plotted } from './format.ts'

describe('formatting', () => {
  it('shows rates as percentages and counts as whole numbers', () => {
    expect(formatValue(0.9234, 'ratio')).toBe('92.3%')
    expect(formatValue(12345.4, 'cases')).toBe('12,345')
    expect(formatValue(null, 'ratio')).toBe('—')
    expect(plotted(0.9234, 'ratio')).toBe(92.3)
  })
  it('knows the ends of months, leap years included', () => {
    expect(monthEnd('2024-02')).toBe('2024-02-29')
    expect(monthEnd('2026-12')).toBe('2026-12-31')
  })
})
