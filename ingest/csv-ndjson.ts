// CSV bodies become NDJSON before the engine validates them: csv-parse reads quoting, embedded
// newlines and a BOM exactly, says where a quote is left open, and lets each record's cell count
// and encoding be checked. Cells are coerced as validate.ts coerceCsvRecord does, so a CSV row and
// the same JSON row are the same record. Rows that cannot become a record keep their line number
// as a blank line (so every later row keeps its number) and are returned as rejected up front.
import { createReadStream, createWriteStream } from 'node:fs'
import { once } from 'node:events'
import { parse } from 'csv-parse'
import type { RecordSpec } from './contract.ts'
import { BodyFormatError } from './sources.ts'
import { coerceCsvRecord, type RowError } from './validate.ts'

export interface PreRejected {
  row: number
  raw: string
  error: RowError
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

export async function csvToNdjson(inPath: string, outPath: string, spec: RecordSpec, header: string[]): Promise<PreRejected[]> {
  const rejected: PreRejected[] = []
  const out = createWriteStream(outPath)
  // an error of the file being written is kept, not thrown: unheard, it would end the process
  let writeError: Error | undefined
  out.on('error', (err) => (writeError ??= err))
  // read as latin1, one char per byte, so each cell's bytes can be checked as UTF-8 exactly
  // (quotes, commas and newlines are ASCII and parse the same); line 1, the header, is skipped
  const parser = createReadStream(inPath).pipe(parse({ encoding: 'latin1', from_line: 2, relax_column_count: true }))
  let row = 0
  try {
    for await (const cells of parser as AsyncIterable<string[]>) {
      row++
      let line = ''
      const raw = () => cells.map((c) => Buffer.from(c, 'latin1').toString('utf8')).join(',').slice(0, 100_000)
      if (cells.length !== header.length) {
        rejected.push({ row, raw: raw(), error: { row, field: null, code: 'invalid_csv_row', message: `row ${row}: expected ${header.length} cells like the header, got ${cells.length}` } })
      } else {
        try {
          const record: Record<string, string> = {}
          header.forEach((h, i) => (record[h] = utf8.decode(Buffer.from(cells[i]!, 'latin1'))))
          line = JSON.stringify(coerceCsvRecord(spec, record))
        } catch {
          rejected.push({ row, raw: raw(), error: { row, field: null, code: 'invalid_encoding', message: `row ${row}: the row is not valid UTF-8` } })
        }
      }
      if (writeError) throw writeError
      if (!out.write(line + '\n')) await once(out, 'drain')
    }
  } catch (err) {
    out.destroy()
    throw new BodyFormatError(`The CSV body cannot be read after data row ${row}: ${(err as Error).message}.`)
  }
  if (writeError) throw writeError
  out.end()
  await once(out, 'finish')
  return rejected
}
