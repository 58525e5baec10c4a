// How figures read on screen: rates as percentages, working days and money with their units.
import type { Lang } from './i18n.svelte.ts'

export type MetricUnit = 'ratio' | 'cases' | 'working_days' | 'minutes' | 'yuan' | 'cases_per_fte' | 'per_10k_cases' | 'points' | string

export function formatValue(value: number | null | undefined, unit: MetricUnit, lang: Lang = 'zh'): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—'
  switch (unit) {
    case 'ratio': return `${(value * 100).toFixed(1)}%`
    case 'cases': return Math.round(value).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-US')
    case 'working_days': return `${value.toFixed(1)}${lang === 'zh' ? ' 个工作日' : ' wd'}`
    case 'minutes': return `${value.toFixed(1)}${lang === 'zh' ? ' 分钟' : ' min'}`
    case 'yuan': return `¥${value.toFixed(value >= 100 ? 0 : 1)}`
    case 'points': return value.toFixed(1)
    default: return value.toFixed(2)
  }
}

/** The unit as an axis name. */
export function unitLabel(unit: MetricUnit, lang: Lang): string {
  const zh: Record<string, string> = { ratio: '%', cases: '件', working_days: '工作日', minutes: '分钟', yuan: '元', cases_per_fte: '件/人', per_10k_cases: '件/万件', points: '分' }
  const en: Record<string, string> = { ratio: '%', cases: 'cases', working_days: 'working days', minutes: 'minutes', yuan: 'yuan', cases_per_fte: 'cases per FTE', per_10k_cases: 'per 10k cases', points: 'points' }
  return (lang === 'zh' ? zh : en)[unit] ?? unit
}

/** A value as plotted: rates in percent. */
export const plotted = (value: number | null | undefined, unit: MetricUnit): number | null =>
  value === null || value === undefined || !Number.isFinite(value) ? null : unit === 'ratio' ? Math.round(value * 1000) / 10 : Math.round(value * 100) / 100

/** An RFC 3339 instant as the district's wall-clock time, "2026-03-04 09:15". */
export const wallClock = (iso: string | null | undefined): string => (iso ? iso.slice(0, 16).replace('T', ' ') : '—')

/** The last day of a month, "2026-02" → "2026-02-28". */
export function monthEnd(month: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number]
  const d = new Date(Date.UTC(y, m, 0))
  return d.toISOString().slice(0, 10)
}

/** A percentage axis never runs past 100 % (ECharts' own scaling would, around a flat 100 % line). */
export function ratioAxis(unit: MetricUnit): { max?: (v: { max: number }) => number; min?: (v: { min: number }) => number } {
  if (unit !== 'ratio') return {}
  return { max: () => 100, min: (v) => Math.max(0, Math.floor((Math.min(v.min, 99) - 1) / 5) * 5) }
}

/** Text made safe for ECharts' HTML tooltips (a unit's name is data: it may hold markup). */
export const escapeHtml = (text: unknown): string =>
  String(text ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

/** A unit opened or closed in the year, in words (its days in service: in_service of the assessment). */
export function inServiceLabel(part: { from: string; to: string }, year: number, lang: Lang = 'zh'): string {
  const opened = part.from > `${year}-01-01`, closed = part.to < `${year}-12-31`
  const words = lang === 'zh'
    ? [opened ? `${part.from} 起设立` : '', closed ? `${part.to} 后停用` : '']
    : [opened ? `opened ${part.from}` : '', closed ? `closed after ${part.to}` : '']
  return words.filter(Boolean).join(lang === 'zh' ? '，' : ', ')
}
