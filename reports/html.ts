// The published assessment as one self-contained, print-ready HTML document (A4): the district
// report and one report per unit, rendered from a publication's frozen figures only. Nothing in
// the document depends on when it is rendered (no generation time, no counters, no locale), so a
// published report regenerates byte for byte. Every text that comes from data is escaped.
import type { Scheme, ScoringMethod } from '../metrics/index.ts'
import { barsChart, comparisonChart, distributionChart, gradesChart } from './charts.ts'
import { CATEGORY_ZH, change, chineseDate, dateTime, esc, figure, figureWithUnit, grouped, score, TIER_SHORT, TIER_ZH, type FigureUnit } from './format.ts'
import type { CatalogEntry, FrozenIndicator, FrozenReport, FrozenUnit, Publication, PublishedSettings, Restatement, ScoringRule } from './publication.ts'
import { TIER_LIMITS, type TierLimit } from '../warehouse/index.ts'
import { emptyRecords, LISTED, type UnitRecords } from './records.ts'

export const ISSUER = '东城区政务服务三级体系联席会议'

/** The sections every report has, in order, marked `data-section="…"` in the document. */
export const DISTRICT_SECTIONS = ['cover', 'summary', 'scores', 'charts', 'indicators', 'points_lost', 'bad_ratings', 'complaints', 'scheme', 'signature', 'appendix'] as const
export const UNIT_SECTIONS = ['cover', 'summary', 'indicators', 'charts', 'points_lost', 'bad_ratings', 'complaints', 'scheme', 'signature', 'appendix'] as const

const CSS = `
@page { size: A4; margin: 18mm 16mm 18mm 16mm; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font-family: "Noto Serif CJK SC", "Noto Sans CJK SC", "Source Han Serif SC", "SimSun", serif; font-size: 10.5pt; line-height: 1.55; color: #111; margin: 0 auto; max-width: 190mm; padding: 10mm 0; background: #fff; }
@media print { body { padding: 0; max-width: none; } }
h1, h2, h3, th, .sans, figure, .stamp { font-family: "Noto Sans CJK SC", "Source Han Sans SC", sans-serif; }
.masthead { text-align: center; color: #c00; font-size: 24pt; font-weight: 700; letter-spacing: 2pt; margin: 6mm 0 2mm; }
.redline { border: 0; border-top: 2.5pt solid #c00; margin: 0 0 8mm; }
h1 { text-align: center; font-size: 19pt; margin: 4mm 0 2mm; letter-spacing: 1pt; }
.subtitle { text-align: center; font-size: 13pt; margin: 0 0 6mm; }
.meta { width: auto; margin: 0 auto 6mm; border: 0; font-size: 10pt; }
.meta td { border: 0; padding: 1pt 8pt; }
.meta td:first-child { color: #444; text-align: right; white-space: nowrap; }
h2 { font-size: 14pt; border-bottom: 1pt solid #1f4e79; color: #1f4e79; padding-bottom: 1mm; margin: 0 0 3mm; }
h3 { font-size: 11.5pt; margin: 4mm 0 2mm; }
.section { break-before: page; }
.section.flow { break-before: auto; }
table { border-collapse: collapse; width: 100%; font-size: 9pt; margin: 0 0 3mm; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
th, td { border: 0.6pt solid #777; padding: 1.2mm 1.5mm; vertical-align: top; }
th { background: #e8eef5; font-weight: 600; text-align: center; }
td.n { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.c { text-align: center; white-space: nowrap; }
small, .note { color: #555; font-size: 8.5pt; }
.note { margin: 1mm 0 3mm; }
figure { margin: 2mm 0 4mm; text-align: center; break-inside: avoid; }
figure svg { max-width: 100%; height: auto; }
.key { display: flex; gap: 4mm; margin: 2mm 0 4mm; }
.key div { flex: 1; border: 0.8pt solid #1f4e79; padding: 2mm; text-align: center; }
.key b { display: block; font-size: 16pt; color: #1f4e79; }
.grade-优秀 { color: #1e8449; font-weight: 700; } .grade-良好 { color: #2e86c1; font-weight: 700; }
.grade-合格 { color: #9a7d0a; font-weight: 700; } .grade-不合格 { color: #c0392b; font-weight: 700; }
.miss { color: #c0392b; }
code { font-family: "Noto Sans CJK SC", sans-serif; font-size: 8pt; word-break: break-all; color: #333; }
.sign { break-inside: avoid; margin-top: 14mm; display: flex; justify-content: flex-end; }
.sign .block { width: 85mm; text-align: center; position: relative; line-height: 2.2; }
.stamp { position: absolute; right: 6mm; top: -10mm; width: 38mm; height: 38mm; border: 1.2pt dashed #c00; border-radius: 50%; color: #c00; font-size: 9pt; display: flex; align-items: center; justify-content: center; opacity: 0.8; }
.sign-line { display: inline-block; width: 40mm; border-bottom: 0.8pt solid #111; }
.end { text-align: center; color: #555; margin-top: 8mm; font-size: 9pt; }
.draft-line { text-align: center; color: #c00; font-size: 13pt; font-weight: 700; letter-spacing: 4pt; margin: 0 0 2mm; font-family: "Noto Sans CJK SC", sans-serif; }
.draft-notice { border: 1.2pt solid #c00; padding: 3mm 4mm; margin-top: 10mm; break-inside: avoid; }
.watermark { position: fixed; inset: 0; display: flex; flex-direction: column; align-items: center; justify-content: center; gap: 4mm; pointer-events: none; z-index: 10;
  color: rgba(204, 0, 0, 0.14); transform: rotate(-30deg); font-family: "Noto Sans CJK SC", sans-serif; text-align: center; }
.watermark b { font-size: 66pt; letter-spacing: 10pt; }
.watermark span { font-size: 14pt; font-weight: 700; }
`

/** A numerator or denominator as it was counted: whole numbers whole, sums of money or days with two decimals. */
const part = (v: number | null) => (v === null ? '—' : Number.isInteger(v) ? grouped(v, 0) : grouped(v, 2))

const LIMIT_ZH: Record<TierLimit, string> = {
  verification_limit_days: '差评核实期限', rectification_limit_days: '差评整改期限', revisit_limit_days: '差评回访期限',
  complaint_response_limit_days: '投诉响应期限', complaint_limit_days: '投诉办理期限',
}

/** A handling limit of a tier as published: the tier's own, else the district's. */
const limitOf = (s: PublishedSettings, name: TierLimit, tier?: number): number | undefined =>
  (tier === undefined ? undefined : s.by_tier?.[String(tier) as '1']?.[name]) ?? s[name]

/** The handling limits a year was judged by, in words: the district's, each tier's own, and the changes made in the year. */
function limitsText(s: PublishedSettings, year: number): string {
  const names = TIER_LIMITS.filter((n) => typeof s[n] === 'number')
  const district = names.map((n) => `${LIMIT_ZH[n]} ${s[n]} 个工作日`).join('，')
  const tiers = Object.entries(s.by_tier ?? {}).flatMap(([t, l]) => names.filter((n) => typeof l?.[n] === 'number').map((n) => `${TIER_SHORT[Number(t)] ?? t}${LIMIT_ZH[n]} ${l![n]} 个工作日`))
  const changed = (s.limit_versions ?? []).filter((v) => v.from.startsWith(`${year}-`) && v.from !== `${year}-01-01`)
    .map((v) => `${v.from} 起${v.scope === '0' ? '全区' : TIER_SHORT[Number(v.scope)] ?? v.scope}${LIMIT_ZH[v.name]}${v.value === null ? '改按全区期限' : ` ${v.value} 个工作日`}`)
  return esc(`${district}${tiers.length ? `；${tiers.join('，')}` : ''}${changed.length ? `。年内调整：${changed.join('；')}` : ''}`)
}

/** A unit opened or closed in the year, in words: 2025-07-01 设立 / 2025-06-30 停用. */
export function inServiceText(part: { from: string; to: string }, year: number): string {
  const opened = part.from > `${year}-01-01`, closed = part.to < `${year}-12-31`
  return `${opened ? `${part.from} 起设立` : ''}${opened && closed ? '，' : ''}${closed ? `${part.to} 后停用` : ''}（在岗 ${part.from} 至 ${part.to}）`
}

const GRADE = (g: string | null) => (g === null ? '—' : `<span class="grade-${esc(g)}">${esc(g)}</span>`)

/** The line a draft carries on every page: "征求意见稿 — 数据截至 …，以正式发布为准". */
export function draftLine(p: Pick<Publication, 'as_of_ms'>, tz: string): string {
  return `征求意见稿 — 数据截至 ${dateTime(p.as_of_ms, tz)}，以正式发布为准`
}

/** A draft's watermark: fixed, so every printed page (and the screen) carries it. */
const watermark = (p: Publication, tz: string) => (p.draft ? `<div class="watermark" aria-hidden="true" data-watermark><b>征求意见稿</b><span>${esc(draftLine(p, tz))}</span></div>\n` : '')

/** A document's title: a draft's says so. */
const titleOf = (p: Publication, rest: string) => `${ISSUER} · ${p.year}年度政务服务绩效考核报告${p.draft ? '（征求意见稿）' : ''}${rest}`

function doc(title: string, body: string): string {
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
${body}
</body>
</html>
`
}

/** A section; `flow` ones go on where the one before ends, the others start a page. */
const section = (name: string, heading: string | null, content: string, flow = false) =>
  `<section class="section ${name}${flow ? ' flow' : ''}" data-section="${name}" id="${name}">\n${heading ? `<h2>${esc(heading)}</h2>\n` : ''}${content}\n</section>\n`

function coverBlock(p: Publication, tz: string, subtitle: string, rows: Array<[string, string]>): string {
  const provisional: Array<[string, string]> = p.calendar.provisional
    ? [['工作日历', `<b data-calendar-provisional>暂定</b>：${esc(p.calendar.provisional_years.join('、'))}年国务院节假日安排${p.draft ? '尚未载入' : '发布时尚未载入'}，相关工作日按法定节假日暂定计算`]]
    : []
  if (p.draft) {
    // a draft: no date of publication, no version, no publication id — it is none of them
    const meta: Array<[string, string]> = [
      ['状态', '<b class="miss" data-draft-status>征求意见稿</b>：尚未经联席会议发布，供各单位核对得分及所依据的记录'],
      ['考核期间', `${esc(p.period.from)} 至 ${esc(p.period.to)}${p.period.to < `${p.year}-12-31` ? '（年初至今，本年度尚未结束）' : ''}`],
      ['数据截至', `${esc(dateTime(p.as_of_ms, tz))}（${esc(tz)}）`],
      ...provisional,
      ...rows,
    ]
    return `${watermark(p, tz)}<div class="masthead">${ISSUER}</div>
<div class="draft-line" data-draft>征求意见稿 · 以正式发布为准</div>
<hr class="redline">
<h1>${p.year}年度政务服务绩效考核报告（征求意见稿）</h1>
<p class="subtitle">${subtitle}</p>
<table class="meta">${meta.map(([k, v]) => `<tr><td>${k}：</td><td>${v}</td></tr>`).join('')}</table>`
  }
  const meta: Array<[string, string]> = [
    ['发布日期', esc(chineseDate(p.published_ms, tz))],
    ['版本', `第 ${p.version} 版${p.version > 1 ? '（更正重发）' : ''}`],
    ['考核期间', `${esc(p.period.from)} 至 ${esc(p.period.to)}`],
    ['数据截至', `${esc(dateTime(p.as_of_ms, tz))}（${esc(tz)}）`],
    ...provisional,
    ...rows,
    ['发布编号', `<code>${esc(p.publication_id)}</code>`],
  ]
  return `<div class="masthead">${ISSUER}</div>
<hr class="redline">
<h1>${p.year}年度政务服务绩效考核报告</h1>
<p class="subtitle">${subtitle}</p>
<table class="meta">${meta.map(([k, v]) => `<tr><td>${k}：</td><td>${v}</td></tr>`).join('')}</table>
${p.note ? `<p class="note">说明：${esc(p.note)}</p>` : ''}`
}

/** The closing section: a publication's seal and signature (落款); a draft's notice instead, with none. */
function closingSection(p: Publication, tz: string): string {
  if (!p.draft) return section('signature', null, signatureBlock(p, tz), true)
  return section('draft_notice', null, `<div class="draft-notice"><p><b>征求意见稿说明</b></p>
<p>本稿为${p.year}年度考核的征求意见稿，按数据截至 ${esc(dateTime(p.as_of_ms, tz))} 的数据计算，尚未经联席会议发布，不是考核结果，不作为正式数据引用。此后补报或更正的数据到达后，本稿的数字随之变化。</p>
<p>请各单位逐项核对本稿的得分及其所依据的记录（每个数值附分子、分母；超期办件、差评、投诉的明细见各节所列地址），有异议的请在联席会议发布前提出。以正式发布为准。</p></div>
<p class="end">— 征求意见稿 完 —</p>`, true)
}

function signatureBlock(p: Publication, tz: string): string {
  return `<p>本报告所列数据为${p.year}年度考核的正式发布数据，已于发布时冻结；此后补报的数据不改变本报告，另以更正说明（数据重述）列示。每项数值均附分子、分母，可按附录定义逐项核对。</p>
<div class="sign"><div class="block">
<div class="stamp">（印章）</div>
<div>${ISSUER}（盖章）</div>
<div>负责人（签字）：<span class="sign-line"></span></div>
<div>${esc(chineseDate(p.published_ms, tz))}</div>
</div></div>
<p class="end">— 完 —</p>`
}

// ── methods, targets and reasons

function stepText(method: Extract<ScoringMethod, { kind: 'stepped' }>, unit: FigureUnit, higher: boolean): string {
  return method.steps.map((s) => `${higher ? '≥' : '≤'} ${figure(higher ? s.at_least ?? 0 : s.at_most ?? 0, unit)} 得 ${s.score} 分`).join('；')
}

export function methodText(method: ScoringMethod, c: CatalogEntry | undefined): string {
  const unit = c?.unit ?? 'ratio'
  const higher = c?.direction !== 'lower_is_better'
  switch (method.kind) {
    case 'target':
      return `按目标完成度计分：${higher ? '实际值 ÷ 目标值' : '目标值 ÷ 实际值'} × 100，最高 100 分`
    case 'minmax':
      return '同级比较：同级计分单位中最好者（或达到本单位目标者）100 分、最差者 0 分，其间按比例'
    case 'stepped':
      return `分档计分：${stepText(method, unit, higher)}`
    case 'deduction':
      return `每 1 ${unit === 'cases' ? '件' : '个'}扣 ${method.per} 分，最多扣 ${method.max} 分`
  }
}

function methodOf(scheme: Scheme, tier: number, id: string): { method: ScoringMethod; weight: number; categoryWeight: number } | null {
  const t = scheme.tiers[String(tier) as '1']
  if (!t) return null
  for (const c of Object.values(t)) {
    const i = c.indicators.find((x) => x.id === id)
    if (i) return { method: i.method, weight: i.weight, categoryWeight: c.weight }
  }
  return null
}

const meets = (i: FrozenIndicator, c: CatalogEntry | undefined) =>
  i.value === null || i.target === null ? null : c?.direction === 'lower_is_better' ? i.value <= i.target : i.value >= i.target

/** Why an indicator lost points, in words. */
function reason(i: FrozenIndicator, c: CatalogEntry | undefined, scheme: Scheme, tier: number, peers: FrozenUnit[], rule: ScoringRule): string {
  const unit = c?.unit ?? 'ratio'
  const m = methodOf(scheme, tier, i.id)
  const parts: string[] = [`实际 ${esc(figureWithUnit(i.value, unit))}`]
  // (a publication under the old rule scored a small sample at its conservative bound)
  if (rule === 'wilson_bound' && i.small_sample) parts.push(`样本 ${esc(figure(i.denominator, 'cases'))} 少于 ${scheme.min_sample}，按 95% 置信界 ${esc(figureWithUnit(i.scored_value, unit))} 计分`)
  else if (i.scored_value !== null && i.scored_value !== i.value) parts.push(`按 ${esc(figureWithUnit(i.scored_value, unit))} 计分`)
  if (m) {
    switch (m.method.kind) {
      case 'target':
        parts.push(i.target === null ? '无目标值' : `目标 ${esc(figureWithUnit(i.target, unit))}，完成度 ${esc(score(i.score))}%`)
        break
      case 'minmax': {
        const vals = peers.map((u) => u.indicators.find((x) => x.id === i.id)).filter((x) => x?.scored).map((x) => x!.scored_value).filter((v): v is number => v !== null)
        if (vals.length) {
          const higher = c?.direction !== 'lower_is_better'
          const best = higher ? Math.max(...vals) : Math.min(...vals)
          const worst = higher ? Math.min(...vals) : Math.max(...vals)
          parts.push(`同级计分单位最好 ${esc(figureWithUnit(best, unit))}、最差 ${esc(figureWithUnit(worst, unit))}`)
        }
        if (i.target !== null) parts.push(`达到目标 ${esc(figureWithUnit(i.target, unit))} 即得满分`)
        break
      }
      case 'stepped':
        parts.push(`按分档得 ${esc(score(i.score))} 分（${esc(stepText(m.method, unit, c?.direction !== 'lower_is_better'))}）`)
        if (i.target !== null) parts.push(`达到目标 ${esc(figureWithUnit(i.target, unit))} 即得满分`)
        break
      case 'deduction':
        parts.push(`每 1 件扣 ${m.method.per} 分`)
        break
    }
  }
  return parts.join('；')
}

/** Σ numerator and Σ denominator of the units made into a value, as the indicator defines it; null for a quantile. */
export function totalValue(c: CatalogEntry | undefined, rows: Array<{ numerator: number | null; denominator: number | null }>): number | null {
  if (!c || c.quantile || rows.length === 0) return null
  const n = rows.reduce((s, r) => s + (r.numerator ?? 0), 0)
  if (rows.every((r) => r.denominator === null)) return n
  const d = rows.reduce((s, r) => s + (r.denominator ?? 0), 0)
  if (d === 0) return null
  const ratio = n / d
  return c.complement ? 1 - ratio : ratio * (c.scale ?? 1)
}

// ── whether each indicator was scored, and the composite's arithmetic (按比例折算)

const pct = (w: number) => `${score(w * 100)}%`

/** Why an indicator was not scored, in a few words: "样本不足（12 < 30）", "无记录", "无目标值". */
export function notScoredText(i: Pick<FrozenIndicator, 'not_scored_reason' | 'sample' | 'min_sample'>): string {
  switch (i.not_scored_reason) {
    case 'small_sample':
      return `样本不足（${part(i.sample)} < ${i.min_sample}）`
    case 'no_records':
      return '无记录'
    case 'no_target':
      return '无目标值'
    default:
      return ''
  }
}

/** One line for a unit in the district's score table: what was not scored, and the weight the composite is taken over. */
function scoringLine(u: FrozenUnit, name: (id: string) => string): string {
  const missing = u.indicators.filter((i) => !i.scored)
  if (missing.length === 0) return '全部计分'
  if (u.composite === null) return '均未计分（样本不足或无记录）'
  const byReason = new Map<string, string[]>()
  for (const i of missing) {
    const key = i.not_scored_reason === 'small_sample' ? '样本不足' : i.not_scored_reason === 'no_target' ? '无目标值' : '无记录'
    byReason.set(key, [...(byReason.get(key) ?? []), i.not_scored_reason === 'small_sample' ? `${name(i.id)} ${part(i.sample)}/${i.min_sample}` : name(i.id)])
  }
  return `不计分：${[...byReason].map(([k, v]) => `${k}（${v.join('、')}）`).join('；')}；${u.rule === 'wilson_bound' ? '其余权重按比例放大' : `计分指标方案权重 ${pct(u.scored_scheme_weight)}，按比例折算`}`
}

/** A unit's composite worked out: each indicator's scheme weight, whether it was scored and why not, its 折算 weight and points. */
function arithmeticBlock(u: FrozenUnit, name: (id: string) => string): string {
  const rows = u.indicators.map((i) => `<tr><td>${esc(name(i.id))}</td><td class="c">${esc(CATEGORY_ZH[i.category] ?? i.category)}</td>
<td>${i.scored ? '计分' : `<span class="miss">不计分</span>：${esc(notScoredText(i))}`}</td><td class="n">${esc(part(i.sample))} / ${i.min_sample}${i.sample_of ? `<br><small>${esc(i.sample_of)}</small>` : ''}</td>
<td class="n">${esc(pct(i.scheme_weight))}</td><td class="n">${i.scored ? esc(pct(i.weight)) : '—'}</td><td class="n">${i.scored ? esc(score(i.score)) : '—'}</td><td class="n">${i.scored ? esc(score(i.points)) : '—'}</td></tr>`).join('\n')
  const scored = u.indicators.filter((i) => i.scored)
  const schemeTotal = u.indicators.reduce((s, i) => s + i.scheme_weight, 0)
  const sum = scored.map((i) => `${score(i.score)} × ${pct(i.weight)}`).join(' + ')
  const legacy = u.rule === 'wilson_bound'
  const formula = u.composite === null
    ? '本单位没有可计分的指标（各项样本不足或无记录），不计算综合得分，不评定等级。'
    : legacy
      // (a publication under the old rule: its weights were renormalised within each category, then across them)
      ? `综合得分 = Σ 得分 × 有效权重 = ${esc(sum)} = <b>${esc(score(u.composite))}</b> 分。本版发布时的规则：样本少于 ${u.indicators[0]?.min_sample ?? ''} 的比率按 95% 置信界计分，无数据的指标权重先在类内、再在类间按比例放大（均已停用）。`
      : `折算权重 = 方案权重 ÷ 计分指标的方案权重之和（${esc(pct(u.scored_scheme_weight))}）${u.scored_scheme_weight < 0.99995 ? '：不计分指标的权重按比例分给计分的指标' : '：全部指标计分，折算权重即方案权重'}。综合得分 = Σ 得分 × 折算权重 = ${esc(sum)} = <b>${esc(score(u.composite))}</b> 分。`
  return `<h3>综合得分的计算（${legacy ? '本版发布时的规则' : '按比例折算'}）</h3>
<table><thead><tr><th>指标</th><th>类别</th><th>计分情况</th><th>样本 / 最小样本量</th><th>方案权重</th><th>${legacy ? '有效权重' : '折算权重'}</th><th>得分</th><th>得分点</th></tr></thead><tbody>
${rows}
<tr><td colspan="4"><b>合计</b></td><td class="n">${esc(pct(schemeTotal))}</td><td class="n">${esc(pct(scored.reduce((s, i) => s + i.weight, 0)))}</td><td></td><td class="n"><b>${esc(score(u.composite))}</b></td></tr>
</tbody></table>
<p class="note">${formula}</p>`
}

// ── shared sections

function schemeSection(p: Publication, tiers: number[], rule: ScoringRule): string {
  const s = p.scheme
  const cat = new Map(p.catalog.map((c) => [c.id, c]))
  const tables = tiers.map((tier) => {
    const t = s.tiers[String(tier) as '1']
    if (!t) return ''
    const rows = Object.entries(t).flatMap(([category, def]) => def.indicators.map((i, k) => `<tr>
${k === 0 ? `<td class="c" rowspan="${def.indicators.length}">${esc(CATEGORY_ZH[category] ?? category)}<br><small>${esc(score(def.weight * 100))}%</small></td>` : ''}
<td>${esc(cat.get(i.id)?.name.zh ?? i.id)}</td><td class="n">${esc(score(i.weight * 100))}%</td><td class="n">${esc(score(def.weight * i.weight * 100))}%</td><td class="n">${i.min_sample ?? s.min_sample}</td><td>${esc(methodText(i.method, cat.get(i.id)))}</td></tr>`)).join('\n')
    return `<h3>${esc(TIER_ZH[tier] ?? `第${tier}级`)}</h3>
<table><thead><tr><th>类别（权重）</th><th>指标</th><th>类内权重</th><th>方案权重</th><th>最小样本量</th><th>计分方法</th></tr></thead><tbody>
${rows}
</tbody></table>`
  }).join('\n')
  const rules = rule === 'wilson_bound'
    ? `<p>综合得分 = Σ 指标得分 × 有效权重；某项指标本单位无数据时不计入，其余权重按比例放大。本版发布时的规则：比率类指标样本少于 ${s.min_sample} 的，按 95% Wilson 置信界（越高越好取下界，越低越好取上界）计分和排名（该规则已停用）。同分同名次。</p>`
    : `<p>每项指标按本单位的实际值、以方案的计分方法计分；达到本单位目标值或最高档的，得 100 分，满分记录不失分。指标的样本（比率为其分母，计数和平均值为其所依据的记录，见表中“样本”）少于该指标的最小样本量（未单列的为 ${s.min_sample}）的，该指标对本单位<b>不计分</b>（样本不足）；没有记录的同样不计分。不计分指标的权重按比例折算给本单位计分的指标：折算权重 = 方案权重 ÷ 本单位计分指标的方案权重之和，综合得分 = Σ 得分 × 折算权重（一类指标全部不计分的，该类权重同样折算）。样本量的不确定性只用于排名比较（比率按 95% 置信界排序），不用于扣分。同分同名次。</p>`
  return `<p>《${esc(s.name)}》，版本 ${esc(s.version)}。等级：${s.grades.map((g) => `${esc(g.grade)} ≥ ${g.min} 分`).join('；')}。</p>
${rules}
<p>${limitsText(p.settings, p.year)}（均按国务院办公厅公布的节假日安排计算工作日；每条记录按其当日有效的期限判定）。</p>
${tables}`
}

function appendixSection(p: Publication): string {
  const rows = p.catalog.map((c) => `<tr><td><code>${esc(c.id)}</code></td><td>${esc(c.name.zh)}<br><small>${esc(c.name.en)}</small></td><td class="c">${esc(CATEGORY_ZH[c.category] ?? c.category)}</td>
<td class="c">${c.direction === 'higher_is_better' ? '越高越好' : '越低越好'}</td><td>${esc(c.definition.zh)}</td><td>${esc(c.formula)}</td><td>${esc(c.period)}</td></tr>`).join('\n')
  return `<p>每项比率为分子之和 ÷ 分母之和（不是各单位比率的平均）；本报告每个数值都附分子和分母。以下定义为${p.draft ? '现行' : '发布时生效'}的定义。</p>
<table><thead><tr><th>编号</th><th>指标</th><th>类别</th><th>方向</th><th>定义</th><th>公式</th><th>计入期间</th></tr></thead><tbody>
${rows}
</tbody></table>`
}

const STATE_ZH: Record<string, string> = { rectified_late: '超期整改', unrectified: '逾期未整改', resolved_late: '超期办结', unresolved: '逾期未办结' }
const CHANNEL_ZH: Record<string, string> = { window_device: '窗口评价器', sms: '短信', web: '网站', app: '移动端', qr_code: '二维码', hotline: '热线', letter: '来信', in_person: '来访', 未注明: '未注明' }
const counts = (m: Record<string, number>) => Object.entries(m).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([k, v]) => `${esc(CHANNEL_ZH[k] ?? k)} ${v}`).join('，') || '—'
const rate = (n: number, d: number) => (d === 0 ? '—' : `${figure(n / d, 'ratio')}`)

/** The bad ratings' counts: for a unit, and for a tier of the district report (which lists no single rating). */
function badRatingsSummary(r: UnitRecords['bad'], limit: number): string {
  return `<table><thead><tr><th>差评数</th><th>已核实</th><th>核实为非服务问题</th><th>已整改</th><th>整改期限已过</th><th>其中按期整改</th><th>按期整改率</th><th>已回访</th></tr></thead><tbody>
<tr><td class="n">${r.total}</td><td class="n">${r.verified}</td><td class="n">${r.dismissed}</td><td class="n">${r.rectified}</td><td class="n">${r.limit_passed}</td><td class="n">${r.rectified_in_time}</td><td class="n">${rate(r.rectified_in_time, r.limit_passed)}</td><td class="n">${r.revisited}</td></tr>
</tbody></table>
<p class="note">差评：主动评价中 1–2 星。整改期限 ${limit} 个工作日，自差评当日起算。按评价渠道：${counts(r.by_channel)}。</p>`
}

/** A unit's bad ratings: the counts, and the ones rectified late or not rectified in time. */
function badRatingsBlock(r: UnitRecords['bad'], limit: number): string {
  const summary = badRatingsSummary(r, limit)
  if (r.listed_of === 0) return `${summary}\n<p>本年度无超期整改或逾期未整改的差评。</p>`
  const rows = r.listed.map((e) => `<tr><td class="c">${esc(e.date)}</td><td class="c">${e.rating} 星</td><td class="c">${esc(CHANNEL_ZH[e.channel] ?? e.channel)}</td><td><code>${esc(e.case_id ?? '—')}</code></td>
<td>${esc(truncate(e.comment ?? '', 60)) || '—'}</td><td class="c">${esc(STATE_ZH[e.state] ?? e.state)}${e.rectified ? `<br><small>${esc(e.rectified)}，${e.working_days ?? '—'} 个工作日</small>` : ''}</td><td class="c">${e.revisited ? '已回访' : '未回访'}</td></tr>`).join('\n')
  return `${summary}
<h3>超期整改和逾期未整改的差评${r.listed_of > r.listed.length ? `（共 ${r.listed_of} 条，列出前 ${r.listed.length} 条）` : `（${r.listed_of} 条）`}</h3>
<table><thead><tr><th>日期</th><th>评价</th><th>渠道</th><th>办件编号</th><th>评价内容</th><th>处理情况</th><th>回访</th></tr></thead><tbody>
${rows}
</tbody></table>`
}

/** The complaints' counts: for a unit, and for a tier of the district report (which lists no single complaint). */
function complaintsSummary(r: UnitRecords['complaints'], limit: number): string {
  const hotline = r.rated !== undefined
    ? `<table data-hotline><thead><tr><th>响应率</th><th>解决率</th><th>满意率</th><th>投诉属实率</th></tr></thead><tbody>
<tr><td class="n">${rate(r.responded_in_time!, r.response_limit_passed!)}<br><small>${r.responded_in_time} / ${r.response_limit_passed}</small></td>
<td class="n">${rate(r.resolved, r.received)}<br><small>${r.resolved} / ${r.received}</small></td>
<td class="n">${rate(r.satisfied!, r.rated!)}<br><small>${r.satisfied} / ${r.rated}</small></td>
<td class="n">${rate(r.substantiated, r.resolved)}<br><small>${r.substantiated} / ${r.resolved}</small></td></tr>
</tbody></table>
<p class="note">响应率：响应期限已过的投诉中按期首次联系投诉人的比例；解决率：已办结 ÷ 受理；满意率：投诉人评价 3–5 星 ÷ 已评价（以最后一次评价为准）。</p>`
    : ''
  return `<table><thead><tr><th>受理投诉</th><th>已办结</th><th>办理期限已过</th><th>其中按期办结</th><th>按期办结率</th><th>查实</th></tr></thead><tbody>
<tr><td class="n">${r.received}</td><td class="n">${r.resolved}</td><td class="n">${r.limit_passed}</td><td class="n">${r.resolved_in_time}</td><td class="n">${rate(r.resolved_in_time, r.limit_passed)}</td><td class="n">${r.substantiated}</td></tr>
</tbody></table>
${hotline}
<p class="note">办理期限 ${limit} 个工作日，自受理当日起算。按来源：${counts(r.by_source)}。按类别：${counts(r.by_category)}。</p>`
}

/** A unit's complaints: the counts, and the ones resolved late or not resolved in time. */
function complaintsBlock(r: UnitRecords['complaints'], limit: number): string {
  const summary = complaintsSummary(r, limit)
  if (r.listed_of === 0) return `${summary}\n<p>本年度无超期办结或逾期未办结的投诉。</p>`
  const rows = r.listed.map((e) => `<tr><td class="c">${esc(e.date)}</td><td><code>${esc(e.complaint_id)}</code></td><td class="c">${esc(CHANNEL_ZH[e.source ?? '未注明'] ?? e.source)}</td><td>${esc(e.category ?? '—')}</td>
<td class="c">${esc(STATE_ZH[e.state] ?? e.state)}${e.resolved ? `<br><small>${esc(e.resolved)}，${e.working_days ?? '—'} 个工作日</small>` : ''}</td><td class="c">${e.substantiated === null ? '—' : e.substantiated ? '查实' : '未查实'}</td></tr>`).join('\n')
  return `${summary}
<h3>超期办结和逾期未办结的投诉${r.listed_of > r.listed.length ? `（共 ${r.listed_of} 件，列出前 ${r.listed.length} 件）` : `（${r.listed_of} 件）`}</h3>
<table><thead><tr><th>受理日期</th><th>投诉编号</th><th>来源</th><th>类别</th><th>办理情况</th><th>查实</th></tr></thead><tbody>
${rows}
</tbody></table>`
}

const truncate = (s: string, n: number) => ([...s].length > n ? `${[...s].slice(0, n).join('')}…` : s)

/** The counts of several units' records added up (no single record: those are each unit's own). */
function sumRecords(units: FrozenUnit[]): UnitRecords {
  const out = emptyRecords()
  const add = (into: Record<string, number>, from: Record<string, number>) => {
    for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v
  }
  for (const u of units) {
    const b = u.records.bad
    const c = u.records.complaints
    for (const k of ['total', 'dismissed', 'verified', 'rectified', 'limit_passed', 'rectified_in_time', 'revisited'] as const) out.bad[k] += b[k]
    for (const k of ['received', 'resolved', 'limit_passed', 'resolved_in_time', 'substantiated'] as const) out.complaints[k] += c[k]
    for (const k of ['response_limit_passed', 'responded_in_time', 'rated', 'satisfied'] as const) {
      // (a publication made before the hotline's steps has none: the sum says so)
      out.complaints[k] = c[k] === undefined || out.complaints[k] === undefined ? undefined : out.complaints[k]! + c[k]!
    }
    add(out.bad.by_channel, b.by_channel)
    add(out.complaints.by_source, c.by_source)
    add(out.complaints.by_category, c.by_category)
  }
  return out
}

function tierGroups(report: FrozenReport): Array<[number, FrozenUnit[]]> {
  const tiers = [...new Set(report.units.map((u) => u.tier))].sort()
  return tiers.map((t) => [t, report.units.filter((u) => u.tier === t)])
}

const GRADES = (p: Publication) => p.scheme.grades.map((g) => g.grade)

// ── the district report

export function renderDistrict(report: FrozenReport, tz: string): string {
  const p = report.publication
  const cat = new Map(p.catalog.map((c) => [c.id, c]))
  const catName = (id: string) => cat.get(id)?.name.zh ?? id
  const groups = tierGroups(report)
  const rule: ScoringRule = report.units.some((u) => u.rule === 'wilson_bound') ? 'wilson_bound' : 'actual_value'
  const grades = GRADES(p)
  const prevLabel = p.previous.source === 'published' ? `${p.previous.year}年（第 ${p.previous.version} 版发布数）` : p.previous.source === 'computed' ? `${p.previous.year}年（${p.draft ? '本稿生成时' : '发布时'}计算，该年未发布）` : `${p.previous.year}年（无数据）`

  const gradeCounts = groups.map(([, units]) => grades.map((g) => units.filter((u) => u.grade === g).length))
  const summaryRows = groups.map(([tier, units], k) => {
    const scored = units.filter((u) => u.composite !== null)
    const avg = scored.length ? scored.reduce((s, u) => s + u.composite!, 0) / scored.length : null
    const first = units.find((u) => u.rank === 1)
    return `<tr><td>${esc(TIER_ZH[tier] ?? tier)}</td><td class="n">${units.length}</td><td class="n">${scored.length}</td><td class="n">${esc(score(avg))}</td>
${gradeCounts[k]!.map((n) => `<td class="n">${n}</td>`).join('')}<td>${first ? `${esc(first.name)}（${esc(score(first.composite))}）` : '—'}</td></tr>`
  }).join('\n')
  const allRecords = sumRecords(report.units)
  const summary = `<p>根据《${esc(p.scheme.name)}》，联席会议对全区政务服务三级体系 ${report.units.length} 个单位 ${p.year} 年度（${esc(p.period.from)} 至 ${esc(p.period.to)}）的成本、效率、时效和满意度进行了考核，结果如下。</p>
<table><thead><tr><th>层级</th><th>单位数</th><th>参评</th><th>平均得分</th>${grades.map((g) => `<th>${esc(g)}</th>`).join('')}<th>第一名</th></tr></thead><tbody>
${summaryRows}
</tbody></table>
<p>全年共收到差评 ${allRecords.bad.total} 条，整改期限已过的 ${allRecords.bad.limit_passed} 条中按期整改 ${allRecords.bad.rectified_in_time} 条（${rate(allRecords.bad.rectified_in_time, allRecords.bad.limit_passed)}）；受理投诉 ${allRecords.complaints.received} 件，期限已过的 ${allRecords.complaints.limit_passed} 件中按期办结 ${allRecords.complaints.resolved_in_time} 件（${rate(allRecords.complaints.resolved_in_time, allRecords.complaints.limit_passed)}）。对比年度：${esc(prevLabel)}。</p>`

  const scores = groups.map(([tier, units]) => `<h3>${esc(TIER_ZH[tier] ?? tier)}</h3>
<table><thead><tr><th>名次</th><th>单位</th><th>编号</th><th>综合得分</th><th>等级</th><th>上年得分</th><th>上年名次</th><th>变化</th><th>计分说明</th></tr></thead><tbody>
${units.map((u) => `<tr><td class="c">${u.rank ?? '—'}</td><td>${esc(u.name)}${u.in_service ? `<br><small data-in-service>${esc(inServiceText(u.in_service, p.year))}</small>` : ''}</td><td><code>${esc(u.unit_id)}</code></td><td class="n">${esc(score(u.composite))}</td><td class="c">${GRADE(u.grade)}</td>
<td class="n">${esc(score(u.prev_composite))}</td><td class="c">${u.prev_rank ?? '—'}</td><td class="n">${esc(change(u.composite, u.prev_composite, 'points'))}</td><td><small data-scoring>${esc(scoringLine(u, catName))}</small></td></tr>`).join('\n')}
</tbody></table>`).join('\n')
  const scoresNote = `<p class="note">综合得分按各单位的实际值计分。“计分说明”列出本单位不计分的指标及原因（样本不足：样本 / 最小样本量；无记录），不计分指标的权重按比例折算给计分的指标（折算权重 = 方案权重 ÷ 计分指标的方案权重之和）；各单位的逐项计算见其单位报告。</p>`

  let chartNo = 0
  const nextId = () => `c${++chartNo}`
  const charts = [
    `<figure>${gradesChart(nextId(), { title: '各层级考核等级分布（单位数）', tiers: groups.map(([t]) => TIER_SHORT[t] ?? String(t)), grades, counts: gradeCounts })}</figure>`,
    ...groups.map(([tier, units]) => {
      const scored = units.filter((u) => u.composite !== null)
      return scored.length <= 40
        ? `<figure>${barsChart(nextId(), { title: `${TIER_SHORT[tier] ?? tier}：综合得分`, labels: scored.map((u) => u.name), values: scored.map((u) => u.composite), max: 100 })}</figure>`
        : `<figure>${distributionChart(nextId(), { title: `${TIER_SHORT[tier] ?? tier}：${scored.length} 个单位综合得分（按名次）`, values: scored.map((u) => u.composite!), bands: p.scheme.grades })}</figure>`
    }),
  ].join('\n')

  const indicators = groups.map(([tier, units]) => {
    const ids = units[0]?.indicators.map((i) => i.id) ?? []
    const rows = ids.map((id) => {
      const c = cat.get(id)
      const unit = c?.unit ?? 'ratio'
      const list = units.map((u) => u.indicators.find((i) => i.id === id)).filter((i): i is FrozenIndicator => i !== undefined)
      const value = totalValue(c, list)
      const prev = totalValue(c, list.filter((i) => i.prev_numerator !== null || i.prev_denominator !== null).map((i) => ({ numerator: i.prev_numerator, denominator: i.prev_denominator })))
      const withTarget = list.filter((i) => meets(i, c) !== null)
      const met = withTarget.filter((i) => meets(i, c)).length
      const scored = list.filter((i) => i.score !== null)
      const avgScore = scored.length ? scored.reduce((s, i) => s + i.score!, 0) / scored.length : null
      const avgLost = list.length ? list.reduce((s, i) => s + i.points_lost, 0) / list.length : null
      const n = list.reduce((s, i) => s + i.numerator, 0)
      const d = list.every((i) => i.denominator === null) ? null : list.reduce((s, i) => s + (i.denominator ?? 0), 0)
      return `<tr><td>${esc(c?.name.zh ?? id)}</td><td class="n">${esc(figure(value, unit))}${c?.quantile ? '<br><small>分位数不汇总</small>' : ''}</td><td class="n"><small>${esc(part(n))}${d === null ? '' : ` / ${esc(part(d))}`}</small></td>
<td class="n">${esc(figure(prev, unit))}</td><td class="n">${esc(change(value, prev, unit))}</td><td class="c">${withTarget.length ? `${met} / ${withTarget.length}` : '—'}</td><td class="n">${esc(score(avgScore))}</td><td class="n">${esc(score(avgLost))}</td></tr>`
    }).join('\n')
    return `<h3>${esc(TIER_ZH[tier] ?? tier)}</h3>
<table><thead><tr><th>指标</th><th>层级汇总值</th><th>分子 / 分母</th><th>上年</th><th>变化</th><th>达标单位</th><th>平均得分</th><th>平均失分</th></tr></thead><tbody>
${rows}
</tbody></table>`
  }).join('\n')

  const pointsLost = groups.map(([tier, units]) => {
    const ids = units[0]?.indicators.map((i) => i.id) ?? []
    const avgLost = ids.map((id) => units.reduce((s, u) => s + (u.indicators.find((i) => i.id === id)?.points_lost ?? 0), 0) / Math.max(1, units.length))
    const order = ids.map((id, k) => ({ id, lost: avgLost[k]! })).sort((a, b) => b.lost - a.lost || (a.id < b.id ? -1 : 1))
    const lowest = units.filter((u) => u.composite !== null).slice(-5).reverse()
    return `<h3>${esc(TIER_ZH[tier] ?? tier)}</h3>
<figure>${barsChart(nextId(), { title: `${TIER_SHORT[tier] ?? tier}：各指标平均失分`, labels: order.map((o) => cat.get(o.id)?.name.zh ?? o.id), values: order.map((o) => o.lost) })}</figure>
<table><thead><tr><th>得分最低的单位</th><th>综合得分</th><th>失分最多的指标（失分）</th></tr></thead><tbody>
${lowest.map((u) => `<tr><td>${esc(u.name)}</td><td class="n">${esc(score(u.composite))}</td><td>${[...u.indicators].filter((i) => i.points_lost > 0.005).sort((a, b) => b.points_lost - a.points_lost).slice(0, 3).map((i) => `${esc(cat.get(i.id)?.name.zh ?? i.id)}（${esc(score(i.points_lost))}）`).join('，') || '—'}</td></tr>`).join('\n')}
</tbody></table>`
  }).join('\n')

  const worstBad = [...report.units].filter((u) => u.records.bad.listed_of > 0).sort((a, b) => b.records.bad.listed_of - a.records.bad.listed_of || (a.unit_id < b.unit_id ? -1 : 1)).slice(0, 15)
  const badRatings = groups.map(([tier, units]) => `<h3>${esc(TIER_ZH[tier] ?? tier)}</h3>\n${badRatingsSummary(sumRecords(units).bad, limitOf(p.settings, 'rectification_limit_days', tier)!)}`).join('\n') +
    `\n<h3>超期整改和逾期未整改差评最多的单位</h3>\n${worstBad.length ? `<table><thead><tr><th>单位</th><th>差评数</th><th>超期或逾期未整改</th><th>按期整改率</th></tr></thead><tbody>
${worstBad.map((u) => `<tr><td>${esc(u.name)}</td><td class="n">${u.records.bad.total}</td><td class="n">${u.records.bad.listed_of}</td><td class="n">${rate(u.records.bad.rectified_in_time, u.records.bad.limit_passed)}</td></tr>`).join('\n')}
</tbody></table>` : '<p>无。</p>'}`

  const worstComplaints = [...report.units].filter((u) => u.records.complaints.received > 0).sort((a, b) => b.records.complaints.received - a.records.complaints.received || (a.unit_id < b.unit_id ? -1 : 1)).slice(0, 15)
  const complaints = groups.map(([tier, units]) => `<h3>${esc(TIER_ZH[tier] ?? tier)}</h3>\n${complaintsSummary(sumRecords(units).complaints, limitOf(p.settings, 'complaint_limit_days', tier)!)}`).join('\n') +
    `\n<h3>投诉最多的单位</h3>\n${worstComplaints.length ? `<table><thead><tr><th>单位</th><th>受理投诉</th><th>查实</th><th>超期或逾期未办结</th><th>按期办结率</th></tr></thead><tbody>
${worstComplaints.map((u) => `<tr><td>${esc(u.name)}</td><td class="n">${u.records.complaints.received}</td><td class="n">${u.records.complaints.substantiated}</td><td class="n">${u.records.complaints.listed_of}</td><td class="n">${rate(u.records.complaints.resolved_in_time, u.records.complaints.limit_passed)}</td></tr>`).join('\n')}
</tbody></table>` : '<p>无。</p>'}`

  const body = [
    section('cover', null, coverBlock(p, tz, '（全区汇总）', [['参评单位', `${report.units.length} 个（三个层级）`]]), true),
    section('summary', '一、总体情况', summary, true),
    section('scores', '二、综合得分与排名', `${scoresNote}\n${scores}`, true),
    section('charts', '三、图示', charts),
    section('indicators', '四、指标完成情况（与上年比较）', `<p class="note">层级汇总值为该层级各单位分子之和 ÷ 分母之和；“达标单位”为有目标值的单位中达到目标的个数。</p>\n${indicators}`),
    section('points_lost', '五、失分分析', pointsLost),
    section('bad_ratings', '六、差评处理情况', badRatings),
    section('complaints', '七、投诉情况', complaints),
    section('scheme', '八、考核方案', schemeSection(p, groups.map(([t]) => t), rule)),
    closingSection(p, tz),
    section('appendix', '附录：指标定义', appendixSection(p)),
  ].join('')
  return doc(titleOf(p, '（全区）'), body)
}

// ── one unit's report

export function renderUnit(report: FrozenReport, unitId: string, tz: string): string {
  const p = report.publication
  const u = report.units.find((x) => x.unit_id === unitId)
  if (!u) throw new Error(`unit ${unitId} is not in the ${p.year} publication`)
  const cat = new Map(p.catalog.map((c) => [c.id, c]))
  const peers = report.units.filter((x) => x.tier === u.tier)
  const parent = u.parent_id ? report.units.find((x) => x.unit_id === u.parent_id) : undefined
  const name = (id: string) => cat.get(id)?.name.zh ?? id
  const lost = [...u.indicators].filter((i) => i.points_lost > 0.005).sort((a, b) => b.points_lost - a.points_lost || (a.id < b.id ? -1 : 1))

  const notScored = u.indicators.filter((i) => !i.scored)
  const sentence = u.composite === null
    ? `本单位 ${p.year} 年度各项指标均未计分（样本不足或无记录，见“综合得分的计算”），未评定等级。`
    : `本单位 ${p.year} 年度综合得分 ${esc(score(u.composite))} 分，等级${GRADE(u.grade)}，在${esc(TIER_ZH[u.tier] ?? '')} ${u.ranked} 个参评单位中排名第 ${u.rank ?? '—'}。` +
      (u.prev_composite !== null ? `上年得分 ${esc(score(u.prev_composite))} 分${u.prev_rank ? `（第 ${u.prev_rank} 名）` : ''}，变化 ${esc(change(u.composite, u.prev_composite, 'points'))} 分。` : '') +
      (lost.length ? `失分最多的是${lost.slice(0, 3).map((i) => `${esc(name(i.id))}（${esc(score(i.points_lost))} 分）`).join('、')}。` : '') +
      (notScored.length ? `不计分的指标 ${notScored.length} 项（${notScored.map((i) => `${esc(name(i.id))}：${esc(notScoredText(i))}`).join('；')}），其权重按比例折算给计分的指标。` : '')
  const summary = `<div class="key">
<div>综合得分<b>${esc(score(u.composite))}</b></div>
<div>等级<b>${GRADE(u.grade)}</b></div>
<div>同级排名<b>${u.rank ?? '—'} / ${u.ranked}</b></div>
<div>上年得分<b>${esc(score(u.prev_composite))}</b></div>
</div>
<p>${sentence}</p>
${u.in_service ? `<p data-in-service>本单位${esc(inServiceText(u.in_service, p.year))}，只按在岗期间考核：计数类目标按在岗天数折算，年末推算到${u.in_service.to < `${p.year}-12-31` ? '停用日' : '年底'}。</p>` : ''}
<p>差评 ${u.records.bad.total} 条（按期整改率 ${rate(u.records.bad.rectified_in_time, u.records.bad.limit_passed)}），投诉 ${u.records.complaints.received} 件（按期办结率 ${rate(u.records.complaints.resolved_in_time, u.records.complaints.limit_passed)}）。</p>`

  const indicatorRows = u.indicators.map((i) => {
    const c = cat.get(i.id)
    const unit = c?.unit ?? 'ratio'
    const m = meets(i, c)
    return `<tr><td>${esc(name(i.id))}${i.scored ? '' : `<br><small>不计分：${esc(notScoredText(i))}</small>`}</td><td class="n${m === false ? ' miss' : ''}">${esc(figure(i.value, unit))}</td>
<td class="n"><small>${esc(part(i.numerator))}${i.denominator === null ? '' : ` / ${esc(part(i.denominator))}`}</small></td>
<td class="n">${esc(figure(i.target, unit))}${i.target_full_year !== null ? `<br><small>全年 ${esc(figure(i.target_full_year, unit))}，按在岗天数折算</small>` : ''}</td><td class="c">${m === null ? '—' : m ? '达标' : '<span class="miss">未达标</span>'}</td>
<td class="n">${esc(figure(i.prev_value, unit))}</td><td class="n">${esc(change(i.value, i.prev_value, unit))}</td>
<td class="n">${i.scored ? esc(score(i.score)) : '不计分'}</td><td class="n">${esc(score(i.weight * 100))}%</td><td class="n">${esc(score(i.points))}</td><td class="n">${esc(score(i.points_lost))}</td></tr>`
  }).join('\n')
  const totalPoints = u.indicators.reduce((s, i) => s + i.points, 0)
  const totalLost = u.indicators.reduce((s, i) => s + i.points_lost, 0)
  const indicators = `<table><thead><tr><th>指标</th><th>本年</th><th>分子 / 分母</th><th>目标</th><th>达标</th><th>上年</th><th>变化</th><th>得分</th><th>权重</th><th>得分点</th><th>失分</th></tr></thead><tbody>
${indicatorRows}
<tr><td colspan="8"><b>合计</b></td><td class="n">${esc(score(u.indicators.reduce((s, i) => s + i.weight, 0) * 100))}%</td><td class="n"><b>${esc(score(totalPoints))}</b></td><td class="n">${esc(score(totalLost))}</td></tr>
</tbody></table>
<p class="note">权重为折算后的权重；得分点 = 得分 × 权重，合计即综合得分；失分 = (100 − 得分) × 权重。不计分的指标权重为 0，其方案权重按比例折算给计分的指标（见下表）。上年数据：${p.previous.source === 'published' ? `${p.previous.year} 年第 ${p.previous.version} 版发布数` : p.previous.source === 'computed' ? `${p.previous.year} 年（该年未发布，${p.draft ? '本稿生成时' : '发布时'}计算）` : '无'}。</p>
${arithmeticBlock(u, name)}`

  const ratios = u.indicators.filter((i) => cat.get(i.id)?.unit === 'ratio')
  const peerScores = peers.filter((x) => x.composite !== null)
  let chartNo = 0
  const nextId = () => `c${++chartNo}`
  const charts = [
    `<figure>${barsChart(nextId(), { title: '各指标得分（满分 100）', labels: u.indicators.map((i) => name(i.id)), values: u.indicators.map((i) => i.score), max: 100 })}</figure>`,
    ratios.length ? `<figure>${comparisonChart(nextId(), { title: '比率类指标：本年、目标与上年', labels: ratios.map((i) => name(i.id)), current: ratios.map((i) => i.value), target: ratios.map((i) => i.target), previous: ratios.map((i) => i.prev_value) })}</figure>` : '',
    peerScores.length > 1 ? `<figure>${distributionChart(nextId(), { title: `同级 ${peerScores.length} 个单位综合得分（红色为本单位）`, values: peerScores.map((x) => x.composite!), highlight: peerScores.findIndex((x) => x.unit_id === u.unit_id), bands: p.scheme.grades })}</figure>` : '',
  ].join('\n')

  const pointsLost = lost.length === 0 ? '<p>本单位各项指标均得满分。</p>' : `<table><thead><tr><th>指标</th><th>失分</th><th>得分</th><th>原因</th><th>明细</th></tr></thead><tbody>
${lost.map((i) => `<tr><td>${esc(name(i.id))}</td><td class="n">${esc(score(i.points_lost))}</td><td class="n">${esc(score(i.score))}</td><td>${reason(i, cat.get(i.id), p.scheme, u.tier, peers, u.rule)}</td><td>${i.explain ? `<code>${esc(i.explain)}</code>` : '—'}</td></tr>`).join('\n')}
</tbody></table>
<p class="note">“明细”为平台上列出相关办件或评价记录的地址（超期办件、差评及其处理），可逐条核对。</p>`

  const body = [
    section('cover', null, coverBlock(p, tz, `${esc(u.name)}`, [
      ['单位编号', `<code>${esc(u.unit_id)}</code>`],
      ['层级', esc(TIER_ZH[u.tier] ?? String(u.tier))],
      ...(parent ? [['上级单位', esc(parent.name)] as [string, string]] : []),
    ]), true),
    section('summary', '一、考核结果', summary, true),
    section('indicators', '二、指标完成情况（与目标、上年比较）', indicators, true),
    section('charts', '三、图示', charts),
    section('points_lost', '四、失分及原因', pointsLost),
    section('bad_ratings', '五、差评处理记录', badRatingsBlock(u.records.bad, limitOf(p.settings, 'rectification_limit_days', u.tier)!) + (u.records.bad.listed_of > LISTED ? `<p class="note">全部差评及其处理：<code>/api/v1/ratings?unit_id=${esc(encodeURIComponent(u.unit_id))}&amp;bad=true</code></p>` : '')),
    section('complaints', '六、投诉情况', complaintsBlock(u.records.complaints, limitOf(p.settings, 'complaint_limit_days', u.tier)!)),
    section('scheme', '七、考核方案', schemeSection(p, [u.tier], u.rule)),
    closingSection(p, tz),
    section('appendix', '附录：指标定义', appendixSection(p)),
  ].join('')
  return doc(titleOf(p, ` · ${u.name}`), body)
}

// ── the restatement view

export function renderRestatement(r: Restatement, report: FrozenReport, tz: string): string {
  const p = report.publication
  const cat = new Map(p.catalog.map((c) => [c.id, c]))
  const f = (v: number | null | undefined, id: string, field: string) =>
    field === 'value' || field === 'target' ? figure(v ?? null, cat.get(id)?.unit ?? 'ratio') : field === 'weight' ? (v === null || v === undefined ? '—' : `${score(v * 100)}%`) : score(v ?? null)
  const unitRows = r.units.map((x) => `<tr><td>${esc(x.name)}<br><small>${esc(x.unit_id)}</small></td><td class="c">${esc(TIER_SHORT[x.tier] ?? x.tier)}</td>
<td class="n">${esc(score(x.published?.composite))} ${GRADE(x.published?.grade ?? null)} ${x.published?.rank ?? '—'}</td><td class="n">${esc(score(x.current?.composite))} ${GRADE(x.current?.grade ?? null)} ${x.current?.rank ?? '—'}</td><td>${esc(x.fields.join(', '))}</td></tr>`).join('\n')
  const indRows = r.indicators.map((x) => `<tr><td>${esc(x.unit_name)}<br><small>${esc(x.unit_id)}</small></td><td>${esc(x.indicator_name)}</td>
${x.fields.map((field) => `<td>${esc(field)}</td><td class="n">${esc(f(x.published?.[field as 'value'], x.indicator_id, field))}</td><td class="n">${esc(f(x.current?.[field as 'value'], x.indicator_id, field))}</td>`)[0] ?? '<td></td><td></td><td></td>'}
<td><small>${esc(x.fields.slice(1).map((field) => `${field}: ${f(x.published?.[field as 'value'], x.indicator_id, field)} → ${f(x.current?.[field as 'value'], x.indicator_id, field)}`).join('；'))}</small></td></tr>`).join('\n')
  const body = section('restatement', `${p.year}年度考核数据重述（发布数与当前数）`, `<p>发布：第 ${r.version} 版，${esc(dateTime(p.published_ms, tz))}，数据截至 ${esc(r.published_as_of)}；当前数计算于 ${esc(r.current_as_of)}。仅列出不同之处。发布的报告不因此改变；如需更正，由联席会议重新发布新版本。</p>
${r.causes.map((c) => `<p data-cause="${esc(c.cause)}"><b>重述原因：</b>${esc(c.message_zh)}</p>`).join('\n')}
${r.restated ? '' : '<p><b>发布后没有补报数据改变任何数值。</b></p>'}
<h3>综合得分、等级、名次（${r.units.length} 个单位有变化）</h3>
<table><thead><tr><th>单位</th><th>层级</th><th>发布数</th><th>当前数</th><th>变化项</th></tr></thead><tbody>${unitRows || '<tr><td colspan="5">无</td></tr>'}</tbody></table>
<h3>指标（${r.indicators.length} 项有变化）</h3>
<table><thead><tr><th>单位</th><th>指标</th><th>项</th><th>发布数</th><th>当前数</th><th>其他变化</th></tr></thead><tbody>${indRows || '<tr><td colspan="6">无</td></tr>'}</tbody></table>`)
  return doc(`${p.year}年度考核数据重述`, body)
}
