// CSV for spreadsheets: every cell quoted, a BOM so Excel reads the Chinese as UTF-8, and text
// that a spreadsheet would run as a formula (= + - @, tab, carriage return; full-width forms too)
// prefixed with an apostrophe (OWASP "CSV injection"). Numbers stay numbers.

export interface CsvColumn<Row> {
  label: string
  value: (row: Row) => string | number | boolean | null | undefined
}

const FORMULA_START = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/

export function csvCell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : ''
  const text = String(value)
  const safe = FORMULA_START.test(text) ? `'${text}` : text
  return `"${safe.replace(/"/g, '""')}"`
}

export function toCsv<Row>(columns: CsvColumn<Row>[], rows: Row[]): string {
  const header = columns.map((c) => csvCell(c.label)).join(',')
  const lines = rows.map((r) => columns.map((c) => csvCell(c.value(r))).join(','))
  return '\uFEFF' + [header, ...lines].join('\r\n') + '\r\n'
}

/** Offers a CSV file for download in the browser. */
export function downloadCsv(filename: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }))
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 1000)
}
