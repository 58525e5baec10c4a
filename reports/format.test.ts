import { describe, expect, it } from 'vitest'
import { change, chineseDate, dateTime, esc, figure, grouped } from './format.ts'
import { csvCell } from './tables.ts'
import { normaliseSvg, barsChart } from './charts.ts'

describe('figures in words', () => {
  it('escapes every character that could open markup or end an attribute', () => {
    expect(esc(`<a href="x" onclick='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;')
    expect(esc(null)).toBe('')
  })

  it('writes numbers the same way everywhere, without a locale', () => {
    expect(grouped(1234567.891, 2)).toBe('1,234,567.89')
    expect(grouped(-0.001, 2)).toBe('0.00')
    expect(grouped(-1234.5, 1)).toBe('-1,234.5')
    expect(figure(0.98765, 'ratio')).toBe('98.77%')
    expect(figure(12, 'cases')).toBe('12')
    expect(figure(1234.5, 'yuan')).toBe('1,234.50')
    expect(figure(null, 'ratio')).toBe('—')
    expect(figure(Number.NaN, 'minutes')).toBe('—')
  })

  it('says a change of a rate in percentage points, with its sign', () => {
    expect(change(0.95, 0.93, 'ratio')).toBe('+2.00 个百分点')
    expect(change(0.93, 0.95, 'ratio')).toBe('-2.00 个百分点')
    expect(change(3, 5, 'cases')).toBe('-2')
    expect(change(5, 5, 'cases')).toBe('0')
    expect(change(5, null, 'cases')).toBe('—')
  })

  it('dates an instant in the district\'s zone, not the machine\'s', () => {
    const ms = Date.parse('2025-12-31T17:30:00Z') // 01:30 on 1 January in Beijing
    expect(chineseDate(ms, 'Asia/Shanghai')).toBe('2026年1月1日')
    expect(dateTime(ms, 'Asia/Shanghai')).toBe('2026-01-01 01:30')
  })
})

describe('csvCell', () => {
  it('quotes text, keeps numbers, and disarms what a spreadsheet would run as a formula', () => {
    expect(csvCell('东华门')).toBe('"东华门"')
    expect(csvCell('say "hi"')).toBe('"say ""hi"""')
    expect(csvCell(0.5)).toBe('0.5')
    expect(csvCell(null)).toBe('')
    for (const danger of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx', '＝1', '＋1', '－1', '＠x']) expect(csvCell(danger)).toBe(`"'${danger}"`)
  })
})

describe('charts', () => {
  const draw = () => barsChart('c1', { title: '各指标得分', labels: ['按时办结率', '好评率'], values: [80, 95.5], max: 100 })

  it('renders the same bytes for the same figures however many charts the process drew before', () => {
    const a = draw()
    for (let i = 0; i < 3; i++) draw()
    expect(draw()).toBe(a)
    expect(a).toMatch(/^<svg[^>]*width="640"/)
    expect(a).toContain('按时办结率')
    expect(a).not.toMatch(/zr\d+-cls/)
  })

  it('numbers classes per chart in order of appearance', () => {
    expect(normaliseSvg('<p class="zr7-cls-3"></p><p class="zr7-cls-9"></p><p class="zr7-cls-3"></p>', 'c2')).toBe('<p class="c2-0"></p><p class="c2-1"></p><p class="c2-0"></p>')
  })

  it('names the Chinese font in a way that survives the SVG attribute', () => {
    const svg = draw()
    expect(svg).toContain("'Noto Sans CJK SC'")
    expect(svg).not.toMatch(/font-family:"/)
  })
})
