// A corpus of bad input for POST /api/v1/ingest/{stream} (and PUT /api/v1/reference/{kind}):
// truncated, mis-encoded, oversized, mistyped, deeply nested, hostile and malformed bodies in
// every format. Each must get the answer CONTRACT.md gives it — a receipt naming row, field and
// code for bad rows, a 4xx with a specific message for a body that cannot be read — and none may
// take the server down: afterwards it is healthy and takes a valid body. Hostile text (SQL,
// spreadsheet formulas) is data: stored verbatim when the row is otherwise valid.
// The last part repeats a few of these over real HTTP against a server process, with an upload
// the client abandons half-way.
import { connect } from 'node:net'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createGzip, gzipSync } from 'node:zlib'
import { Float64, Int32, Utf8 } from 'apache-arrow'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN, auth, loadSmallDistrict, makeKey, openTestApp, spoolDirOf, toArrow, toCsv, toNdjson } from './support.ts'
import { startServer, type ServerProcess } from './bench/server.ts'

let t: Awaited<ReturnType<typeof openTestApp>>
let source: string
let inspector: string

beforeAll(async () => {
  t = await openTestApp()
  await loadSmallDistrict(t.app)
  source = await makeKey(t.app, 'source', ['S1'])
  inspector = await makeKey(t.app, 'inspector')
}, 120_000)
afterAll(async () => t?.close())

// ---- helpers ---------------------------------------------------------------------------------

interface RowError { row: number; field: string | null; code: string; message: string }
interface Receipt { batch_id: string; received: number; accepted: number; duplicates: number; rejected: number; errors: RowError[] }
type Reply = Awaited<ReturnType<typeof t.app.inject>>

const at = '2025-03-05T09:12:00+08:00'
/** A valid `accepted` case event for unit S1; its case id is its event id with a P. */
const ev = (event_id: string, extra: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ event_id, case_id: `P-${event_id}`, type: 'accepted', occurred_at: at, unit_id: 'S1', item_code: 'I3', channel: 'window', ...extra })
const line = (r: unknown) => JSON.stringify(r)

const NDJSON = 'application/x-ndjson'
const JSON_TYPE = 'application/json'
const CSV = 'text/csv'
const ARROW = 'application/vnd.apache.arrow.stream'

async function post(payload: string | Buffer, opts: { type?: string | null; encoding?: string; token?: string | null; stream?: string } = {}): Promise<Reply> {
  const headers: Record<string, string> = {}
  if (opts.type !== null) headers['content-type'] = opts.type ?? NDJSON
  if (opts.encoding) headers['content-encoding'] = opts.encoding
  if (opts.token !== null) Object.assign(headers, auth(opts.token ?? source))
  return t.app.inject({ method: 'POST', url: `/api/v1/ingest/${opts.stream ?? 'case-events'}`, headers, payload })
}

function receipt(r: Reply): Receipt {
  expect(r.statusCode, r.body.slice(0, 2000)).toBe(200)
  expect(r.headers['content-type']).toMatch(/^application\/json/)
  return r.json() as Receipt
}

/** A refusal: the status, a JSON body with an error code and a message that matches. */
function refusal(r: Reply, status: number, message: RegExp): { error: string; message: string } {
  expect(r.statusCode, r.body.slice(0, 2000)).toBe(status)
  expect(r.headers['content-type']).toMatch(/^application\/json/)
  const body = r.json() as { error: string; message: string }
  expect(body.error).toMatch(/^[a-z_]+$/)
  expect(body.message).toMatch(message)
  expect(body.message.length, 'a message, not a dump').toBeLessThan(2000)
  return body
}

const triples = (rc: Receipt) => rc.errors.map((e) => [e.row, e.field, e.code])

/** Every row error names its row (and its field, when it has one) in its message. */
function expectExplained(rc: Receipt): void {
  for (const e of rc.errors) {
    expect(e.message, JSON.stringify(e)).toMatch(new RegExp(`^row ${e.row}\\b`))
    if (e.field) expect(e.message, JSON.stringify(e)).toContain(e.field)
    expect(e.message.length, 'a message, not a dump').toBeLessThan(1000)
  }
}

async function query<T = Record<string, unknown>>(sql: string, params: Record<string, unknown> = {}): Promise<T[]> {
  return (await t.platform.warehouse.client.query({ query: sql, query_params: params, format: 'JSONEachRow' })).json<T>()
}
const storedIds = async (ids: string[]) =>
  (await query<{ event_id: string }>('SELECT event_id FROM case_events WHERE event_id IN {ids:Array(String)} ORDER BY event_id', { ids })).map((r) => r.event_id)

/** What the quarantine kept of a batch. */
async function quarantined(batch: string): Promise<Array<{ row: number; raw: string; errors: Array<{ field: string; code: string }> }>> {
  const r = await t.app.inject({ method: 'GET', url: `/api/v1/ingest/quarantine?batch_id=${batch}`, headers: auth(ADMIN) })
  expect(r.statusCode, r.body.slice(0, 500)).toBe(200)
  return r.json().rows
}

// ---- the corpus ------------------------------------------------------------------------------

describe('truncated bodies', () => {
  it('an NDJSON body cut in the middle of its last line: the cut row is rejected invalid_json, the others stored', async () => {
    const body = [ev('tr1'), ev('tr2'), ev('tr3')].map(line).join('\n') + '\n' + line(ev('tr4')).slice(0, 45)
    const rc = receipt(await post(body))
    expect(rc).toMatchObject({ received: 4, accepted: 3, duplicates: 0, rejected: 1 })
    expect(triples(rc)).toEqual([[4, null, 'invalid_json']])
    expectExplained(rc)
    expect(await storedIds(['tr1', 'tr2', 'tr3', 'tr4'])).toEqual(['tr1', 'tr2', 'tr3'])
    const [q] = await quarantined(rc.batch_id)
    expect(q).toMatchObject({ row: 4, raw: line(ev('tr4')).slice(0, 45) })
  })

  it('a truncated gzip body is refused whole (400), nothing stored', async () => {
    const gz = gzipSync(toNdjson([ev('tg1'), ev('tg2'), ev('tg3')]))
    refusal(await post(gz.subarray(0, gz.length - 12), { encoding: 'gzip' }), 400, /gzip/i)
    refusal(await post(gz.subarray(0, 20), { encoding: 'gzip' }), 400, /gzip/i)
    expect(await storedIds(['tg1', 'tg2', 'tg3'])).toEqual([])
  })

  it('a body that says gzip but is not is refused (400)', async () => {
    refusal(await post(toNdjson([ev('ng1')]), { encoding: 'gzip' }), 400, /gzip/i)
    expect(await storedIds(['ng1'])).toEqual([])
  })

  it('a gzip bomb (300 MB of blanks in 300 kB) is refused as too large (413)', async () => {
    const gz = await new Promise<Buffer>((resolve, reject) => {
      const z = createGzip({ level: 9 })
      const chunks: Buffer[] = []
      z.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks))).on('error', reject)
      const mib = Buffer.alloc(1 << 20, 0x20)
      let n = 0
      const write = () => {
        while (n < 300) {
          n++
          if (!z.write(mib)) return void z.once('drain', write)
        }
        z.end()
      }
      write()
    })
    refusal(await post(gz, { encoding: 'gzip' }), 413, /larger than \d+ bytes/)
  })
})

describe('invalid UTF-8', () => {
  const bad = Buffer.from([0xff, 0xfe])
  const withBadBytes = (before: string, after: string) => Buffer.concat([Buffer.from(before, 'utf8'), bad, Buffer.from(after, 'utf8')])

  it('NDJSON: the line with invalid bytes is rejected with an encoding error, its neighbours stored', async () => {
    const badLine = line(ev('ut2', { staff_id: '@@' }))
    const [head, tail] = badLine.split('@@') as [string, string]
    const body = Buffer.concat([Buffer.from(line(ev('ut1')) + '\n'), withBadBytes(head, tail), Buffer.from('\n' + line(ev('ut3')) + '\n')])
    const rc = receipt(await post(body))
    expect(rc).toMatchObject({ received: 3, accepted: 2, rejected: 1 })
    // the row is valid JSON apart from its bytes: the error must say it is the encoding
    expect(rc.errors).toEqual([expect.objectContaining({ row: 2, code: 'invalid_encoding', message: expect.stringMatching(/UTF-8/) })])
    expect(await storedIds(['ut1', 'ut2', 'ut3'])).toEqual(['ut1', 'ut3'])
  })

  it('CSV: the row with invalid bytes in a cell is rejected with an encoding error, its neighbours stored', async () => {
    const header = 'event_id,case_id,type,occurred_at,unit_id,item_code,staff_id\r\n'
    const body = Buffer.concat([
      Buffer.from(header + `uc1,P-uc1,accepted,${at},S1,I3,ok\r\n`),
      withBadBytes(`uc2,P-uc2,accepted,${at},S1,I3,ab`, 'cd\r\n'),
      Buffer.from(`uc3,P-uc3,accepted,${at},S1,I3,ok\r\n`),
    ])
    const rc = receipt(await post(body, { type: CSV }))
    expect(rc).toMatchObject({ received: 3, accepted: 2, rejected: 1 })
    expect(rc.errors).toEqual([expect.objectContaining({ row: 2, code: 'invalid_encoding', message: expect.stringMatching(/UTF-8/) })])
    expect(await storedIds(['uc1', 'uc2', 'uc3'])).toEqual(['uc1', 'uc3'])
  })

  it('JSON array: invalid bytes are named as an encoding problem (the row rejected, or the body refused)', async () => {
    const badRow = line(ev('uj2', { staff_id: '@@' }))
    const [head, tail] = badRow.split('@@') as [string, string]
    const body = Buffer.concat([Buffer.from('[' + line(ev('uj1')) + ','), withBadBytes(head, tail), Buffer.from(']')])
    const r = await post(body, { type: JSON_TYPE })
    if (r.statusCode === 400) {
      refusal(r, 400, /UTF-8/)
      expect(await storedIds(['uj1', 'uj2'])).toEqual([])
    } else {
      const rc = receipt(r)
      expect(rc.errors).toEqual([expect.objectContaining({ row: 2, code: 'invalid_encoding', message: expect.stringMatching(/UTF-8/) })])
      expect(await storedIds(['uj1', 'uj2'])).toEqual(['uj1'])
    }
  })
})

describe('a single 50 MB line', () => {
  const big = 'x'.repeat(50 * 1024 * 1024)

  it('in a string field: that row is rejected too_long with a short message, the next row stored', async () => {
    const body = line(ev('big1', { staff_id: big })) + '\n' + line(ev('big2')) + '\n'
    const r = await post(body)
    expect(r.body.length, 'the receipt does not echo the value').toBeLessThan(10_000)
    const rc = receipt(r)
    expect(rc).toMatchObject({ received: 2, accepted: 1, rejected: 1 })
    expect(triples(rc)).toEqual([[1, 'staff_id', 'too_long']])
    expect(rc.errors[0]!.message).toMatch(/at most 128 characters.*52428800 characters/)
    expectExplained(rc)
    expect(await storedIds(['big1', 'big2'])).toEqual(['big2'])
    const [q] = await quarantined(rc.batch_id)
    expect(q!.raw.length, 'the quarantine keeps a bounded prefix').toBeLessThanOrEqual(100_000)
  })

  it('in attrs: either stored intact or refused with a clear message — never cut or garbled', async () => {
    const r = await post(line(ev('big3', { attrs: { blob: big } })) + '\n')
    if (r.statusCode === 413) return void refusal(r, 413, /larger/)
    const rc = receipt(r)
    expect(rc.received).toBe(1)
    if (rc.rejected === 1) {
      // attrs is at most 64 KB serialised (CONTRACT.md)
      expect(rc.errors[0]).toMatchObject({ row: 1, field: 'attrs', code: 'attrs_too_large' })
      expect(rc.errors[0]!.message).toMatch(new RegExp(`at most 65536 bytes .* got ${line({ blob: big }).length} bytes`))
      expect(await storedIds(['big3'])).toEqual([])
    } else {
      expect(rc.accepted).toBe(1)
      const [row] = await query<{ n: number | string; blob: number | string; other: number | string }>(
        `SELECT length(attrs) AS n, length(JSONExtractString(attrs, 'blob')) AS blob, length(replaceAll(attrs, 'x', '')) AS other
         FROM case_events WHERE event_id = 'big3'`,
      )
      expect({ n: Number(row!.n), blob: Number(row!.blob), other: Number(row!.other) }).toEqual({ n: line({ blob: big }).length, blob: big.length, other: '{"blob":""}'.length })
    }
  })
})

describe('wrong types everywhere', () => {
  it('case-events: every wrong field of every row is named, with its code', async () => {
    const rc = receipt(await post(toNdjson([
      { event_id: 123, case_id: true, type: 5, occurred_at: 1_700_000_000, unit_id: ['S1'], item_code: {}, attrs: 'a string' },
      { event_id: null, case_id: null, type: null, occurred_at: null, unit_id: null },
      { ...ev('wt3'), channel: 7, due_at: true, staff_id: 12, applicant_type: ['person'], attrs: [1, 2] },
      { ...ev('wt4'), to_unit_id: { id: 'S2' }, occurred_at: '5 March 2025', type: 'ACCEPTED' },
      ev('wt5'),
    ])))
    expect(rc).toMatchObject({ received: 5, accepted: 1, rejected: 4 })
    expect(triples(rc)).toEqual([
      [1, 'event_id', 'invalid_type'], [1, 'case_id', 'invalid_type'], [1, 'type', 'invalid_type'], [1, 'occurred_at', 'invalid_type'],
      [1, 'unit_id', 'invalid_type'], [1, 'item_code', 'invalid_type'], [1, 'attrs', 'invalid_type'],
      [2, 'event_id', 'missing_field'], [2, 'case_id', 'missing_field'], [2, 'type', 'missing_field'], [2, 'occurred_at', 'missing_field'], [2, 'unit_id', 'missing_field'],
      [3, 'channel', 'invalid_type'], [3, 'due_at', 'invalid_type'], [3, 'staff_id', 'invalid_type'], [3, 'applicant_type', 'invalid_type'], [3, 'attrs', 'invalid_type'],
      [4, 'type', 'invalid_value'], [4, 'occurred_at', 'invalid_timestamp'], [4, 'to_unit_id', 'invalid_type'],
    ])
    expectExplained(rc)
    // what was expected and what came, in the message
    expect(rc.errors.find((e) => e.row === 1 && e.field === 'occurred_at')!.message).toMatch(/RFC 3339.*got 1700000000/)
    expect(rc.errors.find((e) => e.row === 1 && e.field === 'unit_id')!.message).toMatch(/got \["S1"\]/)
    expect(await storedIds(['wt3', 'wt4', 'wt5'])).toEqual(['wt5'])
  })

  it('evaluations and costs: strings for numbers and booleans, numbers for strings, arrays and objects', async () => {
    const evals = receipt(await post(toNdjson([
      { event_id: 'we1', unit_id: 'S1', rating: '5', active: 'yes', follow_up: 1, occurred_at: at, channel: 'app', real_name: 'true', comment: 5 },
      { event_id: ['we2'], unit_id: 'S1', rating: 4.5, occurred_at: at, channel: null },
    ]), { stream: 'evaluations' }))
    expect(evals).toMatchObject({ received: 2, accepted: 0, rejected: 2 })
    expect(triples(evals)).toEqual([
      [1, 'rating', 'invalid_type'], [1, 'active', 'invalid_type'], [1, 'follow_up', 'invalid_type'], [1, 'comment', 'invalid_type'], [1, 'real_name', 'invalid_type'],
      [2, 'event_id', 'invalid_type'], [2, 'rating', 'invalid_type'], [2, 'channel', 'missing_field'],
    ])
    expectExplained(evals)
    const costs = receipt(await post(toNdjson([
      { entry_id: 'wc1', unit_id: 'S1', period: 202503, category: 'staff', amount: [1], staff_fte: '12' },
      { entry_id: 'wc2', unit_id: 'S1', period: '2025-03', category: 'staff', amount: { v: 1 }, staff_fte: true, note: 42 },
    ]), { stream: 'costs' }))
    expect(costs).toMatchObject({ received: 2, accepted: 0, rejected: 2 })
    expect(triples(costs)).toEqual([
      [1, 'period', 'invalid_type'], [1, 'amount', 'invalid_type'], [1, 'staff_fte', 'invalid_type'],
      [2, 'amount', 'invalid_type'], [2, 'staff_fte', 'invalid_type'], [2, 'note', 'invalid_type'],
    ])
    expectExplained(costs)
  })
})

describe("the hotline's closed loop", () => {
  it('complaints: a rated without a rating, a rating out of range, links to an unknown case and rating; the good rows stored', async () => {
    // a case and a rating of S1 that the links may name
    receipt(await post(toNdjson([ev('hl1')])))
    receipt(await post(toNdjson([{ event_id: 'hle1', unit_id: 'S1', rating: 2, occurred_at: at, channel: 'app', case_id: 'P-hl1' }]), { stream: 'evaluations' }))
    const rc = receipt(await post(toNdjson([
      { event_id: 'hk1', complaint_id: 'HK1', type: 'received', occurred_at: at, unit_id: 'S1', case_id: 'P-hl1', evaluation_id: 'hle1' },
      { event_id: 'hk2', complaint_id: 'HK1', type: 'rated', occurred_at: at, unit_id: 'S1' },
      { event_id: 'hk3', complaint_id: 'HK1', type: 'rated', occurred_at: at, unit_id: 'S1', rating: 6 },
      { event_id: 'hk4', complaint_id: 'HK2', type: 'received', occurred_at: at, unit_id: 'S1', case_id: 'NO-SUCH-CASE' },
      { event_id: 'hk5', complaint_id: 'HK3', type: 'received', occurred_at: at, unit_id: 'S1', evaluation_id: 'no-such-rating' },
      { event_id: 'hk6', complaint_id: 'HK1', type: 'responded', occurred_at: at, unit_id: 'S1' },
      { event_id: 'hk7', complaint_id: 'HK1', type: 'rated', occurred_at: at, unit_id: 'S1', rating: 4 },
    ]), { stream: 'complaints' }))
    expect(rc).toMatchObject({ received: 7, accepted: 3, rejected: 4 })
    expect(triples(rc)).toEqual([[2, 'rating', 'missing_field'], [3, 'rating', 'out_of_range'], [4, 'case_id', 'unknown_case'], [5, 'evaluation_id', 'unknown_rating']])
    expectExplained(rc)
    expect(rc.errors[2]!.message).toContain('"NO-SUCH-CASE"')
    // the unknown links are kept with the other rejected rows, to be sent again once their records are in
    expect((await quarantined(rc.batch_id)).map((q) => q.errors[0]!.code).sort()).toEqual(['missing_field', 'out_of_range', 'unknown_case', 'unknown_rating'])
    const stored = await query<{ event_id: string; rating: number | null; case_id: string | null; evaluation_id: string | null }>(
      "SELECT event_id, rating, case_id, evaluation_id FROM complaints WHERE complaint_id = 'HK1' ORDER BY event_id")
    expect(stored).toEqual([
      { event_id: 'hk1', rating: null, case_id: 'P-hl1', evaluation_id: 'hle1' },
      { event_id: 'hk6', rating: null, case_id: null, evaluation_id: null },
      { event_id: 'hk7', rating: 4, case_id: null, evaluation_id: null },
    ])
  })

  it('settings: a limit of −1, 0 or a fraction, and a tier that does not exist, are refused by name; nothing changes', async () => {
    const before = (await t.app.inject({ method: 'GET', url: '/api/v1/settings', headers: auth(ADMIN) })).json()
    for (const body of [{ complaint_response_limit_days: -1 }, { rectification_limit_days: 0 }, { complaint_limit_days: 1.5 }, { by_tier: { 2: { complaint_response_limit_days: -1 } } }, { by_tier: { 4: { complaint_limit_days: 3 } } }]) {
      const r = await t.app.inject({ method: 'PUT', url: '/api/v1/settings', headers: auth(ADMIN), payload: body })
      refusal(r, 400, /limit_days|by_tier/)
    }
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/settings', headers: auth(ADMIN) })).json()).toEqual(before)
  })
})

describe('deeply nested JSON', () => {
  const nested = (depth: number, leaf = '1') => {
    let s = leaf
    for (let i = 0; i < depth; i++) s = `{"a":${s}}`
    return s
  }

  it('attrs nested a little (50 levels) is kept as sent', async () => {
    const attrs = nested(50)
    const rc = receipt(await post(line(ev('dn0')).slice(0, -1) + `,"attrs":${attrs}}\n`))
    expect(rc).toMatchObject({ received: 1, accepted: 1 })
    expect(await query(`SELECT attrs FROM case_events WHERE event_id = 'dn0'`)).toEqual([{ attrs }])
  })

  it('attrs nested 10,000 levels deep: the row is rejected saying it is nested too deeply, the next row stored', async () => {
    const body = line(ev('dn1')).slice(0, -1) + `,"attrs":${nested(10_000)}}\n` + line(ev('dn2')) + '\n'
    const rc = receipt(await post(body))
    expect(rc).toMatchObject({ received: 2, accepted: 1, rejected: 1 })
    expect(rc.errors).toHaveLength(1)
    expect(rc.errors[0]!.row).toBe(1)
    // the line is valid JSON: "does not parse" would send the sender looking for a syntax error
    expect(rc.errors[0]!.message).toMatch(/nest|deep|depth|levels/i)
    expect(await storedIds(['dn1', 'dn2'])).toEqual(['dn2'])
  })

  it('a top-level value nested 100,000 levels deep: the row is rejected as not an object (or too deep), no crash', async () => {
    const body = '['.repeat(100_000) + ']'.repeat(100_000) + '\n' + nested(100_000) + '\n' + line(ev('dn3')) + '\n'
    const rc = receipt(await post(body))
    expect(rc).toMatchObject({ received: 3, accepted: 1, rejected: 2 })
    const [array, object] = rc.errors as [RowError, RowError]
    expect(array.row).toBe(1)
    expect(array.code === 'not_an_object' || /nest|deep|depth|levels/i.test(array.message), JSON.stringify(array)).toBe(true)
    expect(object.row).toBe(2)
    expect(object.message).toMatch(/nest|deep|depth|levels/i)
    expect(await storedIds(['dn3'])).toEqual(['dn3'])
  })
})

describe('hostile text is data', () => {
  const hostile = [
    "'); DROP TABLE case_events; --",
    '{now:String}',
    '{batch:UUID}',
    'back\\slash \\\\ and \\x27 and \\\'',
    `quotes ' " \` ’ and ""doubled""`,
    "x' OR '1'='1",
    '$1 ? %s :name @p0',
    'nul\u0000byte',
    '多福巷; DELETE FROM units WHERE 1 --',
  ]

  it('SQL-injection strings in ids and free text are stored verbatim and read back unchanged', async () => {
    const records = hostile.map((s, i) => ev(`${s}#e${i}`, { case_id: `${s}#c${i}`, staff_id: s.slice(0, 128), attrs: { note: s, [s]: i } }))
    const rc = receipt(await post(toNdjson(records)))
    expect(rc).toMatchObject({ received: hostile.length, accepted: hostile.length, rejected: 0 })
    for (const [i, s] of hostile.entries()) {
      const r = await t.app.inject({ method: 'GET', url: `/api/v1/cases/${encodeURIComponent(`${s}#c${i}`)}`, headers: auth(inspector) })
      expect(r.statusCode, `${JSON.stringify(s)}: ${r.body.slice(0, 300)}`).toBe(200)
      const c = r.json()
      expect(c.case_id).toBe(`${s}#c${i}`)
      expect(c.events).toHaveLength(1)
      expect(c.events[0]).toMatchObject({ event_id: `${s}#e${i}`, staff_id: s, attrs: { note: s, [s]: i } })
    }
    // as stored, byte for byte
    const rows = await query<{ event_id: string; case_id: string; staff_id: string }>(
      'SELECT event_id, case_id, staff_id FROM case_events WHERE event_id IN {ids:Array(String)}',
      { ids: records.map((r) => r.event_id) },
    )
    const byEvent = (a: { event_id: unknown }, b: { event_id: unknown }) => (String(a.event_id) < String(b.event_id) ? -1 : 1)
    expect(rows.sort(byEvent)).toEqual(records.map((r) => ({ event_id: r.event_id, case_id: r.case_id, staff_id: r.staff_id })).sort(byEvent))
  })

  it('hostile text in a unit id, a field name or a CSV header is rejected as data, never run', async () => {
    const rc = receipt(await post(toNdjson([ev('hu1', { unit_id: "S1' OR '1'='1" }), { ...ev('hu2'), "x'); DROP TABLE case_events; --": 1 }])))
    expect(triples(rc)).toEqual([[1, 'unit_id', 'unknown_unit'], [2, "x'); DROP TABLE case_events; --", 'unknown_field']])
    expect(rc.errors[0]!.message).toContain(`"S1' OR '1'='1"`)
    refusal(await post(`event_id,case_id,type,occurred_at,unit_id,item_code,\`; DROP TABLE case_events; --\r\nhu3,P-hu3,accepted,${at},S1,I3,x\r\n`, { type: CSV }), 400, /not fields of case-events: "`; DROP TABLE case_events; --"/)
    const arrow = Buffer.from(toArrow('case-events', [ev('hu4')]))
    const evil = Buffer.from(arrow.toString('latin1').replace('channel', "ch'`;--"), 'latin1')
    refusal(await post(evil, { type: ARROW }), 400, /ch'`;--.*not a field/)
  })

  it('spreadsheet formulas in free text are stored verbatim (formula safety belongs to CSV export)', async () => {
    const formulas = ['=HYPERLINK("http://x")', "+cmd|' /C calc'!A0", '@SUM(1)', '-2+3', '=1+1', '=cmd|"/c calc"!A1']
    const ce = receipt(await post(toNdjson(formulas.map((f, i) => ev(`fx${i}`, { staff_id: f, attrs: { note: f } })))))
    expect(ce).toMatchObject({ accepted: formulas.length, rejected: 0 })
    const evals = receipt(await post(toNdjson(formulas.map((f, i) => ({ event_id: `fe${i}`, unit_id: 'S1', rating: 2, occurred_at: at, channel: 'web', comment: f }))), { stream: 'evaluations' }))
    expect(evals).toMatchObject({ accepted: formulas.length, rejected: 0 })
    const complaints = receipt(await post(toCsv(formulas.map((f, i) => ({ event_id: `fc${i}`, complaint_id: `K${i}`, type: 'received', occurred_at: at, unit_id: 'S1', category: f }))), { type: CSV, stream: 'complaints' }))
    expect(complaints).toMatchObject({ accepted: formulas.length, rejected: 0 })
    const byId = (rows: Array<{ id: string; v: string }>) => Object.fromEntries(rows.map((r) => [r.id, r.v]))
    const expected = (prefix: string) => Object.fromEntries(formulas.map((f, i) => [`${prefix}${i}`, f]))
    expect(byId(await query(`SELECT event_id AS id, staff_id AS v FROM case_events WHERE startsWith(event_id, 'fx')`))).toEqual(expected('fx'))
    expect(byId(await query(`SELECT event_id AS id, JSONExtractString(attrs, 'note') AS v FROM case_events WHERE startsWith(event_id, 'fx')`))).toEqual(expected('fx'))
    expect(byId(await query(`SELECT event_id AS id, comment AS v FROM evaluations WHERE startsWith(event_id, 'fe')`))).toEqual(expected('fe'))
    expect(byId(await query(`SELECT event_id AS id, category AS v FROM complaints WHERE startsWith(event_id, 'fc')`))).toEqual(expected('fc'))
  })
})

describe('whitespace is data', () => {
  it('leading and trailing blanks and tabs of CSV cells, quoted or not, are stored as sent', async () => {
    const values = ['\t=1+1', ' padded ', 'tab\t', '\ttabbed\t']
    const header = 'event_id,complaint_id,type,occurred_at,unit_id,category'
    const csv = [header, ...values.flatMap((v, i) => [
      `ws${i}u,K${i},received,${at},S1,${v}`,
      `ws${i}q,K${i},received,${at},S1,"${v}"`,
    ])].join('\r\n') + '\r\n'
    const rc = receipt(await post(csv, { type: CSV, stream: 'complaints' }))
    expect(rc).toMatchObject({ received: values.length * 2, accepted: values.length * 2, rejected: 0 })
    const rows = await query<{ id: string; v: string }>(`SELECT event_id AS id, category AS v FROM complaints WHERE startsWith(event_id, 'ws')`)
    expect(Object.fromEntries(rows.map((r) => [r.id, r.v]))).toEqual(Object.fromEntries(values.flatMap((v, i) => [[`ws${i}u`, v], [`ws${i}q`, v]])))
  })
})

describe('malformed CSV', () => {
  const header = 'event_id,case_id,type,occurred_at,unit_id,item_code,staff_id'
  const row = (id: string, staff = 'st1') => `${id},P-${id},accepted,${at},S1,I3,${staff}`

  it('without the header row: refused (400) saying a header is expected', async () => {
    refusal(await post([row('cv1'), row('cv2')].join('\r\n') + '\r\n', { type: CSV }), 400, /header/)
    expect(await storedIds(['cv1', 'cv2'])).toEqual([])
  })

  it('with a header naming unknown fields: refused (400) naming them', async () => {
    refusal(await post(`${header},colour,size\r\n${row('cv3')},red,L\r\n`, { type: CSV }), 400, /not fields of case-events: "colour", "size"/)
    expect(await storedIds(['cv3'])).toEqual([])
  })

  it('with an unclosed quote: refused (400) naming the quote — no row swallows the rows after it', async () => {
    const body = `${header}\r\n${row('cv4')}\r\n${row('cv5', '"abc')}\r\n${row('cv6')}\r\n${row('cv7')}\r\n`
    refusal(await post(body, { type: CSV }), 400, /quot/i)
    expect(await storedIds(['cv4', 'cv5', 'cv6', 'cv7'])).toEqual([])
  })

  it('with rows of the wrong number of cells: those rows rejected invalid_csv_row, the others stored', async () => {
    const body = [header, row('cv8'), row('cv9', 'a,b'), `cv10,P-cv10,accepted,${at},S1,I3`, row('cv11')].join('\r\n') + '\r\n'
    const rc = receipt(await post(body, { type: CSV }))
    expect(rc).toMatchObject({ received: 4, accepted: 2, rejected: 2 })
    expect(triples(rc)).toEqual([[2, null, 'invalid_csv_row'], [3, null, 'invalid_csv_row']])
    expect(rc.errors[0]!.message).toMatch(/7 cells.*got 8/)
    expect(rc.errors[1]!.message).toMatch(/7 cells.*got 6/)
    expectExplained(rc)
    expect(await storedIds(['cv8', 'cv9', 'cv10', 'cv11'])).toEqual(['cv11', 'cv8'])
  })
})

describe('malformed Arrow', () => {
  it('with wrong column types: refused (400) naming each column and its type', async () => {
    const body = Buffer.from(toArrow('case-events', [{ ...ev('ar1'), case_id: 7, occurred_at: 1.7e9 }], { case_id: new Int32(), occurred_at: new Float64() }))
    const { message } = refusal(await post(body, { type: ARROW }), 400, /case_id has Arrow type Int32/)
    expect(message).toMatch(/occurred_at has Arrow type Float64/)
    const strings = Buffer.from(toArrow('evaluations', [{ event_id: 'ar2', unit_id: 'S1', rating: '5', occurred_at: at, channel: 'app' }], { rating: new Utf8() }))
    refusal(await post(strings, { type: ARROW, stream: 'evaluations' }), 400, /rating has Arrow type Utf8/)
  })

  it('a truncated stream: refused (400), nothing stored', async () => {
    const body = Buffer.from(toArrow('case-events', Array.from({ length: 300 }, (_, i) => ev(`at${i}`))))
    for (const cut of [0.3, 0.6, 0.95]) {
      refusal(await post(body.subarray(0, Math.floor(body.length * cut)), { type: ARROW }), 400, /Arrow|read/i)
    }
    expect(await storedIds(Array.from({ length: 300 }, (_, i) => `at${i}`))).toEqual([])
  })

  it('random bytes: refused (400) as not an Arrow IPC stream', async () => {
    let x = 0x9e3779b9
    const random = Buffer.from(Array.from({ length: 8192 }, () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24)))
    refusal(await post(random, { type: ARROW }), 400, /Arrow IPC stream/)
    refusal(await post(Buffer.from(toNdjson([ev('ar3')])), { type: ARROW }), 400, /Arrow IPC stream/)
  })
})

describe('JSON bodies that are not an array of objects', () => {
  it('an object: refused (400) saying an array is expected', async () => {
    refusal(await post(line(ev('js1')), { type: JSON_TYPE }), 400, /array/i)
    expect(await storedIds(['js1'])).toEqual([])
  })

  it('a number: refused (400) saying an array is expected', async () => {
    refusal(await post('42', { type: JSON_TYPE }), 400, /array/i)
  })

  it('an array of non-objects: every row rejected not_an_object, or the body refused saying objects are expected', async () => {
    const r = await post('[1, "x", null, [2], true]', { type: JSON_TYPE })
    if (r.statusCode === 400) return void refusal(r, 400, /object/i)
    const rc = receipt(r)
    expect(rc).toMatchObject({ received: 5, accepted: 0, rejected: 5 })
    expect(rc.errors.map((e) => e.code)).toEqual(Array(5).fill('not_an_object'))
  })

  it('an array with one non-object among objects: that row rejected not_an_object, the others stored', async () => {
    const rc = receipt(await post(JSON.stringify([ev('js2'), 5, ev('js3')]), { type: JSON_TYPE }))
    expect(rc).toMatchObject({ received: 3, accepted: 2, rejected: 1 })
    expect(triples(rc)).toEqual([[2, null, 'not_an_object']])
    expect(await storedIds(['js2', 'js3'])).toEqual(['js2', 'js3'])
  })

  it('a truncated array: refused (400), nothing stored', async () => {
    refusal(await post('[' + line(ev('js4')) + ',' + line(ev('js5')).slice(0, 30), { type: JSON_TYPE }), 400, /JSON|end/i)
    expect(await storedIds(['js4', 'js5'])).toEqual([])
  })
})

describe('empty bodies, wrong headers, no key', () => {
  it('an empty body: 400 empty_body', async () => {
    for (const type of [NDJSON, JSON_TYPE, CSV, ARROW]) refusal(await post('', { type }), 400, /empty/)
  })

  it('a whitespace-only NDJSON body (spaces, tabs, CRLF) holds no rows: none is rejected', async () => {
    const r = await post('  \r\n\t\r\n\n \t \n\r\n')
    if (r.statusCode === 400) return void refusal(r, 400, /empty|no record/i)
    expect(receipt(r)).toMatchObject({ received: 0, accepted: 0, rejected: 0, errors: [] })
  })

  it('blank lines (CRLF, tabs) between NDJSON records are not rows', async () => {
    const rc = receipt(await post(`${line(ev('bl1'))}\r\n\r\n${line(ev('bl2'))}\r\n\t\r\n${line(ev('bl3'))}\r\n`))
    expect(rc).toMatchObject({ received: 3, accepted: 3, rejected: 0, errors: [] })
  })

  it('an unsupported Content-Type: 415 listing the accepted ones', async () => {
    refusal(await post(toNdjson([ev('ct1')]), { type: 'text/plain' }), 415, /application\/x-ndjson/)
    refusal(await post(toNdjson([ev('ct2')]), { type: 'application/xml' }), 415, /application\/x-ndjson/)
  })

  it('no Content-Type at all: 415 listing the accepted ones', async () => {
    refusal(await post(toNdjson([ev('ct3')]), { type: null }), 415, /application\/x-ndjson/)
    expect(await storedIds(['ct1', 'ct2', 'ct3'])).toEqual([])
  })

  it('an unsupported Content-Encoding: 415 naming what is supported', async () => {
    refusal(await post(toNdjson([ev('ce1')]), { encoding: 'br' }), 415, /gzip/)
    refusal(await post(toNdjson([ev('ce2')]), { encoding: 'deflate' }), 415, /gzip/)
  })

  it('no key, a malformed header or an unknown key: 401', async () => {
    refusal(await post(toNdjson([ev('k1')]), { token: null }), 401, /Bearer/)
    refusal(await t.app.inject({ method: 'POST', url: '/api/v1/ingest/case-events', headers: { 'content-type': NDJSON, authorization: 'Basic abc' }, payload: toNdjson([ev('k2')]) }), 401, /Bearer/)
    refusal(await post(toNdjson([ev('k3')]), { token: 'ts_not-a-key' }), 401, /not known/)
    expect(await storedIds(['k1', 'k2', 'k3'])).toEqual([])
  })

  it('an unknown stream: refused naming the stream', async () => {
    const r = await post(toNdjson([ev('us1')]), { stream: 'case-event' })
    expect([400, 404]).toContain(r.statusCode)
    refusal(r, r.statusCode, /stream/)
  })

  it('reference data that is garbage: 400, nothing changed', async () => {
    const before = t.platform.reference.units.size
    const put = (kind: string, type: string, payload: string | Buffer, encoding?: string) =>
      t.app.inject({ method: 'PUT', url: `/api/v1/reference/${kind}`, headers: { 'content-type': type, ...(encoding ? { 'content-encoding': encoding } : {}), ...auth(ADMIN) }, payload })
    refusal(await put('units', JSON_TYPE, '{{{garbage'), 400, /not valid JSON/)
    refusal(await put('units', JSON_TYPE, '42'), 400, /array/)
    refusal(await put('units', CSV, Buffer.from([0, 1, 2, 0xff, 0x22, 10, 0x22])), 400, /CSV/)
    refusal(await put('items', NDJSON, Buffer.from([0xff, 0xfe, 0x7b, 0x0a])), 400, /row 1/)
    refusal(await put('units', NDJSON, gzipSync('{"unit_id":"X"}\n').subarray(0, 10), 'gzip'), 400, /gzip/)
    const bad = await put('units', JSON_TYPE, JSON.stringify([{ unit_id: 7, name: [], tier: 'two', kind: 'castle' }]))
    refusal(bad, 400, /Nothing was stored/)
    expect((bad.json().errors as RowError[]).map((e) => [e.row, e.field])).toEqual([[1, 'unit_id'], [1, 'name'], [1, 'tier'], [1, 'kind']])
    refusal(await put('units', 'text/plain', 'unit_id\nX'), 415, /application\/json/)
    expect(t.platform.reference.units.size).toBe(before)
  })
})

describe('after the whole corpus', () => {
  it('the server is healthy, its tables are there, and a valid body is still taken', async () => {
    const h = await t.app.inject({ method: 'GET', url: '/api/v1/health' })
    expect(h.statusCode).toBe(200)
    expect(h.json()).toMatchObject({ status: 'ok', units: 4, items: 3 })
    const tables = (await query<{ name: string }>(`SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name`)).map((r) => r.name)
    expect(tables).toEqual(expect.arrayContaining(['case_events', 'case_state', 'evaluations', 'complaints', 'costs', 'units', 'items', 'api_keys', 'quarantine']))
    expect(tables.filter((n) => n.startsWith('ingest_stage_')), 'no working table left behind').toEqual([])
    const rc = receipt(await post(toNdjson([ev('ok1'), ev('ok2', { type: 'completed', occurred_at: '2025-03-06T10:00:00+08:00', case_id: 'P-ok1' })])))
    expect(rc).toMatchObject({ received: 2, accepted: 2, rejected: 0 })
    const c = await t.app.inject({ method: 'GET', url: '/api/v1/cases/P-ok1', headers: auth(inspector) })
    expect(c.statusCode).toBe(200)
    expect(c.json()).toMatchObject({ case_id: 'P-ok1', status: 'completed', events: [{ event_id: 'ok1' }, { event_id: 'ok2' }] })
    const spool = spoolDirOf(t.platform.warehouse.dataDir, process.pid)
    expect(existsSync(spool) ? readdirSync(spool) : [], 'no spooled body left behind').toEqual([])
  })
})

// ---- over real HTTP --------------------------------------------------------------------------

describe('over real HTTP, against a server process', () => {
  let dir: string
  let server: ServerProcess
  let key: string
  const ingest = (body: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/api/v1/ingest/case-events`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': NDJSON, ...headers }, body: typeof body === 'string' ? body : new Uint8Array(body) })
  const spooled = () => {
    const spool = spoolDirOf(process.env.CLICKHOUSE_URL ? undefined : dir, server.child.pid!)
    return existsSync(spool) ? readdirSync(spool) : []
  }
  async function until(what: string, ok: () => boolean): Promise<void> {
    for (const deadline = Date.now() + 30_000; !ok(); await new Promise((r) => setTimeout(r, 50))) {
      if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`)
    }
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tierscope-bad-http-'))
    server = await startServer(dir)
    const admin = { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' }
    const units = [
      { unit_id: 'CENTRE', name: '区政务服务中心', tier: 1, kind: 'district_centre' },
      { unit_id: 'S1', name: '东华门街道政务服务大厅', tier: 2, kind: 'street_hall', parent_id: 'CENTRE' },
    ]
    const items = [{ item_code: 'I3', name: '居住证办理', category: 'public_service', statutory_days: 10, promised_days: 3, tiers: [2] }]
    for (const [kind, rows] of [['units', units], ['items', items]] as const) {
      const r = await fetch(`${server.url}/api/v1/reference/${kind}`, { method: 'PUT', headers: admin, body: JSON.stringify(rows) })
      expect(r.status, await r.text()).toBe(200)
    }
    const k = await fetch(`${server.url}/api/v1/keys`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'http source', role: 'source', units: ['S1'] }) })
    key = ((await k.json()) as { token: string }).token
  }, 120_000)
  afterAll(async () => {
    await server?.stop('SIGKILL')
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('survives bad bodies and an upload abandoned half-way, leaving no spooled file behind', async () => {
    const gz = gzipSync(toNdjson([ev('h1'), ev('h2')]))
    const truncated = await ingest(gz.subarray(0, gz.length - 8), { 'content-encoding': 'gzip' })
    expect(truncated.status).toBe(400)
    expect(((await truncated.json()) as { message: string }).message).toMatch(/gzip/)
    const torn = await ingest(toNdjson([ev('h3')]) + line(ev('h4')).slice(0, 30))
    expect(await torn.json()).toMatchObject({ received: 2, accepted: 1, rejected: 1, errors: [{ row: 2, code: 'invalid_json' }] })

    // a client that announces 20 MB, sends 2 MB and goes away
    const socket = connect(Number(new URL(server.url).port), '127.0.0.1')
    await once(socket, 'connect')
    socket.write(`POST /api/v1/ingest/case-events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${key}\r\n` +
      `Content-Type: ${NDJSON}\r\nContent-Length: ${20 * 1024 * 1024}\r\n\r\n`)
    const part = Buffer.from((line(ev('h5')) + '\n').repeat(Math.ceil((2 * 1024 * 1024) / (line(ev('h5')).length + 1))))
    socket.write(part)
    await until('the server spools the upload', () => spooled().length > 0)
    socket.destroy()
    await until('the abandoned upload is removed from the spool', () => spooled().length === 0)

    expect(server.child.exitCode).toBe(null)
    const health = await fetch(`${server.url}/api/v1/health`)
    expect(health.status).toBe(200)
    const ok = await ingest(toNdjson([ev('h6'), ev('h7')]))
    expect(ok.status).toBe(200)
    expect(await ok.json()).toMatchObject({ received: 2, accepted: 2, rejected: 0 })
  })
})
