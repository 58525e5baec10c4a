// CSV → NDJSON: shapes and encodings named per row, and a quote left open refused cleanly — also
// when it comes at the end of a large body, while writes of the rows before it are still pending.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { STREAMS } from './contract.ts'
import { csvToNdjson, type PreRejected } from './csv-ndjson.ts'
import { BodyFormatError, TooManyRowsError } from './sources.ts'

const dir = mkdtempSync(join(tmpdir(), 'tierscope-csv-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const header = ['event_id', 'case_id', 'type', 'occurred_at', 'unit_id']
const row = (i: number) => `e${i},c${i},completed,2025-03-03T10:00:00+08:00,S1`

describe('csvToNdjson', () => {
  it('keeps each row on its line number and names rows of the wrong shape or encoding', async () => {
    const input = join(dir, 'a.csv')
    writeFileSync(input, Buffer.concat([Buffer.from(`${header.join(',')}\r\n${row(1)}\r\nonly,three,cells\r\n`), Buffer.from([0x65, 0xff, 0x2c]), Buffer.from(`c,completed,2025-03-03T10:00:00Z,S1\r\n${row(4)}\r\n`)]))
    const csv = await csvToNdjson(input, join(dir, 'a.ndjson'), STREAMS['case-events'], header)
    expect(csv).toMatchObject({ rows: 4, rejected: 2 })
    // the rejected rows are in a file of their own, one JSON line each, with their reasons
    const rejected = readFileSync(csv.rejectedPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as PreRejected)
    expect(rejected.map((r) => [r.row, r.code])).toEqual([[2, 'invalid_csv_row'], [3, 'invalid_encoding']])
    expect(rejected[0]).toMatchObject({ raw: 'only,three,cells', field: '', message: 'row 2: expected 5 cells like the header, got 3' })
    const lines = readFileSync(join(dir, 'a.ndjson'), 'utf8').split('\n')
    expect(JSON.parse(lines[0]!)).toMatchObject({ event_id: 'e1' })
    expect(lines[1]).toBe('')
    expect(lines[2]).toBe('')
    expect(JSON.parse(lines[3]!)).toMatchObject({ event_id: 'e4' })
  })

  it('refuses a quote left open at the end of a large body without crashing the process', async () => {
    const input = join(dir, 'b.csv')
    writeFileSync(input, [header.join(','), ...Array.from({ length: 200_000 }, (_, i) => row(i)), 'x,"open quote,completed', ''].join('\n'))
    for (let i = 0; i < 3; i++) {
      await expect(csvToNdjson(input, join(dir, 'b.ndjson'), STREAMS['case-events'], header)).rejects.toThrow(BodyFormatError)
    }
    // a write error left unheard would surface here as an uncaught exception, failing the run
    await new Promise((r) => setTimeout(r, 300))
  })

  it('stops at the first row over the limit of a body', async () => {
    const input = join(dir, 'c.csv')
    writeFileSync(input, [header.join(','), ...Array.from({ length: 11 }, (_, i) => row(i)), ''].join('\n'))
    await expect(csvToNdjson(input, join(dir, 'c.ndjson'), STREAMS['case-events'], header, 10)).rejects.toThrow(TooManyRowsError)
    expect(await csvToNdjson(input, join(dir, 'c.ndjson'), STREAMS['case-events'], header, 11)).toMatchObject({ rows: 11, rejected: 0 })
  })
})
