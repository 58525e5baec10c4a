// Sign-in for the dashboard over HTTP: the session cookie's attributes, wrong passwords, throttling,
// expiry, forged and tampered cookies, sign-out, and a unit leader's scope through a session.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN, auth, loadSmallDistrict, openTestApp } from './support.ts'

let t: Awaited<ReturnType<typeof openTestApp>>
const TTL_MS = 1500

beforeAll(async () => {
  t = await openTestApp({ sessionPolicy: { ttlMs: TTL_MS, maxFailures: 3, lockMs: 60_000 } })
  await loadSmallDistrict(t.app)
  for (const [username, role, units] of [['chair', 'joint_meeting', []], ['leader', 'unit_leader', ['S1']], ['locked', 'inspector', []]] as const) {
    const r = await t.app.inject({ method: 'PUT', url: `/api/v1/users/${username}`, headers: auth(ADMIN), payload: { role, units, password: 'correct horse' } })
    expect(r.statusCode, r.body).toBe(200)
  }
})
afterAll(async () => t?.close())

async function signIn(username: string, password = 'correct horse') {
  return t.app.inject({ method: 'POST', url: '/api/v1/session', payload: { username, password } })
}
const cookieOf = (r: { cookies: Array<{ name: string; value: string }> }) => {
  const c = r.cookies.find((x) => x.name === 'tierscope_session')
  if (!c) throw new Error('no session cookie')
  return `tierscope_session=${c.value}`
}

describe('sign-in', () => {
  it('sets a signed, HttpOnly, SameSite=Strict cookie that identifies the user', async () => {
    const r = await signIn('chair')
    expect(r.statusCode, r.body).toBe(200)
    const header = String(r.headers['set-cookie'])
    expect(header).toMatch(/HttpOnly/i)
    expect(header).toMatch(/SameSite=Strict/i)
    expect(header).toMatch(/Path=\//)
    const value = r.cookies.find((c) => c.name === 'tierscope_session')!.value
    expect(value).toMatch(/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9+/_-]+/) // token.signature
    const me = await t.app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie: cookieOf(r) } })
    expect(me.statusCode).toBe(200)
    expect(me.json().user).toMatchObject({ username: 'chair', role: 'joint_meeting' })
    expect(me.json().via).toBe('session')
  })

  it('refuses a wrong password and an unknown user with the same answer', async () => {
    const wrong = await signIn('chair', 'wrong password')
    const unknown = await signIn('nobody', 'wrong password')
    expect(wrong.statusCode).toBe(401)
    expect(unknown.statusCode).toBe(401)
    const { request_id: _a, ...wrongBody } = wrong.json()
    const { request_id: _b, ...unknownBody } = unknown.json()
    expect(wrongBody).toEqual(unknownBody) // alike but for the request's own id
    expect(wrong.cookies).toHaveLength(0)
  })

  it('throttles an account after repeated failures from one address, even for the right password; not from another', async () => {
    expect((await signIn('locked', 'x1')).statusCode).toBe(401)
    expect((await signIn('locked', 'x2')).statusCode).toBe(401)
    const third = await signIn('locked', 'x3')
    expect(third.statusCode).toBe(401)
    expect(third.json()).toMatchObject({ error: 'invalid_credentials' })
    expect(third.json().retry_after).toBeGreaterThan(0)
    expect(Number(third.headers['retry-after'])).toBeGreaterThan(0)
    // not checked while it waits: the same answer for the right password
    const right = await signIn('locked')
    expect(right.statusCode).toBe(401)
    expect(right.cookies).toHaveLength(0)
    // another address is not held up by these failures
    const elsewhere = await t.app.inject({ method: 'POST', url: '/api/v1/session', payload: { username: 'locked', password: 'correct horse' }, remoteAddress: '192.0.2.7' })
    expect(elsewhere.statusCode, elsewhere.body).toBe(200)
  })

  it('refuses a forged cookie, a tampered one and an unsigned one', async () => {
    const good = cookieOf(await signIn('chair'))
    const [name, value] = good.split('=') as [string, string]
    const [token, signature] = value.split('.') as [string, string]
    const forged = `${name}=${'A'.repeat(43)}.${signature}`
    const tampered = `${name}=${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}.${signature}`
    const unsigned = `${name}=${token}`
    for (const cookie of [forged, tampered, unsigned]) {
      const r = await t.app.inject({ method: 'GET', url: '/api/v1/metrics', headers: { cookie } })
      expect(r.statusCode, cookie).toBe(401)
      expect(r.json().error).toBe('session_ended')
    }
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/metrics', headers: { cookie: good } })).statusCode).toBe(200)
  })

  it('ends a session on sign-out and when it expires', async () => {
    const a = cookieOf(await signIn('chair'))
    // a write with the session cookie comes from the platform's own page (Origin = its own address)
    const out = await t.app.inject({ method: 'DELETE', url: '/api/v1/session', headers: { cookie: a, host: 'tierscope.test', origin: 'http://tierscope.test' } })
    expect(out.statusCode).toBe(204)
    expect(String(out.headers['set-cookie'])).toMatch(/tierscope_session=;/)
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie: a } })).statusCode).toBe(401)

    const b = cookieOf(await signIn('chair'))
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie: b } })).statusCode).toBe(200)
    await new Promise((r) => setTimeout(r, TTL_MS + 200))
    const expired = await t.app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie: b } })
    expect(expired.statusCode).toBe(401)
    expect(expired.json().error).toBe('session_ended')
  })

  it('keeps a unit leader signed in by session to their own units', async () => {
    const c = cookieOf(await signIn('leader'))
    const own = await t.app.inject({ method: 'GET', url: '/api/v1/metrics/on_time_rate?scope=unit:S1', headers: { cookie: c } })
    expect(own.statusCode, own.body).toBe(200)
    const other = await t.app.inject({ method: 'GET', url: '/api/v1/metrics/on_time_rate?scope=unit:S2', headers: { cookie: c } })
    expect(other.statusCode).toBe(403)
    const users = await t.app.inject({ method: 'GET', url: '/api/v1/users', headers: { cookie: c } })
    expect(users.statusCode).toBe(403)
  })

  it('checks users before storing them', async () => {
    const r = await t.app.inject({ method: 'PUT', url: '/api/v1/users/x', headers: auth(ADMIN), payload: { role: 'unit_leader', units: [], password: 'long enough' } })
    expect(r.statusCode).toBe(400)
    expect(r.json().message).toMatch(/unit_leader needs/)
    const short = await t.app.inject({ method: 'PUT', url: '/api/v1/users/x', headers: auth(ADMIN), payload: { role: 'inspector', password: 'short' } })
    expect(short.statusCode).toBe(400)
  })

  it('keeps users and sessions across a restart of the store', async () => {
    const c = cookieOf(await signIn('chair'))
    await t.platform.users.load()
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie: c } })).statusCode).toBe(200)
    expect(t.platform.users.get('locked')).toBeDefined()
  })
})
