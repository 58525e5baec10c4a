// The score table of a publication as CSV and XLSX: one row per unit and indicator with every
// figure (value, numerator, denominator, target, whether it was scored and why not, its sample and
// the minimum, score, scheme weight, weight after 折算, points, points lost, last year),
// from the frozen figures only. Numbers are written as numbers, unrounded: a spreadsheet can
// recompute each composite from them.
import ExcelJS from 'exceljs'
import type { FrozenReport, FrozenUnit } from './publication.ts'

/** Text a spreadsheet would run as a formula (= + - @, tab, CR; full-width forms too) gets an apostrophe (OWASP "CSV injection"). */
const FORMULA_START = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/

export function csvCell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : ''
  const text = String(value)
  const safe = FORMULA_START.test(text) ? `'${text}` : text
  return `"${safe.replace(/"/g, '""')}"`
}

type Cell = string | number | boolean | null
interface Column { header: string; key: string; width: number; numFmt?: string }

const NOT_SCORED: Record<string, string> = { small_sample: '样本不足', no_records: '无记录', no_target: '无目标值' }

export const UNIT_COLUMNS: Column[] = [
  { header: '层级', key: 'tier', width: 6 },
  { header: '名次', key: 'rank', width: 6 },
  { header: '单位编号', key: 'unit_id', width: 18 },
  { header: '单位名称', key: 'name', width: 30 },
  { header: '综合得分', key: 'composite', width: 10, numFmt: '0.00' },
  { header: '等级', key: 'grade', width: 8 },
  { header: '参评单位数', key: 'ranked', width: 10 },
  { header: '上年得分', key: 'prev_composite', width: 10, numFmt: '0.00' },
  { header: '上年名次', key: 'prev_rank', width: 8 },
  { header: '计分指标方案权重', key: 'scored_scheme_weight', width: 14, numFmt: '0.00%' },
  { header: '不计分指标', key: 'not_scored', width: 40 },
]

export const INDICATOR_COLUMNS: Column[] = [
  ...UNIT_COLUMNS.slice(0, 6),
  { header: '指标编号', key: 'indicator_id', width: 30 },
  { header: '指标', key: 'indicator', width: 22 },
  { header: '值', key: 'value', width: 12 },
  { header: '分子', key: 'numerator', width: 12 },
  { header: '分母', key: 'denominator', width: 12 },
  { header: '目标', key: 'target', width: 10 },
  { header: '计分', key: 'scored', width: 6 },
  { header: '不计分原因', key: 'not_scored_reason', width: 12 },
  { header: '样本', key: 'sample', width: 10 },
  { header: '最小样本量', key: 'min_sample', width: 10 },
  { header: '得分', key: 'score', width: 8, numFmt: '0.00' },
  { header: '方案权重', key: 'scheme_weight', width: 9, numFmt: '0.00%' },
  { header: '折算权重', key: 'weight', width: 9, numFmt: '0.00%' },
  { header: '得分点', key: 'points', width: 8, numFmt: '0.00' },
  { header: '失分', key: 'points_lost', width: 8, numFmt: '0.00' },
  { header: '上年值', key: 'prev_value', width: 12 },
  { header: '上年分子', key: 'prev_numerator', width: 12 },
  { header: '上年分母', key: 'prev_denominator', width: 12 },
]

const unitCells = (u: FrozenUnit, names: Map<string, string>): Record<string, Cell> => ({
  tier: u.tier, rank: u.rank, unit_id: u.unit_id, name: u.name, composite: u.composite, grade: u.grade, ranked: u.ranked, prev_composite: u.prev_composite, prev_rank: u.prev_rank,
  scored_scheme_weight: u.scored_scheme_weight,
  not_scored: u.indicators.filter((i) => !i.scored).map((i) => `${names.get(i.id) ?? i.id}（${NOT_SCORED[i.not_scored_reason ?? 'no_records']}${i.not_scored_reason === 'small_sample' ? ` ${i.sample}/${i.min_sample}` : ''}）`).join('；'),
})

export function indicatorRows(report: FrozenReport, unitIds?: string[]): Array<Record<string, Cell>> {
  const names = new Map(report.publication.catalog.map((c) => [c.id, c.name.zh]))
  return report.units.filter((u) => !unitIds || unitIds.includes(u.unit_id)).flatMap((u) => u.indicators.map((i) => ({
    ...unitCells(u, names), indicator_id: i.id, indicator: names.get(i.id) ?? i.id, value: i.value, numerator: i.numerator, denominator: i.denominator, target: i.target,
    scored: i.scored ? '是' : '否', not_scored_reason: i.scored ? null : NOT_SCORED[i.not_scored_reason ?? 'no_records'] ?? null, sample: i.sample, min_sample: i.min_sample,
    score: i.score, scheme_weight: i.scheme_weight, weight: i.weight, points: i.points, points_lost: i.points_lost,
    prev_value: i.prev_value, prev_numerator: i.prev_numerator, prev_denominator: i.prev_denominator,
  })))
}

/** The score table, one row per unit and indicator, as CSV: a BOM for Excel, every text cell quoted. */
export function scoreCsv(report: FrozenReport, unitIds?: string[]): string {
  const header = INDICATOR_COLUMNS.map((c) => csvCell(c.header)).join(',')
  const lines = indicatorRows(report, unitIds).map((r) => INDICATOR_COLUMNS.map((c) => csvCell(r[c.key] ?? null)).join(','))
  return '\uFEFF' + [header, ...lines].join('\r\n') + '\r\n'
}

/** The score table as a workbook: 说明 (the publication), 综合得分 (one row per unit), 指标明细 (one row per unit and indicator). */
export async function scoreXlsx(report: FrozenReport, unitIds?: string[]): Promise<Buffer> {
  const p = report.publication
  const wb = new ExcelJS.Workbook()
  wb.creator = '东城区政务服务三级体系联席会议'
  wb.created = new Date(p.published_ms)
  wb.modified = new Date(p.published_ms)

  const about = wb.addWorksheet('说明')
  about.columns = [{ width: 16 }, { width: 70 }]
  const rows: Array<[string, string | number]> = [
    ['报告', `${p.year}年度政务服务绩效考核（${unitIds ? '单位' : '全区'}）`],
    ['发布单位', '东城区政务服务三级体系联席会议'],
    ['年度', p.year],
    ['版本', p.version],
    ['发布编号', p.publication_id],
    ['发布时间', p.published_at],
    ['数据截至', p.as_of],
    ['考核期间', `${p.period.from} 至 ${p.period.to}`],
    ['考核方案', `${p.scheme.name}（${p.scheme.version}）`],
    ['说明', '比率为分子之和 ÷ 分母之和；值、目标、上年值为原始数值（比率为小数，0.98 即 98%）。每项指标按实际值计分；样本少于最小样本量（样本不足）或无记录的不计分，其方案权重按比例折算给本单位计分的指标：折算权重 = 方案权重 ÷ 计分指标方案权重之和。得分点 = 得分 × 折算权重，一个单位各指标得分点之和即综合得分。'],
  ]
  for (const r of rows) about.addRow(r)
  about.getColumn(1).font = { bold: true }

  const units = wb.addWorksheet('综合得分', { views: [{ state: 'frozen', ySplit: 1 }] })
  units.columns = UNIT_COLUMNS.map((c) => ({ header: c.header, key: c.key, width: c.width, style: c.numFmt ? { numFmt: c.numFmt } : {} }))
  const names = new Map(p.catalog.map((c) => [c.id, c.name.zh]))
  for (const u of report.units.filter((x) => !unitIds || unitIds.includes(x.unit_id))) units.addRow(unitCells(u, names))
  units.getRow(1).font = { bold: true }

  const detail = wb.addWorksheet('指标明细', { views: [{ state: 'frozen', ySplit: 1 }] })
  detail.columns = INDICATOR_COLUMNS.map((c) => ({ header: c.header, key: c.key, width: c.width, style: c.numFmt ? { numFmt: c.numFmt } : {} }))
  for (const r of indicatorRows(report, unitIds)) detail.addRow(r)
  detail.getRow(1).font = { bold: true }
  detail.autoFilter = { from: { row: 1, column: 1 }, to: { row: 1, column: INDICATOR_COLUMNS.length } }

  return Buffer.from(await wb.xlsx.writeBuffer())
}
