// CSV → NDJSON: shapes and encodings named per row, and a quote left open refused cleanly — also
// when it comes at the end of a large body, while writes of the rows before it are still pending.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { STREAMS } from './contract.ts'
import { csvToNdjson } from './csv-ndjson.ts'
import { BodyFormatError } from './sources.ts'

const dir = mkdtempSync(join(tmpdir(), 'tierscope-csv-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const header = ['event_id', 'case_id', 'type', 'occurred_at', 'unit_id']
const row = (i: number) => `e${i},c${i},completed,2025-03-03T10:00:00+08:00,S1`

describe('csvToNdjson', () => {
  it('keeps each row on its line number and names rows of the wrong shape or encoding', async () => {
    const input = join(dir, 'a.csv')
    writeFileSync(input, Buffer.concat([Buffer.from(`${header.join(',')}\r\n${row(1)}\r\nonly,three,cells\r\n`), Buffer.from([0x65, 0xff, 0x2c]), Buffer.from(`c,completed,2025-03-03T10:00:00Z,S1\r\n${row(4)}\r\n`)]))
    const rejected = await csvToNdjson(input, join(dir, 'a.ndjson'), STREAMS['case-events'], header)
    expect(rejected.map((r) => [r.row, r.error.code])).toEqual([[2, 'invalid_csv_row'], [3, 'invalid_encoding']])
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
})
