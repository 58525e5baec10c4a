// CSV bodies become NDJSON before the engine validates them: csv-parse reads quoting, embedded
// newlines and a BOM exactly, says where a quote is left open, and lets each record's cell count
// and encoding be checked. Cells are coerced as validate.ts coerceCsvRecord does, so a CSV row and
// the same JSON row are the same record. Rows that cannot become a record keep their line number
// as a blank line (so every later row keeps its number) and are written, with their reasons, to a
// file of their own beside it (one JSON line each), which the quarantine reads: memory does not
// grow with them.
import { createReadStream, createWriteStream } from 'node:fs'
import { once } from 'node:events'
import { parse } from 'csv-parse'
import type { RecordSpec } from './contract.ts'
import { BodyFormatError, TooManyRowsError } from './sources.ts'
import { coerceCsvRecord, type RowError } from './validate.ts'

/** A line of the rejected-rows file: a row that cannot become a record, and why. */
export interface PreRejected {
  row: number
  raw: string
  field: string
  code: string
  message: string
}

export interface CsvTranscoded {
  /** Data rows read (the header not counted), the rejected ones too. */
  rows: number
  /** Rows written to the rejected-rows file. */
  rejected: number
  /** The rejected-rows file (NDJSON of PreRejected); written even when empty. */
  rejectedPath: string
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** CSV at `inPath` → NDJSON at `outPath`; rejected rows → `${outPath}.rejected`. More than `maxRows` data rows: TooManyRowsError. */
export async function csvToNdjson(inPath: string, outPath: string, spec: RecordSpec, header: string[], maxRows = Number.MAX_SAFE_INTEGER): Promise<CsvTranscoded> {
  const rejectedPath = `${outPath}.rejected`
  let rejected = 0
  const out = createWriteStream(outPath)
  const bad = createWriteStream(rejectedPath)
  // an error of the files being written is kept, not thrown: unheard, it would end the process
  let writeError: Error | undefined
  out.on('error', (err) => (writeError ??= err))
  bad.on('error', (err) => (writeError ??= err))
  const reject = async (row: number, raw: string, error: RowError) => {
    rejected++
    const entry: PreRejected = { row, raw, field: error.field ?? '', code: error.code, message: error.message }
    if (!bad.write(JSON.stringify(entry) + '\n')) await once(bad, 'drain')
  }
  // read as latin1, one char per byte, so each cell's bytes can be checked as UTF-8 exactly
  // (quotes, commas and newlines are ASCII and parse the same); line 1, the header, is skipped
  const parser = createReadStream(inPath).pipe(parse({ encoding: 'latin1', from_line: 2, relax_column_count: true }))
  let row = 0
  try {
    for await (const cells of parser as AsyncIterable<string[]>) {
      row++
      if (row > maxRows) throw new TooManyRowsError(maxRows)
      let line = ''
      const raw = () => cells.map((c) => Buffer.from(c, 'latin1').toString('utf8')).join(',').slice(0, 100_000)
      if (cells.length !== header.length) {
        await reject(row, raw(), { row, field: null, code: 'invalid_csv_row', message: `row ${row}: expected ${header.length} cells like the header, got ${cells.length}` })
      } else {
        try {
          const record: Record<string, string> = {}
          header.forEach((h, i) => (record[h] = utf8.decode(Buffer.from(cells[i]!, 'latin1'))))
          line = JSON.stringify(coerceCsvRecord(spec, record))
        } catch {
          line = ''
          await reject(row, raw(), { row, field: null, code: 'invalid_encoding', message: `row ${row}: the row is not valid UTF-8` })
        }
      }
      if (writeError) throw writeError
      if (!out.write(line + '\n')) await once(out, 'drain')
    }
  } catch (err) {
    out.destroy()
    bad.destroy()
    // closed before the caller removes them: a file still being opened would be made after its removal
    await Promise.all([out, bad].map((s) => (s.closed ? undefined : new Promise<void>((closed) => s.once('close', () => closed())))))
    if (err instanceof TooManyRowsError) throw err
    throw new BodyFormatError(`The CSV body cannot be read after data row ${row}: ${(err as Error).message}.`)
  }
  if (writeError) throw writeError
  out.end()
  bad.end()
  await Promise.all([once(out, 'finish'), once(bad, 'finish')])
  return { rows: row, rejected, rejectedPath }
}
