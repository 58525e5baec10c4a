// Every stream in every body format: the same records sent as NDJSON, a JSON array, CSV and an
// Arrow IPC stream (and gzip) are stored once, validated alike, and quarantined alike.
import { gzipSync } from 'node:zlib'
import { Int32 } from 'apache-arrow'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { STREAMS, type StreamName } from '../ingest/index.ts'
import { ADMIN, auth, loadSmallDistrict, makeKey, openTestApp, toArrow, toCsv, toNdjson } from './support.ts'

let t: Awaited<ReturnType<typeof openTestApp>>
let source: string
beforeAll(async () => {
  t = await openTestApp()
  await loadSmallDistrict(t.app)
  source = await makeKey(t.app, 'source', ['S1'])
}, 120_000)
afterAll(async () => t?.close())

const at = '2025-03-05T09:12:00+08:00'
const good: Record<StreamName, Record<string, unknown>> = {
  'case-events': { event_id: 'ce1', case_id: 'C1', type: 'accepted', occurred_at: at, unit_id: 'S1', item_code: 'I3', channel: 'online', attrs: { 代办: true, n: 2 }, applicant_type: 'person' },
  evaluations: { event_id: 'ev1', unit_id: 'S1', rating: 2, rating_scheme: 'gbt39046', active: true, follow_up: false, occurred_at: at, channel: 'app', case_id: 'C1', comment: '很满意，"好"' },
  'evaluation-followups': { event_id: 'ef1', evaluation_id: 'ev1', type: 'verified', occurred_at: at, unit_id: 'S1', note: '已核实' },
  complaints: { event_id: 'co1', complaint_id: 'K1', type: 'resolved', occurred_at: at, unit_id: 'S1-C1', category: '服务态度', substantiated: false, source: 'hotline' },
  'queue-tickets': { event_id: 'qt1', ticket_id: 'T1', type: 'issued', occurred_at: at, unit_id: 'S1', window_id: 'W01', item_code: 'I3' },
  costs: { entry_id: 'cs1', unit_id: 'S1', period: '2025-03', category: 'staff', amount: '352000.50', staff_fte: 12.5, note: '3月人员经费' },
}
const bad: Record<StreamName, [Record<string, unknown>, string]> = {
  'case-events': [{ ...good['case-events'], event_id: 'ce2', type: 'done' }, 'type'],
  evaluations: [{ ...good.evaluations, event_id: 'ev2', rating: 9 }, 'rating'],
  'evaluation-followups': [{ ...good['evaluation-followups'], event_id: 'ef2', occurred_at: 'last week' }, 'occurred_at'],
  complaints: [{ ...good.complaints, event_id: 'co2', unit_id: 'NOWHERE' }, 'unit_id'],
  'queue-tickets': [{ ...good['queue-tickets'], event_id: 'qt2', item_code: 'X9' }, 'item_code'],
  costs: [{ ...good.costs, entry_id: 'cs2', amount: '12.345' }, 'amount'],
}

type Format = 'ndjson' | 'json' | 'csv' | 'arrow' | 'ndjson+gzip'
const bodies: Record<Format, (s: StreamName, r: Array<Record<string, unknown>>) => { type: string; body: string | Buffer; gzip?: boolean }> = {
  ndjson: (_s, r) => ({ type: 'application/x-ndjson', body: toNdjson(r) }),
  json: (_s, r) => ({ type: 'application/json', body: JSON.stringify(r) }),
  csv: (_s, r) => ({ type: 'text/csv', body: '\ufeff' + toCsv(r) }),
  arrow: (s, r) => ({ type: 'application/vnd.apache.arrow.stream', body: Buffer.from(toArrow(s, r)) }),
  'ndjson+gzip': (_s, r) => ({ type: 'application/x-ndjson', body: gzipSync(toNdjson(r)), gzip: true }),
}

async function send(stream: StreamName, format: Format, records: Array<Record<string, unknown>>, token = source) {
  const { type, body, gzip } = bodies[format](stream, records)
  return t.app.inject({
    method: 'POST', url: `/api/v1/ingest/${stream}`,
    headers: { 'content-type': type, ...(gzip ? { 'content-encoding': 'gzip' } : {}), ...auth(token) }, payload: body,
  })
}

describe.each(Object.keys(good) as StreamName[])('%s', (stream) => {
  it('takes the same records in every format, stores them once, and explains the bad one alike', async () => {
    const formats: Format[] = ['ndjson', 'json', 'csv', 'arrow', 'ndjson+gzip']
    for (const [i, format] of formats.entries()) {
      const r = await send(stream, format, [good[stream], bad[stream][0]])
      expect(r.statusCode, `${format}: ${r.body}`).toBe(200)
      const receipt = r.json()
      // the first body stores the good record; every later format is recognised as the same record
      expect(receipt, format).toMatchObject({ received: 2, accepted: i === 0 ? 1 : 0, duplicates: i === 0 ? 0 : 1, rejected: 1 })
      expect(receipt.errors.map((e: { row: number; field: string }) => [e.row, e.field]), format).toEqual([[2, bad[stream][1]]])
    }
    const log = await t.app.inject({ method: 'GET', url: '/api/v1/ingest/log', headers: auth(source) })
    expect(log.json().rows.find((r: { stream: string }) => r.stream === stream)).toMatchObject({ batches: formats.length, received: 10, accepted: 1, duplicates: 4, rejected: 5 })
  })
})

describe('a field left out and the same field sent as null', () => {
  // (the content hash reads a NULL's place in the column it was computed in; which value lies
  // there depends on how the engine computed it, so two spellings of one record are checked here)
  it.each(Object.keys(good) as StreamName[])('%s: are one record, a duplicate whichever comes first', async (stream) => {
    const spec = STREAMS[stream]
    const optional = spec.fields.filter((f) => f.required === false).map((f) => f.name)
    expect(optional.length, 'an optional field to leave out').toBeGreaterThan(0)
    const leftOut = (id: string) => Object.fromEntries(Object.entries({ ...good[stream], [spec.idField]: id }).filter(([k]) => !optional.includes(k)))
    const spelledNull = (id: string) => ({ ...leftOut(id), ...Object.fromEntries(optional.map((f) => [f, null])) })
    const id = String(good[stream][spec.idField])
    for (const [first, then] of [[leftOut(`${id}-left-out`), spelledNull(`${id}-left-out`)], [spelledNull(`${id}-null`), leftOut(`${id}-null`)]]) {
      const stored = await send(stream, 'ndjson', [first!])
      expect(stored.json(), stored.body).toMatchObject({ accepted: 1, duplicates: 0, rejected: 0 })
      for (const format of ['ndjson', 'json', 'csv', 'arrow'] as const) {
        const again = await send(stream, format, [then!])
        expect(again.json(), `${format}: ${again.body}`).toMatchObject({ accepted: 0, duplicates: 1, rejected: 0 })
      }
    }
  })
})

describe('what is stored', () => {
  it('normalises GB/T 39046 ratings to stars and keeps attrs as JSON', async () => {
    const q = async (sql: string) => (await t.platform.warehouse.client.query({ query: sql, format: 'JSONEachRow' })).json<Record<string, unknown>>()
    expect(await q(`SELECT rating, rating_scheme_received FROM evaluations WHERE event_id = 'ev1'`)).toEqual([{ rating: 4, rating_scheme_received: 'gbt39046' }])
    const [ce] = await q(`SELECT attrs FROM case_events WHERE event_id = 'ce1'`)
    expect(JSON.parse(String(ce!.attrs))).toEqual({ 代办: true, n: 2 })
    expect(await q(`SELECT toString(amount) AS amount, staff_fte FROM costs WHERE entry_id = 'cs1'`)).toEqual([{ amount: '352000.5', staff_fte: 12.5 }])
  })
})

describe('conflicting duplicates', () => {
  it('keeps the text of a conflicting row in quarantine, in every format', async () => {
    for (const format of ['ndjson', 'arrow'] as const) {
      const r = await send('queue-tickets', format, [{ ...good['queue-tickets'], window_id: `W-${format}` }])
      expect(r.json(), format).toMatchObject({ accepted: 0, rejected: 1, errors: [{ row: 1, field: 'event_id', code: 'conflicting_duplicate' }] })
      const q = await t.app.inject({ method: 'GET', url: `/api/v1/ingest/quarantine?batch_id=${r.json().batch_id}`, headers: auth(ADMIN) })
      expect(q.json().rows[0].raw, format).toContain(`W-${format}`)
    }
  })
})

describe('the quarantine', () => {
  it('lists rejected rows by batch, stream, source and code, page by page', async () => {
    const first = await t.app.inject({ method: 'GET', url: '/api/v1/ingest/quarantine?stream=costs&limit=2', headers: auth(ADMIN) })
    expect(first.statusCode, first.body).toBe(200)
    expect(first.json().rows).toHaveLength(2)
    expect(first.json().rows[0]).toMatchObject({ stream: 'costs', row: 2, errors: [{ field: 'amount', code: 'invalid_value' }] })
    const rest = await t.app.inject({ method: 'GET', url: `/api/v1/ingest/quarantine?stream=costs&limit=100&cursor=${first.json().next_cursor}`, headers: auth(ADMIN) })
    expect(rest.json().rows).toHaveLength(3)
    const byCode = await t.app.inject({ method: 'GET', url: '/api/v1/ingest/quarantine?code=unknown_unit', headers: auth(ADMIN) })
    expect(byCode.json().rows.every((r: { stream: string }) => r.stream === 'complaints')).toBe(true)
    expect(byCode.json().rows).toHaveLength(5)
    const batch = first.json().rows[0].batch_id
    const byBatch = await t.app.inject({ method: 'GET', url: `/api/v1/ingest/quarantine?batch_id=${batch}`, headers: auth(ADMIN) })
    expect(byBatch.json().rows).toHaveLength(1)
    const other = await makeKey(t.app, 'source', ['S2'])
    const none = await t.app.inject({ method: 'GET', url: '/api/v1/ingest/quarantine', headers: auth(other) })
    expect(none.json().rows).toEqual([])
  })
})

describe('formats that cannot be read', () => {
  it('refuses an Arrow stream whose column types do not fit', async () => {
    const r = await t.app.inject({
      method: 'POST', url: '/api/v1/ingest/case-events', headers: { 'content-type': 'application/vnd.apache.arrow.stream', ...auth(source) },
      payload: Buffer.from(toArrow('case-events', [{ ...good['case-events'], event_id: 'x1', case_id: 7 }], { case_id: new Int32() })),
    })
    expect(r.statusCode).toBe(400)
    expect(r.json().message).toMatch(/case_id.*Int/)
  })

  it('refuses a CSV without the header row', async () => {
    const csv = toCsv([good['case-events']]).split('\r\n').slice(1).join('\r\n')
    const r = await t.app.inject({ method: 'POST', url: '/api/v1/ingest/case-events', headers: { 'content-type': 'text/csv', ...auth(source) }, payload: csv })
    expect(r.statusCode).toBe(400)
    expect(r.json().message).toMatch(/header/)
  })

  it('serves the contract and the OpenAPI description', async () => {
    const c = await t.app.inject({ method: 'GET', url: '/api/v1/contract' })
    expect(c.json().streams['case-events'].required).toEqual(['event_id', 'case_id', 'type', 'occurred_at', 'unit_id'])
    const o = await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })
    expect(Object.keys(o.json().paths)).toEqual(expect.arrayContaining(['/api/v1/ingest/{stream}', '/api/v1/cases', '/api/v1/metrics/{metric_id}', '/api/v1/ingest/quarantine']))
    expect((await t.app.inject({ method: 'GET', url: '/docs/' })).statusCode).toBe(200)
  })
})
