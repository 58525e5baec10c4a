import { describe, expect, it } from 'vitest'
import { csvCell, toCsv } from './csv.ts'

describe('CSV export', () => {
  it('defuses text a spreadsheet would run as a formula', () => {
    for (const attack of ['=HYPERLINK("http://x","y")', '+1+1', '-2+3', '@SUM(A1)', '\t=1', '\r=1', '＝1+1']) {
      expect(csvCell(attack).startsWith(`"'`), attack).toBe(true)
    }
    expect(csvCell('东华门街道')).toBe('"东华门街道"')
  })

  it('keeps numbers as numbers, negative ones included, and quotes quotes', () => {
    expect(csvCell(-3.5)).toBe('-3.5')
    expect(csvCell(Number.NaN)).toBe('')
    expect(csvCell(null)).toBe('')
    expect(csvCell('say "hi"')).toBe('"say ""hi"""')
  })

  it('writes a BOM, a header and CRLF rows', () => {
    const text = toCsv([{ label: '单位', value: (r: { u: string; n: number }) => r.u }, { label: 'n', value: (r) => r.n }], [{ u: '=cmd', n: 2 }])
    expect(text).toBe('\uFEFF"单位","n"\r\n"\'=cmd",2\r\n')
  })
})
