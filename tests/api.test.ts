// The HTTP API end to end on the real embedded engine: reference data, keys and scopes, case
// ingest with bad input, idempotency, the case read API and the first indicators.
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../app.ts'
import { openTestPlatform } from '../warehouse/testing.ts'

type P = Awaited<ReturnType<typeof openTestPlatform>>
let p: P
let app: FastifyInstance
const ADMIN = 'admin-test-token'
const keys: Record<string, string> = {}

const auth = (token: string) => ({ authorization: `Bearer ${token}` })
const ndjson = (rows: unknown[]) => rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n'

async function post(stream: string, body: string | Buffer, token = keys.source!, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url: `/api/v1/ingest/${stream}`, headers: { 'content-type': 'application/x-ndjson', ...auth(token), ...headers }, payload: body })
}
async function get(url: string, token: string) {
  const r = await app.inject({ method: 'GET', url, headers: auth(token) })
  return { status: r.statusCode, body: r.json() }
}

const ev = (event_id: string, case_id: string, type: string, occurred_at: string, extra: Record<string, unknown> = {}) =>
  ({ event_id, case_id, type, occurred_at, unit_id: 'S1', ...extra })

beforeAll(async () => {
  p = await openTestPlatform()
  ;({ app } = await buildApp(p))
  await p.keys.bootstrapAdmin(ADMIN)
  const units = [
    { unit_id: 'CENTRE', name: '区政务服务中心', tier: 1, kind: 'district_centre' },
    { unit_id: 'S1', name: '东华门街道政务服务大厅', tier: 2, kind: 'street_hall', parent_id: 'CENTRE' },
    { unit_id: 'S2', name: '景山街道政务服务大厅', tier: 2, kind: 'street_hall', parent_id: 'CENTRE' },
    { unit_id: 'S1-C1', name: '多福巷社区服务站', tier: 3, kind: 'community_station', parent_id: 'S1' },
  ]
  const r1 = await app.inject({ method: 'PUT', url: '/api/v1/reference/units', headers: { 'content-type': 'application/json', ...auth(ADMIN) }, payload: units })
  expect(r1.statusCode, r1.body).toBe(200)
  const itemsCsv = '\ufeffitem_code,name,category,statutory_days,promised_days,tiers\nI3,居住证办理,public_service,10,3,"2,3"\nI0,证明开具,public_service,,0,2\nNL,咨询,other,,,2\n'
  const r2 = await app.inject({ method: 'PUT', url: '/api/v1/reference/items', headers: { 'content-type': 'text/csv', ...auth(ADMIN) }, payload: itemsCsv })
  expect(r2.statusCode, r2.body).toBe(200)
  for (const [name, role, units] of [['source', 'source', ['S1']], ['leader1', 'unit_leader', ['S1']], ['leader2', 'unit_leader', ['S2']], ['inspector', 'inspector', []], ['admin2', 'admin', []]] as const) {
    const r = await app.inject({ method: 'POST', url: '/api/v1/keys', headers: auth(ADMIN), payload: { name, role, units } })
    expect(r.statusCode, r.body).toBe(201)
    keys[name] = r.json().token
  }
  keys.source2 = (await app.inject({ method: 'POST', url: '/api/v1/keys', headers: auth(ADMIN), payload: { name: 's2', role: 'source', units: ['S2'] } })).json().token
}, 120_000)

afterAll(async () => {
  await app?.close()
  await p?.close()
})

describe('one process for API and dashboard', () => {
  it('answers an unknown API path with the API\'s 404, and any other path with the app\'s shell', async () => {
    const api = await app.inject({ method: 'GET', url: '/api/v1/no-such-thing' })
    expect(api.statusCode).toBe(404)
    expect(api.json()).toMatchObject({ error: 'not_found' })
    const view = await app.inject({ method: 'GET', url: '/meeting?tier=3' })
    expect(view.statusCode).toBe(200)
    expect(view.headers['content-type']).toMatch(/text\/html/)
    expect(view.body).toMatch(/<html|<!doctype/i)
  })
})

describe('reference data', () => {
  it('refuses a bad unit list whole, naming row and field', async () => {
    const r = await app.inject({
      method: 'PUT', url: '/api/v1/reference/units', headers: { 'content-type': 'application/x-ndjson', ...auth(ADMIN) },
      payload: ndjson([{ unit_id: 'X1', name: 'x', tier: 2, kind: 'street_hall', parent_id: 'CENTRE' }, { unit_id: 'X2', name: 'y', tier: 5, kind: 'hall' }]),
    })
    expect(r.statusCode).toBe(400)
    expect(r.json().errors.map((e: { row: number; field: string }) => [e.row, e.field])).toEqual([[2, 'tier'], [2, 'kind']])
    expect(p.reference.units.has('X1')).toBe(false)
  })

  it('takes reference data only with an admin key', async () => {
    const r = await app.inject({ method: 'PUT', url: '/api/v1/reference/items', headers: { 'content-type': 'application/json', ...auth(keys.inspector!) }, payload: [] })
    expect(r.statusCode).toBe(403)
  })

  it('loads a year of the official calendar in the published shape ({ year, days: [{ name, date, isOffDay }] })', async () => {
    const published = JSON.parse(readFileSync(new URL('../ingest/fixtures/holiday-cn/2024.json', import.meta.url), 'utf8'))
    const r = await app.inject({
      method: 'PUT', url: '/api/v1/reference/calendar?dry_run=true', headers: { 'content-type': 'application/json', ...auth(ADMIN) },
      payload: published,
    })
    expect(r.statusCode, r.body).toBe(200)
    expect(r.json()).toMatchObject({ year: 2024, status: 'official', dry_run: true, source: 'arrangement json' })
    const days = new Map((r.json().days as Array<{ date: string; is_working: boolean }>).map((d) => [d.date, d.is_working]))
    expect(days.size).toBe(366)
    // 10–17 February off, Sun 4 and Sun 18 February worked
    expect([days.get('2024-02-04'), days.get('2024-02-10'), days.get('2024-02-12'), days.get('2024-02-17'), days.get('2024-02-18')]).toEqual([true, false, false, false, true])
  })
})

describe('case ingest', () => {
  it('stores the valid rows of a body and explains every bad one', async () => {
    const body = ndjson([
      ev('a1', 'C-A', 'accepted', '2024-09-27T10:00:00+08:00', { item_code: 'I3', channel: 'online' }),
      '{"event_id": "broken", ',
      { event_id: 'a3', case_id: 'C-B', type: 'accepted', unit_id: 'S1', item_code: 'I3' },
      ev('a4', 'C-C', 'accepted', '2024-09-27T10:00:00+08:00', { item_code: 'I3', channel: 3 }),
      ev('a5', 'C-D', 'accepted', '2024-09-27T10:00:00+08:00', { item_code: 'NOPE' }),
      { ...ev('a6', 'C-E', 'accepted', '2024-09-27T10:00:00+08:00', { item_code: 'I3' }), unit_id: 'GHOST' },
      ev('a7', 'C-F', 'completed', new Date(Date.now() + 3 * 86_400_000).toISOString()),
      ev('a8', 'C-A', 'completed', '2024-10-08T16:00:00+08:00'),
    ])
    const r = await post('case-events', body)
    expect(r.statusCode, r.body).toBe(200)
    const receipt = r.json()
    expect(receipt).toMatchObject({ received: 8, accepted: 2, duplicates: 0, rejected: 6 })
    expect(receipt.errors.map((e: { row: number; field: string; code: string }) => [e.row, e.field, e.code])).toEqual([
      [2, null, 'invalid_json'],
      [3, 'occurred_at', 'missing_field'],
      [4, 'channel', 'invalid_type'],
      [5, 'item_code', 'unknown_item'],
      [6, 'unit_id', 'unknown_unit'],
      [7, 'occurred_at', 'future_timestamp'],
    ])
    for (const e of receipt.errors) expect(e.message).toMatch(/^row \d+/)
    const c = await get('/api/v1/cases/C-A', keys.inspector!)
    expect(c.status).toBe(200)
    expect(c.body).toMatchObject({ status: 'completed', elapsed_days: 3, on_time: true, unit_id: 'S1', item_code: 'I3' })
    expect(c.body.events.map((e: { event_id: string }) => e.event_id)).toEqual(['a1', 'a8'])
  })

  it('counts a resent row once and refuses the same id with other content', async () => {
    const first = ev('d1', 'C-DUP', 'accepted', '2025-03-03T10:00:00+08:00', { item_code: 'I3' })
    const r1 = await post('case-events', ndjson([first, first]))
    expect(r1.json()).toMatchObject({ accepted: 1, duplicates: 1, rejected: 0 })
    const r2 = await post('case-events', gzipSync(ndjson([first, { ...first, occurred_at: '2025-03-03T02:00:00Z' }])), keys.source!, { 'content-encoding': 'gzip' })
    expect(r2.json()).toMatchObject({ accepted: 0, duplicates: 2, rejected: 0 })
    const r3 = await post('case-events', ndjson([{ ...first, occurred_at: '2025-03-04T10:00:00+08:00' }]))
    expect(r3.json()).toMatchObject({ accepted: 0, duplicates: 0, rejected: 1 })
    expect(r3.json().errors[0]).toMatchObject({ row: 1, field: 'event_id', code: 'conflicting_duplicate' })
    const c = await get('/api/v1/cases/C-DUP', keys.inspector!)
    expect(c.body.events).toHaveLength(1)
    expect(c.body.accepted_at).toBe('2025-03-03T10:00:00.000+08:00')
  })

  it('refuses the whole body when a row is outside the key scope', async () => {
    const rows = [ev('s1', 'C-S1', 'accepted', '2025-03-03T10:00:00+08:00', { item_code: 'I3' }), { ...ev('s2', 'C-S2', 'accepted', '2025-03-03T10:00:00+08:00', { item_code: 'I3' }), unit_id: 'S2' }]
    const r = await post('case-events', ndjson(rows))
    expect(r.statusCode).toBe(403)
    expect(r.json()).toMatchObject({ error: 'out_of_scope', rows: [{ row: 2, unit_id: 'S2' }] })
    expect((await get('/api/v1/cases/C-S1', keys.inspector!)).status).toBe(404)
    // a station below the key's street hall is within scope
    const ok = await post('case-events', ndjson([{ ...rows[0], event_id: 's3', unit_id: 'S1-C1' }]))
    expect(ok.json()).toMatchObject({ accepted: 1 })
  })

  it('answers 401, 403, 404, 413 and 415 as the contract says', async () => {
    expect((await app.inject({ method: 'POST', url: '/api/v1/ingest/case-events', payload: '{}' })).statusCode).toBe(401)
    expect((await post('case-events', '{}', 'not-a-key')).statusCode).toBe(401)
    expect((await post('case-events', '{}', keys.inspector!)).statusCode).toBe(403)
    expect((await post('no-such-stream', '{}')).statusCode).toBe(404)
    expect((await post('case-events', '<xml/>', keys.source!, { 'content-type': 'application/xml' })).statusCode).toBe(415)
    const { app: small } = await buildApp(p, { bodyLimit: 1024 })
    const big = await small.inject({ method: 'POST', url: '/api/v1/ingest/case-events', headers: { 'content-type': 'application/x-ndjson', ...auth(keys.source!) }, payload: 'x'.repeat(5000) })
    expect(big.statusCode).toBe(413)
    const bomb = await small.inject({
      method: 'POST', url: '/api/v1/ingest/case-events', headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip', ...auth(keys.source!) },
      payload: gzipSync(Buffer.alloc(100_000, 0x20)),
    })
    expect(bomb.statusCode).toBe(413)
    await small.close()
    expect((await post('case-events', Buffer.from([0x1f, 0x8b, 0x00]), keys.source!, { 'content-encoding': 'gzip' })).statusCode).toBe(400)
  })

  it('answers 503 when the warehouse cannot take the rows, and a resend then stores them once, past the failed refresh', async () => {
    // accepted and completed the same day: no overdue or open count below changes, and it is the
    // year's one completed case of tier 2 that the ranking of on_time_rate further down counts
    const rows = [ev('w1', 'C-503', 'accepted', '2025-03-03T10:00:00+08:00', { item_code: 'I3' }), ev('w2', 'C-503', 'completed', '2025-03-03T15:00:00+08:00')]
    // the first row is stored before the outage; its refresh is held until the table is gone, so it fails
    await p.derived.settled() // (the receipt waits for earlier bodies' refresh: not held)
    const refresh = p.cases.refreshBatches.bind(p.cases)
    let release!: () => void
    const held = new Promise<void>((r) => (release = r))
    p.cases.refreshBatches = async (ids: string[]) => (await held, refresh(ids))
    const first = await post('case-events', ndjson(rows.slice(0, 1)))
    if (first.json().accepted !== 1) (p.cases.refreshBatches = refresh, release()) // (the later tests not left waiting)
    expect(first.json()).toMatchObject({ accepted: 1 })
    await p.warehouse.client.command({ query: 'DETACH TABLE case_events' })
    try {
      p.cases.refreshBatches = refresh
      release()
      await expect(p.derived.settled()).rejects.toMatchObject({ code: 'derived_state_behind' })
      const refused = await post('case-events', ndjson(rows))
      expect(refused.statusCode).toBe(503)
      expect(refused.json()).toMatchObject({ error: 'warehouse_unavailable' })
      expect(refused.json().message).toMatch(/sending it again is safe/)
    } finally {
      await p.warehouse.client.command({ query: 'ATTACH TABLE case_events' })
    }
    // the receipt right after waits for the refresh's retry, not for the failure before it
    expect((await post('case-events', ndjson(rows))).json()).toMatchObject({ accepted: 1, duplicates: 1 })
    expect((await post('case-events', ndjson(rows))).json()).toMatchObject({ accepted: 0, duplicates: 2 })
  })

  it('keeps rejected rows in quarantine with their reasons', async () => {
    const r = await post('case-events', ndjson(['not json at all']))
    const batch = r.json().batch_id
    const rows = await p.warehouse.client.query({ query: 'SELECT row, raw, errors FROM quarantine WHERE batch_id = {b:UUID}', query_params: { b: batch }, format: 'JSONEachRow' })
    const q = await rows.json<{ row: number; raw: string; errors: Array<{ code: string }> }>()
    expect(q).toHaveLength(1)
    expect(q[0]).toMatchObject({ row: 1, raw: 'not json at all' })
    expect(q[0]!.errors[0]!.code).toBe('invalid_json')
  })
})

describe('the case read API', () => {
  beforeAll(async () => {
    // S1: an open case overdue since long ago, one in warning, one fine; S2: one open overdue case.
    const today = new Date()
    await post('case-events', ndjson([
      ev('o1', 'OPEN-LATE', 'accepted', '2025-01-06T10:00:00+08:00', { item_code: 'I3' }),
      ev('o2', 'OPEN-NOLIMIT', 'accepted', '2025-01-06T10:00:00+08:00', { item_code: 'NL' }),
      ev('o3', 'OPEN-DUE', 'accepted', '2025-01-06T10:00:00+08:00', { item_code: 'I3', due_at: new Date(today.getTime() + 3600_000).toISOString() }),
    ]))
    await post('case-events', ndjson([{ ...ev('o4', 'OPEN-S2', 'accepted', '2025-01-06T10:00:00+08:00', { item_code: 'I3' }), unit_id: 'S2' }]), keys.source2!)
  })

  it('lists overdue and warning cases with the filters of the contract', async () => {
    const overdue = await get('/api/v1/cases?status=open&overdue=true', keys.inspector!)
    expect(overdue.body.rows.map((r: { case_id: string }) => r.case_id).sort()).toEqual(['C-DUP', 'C-S1', 'OPEN-LATE', 'OPEN-S2'])
    const s2 = await get('/api/v1/cases?status=open&overdue=true&unit_id=S2', keys.inspector!)
    expect(s2.body.rows.map((r: { case_id: string }) => r.case_id)).toEqual(['OPEN-S2'])
    const tier3 = await get('/api/v1/cases?tier=3', keys.inspector!)
    expect(tier3.body.rows.map((r: { case_id: string }) => r.case_id)).toEqual(['C-S1'])
    const warning = await get('/api/v1/cases?warning=true', keys.inspector!)
    expect(warning.body.rows.map((r: { case_id: string }) => r.case_id)).toEqual(['OPEN-DUE'])
    const noLimit = await get('/api/v1/cases/OPEN-NOLIMIT', keys.inspector!)
    expect(noLimit.body).toMatchObject({ limit_days: null, on_time: null, overdue: false, warning: false })
  })

  it('narrows stopped cases to the days they stopped on, leaving open ones', async () => {
    // (in 2023: the indicators of 2024 and 2025 below are not to count them)
    const stored = await post('case-events', ndjson([
      ev('stop-window-1', 'STOP-LATE-FEB', 'accepted', '2023-01-09T10:00:00+08:00', { item_code: 'I3' }),
      ev('stop-window-2', 'STOP-LATE-FEB', 'completed', '2023-02-20T10:00:00+08:00'),
      ev('stop-window-3', 'STOP-LATE-MAR', 'accepted', '2023-01-09T10:00:00+08:00', { item_code: 'I3' }),
      ev('stop-window-4', 'STOP-LATE-MAR', 'completed', '2023-03-20T10:00:00+08:00'),
    ]))
    expect(stored.json()).toMatchObject({ accepted: 4, rejected: 0 })
    type Row = { case_id: string; status: string; stopped_at: string | null }
    const all = (await get('/api/v1/cases?overdue=true&limit=1000', keys.inspector!)).body.rows as Row[]
    expect(all.map((r) => r.case_id)).toEqual(expect.arrayContaining(['STOP-LATE-FEB', 'STOP-LATE-MAR', 'OPEN-LATE']))
    const march = await get('/api/v1/cases?overdue=true&stopped_from=2023-03-01&stopped_to=2023-03-31&limit=1000', keys.inspector!)
    expect(march.status).toBe(200)
    const inMarch = (r: Row) => r.stopped_at === null || (r.stopped_at >= '2023-03-01' && r.stopped_at < '2023-04-01')
    expect(march.body.rows).toEqual(all.filter((r) => !['completed', 'rejected'].includes(r.status) || inMarch(r)))
    expect(march.body.rows.map((r: Row) => r.case_id)).not.toContain('STOP-LATE-FEB')
    expect(march.body.rows.map((r: Row) => r.case_id)).toEqual(expect.arrayContaining(['STOP-LATE-MAR', 'OPEN-LATE']))
    // one bound alone; the other open
    const since = (await get('/api/v1/cases?overdue=true&stopped_to=2023-03-31&limit=1000', keys.inspector!)).body.rows as Row[]
    expect(since.map((r) => r.case_id)).toEqual(all.filter((r) => !['completed', 'rejected'].includes(r.status) || r.stopped_at! < '2023-04-01').map((r) => r.case_id))
    const bad = await get('/api/v1/cases?stopped_from=2025-04-01&stopped_to=2025-03-01', keys.inspector!)
    expect(bad.status).toBe(400)
    expect(bad.body.message).toContain('stopped_from')
    expect((await get('/api/v1/cases?stopped_from=March', keys.inspector!)).status).toBe(400)
  })

  it('counts red and yellow cards per tier, unit and item, as the lists have them', async () => {
    const byUnit = await get('/api/v1/cases/counts?by=unit&status=open&overdue=true', keys.inspector!)
    expect(byUnit.status, JSON.stringify(byUnit.body)).toBe(200)
    const listed = (await get('/api/v1/cases?status=open&overdue=true&limit=1000', keys.inspector!)).body.rows as Array<{ unit_id: string; item_code: string | null }>
    const expected = new Map<string, number>()
    for (const r of listed) expected.set(r.unit_id, (expected.get(r.unit_id) ?? 0) + 1)
    expect(new Map(byUnit.body.rows.map((r: { key: string; cases: number }) => [r.key, r.cases]))).toEqual(expected)
    const byTier = await get('/api/v1/cases/counts?by=tier&status=open&overdue=true', keys.inspector!)
    expect(byTier.body.rows.reduce((s: number, r: { cases: number }) => s + r.cases, 0)).toBe(listed.length)
    expect(byTier.body.rows.every((r: { key: number }) => [1, 2, 3].includes(r.key))).toBe(true)
    const items = await get('/api/v1/cases/counts?by=item&status=open&overdue=true&unit_id=S1', keys.inspector!)
    expect(items.body.rows).toEqual([...new Set(listed.filter((r) => r.unit_id === 'S1').map((r) => r.item_code ?? ''))].sort()
      .map((code) => ({ key: code, cases: listed.filter((r) => r.unit_id === 'S1' && (r.item_code ?? '') === code).length }))
      .sort((a, b) => b.cases - a.cases || a.key.localeCompare(b.key)))
    const warning = await get('/api/v1/cases/counts?by=unit&warning=true', keys.inspector!)
    expect(warning.body.rows).toEqual([{ key: 'S1', cases: 1 }])
    // a unit leader counts only its own units
    const leader = await get('/api/v1/cases/counts?by=unit&status=open&overdue=true', keys.leader1!)
    expect(leader.body.rows.map((r: { key: string }) => r.key).every((u: string) => ['S1', 'S1-C1'].includes(u))).toBe(true)
    expect((await get('/api/v1/cases/counts?status=open', keys.inspector!)).status).toBe(400)
  })

  it('pages with a cursor that keeps the moment of the first page', async () => {
    const all = await get('/api/v1/cases?limit=1000', keys.inspector!)
    const seen: string[] = []
    let url = '/api/v1/cases?limit=2'
    for (let i = 0; i < 20; i++) {
      const page = await get(url, keys.inspector!)
      seen.push(...page.body.rows.map((r: { case_id: string }) => r.case_id))
      if (!page.body.next_cursor) break
      url = `/api/v1/cases?limit=2&cursor=${page.body.next_cursor}`
    }
    expect(seen).toEqual(all.body.rows.map((r: { case_id: string }) => r.case_id))
    expect(seen.length).toBeGreaterThan(4)
  })

  it('orders a list by working days over, most overdue first, and pages it in that order', async () => {
    const all = (await get('/api/v1/cases?limit=1000&order=days_over', keys.inspector!)).body.rows as Array<{ case_id: string; days_over: number | null }>
    const over = all.map((r) => r.days_over ?? -1)
    expect(over).toEqual([...over].sort((a, b) => b - a))
    expect(new Set(over).size).toBeGreaterThan(1) // more than one value: the order says something
    const seen: string[] = []
    let url = '/api/v1/cases?limit=2&order=days_over'
    for (let i = 0; i < 30; i++) {
      const page = await get(url, keys.inspector!)
      seen.push(...page.body.rows.map((r: { case_id: string }) => r.case_id))
      if (!page.body.next_cursor) break
      url = `/api/v1/cases?limit=2&order=days_over&cursor=${page.body.next_cursor}`
    }
    expect(seen).toEqual(all.map((r) => r.case_id))
    // a cursor of one order is refused in the other
    const first = await get('/api/v1/cases?limit=2&order=days_over', keys.inspector!)
    expect((await get(`/api/v1/cases?limit=2&cursor=${first.body.next_cursor}`, keys.inspector!)).status).toBe(400)
  })

  it('shows a unit leader only its own units and their stations', async () => {
    const mine = await get('/api/v1/cases?limit=1000', keys.leader1!)
    const units = new Set(mine.body.rows.map((r: { unit_id: string }) => r.unit_id))
    expect([...units].sort()).toEqual(['S1', 'S1-C1'])
    expect((await get('/api/v1/cases/OPEN-S2', keys.leader1!)).status).toBe(404)
    expect((await get('/api/v1/cases/OPEN-S2', keys.leader2!)).status).toBe(200)
    expect((await get('/api/v1/cases?unit_id=S2', keys.leader1!)).body.rows).toEqual([])
    expect((await get('/api/v1/metrics/on_time_rate?scope=unit:S2', keys.leader1!)).status).toBe(403)
    expect((await get('/api/v1/metrics/on_time_rate?scope=district', keys.leader1!)).status).toBe(403)
    expect((await get('/api/v1/cases', keys.source!)).status).toBe(403)
  })

  it('answers as of a moment, on the provisional calendar for a year not loaded', async () => {
    const before = await get('/api/v1/cases/C-A?as_of=2024-10-01T12:00:00%2B08:00', keys.inspector!)
    expect(before.body).toMatchObject({ status: 'open', elapsed_days: 2, warning: true })
    expect(before.body.events).toHaveLength(1)
    // a moment in a year not loaded: counted on the provisional calendar, and said to be
    const later = await get('/api/v1/cases?as_of=2099-01-05T10:00:00%2B08:00', keys.inspector!)
    expect(later.status, JSON.stringify(later.body)).toBe(200)
    const rows = later.body.rows as Array<{ status: string; accepted_at: string | null; calendar_provisional: boolean }>
    const open = rows.filter((r) => r.status === 'open' && r.accepted_at !== null)
    expect(open.length).toBeGreaterThan(0)
    for (const r of open) expect(r.calendar_provisional).toBe(true)
    // the cases stopped in 2024 counted no day of a provisional year
    const stopped = rows.filter((r) => r.status === 'completed')
    expect(stopped.length).toBeGreaterThan(0)
    for (const r of stopped) expect(r.calendar_provisional).toBe(false)
    // past what any calendar can be worked out for: 422 naming the year
    const far = await get('/api/v1/cases?as_of=2150-01-05T10:00:00%2B08:00', keys.inspector!)
    expect(far.status).toBe(422)
    expect(far.body).toMatchObject({ error: 'calendar_missing' })
    expect(far.body.years).toContain(2150)
    expect((await get('/api/v1/cases?as_of=tomorrow', keys.inspector!)).status).toBe(400)
  })
})

describe('the first indicators', () => {
  it('computes on_time_rate as a ratio of sums with numerator and denominator', async () => {
    const m = await get('/api/v1/metrics/on_time_rate?from=2024-01-01&to=2024-12-31&by=unit', keys.inspector!)
    expect(m.status, JSON.stringify(m.body)).toBe(200)
    expect(m.body).toMatchObject({ metric: 'on_time_rate', name: '按时办结率', direction: 'higher_is_better' })
    expect(m.body.rows).toEqual([{ key: 'S1', value: 1, numerator: 1, denominator: 1 }])
  })

  it('counts overdue cases: late stops in the period plus cases open and overdue at its end', async () => {
    const m = await get('/api/v1/metrics/overdue_cases?from=2025-01-01&to=2025-12-31&by=unit', keys.inspector!)
    expect(m.status, JSON.stringify(m.body)).toBe(200)
    const byUnit = Object.fromEntries(m.body.rows.map((r: { key: string; value: number }) => [r.key, r.value]))
    expect(byUnit).toEqual({ S1: 2, 'S1-C1': 1, S2: 1 })
    const byTier = await get('/api/v1/metrics/overdue_cases?from=2025-01-01&to=2025-12-31&by=tier&scope=tier:2', keys.inspector!)
    expect(byTier.body.rows).toEqual([{ key: 2, value: 3, numerator: 3, denominator: null }])
    const leader = await get('/api/v1/metrics/overdue_cases?from=2025-01-01&to=2025-12-31&scope=unit:S1', keys.leader1!)
    expect(leader.body.rows).toEqual([{ key: 'all', value: 3, numerator: 3, denominator: null }])
  })

  it('lists the catalogue and refuses an unknown indicator', async () => {
    const c = await get('/api/v1/metrics', keys.inspector!)
    expect(c.body.metrics.map((m: { id: string }) => m.id)).toEqual(expect.arrayContaining(['on_time_rate', 'overdue_cases', 'avg_elapsed_days', 'first_time_right_rate', 'online_rate', 'satisfaction_rate', 'bad_review_rate', 'bad_review_rectified_on_time_rate', 'cost_per_case']))
    expect((await get('/api/v1/metrics/nope', keys.inspector!)).status).toBe(404)
    const ranking = await get('/api/v1/rankings/nope?tier=2', keys.inspector!)
    expect(ranking.status).toBe(404)
    expect(ranking.body).toMatchObject({ error: 'unknown_metric' })
  })
})

describe('assessment, rankings, targets, ratings and settings over HTTP', () => {
  it('answers the assessment of a tier, and a unit leader sees only its own rows', async () => {
    const all = await get('/api/v1/assessment?year=2025&tier=2&as_of=2025-12-31T23:59:59%2B08:00', keys.inspector!)
    expect(all.status, JSON.stringify(all.body)).toBe(200)
    expect(all.body.units.map((u: { unit_id: string }) => u.unit_id).sort()).toEqual(['S1', 'S2'])
    for (const u of all.body.units) expect(u.indicators.length).toBeGreaterThan(0)
    const mine = await get('/api/v1/assessment?year=2025&tier=2&as_of=2025-12-31T23:59:59%2B08:00', keys.leader1!)
    expect(mine.body.units.map((u: { unit_id: string }) => u.unit_id)).toEqual(['S1'])
    expect((await get('/api/v1/rankings/on_time_rate?year=2025&tier=2', keys.leader1!)).status).toBe(403)
    const ranking = await get('/api/v1/rankings/on_time_rate?year=2025&tier=2&as_of=2025-12-31T23:59:59%2B08:00', keys.inspector!)
    // ranked on the values themselves; what is noise is said by intervals, rank ranges and the funnel
    expect(ranking.body).toMatchObject({ metric: 'on_time_rate', rank_by: 'value', funnel: { method: 'binomial' } })
    for (const r of ranking.body.rows) if (r.value !== null) expect(r.rank_range.best).toBeLessThanOrEqual(r.rank)
    const composite = await get('/api/v1/metrics/composite_score?scope=tier:2&to=2025-12-31&as_of=2025-12-31T23:59:59%2B08:00', keys.inspector!)
    expect(composite.body.rows.map((r: { key: string }) => r.key).sort()).toEqual(['S1', 'S2'])
  })

  it('lists a unit\'s targets and the ratings behind its figures; admins change settings', async () => {
    const t = await get('/api/v1/targets?year=2025&unit_id=S1', keys.leader1!)
    expect(t.status).toBe(200)
    expect((await get('/api/v1/targets?year=2025&unit_id=S2', keys.leader1!)).status).toBe(403)
    expect((await get('/api/v1/ratings?unit_id=S1&bad=true', keys.leader1!)).status).toBe(200)
    expect((await get('/api/v1/ratings?unit_id=S2', keys.leader1!)).status).toBe(403)
    const put = (token: string, body: unknown) => app.inject({ method: 'PUT', url: '/api/v1/settings', headers: auth(token), payload: body as object })
    expect((await put(keys.inspector!, { warning_days: 2 })).statusCode).toBe(403)
    expect((await put(ADMIN, { warning_days: -1 })).statusCode).toBe(400)
    expect((await put(ADMIN, { rectification_limit_days: 10 })).json()).toMatchObject({ rectification_limit_days: 10, warning_days: 1 })
    expect((await get('/api/v1/settings', keys.inspector!)).body).toMatchObject({ rectification_limit_days: 10 })
    await put(ADMIN, { rectification_limit_days: 15 })
  })

  it('keeps one assessment scheme per year as data, checked before it is stored', async () => {
    const current = await get('/api/v1/assessment/scheme?year=2025', keys.inspector!)
    expect(current.body).toMatchObject({ year: 2025, source: 'default' })
    const put = (body: unknown, token = ADMIN) => app.inject({ method: 'PUT', url: '/api/v1/assessment/scheme', headers: auth(token), payload: body as object })
    const { source: _source, ...scheme } = current.body
    const broken = structuredClone(scheme)
    broken.tiers['2'].timeliness.weight = 0.5
    broken.tiers['1'].cost.indicators[0].id = 'no_such_indicator'
    const refused = await put(broken)
    expect(refused.statusCode).toBe(400)
    expect(refused.json().problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/^tiers\.2: the category weights add up to/),
      expect.stringMatching(/^tiers\.1\.cost\.indicators\[0\]: "no_such_indicator" is not an indicator/),
    ]))
    expect((await put(scheme, keys.inspector!)).statusCode).toBe(403)
    const revised = { ...structuredClone(scheme), version: '2025.2', name: '东城区2025年度考核方案（修订）' }
    expect((await put(revised)).json()).toMatchObject({ stored: true, version: '2025.2' })
    expect((await get('/api/v1/assessment/scheme?year=2025', keys.inspector!)).body).toMatchObject({ version: '2025.2', source: 'stored' })
    const a = await get('/api/v1/assessment?year=2025&tier=2&as_of=2025-12-31T23:59:59%2B08:00', keys.inspector!)
    expect(a.body.scheme).toMatchObject({ version: '2025.2' })
  })

  it('publishes the indicator definitions as a document', async () => {
    const r = await app.inject({ method: 'GET', url: '/indicators?year=2025' })
    expect(r.statusCode).toBe(200)
    expect(r.body).toContain('按时办结率')
    expect(r.body).toContain('差评按期整改率')
  })
})

describe('a case that moved to another unit', () => {
  it('counts where it stood at each month\'s end, not where it is now', async () => {
    const url = (unit: string) => `/api/v1/metrics/overdue_open?scope=unit:${unit}&by=month&from=2025-01-01&to=2025-04-30`
    const month = async (unit: string, key: string) =>
      ((await get(url(unit), keys.inspector!)).body.rows as Array<{ key: string; numerator: number }>).find((x) => x.key === key)?.numerator ?? 0
    const before = { s1Jan: await month('S1', '2025-01-01'), s2Jan: await month('S2', '2025-01-01'), s2Mar: await month('S2', '2025-03-01') }
    // accepted at S1 in January (a 3-day item), open and overdue there at January's end, transferred to S2 in March
    const r = await post('case-events', ndjson([
      ev('mv1', 'MOVED', 'accepted', '2025-01-06T10:00:00+08:00', { item_code: 'I3' }),
      ev('mv2', 'MOVED', 'transferred', '2025-03-10T10:00:00+08:00', { to_unit_id: 'S2' }),
    ]), ADMIN)
    expect(r.statusCode, r.body).toBe(200)
    expect(await month('S1', '2025-01-01')).toBe(before.s1Jan + 1)
    expect(await month('S2', '2025-01-01')).toBe(before.s2Jan)
    expect(await month('S2', '2025-03-01')).toBe(before.s2Mar + 1)
  })
})
