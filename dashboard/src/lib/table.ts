import type { CsvColumn } from './csv.ts'

/** A column of a DataTable: what it exports, and how the cell shows. */
export interface Column<R> extends CsvColumn<R> {
  /** What the cell shows (defaults to the exported value). */
  display?: (row: R) => string
  href?: (row: R) => string | null
  align?: 'left' | 'right' | 'center'
  cls?: (row: R) => string
  /** The cell's figure counted a day of a provisional calendar year: marked beside it. */
  provisional?: (row: R) => boolean
}
