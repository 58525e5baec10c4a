// The contract's rules for writes (CONTRACT.md Transport and Idempotency), end to end on the real
// engine: a key writes only its own units' records (a case where it stands now, after transfers;
// a rating, a complaint, a ticket where it was given), a body holds at most 1,000,000 rows, attrs
// at most 64 KB, an id belongs to the source system that first stored it, a record must fall in
// its unit's active period; and the keys can be listed and revoked.
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN, auth, loadSmallDistrict, makeKey, openTestApp, toCsv, toNdjson } from './support.ts'

let t: Awaited<ReturnType<typeof openTestApp>>
/** Source keys of the two street halls (S1 covers its station S1-C1 too). */
let s1: string
let s2: string

beforeAll(async () => {
  t = await openTestApp()
  await loadSmallDistrict(t.app)
  s1 = await makeKey(t.app, 'source', ['S1'])
  s2 = await makeKey(t.app, 'source', ['S2'])
}, 120_000)
afterAll(async () => t?.close())

type Reply = Awaited<ReturnType<typeof t.app.inject>>
interface RowError { row: number; field: string | null; code: string; message: string }

async function post(stream: string, body: string | Buffer, token: string, headers: Record<string, string> = {}): Promise<Reply> {
  return t.app.inject({ method: 'POST', url: `/api/v1/ingest/${stream}`, headers: { 'content-type': 'application/x-ndjson', ...auth(token), ...headers }, payload: body })
}
async function query<T = Record<string, unknown>>(sql: string, params: Record<string, unknown> = {}): Promise<T[]> {
  return (await t.platform.warehouse.client.query({ query: sql, query_params: params, format: 'JSONEachRow' })).json<T>()
}
const ids = async (table: string, id: string, like: string) =>
  (await query<{ id: string }>(`SELECT ${id} AS id FROM ${table} WHERE startsWith(${id}, {p:String}) ORDER BY id`, { p: like })).map((r) => r.id)
const ok = (r: Reply) => {
  expect(r.statusCode, r.body.slice(0, 2000)).toBe(200)
  return r.json() as { batch_id: string; received: number; accepted: number; duplicates: number; rejected: number; errors: RowError[] }
}

const at = (day: string, time = '10:00:00') => `${day}T${time}+08:00`
const ce = (event_id: string, case_id: string, type: string, unit_id: string, occurred_at: string, extra: Record<string, unknown> = {}) =>
  ({ event_id, case_id, type, occurred_at, unit_id, ...extra })

describe('writes only to one\'s own records', () => {
  beforeAll(async () => {
    // S2's open case and bad rating, S2's complaint and queue ticket
    ok(await post('case-events', toNdjson([ce('own-b1', 'OWN-B', 'accepted', 'S2', at('2025-04-01'), { item_code: 'I3' })]), s2))
    ok(await post('evaluations', toNdjson([{ event_id: 'own-r1', unit_id: 'S2', rating: 1, occurred_at: at('2025-04-02'), channel: 'sms' }]), s2))
    ok(await post('complaints', toNdjson([{ event_id: 'own-k1', complaint_id: 'OWN-K', type: 'received', occurred_at: at('2025-04-02'), unit_id: 'S2' }]), s2))
    ok(await post('queue-tickets', toNdjson([{ event_id: 'own-q1', ticket_id: 'OWN-Q', type: 'issued', occurred_at: at('2025-04-02', '09:00:00'), unit_id: 'S2' }]), s2))
  })

  /** A 403 naming the row, the record and the unit it belongs to; nothing of the body stored. */
  function refusedFor(r: Reply, row: number, kind: string, id: string, unit: string) {
    expect(r.statusCode, r.body).toBe(403)
    const body = r.json()
    expect(body).toMatchObject({ error: 'out_of_scope', total: 1, rows: [{ row, record: { kind, id, unit_id: unit } }] })
    expect(body.message).toContain(`row ${row} (${kind} "${id}", which belongs to unit ${unit})`)
    expect(body.message).toMatch(/Nothing was stored/)
  }

  it('refuses a transfer of another hall\'s case to the sender\'s own unit (403), storing nothing', async () => {
    const r = await post('case-events', toNdjson([
      ce('own-a0', 'OWN-A0', 'accepted', 'S1', at('2025-04-03'), { item_code: 'I3' }),
      ce('own-b2', 'OWN-B', 'transferred', 'S1', at('2025-04-03'), { to_unit_id: 'S1' }),
    ]), s1)
    refusedFor(r, 2, 'case', 'OWN-B', 'S2')
    expect(await ids('case_events', 'event_id', 'own-')).toEqual(['own-b1'])
    const c = await t.app.inject({ method: 'GET', url: '/api/v1/cases/OWN-B', headers: auth(ADMIN) })
    expect(c.json()).toMatchObject({ unit_id: 'S2', status: 'open' })
  })

  it('refuses completing another hall\'s open case (403), also from the sender\'s station', async () => {
    refusedFor(await post('case-events', toNdjson([ce('own-b3', 'OWN-B', 'completed', 'S1', at('2025-04-03'))]), s1), 1, 'case', 'OWN-B', 'S2')
    refusedFor(await post('case-events', toNdjson([ce('own-b4', 'OWN-B', 'completed', 'S1-C1', at('2025-04-03'))]), s1), 1, 'case', 'OWN-B', 'S2')
    // the same in CSV: the record scope is the body's, whatever its format
    const csv = await post('case-events', toCsv([ce('own-b5', 'OWN-B', 'completed', 'S1', at('2025-04-03'))]), s1, { 'content-type': 'text/csv' })
    refusedFor(csv, 1, 'case', 'OWN-B', 'S2')
    expect(await ids('case_events', 'event_id', 'own-b')).toEqual(['own-b1'])
  })

  it('refuses a follow-up of another hall\'s rating (403), storing nothing', async () => {
    const r = await post('evaluation-followups', toNdjson([
      { event_id: 'own-f1', evaluation_id: 'own-r1', type: 'dismissed', occurred_at: at('2025-04-03'), unit_id: 'S1' },
    ]), s1)
    refusedFor(r, 1, 'rating', 'own-r1', 'S2')
    expect(await ids('evaluation_followups', 'event_id', 'own-')).toEqual([])
    // the rated unit's own key may
    expect(ok(await post('evaluation-followups', toNdjson([{ event_id: 'own-f2', evaluation_id: 'own-r1', type: 'verified', occurred_at: at('2025-04-03'), unit_id: 'S2' }]), s2)).accepted).toBe(1)
  })

  it('refuses a later event of another hall\'s complaint or queue ticket (403)', async () => {
    refusedFor(await post('complaints', toNdjson([{ event_id: 'own-k2', complaint_id: 'OWN-K', type: 'resolved', occurred_at: at('2025-04-04'), unit_id: 'S1', substantiated: false }]), s1), 1, 'complaint', 'OWN-K', 'S2')
    refusedFor(await post('queue-tickets', toNdjson([{ event_id: 'own-q2', ticket_id: 'OWN-Q', type: 'served', occurred_at: at('2025-04-02', '09:30:00'), unit_id: 'S1' }]), s1), 1, 'ticket', 'OWN-Q', 'S2')
    expect(await ids('complaints', 'event_id', 'own-')).toEqual(['own-k1'])
    expect(await ids('queue_tickets', 'event_id', 'own-')).toEqual(['own-q1'])
  })

  it('takes a transfer of the key\'s own case to another unit (代办); the receiving unit\'s key may then write it, and the sender no longer', async () => {
    const mine = [
      ce('own-a1', 'OWN-A', 'accepted', 'S1', at('2025-04-07'), { item_code: 'I3' }),
      ce('own-a2', 'OWN-A', 'transferred', 'S1', at('2025-04-07', '11:00:00'), { to_unit_id: 'S2' }),
    ]
    expect(ok(await post('case-events', toNdjson(mine), s1))).toMatchObject({ accepted: 2, rejected: 0 })
    // a later event: from the unit the case was transferred to
    expect(ok(await post('case-events', toNdjson([ce('own-a3', 'OWN-A', 'completed', 'S2', at('2025-04-08'))]), s2))).toMatchObject({ accepted: 1 })
    const c = await t.app.inject({ method: 'GET', url: '/api/v1/cases/OWN-A', headers: auth(ADMIN) })
    expect(c.json()).toMatchObject({ unit_id: 'S2', status: 'completed' })
    // the sender's hall has given it away
    refusedFor(await post('case-events', toNdjson([ce('own-a4', 'OWN-A', 'withdrawn', 'S1', at('2025-04-09'))]), s1), 1, 'case', 'OWN-A', 'S2')
    // resending what it did send changes nothing and is answered as duplicates, not refused
    expect(ok(await post('case-events', toNdjson(mine), s1))).toMatchObject({ accepted: 0, duplicates: 2 })
  })

  it('lets an admin key write any unit\'s records', async () => {
    expect(ok(await post('case-events', toNdjson([ce('own-b6', 'OWN-B', 'supplement_requested', 'S1', at('2025-04-03'))]), ADMIN)).accepted).toBe(1)
  })
})

describe('at most 1,000,000 rows in a body', () => {
  it('refuses 1,000,001 rows with 413 naming the limit, storing nothing', async () => {
    const before = await query<{ n: string }>('SELECT count() AS n FROM quarantine')
    const body = gzipSync(Buffer.from('{}\n'.repeat(1_000_001)))
    const r = await post('case-events', body, s1, { 'content-encoding': 'gzip' })
    expect(r.statusCode, r.body).toBe(413)
    expect(r.json()).toMatchObject({ error: 'too_many_rows', limit: 1_000_000, received: 1_000_001 })
    expect(r.json().message).toMatch(/1,000,001 rows; a body may hold at most 1,000,000 rows/)
    expect(await query<{ n: string }>('SELECT count() AS n FROM quarantine')).toEqual(before)
  })
})

describe('attrs of at most 64 KB', () => {
  it('rejects a row whose attrs is 65 KB with attrs_too_large and stores the rest of the body', async () => {
    const rc = ok(await post('case-events', toNdjson([
      ce('at-1', 'AT-1', 'accepted', 'S1', at('2025-05-06'), { item_code: 'I3', attrs: { note: 'x'.repeat(65 * 1024) } }),
      ce('at-2', 'AT-2', 'accepted', 'S1', at('2025-05-06'), { item_code: 'I3', attrs: { note: 'x'.repeat(60 * 1024) } }),
      ce('at-3', 'AT-3', 'accepted', 'S1', at('2025-05-06'), { item_code: 'I3' }),
    ]), s1))
    expect(rc).toMatchObject({ received: 3, accepted: 2, rejected: 1 })
    expect(rc.errors).toEqual([{ row: 1, field: 'attrs', code: 'attrs_too_large', message: expect.stringMatching(/^row 1, field attrs: expected a JSON object of at most 65536 bytes \(64 KB\) serialised, got 66571 bytes/) }])
    expect(await ids('case_events', 'event_id', 'at-')).toEqual(['at-2', 'at-3'])
  })
})

describe('ids owned by their source system', () => {
  it('rejects an id another source stored first with id_owned_by_other_source, naming both, and keeps it in quarantine', async () => {
    const rating = { event_id: 'id-own-1', unit_id: 'S1', rating: 5, occurred_at: at('2025-05-07'), channel: 'sms' }
    expect(ok(await post('evaluations', toNdjson([rating]), s1)).accepted).toBe(1)
    // the same row from another source (an admin may write any unit, but the id is not its own),
    // and one with other content: neither is a duplicate
    const rc = ok(await post('evaluations', toNdjson([rating, { ...rating, rating: 1 }, { ...rating, event_id: 'id-own-2' }]), ADMIN))
    expect(rc).toMatchObject({ received: 3, accepted: 1, duplicates: 0, rejected: 2 })
    expect(rc.errors.map((e) => [e.row, e.field, e.code])).toEqual([[1, 'event_id', 'id_owned_by_other_source'], [2, 'event_id', 'id_owned_by_other_source']])
    const keys = (await t.app.inject({ method: 'GET', url: '/api/v1/keys', headers: auth(ADMIN) })).json().keys as Array<{ key_id: string; name: string }>
    const owner = keys.find((k) => k.name === 'source S1')!
    expect(rc.errors[0]!.message).toContain(`row 1, field event_id: "id-own-1" belongs to source system "source S1" (key ${owner.key_id}), which stored it first; this key is source system "TIERSCOPE_ADMIN_TOKEN" (key admin-from-env)`)
    const q = await t.app.inject({ method: 'GET', url: `/api/v1/ingest/quarantine?batch_id=${rc.batch_id}`, headers: auth(ADMIN) })
    expect(q.json().rows.map((r: { row: number; raw: string; errors: Array<{ code: string }> }) => [r.row, r.errors[0]!.code, JSON.parse(r.raw).rating])).toEqual([
      [1, 'id_owned_by_other_source', 5], [2, 'id_owned_by_other_source', 1],
    ])
    expect(await query(`SELECT rating, source_key FROM evaluations WHERE event_id = 'id-own-1'`)).toEqual([{ rating: 5, source_key: owner.key_id }])
    // the owner's own resend is still a duplicate
    expect(ok(await post('evaluations', toNdjson([rating]), s1))).toMatchObject({ accepted: 0, duplicates: 1, rejected: 0 })
  })
})

describe('records dated within their unit\'s active period', () => {
  beforeAll(async () => {
    const r = await t.app.inject({
      method: 'PUT', url: '/api/v1/reference/units', headers: { 'content-type': 'application/json', ...auth(ADMIN) },
      payload: [{ unit_id: 'S3', name: '临时服务站', tier: 2, kind: 'street_hall', parent_id: 'CENTRE', active_from: '2025-02-01', active_to: '2025-06-30' }],
    })
    expect(r.statusCode, r.body).toBe(200)
  })

  it('rejects a record dated before active_from or after active_to with unit_inactive naming the period', async () => {
    const s3 = await makeKey(t.app, 'source', ['S3'])
    const rc = ok(await post('case-events', toNdjson([
      ce('ua-1', 'UA-1', 'accepted', 'S3', at('2025-01-31', '23:59:00'), { item_code: 'I3' }),
      ce('ua-2', 'UA-2', 'accepted', 'S3', at('2025-02-01', '00:00:00'), { item_code: 'I3' }),
      ce('ua-3', 'UA-3', 'accepted', 'S3', at('2025-07-01', '08:00:00'), { item_code: 'I3' }),
    ]), s3))
    expect(rc).toMatchObject({ received: 3, accepted: 1, rejected: 2 })
    expect(rc.errors.map((e) => [e.row, e.field, e.code])).toEqual([[1, 'unit_id', 'unit_inactive'], [3, 'unit_id', 'unit_inactive']])
    expect(rc.errors[0]!.message).toBe('row 1, field unit_id: unit "S3" is in service from 2025-02-01 to 2025-06-30, and this record is dated 2025-01-31 (occurred_at); expected a record of a day the unit is in service (active_from and active_to of the units reference data)')
    expect(rc.errors[1]!.message).toContain('dated 2025-07-01 (occurred_at)')
    expect(await ids('case_events', 'event_id', 'ua-')).toEqual(['ua-2'])
    // costs: a month that overlaps the period
    const costs = ok(await post('costs', toNdjson([
      { entry_id: 'ua-c1', unit_id: 'S3', period: '2025-01', category: 'it', amount: 10 },
      { entry_id: 'ua-c2', unit_id: 'S3', period: '2025-06', category: 'it', amount: 10 },
    ]), s3))
    expect(costs.errors.map((e) => [e.row, e.code])).toEqual([[1, 'unit_inactive']])
  })
})

describe('keys', () => {
  it('lists every key for an admin, never a token or its hash, with when it was made and last used', async () => {
    const token = await makeKey(t.app, 'inspector')
    const before = Date.now()
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/health', headers: auth(token) })).statusCode).toBe(200)
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/units', headers: auth(token) })).statusCode).toBe(200)
    const r = await t.app.inject({ method: 'GET', url: '/api/v1/keys', headers: auth(ADMIN) })
    expect(r.statusCode, r.body).toBe(200)
    expect(r.body).not.toContain(token)
    expect(r.body).not.toMatch(/token|hash/)
    const keys = r.json().keys as Array<Record<string, unknown>>
    const mine = keys.find((k) => k.name === 'inspector ')!
    expect(Object.keys(mine).sort()).toEqual(['created_at', 'key_id', 'last_used_at', 'name', 'revoked', 'revoked_at', 'role', 'units'])
    expect(mine).toMatchObject({ role: 'inspector', units: [], revoked: false, revoked_at: null })
    expect(Date.parse(String(mine.last_used_at))).toBeGreaterThanOrEqual(before - 1000)
    expect(String(mine.created_at)).toMatch(/\+08:00$/)
    expect(keys.find((k) => k.name === 'source S1')).toMatchObject({ role: 'source', units: ['S1'] })
    // only admins
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/keys', headers: auth(token) })).statusCode).toBe(403)
  })

  it('writes a key\'s last use through at most once a minute, and the rest when asked (at close)', async () => {
    const token = await makeKey(t.app, 'joint_meeting')
    const keyId = ((await t.app.inject({ method: 'GET', url: '/api/v1/keys', headers: auth(ADMIN) })).json().keys as Array<{ key_id: string; name: string }>).find((k) => k.name === 'joint_meeting ')!.key_id
    // count the writes of last uses (the warehouse's own client, watched)
    const client = t.platform.warehouse.client
    const insert = client.insert.bind(client)
    const writes: unknown[] = []
    client.insert = ((params: { table: string; values: unknown }) => {
      if (params.table === 'api_key_use') writes.push(params.values)
      return insert(params as Parameters<typeof insert>[0])
    }) as typeof client.insert
    try {
      for (let i = 0; i < 20; i++) expect((await t.app.inject({ method: 'GET', url: '/api/v1/units', headers: auth(token) })).statusCode).toBe(200)
      expect(writes).toHaveLength(1)
      await t.platform.keys.flushUsage()
      expect(writes).toHaveLength(2)
      await t.platform.keys.flushUsage() // nothing new: nothing written
      expect(writes).toHaveLength(2)
    } finally {
      client.insert = insert
    }
    const [stored] = await query<{ ms: string }>('SELECT toUnixTimestamp64Milli(max(last_used_at)) AS ms FROM api_key_use WHERE key_id = {k:String}', { k: keyId })
    expect(Number(stored!.ms)).toBe(t.platform.keys.get(keyId)!.last_used_at)
  })

  it('revokes a key at once: its next request answers 401, and it stays revoked after a reload', async () => {
    const token = await makeKey(t.app, 'source', ['S2'])
    const list = async () => (await t.app.inject({ method: 'GET', url: '/api/v1/keys', headers: auth(ADMIN) })).json().keys as Array<{ key_id: string; name: string; revoked: boolean }>
    const key = (await list()).filter((k) => k.name === 'source S2').at(-1)!
    expect(ok(await post('case-events', toNdjson([ce('rv-1', 'RV-1', 'accepted', 'S2', at('2025-05-08'), { item_code: 'I3' })]), token)).accepted).toBe(1)
    const del = await t.app.inject({ method: 'DELETE', url: `/api/v1/keys/${key.key_id}`, headers: auth(ADMIN) })
    expect(del.statusCode, del.body).toBe(200)
    expect(del.json()).toMatchObject({ key_id: key.key_id, revoked: true })
    const refused = await post('case-events', toNdjson([ce('rv-2', 'RV-1', 'completed', 'S2', at('2025-05-09'))]), token)
    expect(refused.statusCode).toBe(401)
    expect(refused.json().message).toMatch(/revoked/)
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/health', headers: auth(token) })).statusCode).toBe(200) // health asks for no key
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/ingest/log', headers: auth(token) })).statusCode).toBe(401)
    expect((await list()).find((k) => k.key_id === key.key_id)).toMatchObject({ revoked: true })
    // from the warehouse too (a restart reads it so), and a demo key of that token is not made again
    await t.platform.keys.load()
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/ingest/log', headers: auth(token) })).statusCode).toBe(401)
    await t.platform.keys.ensureKey({ key_id: 'again', name: 'again', role: 'source', units: ['S2'] }, token)
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/ingest/log', headers: auth(token) })).statusCode).toBe(401)
    // revoking again says so; an unknown key is 404; the last admin key is kept
    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/keys/${key.key_id}`, headers: auth(ADMIN) })).json()).toMatchObject({ revoked: true })
    expect((await t.app.inject({ method: 'DELETE', url: '/api/v1/keys/no-such-key', headers: auth(ADMIN) })).statusCode).toBe(404)
    const last = await t.app.inject({ method: 'DELETE', url: '/api/v1/keys/admin-from-env', headers: auth(ADMIN) })
    expect(last.statusCode).toBe(409)
    expect(last.json()).toMatchObject({ error: 'last_admin_key' })
    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/keys/${key.key_id}`, headers: auth(s1) })).statusCode).toBe(403)
  })
})
