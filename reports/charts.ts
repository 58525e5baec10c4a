// Charts of a report: ECharts rendered to SVG on the server (no browser, no canvas), fixed sizes,
// no animation, Chinese labels in Noto Sans CJK SC. ECharts names each chart's CSS classes after
// a process-wide instance counter ("zr17-cls-3"); they are renumbered per document, so the same
// figures give the same bytes however many charts the process drew before.
import * as echarts from 'echarts'

export const CHART_FONT = "'Noto Sans CJK SC', 'Noto Sans SC', sans-serif"
export const CHART_WIDTH = 640
const PALETTE = ['#1f4e79', '#c0392b', '#7f8c8d', '#2e86c1', '#d4ac0d', '#27ae60']
const GRADE_COLOURS: Record<string, string> = { 优秀: '#1e8449', 良好: '#2e86c1', 合格: '#d4ac0d', 不合格: '#c0392b' }

/** Renders one chart option to an SVG string whose class names start with `id`. */
export function renderChart(id: string, option: echarts.EChartsOption, width: number, height: number): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height })
  try {
    chart.setOption({ animation: false, color: PALETTE, textStyle: { fontFamily: CHART_FONT, fontSize: 11, color: '#222' }, ...option })
    return normaliseSvg(chart.renderToSVGString(), id)
  } finally {
    chart.dispose()
  }
}

/** Renames ECharts' counter-numbered classes to `${id}-0`, `${id}-1`, … in order of appearance. */
export function normaliseSvg(svg: string, id: string): string {
  const names = new Map<string, string>()
  return svg.replace(/zr\d+-cls-\d+/g, (m) => {
    let n = names.get(m)
    if (!n) names.set(m, (n = `${id}-${names.size}`))
    return n
  })
}

const title = (text: string) => ({ text, left: 'center', top: 4, textStyle: { fontFamily: CHART_FONT, fontSize: 13, fontWeight: 'bold' as const, color: '#111' } })
const round = (v: number | null, d = 2) => (v === null ? null : Math.round(v * 10 ** d) / 10 ** d)

/** Horizontal bars: one per label (top to bottom), with the value printed at the end. */
export function barsChart(id: string, opts: { title: string; labels: string[]; values: Array<number | null>; max?: number; highlight?: number; unit?: string; colours?: string[] }): string {
  // long lists (a tier's 30 bureau halls) packed tighter, so that the chart fits a page with the one before it
  const height = 50 + Math.max(2, opts.labels.length) * (opts.labels.length > 20 ? 15 : 22)
  return renderChart(id, {
    title: title(opts.title),
    grid: { left: 8, right: 48, top: 34, bottom: 8, containLabel: true },
    xAxis: { type: 'value', max: opts.max, axisLabel: { fontSize: 10 }, splitLine: { lineStyle: { color: '#e5e5e5' } } },
    yAxis: { type: 'category', inverse: true, data: opts.labels, axisLabel: { fontSize: 11, width: 180, overflow: 'truncate' }, axisTick: { show: false } },
    series: [{
      type: 'bar', barMaxWidth: 14,
      data: opts.values.map((v, i) => ({ value: round(v) ?? 0, itemStyle: { color: opts.colours?.[i] ?? (i === opts.highlight ? '#c0392b' : '#1f4e79') } })),
      label: { show: true, position: 'right', fontSize: 10, formatter: (p: { dataIndex: number }) => (opts.values[p.dataIndex] === null ? '—' : `${(round(opts.values[p.dataIndex]!) ?? 0).toFixed(2)}${opts.unit ?? ''}`) },
    }],
  }, CHART_WIDTH, height)
}

/** Every unit of a tier, sorted by composite score, without names (a tier of ~190 stations): one bar highlighted. */
export function distributionChart(id: string, opts: { title: string; values: number[]; highlight?: number; bands: Array<{ grade: string; min: number }> }): string {
  return renderChart(id, {
    title: title(opts.title),
    grid: { left: 40, right: 16, top: 34, bottom: 26 },
    xAxis: { type: 'category', data: opts.values.map((_, i) => String(i + 1)), axisLabel: { fontSize: 9, interval: opts.values.length > 40 ? 19 : opts.values.length > 20 ? 4 : 0 }, name: '名次', nameLocation: 'middle', nameGap: 16, nameTextStyle: { fontSize: 10 }, axisTick: { show: false } },
    yAxis: { type: 'value', min: 0, max: 100, axisLabel: { fontSize: 10 }, splitLine: { lineStyle: { color: '#e5e5e5' } } },
    series: [{
      type: 'bar', barCategoryGap: '20%',
      data: opts.values.map((v, i) => ({ value: round(v), itemStyle: { color: i === opts.highlight ? '#c0392b' : '#8fa9c4' } })),
      markLine: {
        silent: true, symbol: 'none', label: { position: 'insideEndTop', fontSize: 9, formatter: '{b}' }, lineStyle: { type: 'dashed', color: '#888' },
        data: opts.bands.filter((b) => b.min > 0).map((b) => ({ yAxis: b.min, name: `${b.grade} ${b.min}` })),
      },
    }],
  }, CHART_WIDTH, 220)
}

/** Grade counts per tier, stacked. */
export function gradesChart(id: string, opts: { title: string; tiers: string[]; grades: string[]; counts: number[][] }): string {
  return renderChart(id, {
    title: title(opts.title),
    legend: { bottom: 2, itemWidth: 12, itemHeight: 10, textStyle: { fontSize: 10 } },
    grid: { left: 8, right: 24, top: 34, bottom: 30, containLabel: true },
    xAxis: { type: 'value', axisLabel: { fontSize: 10 }, splitLine: { lineStyle: { color: '#e5e5e5' } } },
    yAxis: { type: 'category', inverse: true, data: opts.tiers, axisLabel: { fontSize: 11 } },
    series: opts.grades.map((g, gi) => ({
      name: g, type: 'bar' as const, stack: 'grades', barMaxWidth: 22, itemStyle: { color: GRADE_COLOURS[g] ?? PALETTE[gi % PALETTE.length] },
      label: { show: true, fontSize: 10, color: '#fff', formatter: (p: { value: unknown }) => (Number(p.value) > 0 ? String(p.value) : '') },
      data: opts.counts.map((row) => row[gi] ?? 0),
    })),
  }, CHART_WIDTH, 80 + opts.tiers.length * 44)
}

/** Rates of this year, the target and last year side by side (in %). */
export function comparisonChart(id: string, opts: { title: string; labels: string[]; current: Array<number | null>; target: Array<number | null>; previous: Array<number | null> }): string {
  const pct = (v: number | null) => (v === null ? null : round(v * 100))
  const height = 70 + Math.max(2, opts.labels.length) * 34
  const series = [
    { name: '本年', data: opts.current, color: '#1f4e79' },
    { name: '目标', data: opts.target, color: '#d4ac0d' },
    { name: '上年', data: opts.previous, color: '#95a5a6' },
  ]
  return renderChart(id, {
    title: title(opts.title),
    legend: { bottom: 2, itemWidth: 12, itemHeight: 10, textStyle: { fontSize: 10 } },
    grid: { left: 8, right: 56, top: 34, bottom: 30, containLabel: true },
    xAxis: { type: 'value', max: 100, axisLabel: { fontSize: 10, formatter: '{value}%' }, splitLine: { lineStyle: { color: '#e5e5e5' } } },
    yAxis: { type: 'category', inverse: true, data: opts.labels, axisLabel: { fontSize: 11, width: 160, overflow: 'truncate' }, axisTick: { show: false } },
    series: series.map((s) => ({
      name: s.name, type: 'bar' as const, barMaxWidth: 9, barGap: '10%', itemStyle: { color: s.color },
      label: { show: true, position: 'right' as const, fontSize: 9, formatter: (p: { value: unknown }) => (p.value === null || p.value === undefined || p.value === '-' ? '—' : `${Number(p.value).toFixed(2)}%`) },
      data: s.data.map((v) => pct(v) ?? '-'),
    })),
  }, CHART_WIDTH, height)
}
