// Taking access back and the one rule of who may do what, end to end on the real engine: a
// disabled user cannot sign in and its sessions end at once; a new password ends the user's other
// sessions; every API route declares who may call it; engine errors reach the log with the
// request id, and the client only the id and a plain sentence.
import { Writable } from 'node:stream'
import Fastify from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../app.ts'
import { ANYONE, guardRoutes, openAuth } from '../auth/index.ts'
import { accessControl } from '../auth/access.ts'
import { openTestPlatform } from '../warehouse/testing.ts'
import { ADMIN, auth, loadSmallDistrict, makeKey, toNdjson } from './support.ts'

let platform: Awaited<ReturnType<typeof openTestPlatform>>
let app: Awaited<ReturnType<typeof buildApp>>['app']
const log: string[] = []
const PASSWORD = 'correct horse battery'

beforeAll(async () => {
  platform = await openTestPlatform()
  const logStream = new Writable({ write(chunk, _enc, done) { log.push(String(chunk)); done() } })
  ;({ app } = await buildApp(platform, { logStream }))
  await platform.keys.bootstrapAdmin(ADMIN)
  await loadSmallDistrict(app)
  for (const [username, role] of [['clerk', 'inspector'], ['boss', 'admin']] as const) {
    const r = await app.inject({ method: 'PUT', url: `/api/v1/users/${username}`, headers: auth(ADMIN), payload: { role, password: PASSWORD } })
    expect(r.statusCode, r.body).toBe(200)
  }
}, 120_000)
afterAll(async () => {
  await app?.close()
  await platform?.close()
})

const signIn = (username: string, password = PASSWORD) => app.inject({ method: 'POST', url: '/api/v1/session', payload: { username, password } })
async function session(username: string, password = PASSWORD): Promise<string> {
  const r = await signIn(username, password)
  expect(r.statusCode, r.body).toBe(200)
  return `tierscope_session=${r.cookies.find((c) => c.name === 'tierscope_session')!.value}`
}
const whoAmI = (cookie: string) => app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie } })
const putUser = (username: string, payload: Record<string, unknown>, headers: Record<string, string> = auth(ADMIN)) =>
  app.inject({ method: 'PUT', url: `/api/v1/users/${username}`, headers, payload })

describe('disabling a user', () => {
  it('ends its sessions at once and refuses its sign-ins, answered like a wrong password, until it is enabled again', async () => {
    const a = await session('clerk')
    const b = await session('clerk')
    expect((await whoAmI(a)).statusCode).toBe(200)
    const disabled = await putUser('clerk', { disabled: true })
    expect(disabled.statusCode, disabled.body).toBe(200)
    expect(disabled.json()).toMatchObject({ user: { username: 'clerk', role: 'inspector', disabled: true }, sessions_ended: 2 })
    for (const c of [a, b]) {
      const r = await whoAmI(c)
      expect(r.statusCode).toBe(401)
      expect(r.json().error).toBe('session_ended')
    }
    const refused = await signIn('clerk')
    const wrong = await signIn('nobody-at-all', 'some password')
    expect(refused.statusCode).toBe(401)
    expect(refused.json().error).toBe(wrong.json().error)
    expect(refused.cookies).toHaveLength(0)
    const listed = (await app.inject({ method: 'GET', url: '/api/v1/users', headers: auth(ADMIN) })).json().users
    expect(listed.find((u: { username: string }) => u.username === 'clerk')).toMatchObject({ disabled: true, role: 'inspector' })
    expect(JSON.stringify(listed)).not.toMatch(/scrypt|password/)

    // kept across a restart of the store: still disabled, the sessions still ended
    await platform.users.load()
    expect(platform.users.get('clerk')?.disabled).toBe(true)
    expect((await whoAmI(a)).statusCode).toBe(401)

    const enabled = await putUser('clerk', { disabled: false })
    expect(enabled.json()).toMatchObject({ user: { disabled: false, role: 'inspector' }, sessions_ended: 0 })
    const again = await session('clerk')
    expect((await whoAmI(again)).json().user).toMatchObject({ username: 'clerk', role: 'inspector' })
    expect((await whoAmI(a)).statusCode).toBe(401) // an ended session stays ended
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/session', headers: { cookie: again, 'sec-fetch-site': 'same-origin' } })).statusCode).toBe(204)
  })
})

describe('a new password', () => {
  it("ends the user's sessions at once, and the old password stops working", async () => {
    const a = await session('clerk')
    const b = await session('clerk')
    const changed = await putUser('clerk', { password: 'a brand new secret' })
    expect(changed.json()).toMatchObject({ user: { role: 'inspector', disabled: false }, sessions_ended: 2 })
    expect((await whoAmI(a)).statusCode).toBe(401)
    expect((await whoAmI(b)).statusCode).toBe(401)
    expect((await signIn('clerk')).statusCode).toBe(401)
    await session('clerk', 'a brand new secret')
  })

  it("keeps the session that changed the user's own password, and ends the others", async () => {
    const mine = await session('boss')
    const other = await session('boss')
    const changed = await putUser('boss', { password: 'the boss changed it' }, { cookie: mine, 'sec-fetch-site': 'same-origin' })
    expect(changed.statusCode, changed.body).toBe(200)
    expect(changed.json().sessions_ended).toBe(1)
    expect((await whoAmI(mine)).statusCode).toBe(200)
    expect((await whoAmI(other)).statusCode).toBe(401)
  })

  it('says what a change is missing', async () => {
    const noPassword = await putUser('newcomer', { role: 'inspector' })
    expect(noPassword.statusCode).toBe(400)
    expect(noPassword.json()).toMatchObject({ error: 'invalid_user', message: expect.stringContaining('password: a new user needs one') })
    const noRole = await putUser('newcomer', { password: 'long enough now' })
    expect(noRole.json().message).toContain('role: a new user needs one')
    expect((await putUser('clerk', {})).statusCode).toBe(400)
    expect((await putUser('clerk', { disabled: 'yes' })).statusCode).toBe(400)
  })
})

describe('another process on the same warehouse', () => {
  it('refuses within moments a key revoked, a session ended and a user disabled by this one, and never undoes its own later change', async () => {
    const key = await app.inject({ method: 'POST', url: '/api/v1/keys', headers: auth(ADMIN), payload: { name: 'seen elsewhere', role: 'inspector' } })
    const { token, key_id } = key.json()
    const cookie = await session('clerk', 'a brand new secret')
    const sessionToken = cookie.split('=')[1]!.split('.')[0]!
    // the other process: its own stores on the same tables, sweeping as a server does
    const other = await openAuth(platform.warehouse, platform.reference)
    const otherServer = Fastify()
    guardRoutes(otherServer, other, 100)
    await otherServer.ready()
    try {
      expect(other.keys.authenticate(token)?.key_id).toBe(key_id)
      expect(other.users.principal(sessionToken)?.user.username).toBe('clerk')
      expect((await app.inject({ method: 'DELETE', url: `/api/v1/keys/${key_id}`, headers: auth(ADMIN) })).statusCode).toBe(200)
      expect((await putUser('clerk', { disabled: true })).statusCode).toBe(200)
      await expect.poll(() => other.keys.authenticate(token), { timeout: 5000 }).toBeUndefined()
      await expect.poll(() => other.users.principal(sessionToken), { timeout: 5000 }).toBeUndefined()
      expect(other.users.get('clerk')?.disabled).toBe(true)
      // enabled again here: the other process lets the user sign in, the ended session stays ended
      await putUser('clerk', { disabled: false })
      await expect.poll(() => other.users.get('clerk')?.disabled, { timeout: 5000 }).toBe(false)
      expect(other.users.principal(sessionToken)).toBeUndefined()
      // a change the other process makes itself is newer than anything it reads back
      await other.users.put({ username: 'clerk', disabled: true })
      await other.users.sweep(Date.now() - 60_000)
      expect(other.users.get('clerk')?.disabled).toBe(true)
    } finally {
      await otherServer.close()
      await putUser('clerk', { disabled: false })
    }
  })
})

describe('who may do what', () => {
  it('refuses at start-up an API route that does not say who may call it', async () => {
    const bare = Fastify()
    accessControl(bare, platform.keys)
    expect(() => bare.get('/api/v1/forgotten', async () => ({}))).toThrow(/declares no config\.access/)
    expect(() => bare.get('/reports/forgotten', async () => ({}))).toThrow(/declares no config\.access/)
    bare.get('/api/v1/open', { config: { access: ANYONE } }, async () => ({ open: true }))
    bare.get('/not-api', async () => ({}))
    expect((await bare.inject({ method: 'GET', url: '/api/v1/open' })).json()).toEqual({ open: true })
    await bare.close()
  })

  it('checks the roles a route declares, and the unit it names', async () => {
    const leader = await makeKey(app, 'unit_leader', ['S1'])
    const source = await makeKey(app, 'source', ['S1'])
    const forbidden = await app.inject({ method: 'GET', url: '/api/v1/keys', headers: auth(leader) })
    expect(forbidden.statusCode).toBe(403)
    expect(forbidden.json().message).toBe('A unit_leader key cannot do this; it needs one of: admin.')
    expect((await app.inject({ method: 'GET', url: '/api/v1/cases', headers: auth(source) })).statusCode).toBe(403)
    const other = await app.inject({ method: 'GET', url: '/api/v1/targets?unit_id=S2&year=2025', headers: auth(leader) })
    expect(other.statusCode).toBe(403)
    const unknown = await app.inject({ method: 'GET', url: '/api/v1/ratings?unit_id=NOPE', headers: auth(leader) })
    expect(unknown.json()).toMatchObject({ error: 'unknown_unit' })
    const own = await app.inject({ method: 'GET', url: '/api/v1/ratings?unit_id=S1-C1', headers: auth(leader) })
    expect(own.statusCode, own.body).toBe(200)
    // credentials come before the parameters: a stranger learns nothing from a 400
    expect((await app.inject({ method: 'GET', url: '/api/v1/cases?limit=nope' })).statusCode).toBe(401)
  })
})

describe('engine errors', () => {
  it('are logged with the request id; the client gets the id and a plain sentence, never the engine text', async () => {
    await platform.warehouse.client.command({ query: 'DETACH TABLE case_state' })
    let r
    try {
      r = await app.inject({ method: 'GET', url: '/api/v1/cases', headers: auth(ADMIN) })
    } finally {
      await platform.warehouse.client.command({ query: 'ATTACH TABLE case_state' })
    }
    expect(r.statusCode).toBe(500)
    const body = r.json()
    expect(body).toMatchObject({ error: 'internal_error', request_id: expect.any(String) })
    expect(body.message).toContain(`request ${body.request_id}`)
    expect(r.body).not.toMatch(/case_state|DB::Exception|Code: \d+|UNKNOWN_TABLE/)
    const line = log.find((l) => l.includes(`"reqId":"${body.request_id}"`) && l.includes('"level":50'))
    expect(line, 'the error is logged under its request id').toBeDefined()
    expect(line).toMatch(/case_state/)
  })

  it('on a write: 503 with the request id and a plain sentence, the engine text in the log', async () => {
    await platform.warehouse.client.command({ query: 'DETACH TABLE case_events' })
    let r
    try {
      r = await app.inject({
        method: 'POST', url: '/api/v1/ingest/case-events', headers: { 'content-type': 'application/x-ndjson', ...auth(ADMIN) },
        payload: toNdjson([{ event_id: 'e-503', case_id: 'C-503', type: 'accepted', occurred_at: '2025-03-03T10:00:00+08:00', unit_id: 'S1', item_code: 'I3' }]),
      })
    } finally {
      await platform.warehouse.client.command({ query: 'ATTACH TABLE case_events' })
    }
    expect(r.statusCode).toBe(503)
    const body = r.json()
    expect(body).toMatchObject({ error: 'warehouse_unavailable', request_id: expect.any(String) })
    expect(body.message).toMatch(/sending it again is safe/)
    expect(r.body).not.toMatch(/case_events|DB::Exception|Code: \d+/)
    expect(log.some((l) => l.includes(`"reqId":"${body.request_id}"`) && /case_events/.test(l))).toBe(true)
  })
})
