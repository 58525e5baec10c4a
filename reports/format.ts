// How figures are written in a report: the same figure always gives the same characters (no
// locale-dependent Intl formatting), and every text that comes from data is escaped.
import { localDate, toRfc3339 } from '../warehouse/index.ts'

/** Escapes text for HTML element content and double-quoted attributes. */
export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}

/** 1234567.891 → "1,234,567.89" (fixed decimals, comma groups). */
export function grouped(value: number, decimals: number): string {
  const fixed = Math.abs(value).toFixed(decimals)
  const [int, frac] = fixed.split('.') as [string, string | undefined]
  const withCommas = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  const sign = value < 0 && Number(fixed) !== 0 ? '-' : ''
  return `${sign}${withCommas}${frac ? `.${frac}` : ''}`
}

export type FigureUnit = 'ratio' | 'cases' | 'working_days' | 'minutes' | 'yuan' | 'per_10k_cases' | 'cases_per_fte' | 'points'

export const UNIT_ZH: Record<FigureUnit, string> = {
  ratio: '%', cases: '件', working_days: '工作日', minutes: '分钟', yuan: '元', per_10k_cases: '件/万件', cases_per_fte: '件/人', points: '分',
}

/** A figure in its unit: a ratio as a percentage, counts whole, money with two decimals. "—" for none. */
export function figure(value: number | null | undefined, unit: FigureUnit): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—'
  switch (unit) {
    case 'ratio':
      return `${grouped(value * 100, 2)}%`
    case 'cases':
      return grouped(value, Number.isInteger(value) ? 0 : 1)
    case 'working_days':
    case 'per_10k_cases':
    case 'points':
      return grouped(value, 2)
    case 'minutes':
    case 'cases_per_fte':
      return grouped(value, 1)
    case 'yuan':
      return grouped(value, 2)
  }
}

/** A figure with its unit word (for running text), e.g. "3.25 工作日", "98.10%". */
export function figureWithUnit(value: number | null | undefined, unit: FigureUnit): string {
  const f = figure(value, unit)
  if (f === '—' || unit === 'ratio') return f
  return `${f} ${UNIT_ZH[unit]}`
}

/** A change against last year, with its sign: "+1.20 个百分点" for ratios, "+3" for counts. */
export function change(current: number | null | undefined, previous: number | null | undefined, unit: FigureUnit): string {
  if (current === null || current === undefined || previous === null || previous === undefined) return '—'
  const d = current - previous
  if (unit === 'ratio') {
    const pp = grouped(d * 100, 2)
    return `${d > 0 && pp !== '0.00' ? '+' : ''}${pp} 个百分点`
  }
  const f = figure(d, unit)
  return `${d > 0 && Number(f.replace(/,/g, '')) !== 0 ? '+' : ''}${f}`
}

export const score = (v: number | null | undefined) => (v === null || v === undefined ? '—' : grouped(v, 2))
/** An instant as the district's date in Chinese: "2026年1月15日". */
export function chineseDate(ms: number, tz: string): string {
  const [y, m, d] = localDate(ms, tz).split('-').map(Number)
  return `${y}年${m}月${d}日`
}

/** An instant as the district's wall-clock time: "2026-01-15 09:30". */
export const dateTime = (ms: number, tz: string): string => toRfc3339(ms, tz).slice(0, 16).replace('T', ' ')

export const TIER_ZH: Record<number, string> = { 1: '第一级（区级：区政务服务中心、委办局大厅）', 2: '第二级（街道政务服务大厅）', 3: '第三级（社区、政务服务站）' }
export const TIER_SHORT: Record<number, string> = { 1: '区级', 2: '街道', 3: '社区（站）' }
export const CATEGORY_ZH: Record<string, string> = { timeliness: '时效', efficiency: '效率', satisfaction: '满意度', cost: '成本' }
