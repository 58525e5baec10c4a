// The audit log (安全审计, GB/T 22239-2019 level 3), end to end on the real engine: every kind of
// action leaves a row with who, when, from which address and what changed, never a token or a
// password; the rows are in the warehouse (a second store on the same tables reads them); admins
// list them filtered and paged; no one else can.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AuditLog } from '../auth/index.ts'
import { ADMIN, auth, loadSmallDistrict, makeKey, openTestApp } from './support.ts'

let t: Awaited<ReturnType<typeof openTestApp>>
const PASSWORD = 'a very secret passphrase'
const ADDRESS = '203.0.113.7'

interface Row { audit_id: string; at: string; action: string; status: number; actor: string; actor_name: string; role: string; address: string; method: string; path: string; target: string; details: Record<string, unknown>; request_id: string }

const audit = async (query = '', token = ADMIN) => {
  const r = await t.app.inject({ method: 'GET', url: `/api/v1/audit${query}`, headers: auth(token) })
  expect(r.statusCode, r.body).toBe(200)
  return r.json() as { rows: Row[]; next_cursor: string | null }
}
const latest = async (action: string) => (await audit(`?action=${action}&limit=1`)).rows[0]

let createdToken = ''
let createdKeyId = ''
let sessionCookie = ''

beforeAll(async () => {
  t = await openTestApp()
  await loadSmallDistrict(t.app)
  const admin = (method: 'POST' | 'PUT' | 'DELETE' | 'GET', url: string, payload?: unknown, headers: Record<string, string> = {}) =>
    t.app.inject({ method, url, headers: { ...auth(ADMIN), ...headers }, remoteAddress: ADDRESS, ...(payload === undefined ? {} : { payload: payload as object }) })

  // keys and users
  const key = await admin('POST', '/api/v1/keys', { name: '景山街道业务系统', role: 'source', units: ['S2'] })
  expect(key.statusCode, key.body).toBe(201)
  createdToken = key.json().token
  createdKeyId = key.json().key_id
  expect((await admin('DELETE', `/api/v1/keys/${createdKeyId}`)).statusCode).toBe(200)
  expect((await admin('PUT', '/api/v1/users/auditor', { role: 'inspector', password: PASSWORD, display_name: '审计员' })).statusCode).toBe(200)
  // sign-ins: a failure, a success, a sign-out
  const failed = await t.app.inject({ method: 'POST', url: '/api/v1/session', remoteAddress: ADDRESS, payload: { username: 'auditor', password: 'wrong password' } })
  expect(failed.statusCode).toBe(401)
  const signedIn = await t.app.inject({ method: 'POST', url: '/api/v1/session', remoteAddress: ADDRESS, payload: { username: 'auditor', password: PASSWORD } })
  expect(signedIn.statusCode, signedIn.body).toBe(200)
  sessionCookie = `tierscope_session=${signedIn.cookies.find((c) => c.name === 'tierscope_session')!.value}`
  const out = await t.app.inject({ method: 'DELETE', url: '/api/v1/session', remoteAddress: ADDRESS, headers: { cookie: sessionCookie, 'sec-fetch-site': 'same-origin' } })
  expect(out.statusCode, out.body).toBe(204)
  // settings, scheme, reference data, calendar
  expect((await admin('PUT', '/api/v1/settings', { warning_days: 2 })).statusCode).toBe(200)
  const scheme = (await admin('GET', '/api/v1/assessment/scheme?year=2025')).json()
  delete scheme.source
  expect((await admin('PUT', '/api/v1/assessment/scheme', scheme)).statusCode).toBeLessThan(300)
  const units = await admin('PUT', '/api/v1/reference/units', [{ unit_id: 'S3', name: '和平里街道政务服务大厅', tier: 2, kind: 'street_hall', parent_id: 'CENTRE' }], { 'content-type': 'application/json' })
  expect(units.statusCode, units.body).toBe(200)
  const rows = Array.from({ length: 365 }, (_, i) => {
    const d = new Date(Date.UTC(2031, 0, 1 + i))
    const day = d.getUTCDay()
    return { date: d.toISOString().slice(0, 10), is_working: day !== 0 && day !== 6, name: '' }
  })
  const calendar = await admin('PUT', '/api/v1/reference/calendar', rows, { 'content-type': 'application/json' })
  expect(calendar.statusCode, calendar.body).toBe(200)
  // a dry run changes nothing and is not recorded
  expect((await admin('PUT', '/api/v1/reference/calendar?dry_run=true', rows, { 'content-type': 'application/json' })).statusCode).toBe(200)
  // a publication and a document
  const published = await admin('POST', '/api/v1/reports/2025/publish', { note: '审计测试' })
  expect(published.statusCode, published.body).toBe(201)
  const doc = await admin('GET', '/reports/2025/district.csv')
  expect(doc.statusCode, doc.body.slice(0, 500)).toBe(200)
}, 300_000)
afterAll(async () => t?.close())

describe('the audit log', () => {
  it('records every kind of action with who, when, from where and what changed', async () => {
    const admin = { actor: 'admin-from-env', role: 'admin', address: ADDRESS, status: expect.any(Number) }
    expect(await latest('key.create')).toMatchObject({ ...admin, status: 201, method: 'POST', path: '/api/v1/keys', target: createdKeyId, details: { name: '景山街道业务系统', role: 'source', units: ['S2'] } })
    expect(await latest('key.revoke')).toMatchObject({ ...admin, status: 200, method: 'DELETE', target: createdKeyId, details: { name: '景山街道业务系统', role: 'source' } })
    expect(await latest('user.change')).toMatchObject({ ...admin, status: 200, target: 'auditor', details: { changed: ['created'], role: 'inspector', display_name: '审计员' } })
    expect(await latest('sign_in_failed')).toMatchObject({ actor: 'user:auditor', address: ADDRESS, status: 401, target: 'auditor', details: { reason: 'invalid' } })
    expect(await latest('sign_in')).toMatchObject({ actor: 'user:auditor', actor_name: '审计员', role: 'inspector', address: ADDRESS, status: 200 })
    expect(await latest('sign_out')).toMatchObject({ actor: 'user:auditor', role: 'inspector', address: ADDRESS, status: 204 })
    expect(await latest('settings.change')).toMatchObject({ ...admin, status: 200, details: { before: { warning_days: expect.any(Number) }, after: { warning_days: 2 } } })
    expect(await latest('scheme.change')).toMatchObject({ ...admin, target: '2025', details: { year: 2025 } })
    expect(await latest('reference.change')).toMatchObject({ ...admin, status: 200, target: 'units', details: { stored: 1, content_type: 'application/json' } })
    expect(await latest('calendar.change')).toMatchObject({ ...admin, status: 200, target: 'calendar', details: { year: 2031, years: [2031] } })
    expect(await latest('report.publish')).toMatchObject({ ...admin, status: 201, target: '2025', details: { year: 2025, version: 1, note: '审计测试' } })
    expect(await latest('document.download')).toMatchObject({ ...admin, status: 200, method: 'GET', path: '/reports/2025/district.csv' })
    // the dry run left no row: one calendar change only
    expect((await audit('?action=calendar.change')).rows).toHaveLength(1)
    for (const r of (await audit('?limit=1000')).rows) {
      expect(r.request_id).not.toBe('')
      expect(Date.parse(r.at)).toBeGreaterThan(Date.now() - 10 * 60_000)
    }
  })

  it('never holds a token or a password', async () => {
    const [dump] = await (await t.platform.warehouse.client.query({ query: 'SELECT groupArray(toJSONString(tuple(*))) AS all FROM audit_log', format: 'JSONEachRow' })).json<{ all: string[] }>()
    const text = dump!.all.join('\n')
    expect(text).toContain('auditor') // the rows are there
    for (const secret of [PASSWORD, 'wrong password', createdToken, ADMIN, sessionCookie.split('=')[1]!.split('.')[0]!]) expect(text).not.toContain(secret)
  })

  it('is kept in the warehouse, where any process on it reads the same rows', async () => {
    const other = new AuditLog(t.platform.warehouse)
    const rows = await other.list({ action: 'key.create', limit: 10 })
    expect(rows.map((r) => r.target)).toContain(createdKeyId)
    const [engine] = await (await t.platform.warehouse.client.query({ query: "SELECT engine FROM system.tables WHERE database = currentDatabase() AND name = 'audit_log'", format: 'JSONEachRow' })).json<{ engine: string }>()
    expect(engine?.engine).toBe('MergeTree')
  })

  it('filters by actor, action and time, and pages newest first', async () => {
    const byUser = await audit('?actor=auditor')
    expect(new Set(byUser.rows.map((r) => r.action))).toEqual(new Set(['sign_in_failed', 'sign_in', 'sign_out']))
    const all = (await audit('?limit=1000')).rows
    expect(all.length).toBeGreaterThanOrEqual(12)
    const times = all.map((r) => Date.parse(r.at))
    expect([...times].sort((a, b) => b - a)).toEqual(times)
    // page through two at a time: the same rows, none twice
    const seen: string[] = []
    let cursor: string | null = ''
    while (cursor !== null) {
      const page = await audit(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      expect(page.rows.length).toBeLessThanOrEqual(2)
      seen.push(...page.rows.map((r) => r.audit_id))
      cursor = page.next_cursor
    }
    expect(seen).toEqual(all.map((r) => r.audit_id))
    // a window that ends before the first row holds nothing; one from the first row holds them all
    const first = all[all.length - 1]!
    expect((await audit(`?to=${encodeURIComponent(first.at)}`)).rows).toHaveLength(0)
    expect((await audit(`?from=${encodeURIComponent(first.at)}&limit=1000`)).rows).toHaveLength(all.length)
    expect((await audit('?to=2020-01-01')).rows).toHaveLength(0)
  })

  it('answers bad filters with what was expected, and only admins', async () => {
    const bad = await t.app.inject({ method: 'GET', url: '/api/v1/audit?from=yesterday', headers: auth(ADMIN) })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().message).toContain('from: expected an RFC 3339 timestamp')
    const action = await t.app.inject({ method: 'GET', url: '/api/v1/audit?action=drop_table', headers: auth(ADMIN) })
    expect(action.statusCode).toBe(400)
    const cursor = await t.app.inject({ method: 'GET', url: '/api/v1/audit?cursor=bm9wZQ', headers: auth(ADMIN) })
    expect(cursor.json()).toMatchObject({ error: 'invalid_parameter' })
    const inspector = await makeKey(t.app, 'inspector')
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/audit', headers: auth(inspector) })).statusCode).toBe(403)
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/audit' })).statusCode).toBe(401)
  })

  it('records a refusal once the caller is known, and not a stranger or the per-address sign-in limit', async () => {
    const leader = await makeKey(t.app, 'unit_leader', ['S1'])
    const refused = await t.app.inject({ method: 'PUT', url: '/api/v1/settings', headers: auth(leader), payload: { warning_days: 5 } })
    expect(refused.statusCode).toBe(403)
    const row = await latest('settings.change')
    expect(row).toMatchObject({ status: 403, role: 'unit_leader', details: {} })
    const before = (await audit('?limit=1000')).rows.length
    expect((await t.app.inject({ method: 'PUT', url: '/api/v1/settings', headers: auth('not-a-key'), payload: { warning_days: 5 } })).statusCode).toBe(401)
    // over the per-address limit of sign-in requests: 429 from @fastify/rate-limit, before any check
    const limit = t.platform.users.policy.signInsPerMinute
    const flood = []
    for (let i = 0; i < limit + 3; i++) flood.push(await t.app.inject({ method: 'POST', url: '/api/v1/session', remoteAddress: '198.51.100.99', payload: { username: `guess${i}`, password: 'nope' } }))
    const limited = flood.filter((r) => r.statusCode === 429).length
    expect(limited).toBe(3)
    const after = (await audit('?limit=1000')).rows
    const fromFlood = after.filter((r) => r.address === '198.51.100.99')
    expect(fromFlood).toHaveLength(flood.length - limited) // the checked ones, each a failed sign-in
    expect(new Set(fromFlood.map((r) => r.action))).toEqual(new Set(['sign_in_failed']))
    expect(after.length - before).toBe(flood.length - limited) // and nothing for the stranger's 401
  })

  it('is described in the OpenAPI document', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json()
    const get = doc.paths['/api/v1/audit'].get
    expect(get.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['actor', 'action', 'from', 'to', 'limit', 'cursor']))
    expect(get.responses['200'].content['application/json'].schema.properties.rows.items.properties).toHaveProperty('address')
  })
})
