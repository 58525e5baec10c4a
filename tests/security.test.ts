// What one stranger, one source system or one foreign page can do to the rest: sign-in throttled
// per account and address (never a lock for everyone), a burst throttled as it arrives, unknown,
// wrong and throttled answered alike; credentials checked before a body is read, JSON bodies
// capped; writes with the session cookie only from the platform's own pages; security headers;
// Secure cookies behind a TLS proxy; health answering through a flood of sign-ins; load shed with
// a line in the log; silent connections closed; a short admin token refused at start-up.
// Real engine, real scrypt, real sockets; nothing mocked.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../app.ts'
import { BUILD_DIR, inlineScriptHashes } from '../dashboard/index.ts'
import { adminTokenProblem, publicUrlOf, settingsFromEnv, trustProxyOf } from '../warehouse/config.ts'
import { openTestPlatform } from '../warehouse/testing.ts'
import { ADMIN, auth } from './support.ts'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const PASSWORD = 'correct horse battery'
const MAX_FAILURES = 5
const SIGN_INS_PER_MINUTE = 15

let platform: Awaited<ReturnType<typeof openTestPlatform>>
let app: FastifyInstance
let url: string
const apps: FastifyInstance[] = []

beforeAll(async () => {
  // waits long enough that none runs out during the tests
  platform = await openTestPlatform('Asia/Shanghai', { maxFailures: MAX_FAILURES, baseDelayMs: 60_000, lockMs: 10 * 60_000, signInsPerMinute: SIGN_INS_PER_MINUTE })
  app = (await buildApp(platform)).app
  await platform.keys.bootstrapAdmin(ADMIN)
  for (const username of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']) {
    const r = await app.inject({ method: 'PUT', url: `/api/v1/users/${username}`, headers: auth(ADMIN), payload: { role: 'admin', password: PASSWORD } })
    expect(r.statusCode, r.body).toBe(200)
  }
  await app.listen({ host: '127.0.0.1', port: 0 })
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
})
afterAll(async () => {
  for (const a of apps) await a.close()
  await app?.close()
  await platform?.close()
})

const signIn = (username: string, password: string, remoteAddress: string, target = app, headers: Record<string, string> = {}) =>
  target.inject({ method: 'POST', url: '/api/v1/session', payload: { username, password }, remoteAddress, headers })

const cookieOf = (r: { cookies: Array<{ name: string; value: string }> }) => {
  const c = r.cookies.find((x) => x.name === 'tierscope_session')
  if (!c) throw new Error('no session cookie')
  return `tierscope_session=${c.value}`
}

describe('sign-in throttling', () => {
  it('guesses from one address leave another address able to sign in with the right password', async () => {
    for (let i = 0; i < MAX_FAILURES + 3; i++) expect((await signIn('alice', `guess ${i}`, '198.51.100.1')).statusCode).toBe(401)
    // from the guessing address even the right password waits (it is not checked)
    const there = await signIn('alice', PASSWORD, '198.51.100.1')
    expect(there.statusCode).toBe(401)
    expect(there.json().retry_after).toBeGreaterThan(0)
    // a clean address signs in at once
    const clean = await signIn('alice', PASSWORD, '198.51.100.2')
    expect(clean.statusCode, clean.body).toBe(200)
    expect(clean.cookies.some((c) => c.name === 'tierscope_session')).toBe(true)
  })

  it('throttles a concurrent burst of 20 wrong guesses as it arrives, and does not lock the account for a clean address', async () => {
    const checkedBefore = platform.users.stats.checked
    const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => signIn('bob', `burst ${i}`, '198.51.100.3')))
    const checked = platform.users.stats.checked - checkedBefore
    for (const r of burst) expect([401, 429]).toContain(r.statusCode)
    // only the free attempts are hashed; the rest are answered without any scrypt work
    expect(checked).toBeLessThanOrEqual(MAX_FAILURES)
    expect(burst.filter((r) => r.statusCode === 429 || (r.statusCode === 401 && r.json().message.startsWith('Not checked'))).length).toBeGreaterThanOrEqual(20 - MAX_FAILURES)
    expect(burst.filter((r) => r.statusCode === 429).length).toBeGreaterThan(0) // @fastify/rate-limit, per address
    const clean = await signIn('bob', PASSWORD, '198.51.100.4')
    expect(clean.statusCode, clean.body).toBe(200)
  })

  it('answers an unknown user, a wrong password and a throttled attempt alike, after the same work', async () => {
    const addr = '198.51.100.5'
    let checked = platform.users.stats.checked
    const wrong = await signIn('carol', 'not it', addr)
    expect(platform.users.stats.checked - checked).toBe(1)
    checked = platform.users.stats.checked
    const unknown = await signIn('nobody-here', 'not it', addr)
    expect(platform.users.stats.checked - checked).toBe(1) // the same scrypt work for a name that does not exist
    expect(wrong.statusCode).toBe(401)
    expect(unknown.statusCode).toBe(401)
    // alike but for the request's own id
    expect(withoutRequestId(unknown.json())).toEqual(withoutRequestId(wrong.json()))
    expect(unknown.headers['retry-after']).toEqual(wrong.headers['retry-after'])
    // both run into the throttle after the same number of failures, and are answered alike there
    for (let i = 1; i < MAX_FAILURES; i++) {
      const a = await signIn('carol', `not it ${i}`, addr)
      const b = await signIn('nobody-here', `not it ${i}`, addr)
      expect([a.statusCode, a.json().retry_after > 0]).toEqual([b.statusCode, b.json().retry_after > 0])
    }
    checked = platform.users.stats.checked
    const throttledKnown = await signIn('carol', PASSWORD, addr)
    const throttledUnknown = await signIn('nobody-here', PASSWORD, addr)
    expect(platform.users.stats.checked - checked).toBe(0)
    expect(throttledKnown.statusCode).toBe(401)
    expect(throttledUnknown.statusCode).toBe(401)
    expect(Object.keys(throttledKnown.json()).sort()).toEqual(Object.keys(wrong.json()).sort())
    expect(throttledKnown.json().error).toBe(wrong.json().error)
    // alike but for the second the wait ends in (the two attempts' failures were a few ms apart) and the request id
    const withoutSeconds = (r: { json(): Record<string, unknown> }) => ({ ...withoutRequestId(r.json()), message: String(r.json().message).replace(/\d+ s\b/, 'N s'), retry_after: undefined })
    expect(withoutSeconds(throttledUnknown)).toEqual(withoutSeconds(throttledKnown))
    expect(Math.abs(throttledUnknown.json().retry_after - throttledKnown.json().retry_after)).toBeLessThanOrEqual(1)
    expect(throttledKnown.cookies).toHaveLength(0)
  })

  it('limits sign-in requests per address with @fastify/rate-limit, in the same body shape', async () => {
    const addr = '198.51.100.6'
    const answers = []
    for (let i = 0; i <= SIGN_INS_PER_MINUTE; i++) answers.push(await signIn(`spray-${i}`, 'x', addr))
    const limited = answers[SIGN_INS_PER_MINUTE]!
    expect(limited.statusCode).toBe(429)
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0)
    expect(limited.json()).toMatchObject({ error: 'too_many_requests' })
    expect(Object.keys(limited.json()).sort()).toEqual(['error', 'message', 'request_id', 'retry_after'])
    expect(answers.slice(0, SIGN_INS_PER_MINUTE).every((r) => r.statusCode === 401)).toBe(true)
  })

  it('keeps health answering during a flood of sign-ins (scrypt runs a few at a time)', async () => {
    // 40 sign-ins from 40 addresses for 40 names: none is throttled, every one needs a hash
    const flood = Promise.all(Array.from({ length: 40 }, (_, i) => signIn(`flood-${i}`, 'guess', `203.0.113.${i + 1}`)))
    await new Promise((r) => setTimeout(r, 150))
    const latencies: number[] = []
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now()
      const h = await app.inject({ method: 'GET', url: '/api/v1/health' })
      latencies.push(performance.now() - t0)
      expect(h.statusCode).toBe(200)
    }
    expect(platform.users.hashing.queued).toBeGreaterThan(0) // the flood is still waiting in line
    const answers = await flood
    for (const r of answers) expect([401, 503]).toContain(r.statusCode)
    expect(Math.max(...latencies), `health took ${latencies.map((l) => l.toFixed(0)).join(', ')} ms`).toBeLessThan(1500)
  }, 120_000)
})

describe('authentication before the body', () => {
  it('refuses a 30 MB body without credentials (401) before it has been sent', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 0x20)
    const result = await new Promise<{ status: number; chunksSent: number }>((resolve, reject) => {
      let chunksSent = 0
      let status = 0
      const req = httpRequest(`${url}/api/v1/keys`, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } })
      req.on('response', (res) => {
        status = res.statusCode ?? 0
        res.resume()
        resolve({ status, chunksSent })
        req.destroy()
      })
      req.on('error', (err) => (status ? undefined : reject(err)))
      req.flushHeaders()
      void (async () => {
        req.write('[')
        for (let i = 0; i < 30 && !status; i++) {
          if (!req.write(chunk)) await new Promise((r) => req.once('drain', r))
          chunksSent += 1
          await new Promise((r) => setTimeout(r, 25))
        }
        if (!status) req.end(']')
      })()
    })
    expect(result.status).toBe(401)
    expect(result.chunksSent).toBeLessThan(30) // answered while most of the body was still unsent
  })

  it('refuses a JSON body over 64 KB with credentials (413) on a route that is not ingest', async () => {
    const r = await app.inject({ method: 'PUT', url: '/api/v1/settings', headers: { ...auth(ADMIN), 'content-type': 'application/json' }, payload: JSON.stringify({ warning_days: 1, padding: 'x'.repeat(100 * 1024) }) })
    expect(r.statusCode).toBe(413)
    expect(r.json().error).toBe('body_too_large')
    expect(r.json().message).toMatch(/at most 64 KB/)
    expect(r.json().message).toMatch(/ingest/)
    // a small one is taken as before
    const ok = await app.inject({ method: 'PUT', url: '/api/v1/settings', headers: auth(ADMIN), payload: { warning_days: 1 } })
    expect(ok.statusCode, ok.body).toBe(200)
  })

  it('closes a connection that sends nothing', async () => {
    const quick = (await buildApp(platform, { timeouts: { headersMs: 1000 } })).app
    apps.push(quick)
    await quick.listen({ host: '127.0.0.1', port: 0 })
    const port = (quick.server.address() as AddressInfo).port
    const t0 = Date.now()
    const answer = await new Promise<string>((resolve) => {
      let data = ''
      const socket = connect(port, '127.0.0.1')
      socket.on('data', (d) => (data += d))
      socket.on('close', () => resolve(data))
      setTimeout(() => socket.destroy(), 10_000)
    })
    expect(Date.now() - t0).toBeLessThan(5000)
    expect(answer).toMatch(/^HTTP\/1\.1 408/)
  })
})

describe('cross-site writes', () => {
  let cookie: string
  beforeAll(async () => {
    cookie = cookieOf(await signIn('dave', PASSWORD, '198.51.100.8'))
  })
  const put = (headers: Record<string, string>) =>
    app.inject({ method: 'PUT', url: '/api/v1/settings', headers: { host: 'tierscope.test', ...headers }, payload: { warning_days: 1 } })

  it('refuses a PUT with the session cookie from a foreign Origin, takes it from the platform\'s own', async () => {
    const foreign = await put({ cookie, origin: 'https://evil.example' })
    expect(foreign.statusCode).toBe(403)
    expect(foreign.json().error).toBe('cross_site_request')
    expect((await put({ cookie, origin: 'null' })).statusCode).toBe(403)
    expect((await put({ cookie, origin: 'http://tierscope.test.evil.example' })).statusCode).toBe(403)
    const own = await put({ cookie, origin: 'http://tierscope.test' })
    expect(own.statusCode, own.body).toBe(200)
  })

  it('without an Origin, goes by Sec-Fetch-Site', async () => {
    expect((await put({ cookie, 'sec-fetch-site': 'same-origin' })).statusCode).toBe(200)
    expect((await put({ cookie, 'sec-fetch-site': 'none' })).statusCode).toBe(200)
    expect((await put({ cookie, 'sec-fetch-site': 'cross-site' })).statusCode).toBe(403)
    expect((await put({ cookie, 'sec-fetch-site': 'same-site' })).statusCode).toBe(403)
    expect((await put({ cookie })).statusCode).toBe(403)
  })

  it('lets an API key write from anywhere (it is no ambient credential)', async () => {
    const r = await put({ ...auth(ADMIN), origin: 'https://evil.example' })
    expect(r.statusCode, r.body).toBe(200)
  })

  it('takes TIERSCOPE_PUBLIC_URL as the platform\'s own origin', async () => {
    const settings = settingsFromEnv({ TIERSCOPE_PUBLIC_URL: 'https://tierscope.example.gov.cn/some/path' })
    expect(settings.publicUrl).toBe('https://tierscope.example.gov.cn')
    const behind = (await buildApp(platform, { publicUrl: settings.publicUrl })).app
    apps.push(behind)
    const r = await behind.inject({ method: 'PUT', url: '/api/v1/settings', headers: { host: '10.0.0.5:3000', cookie, origin: 'https://tierscope.example.gov.cn' }, payload: { warning_days: 1 } })
    expect(r.statusCode, r.body).toBe(200)
    const foreign = await behind.inject({ method: 'PUT', url: '/api/v1/settings', headers: { host: '10.0.0.5:3000', cookie, origin: 'https://evil.example' }, payload: { warning_days: 1 } })
    expect(foreign.statusCode).toBe(403)
    // an https public URL makes the cookie Secure
    const s = await signIn('erin', PASSWORD, '198.51.100.9', behind)
    expect(String(s.headers['set-cookie'])).toMatch(/;\s*Secure/i)
  })
})

describe('headers and transport', () => {
  it('sets CSP, nosniff and frame protection on an API answer', async () => {
    const r = await app.inject({ method: 'GET', url: '/api/v1/health' })
    expect(r.headers['x-content-type-options']).toBe('nosniff')
    expect(r.headers['x-frame-options']).toBe('DENY')
    const csp = String(r.headers['content-security-policy'])
    expect(csp).toMatch(/default-src 'none'/)
    expect(csp).toMatch(/frame-ancestors 'none'/)
  })

  it('gives the dashboard shell a policy that allows its inline bootstrap by hash, and nothing else inline', async () => {
    const r = await app.inject({ method: 'GET', url: '/meeting?tier=2' })
    expect(r.statusCode).toBe(200)
    const csp = String(r.headers['content-security-policy'])
    const html = readFileSync(join(BUILD_DIR, 'index.html'), 'utf8')
    const inline = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!
    const hash = `'sha256-${createHash('sha256').update(inline).digest('base64')}'`
    expect(inlineScriptHashes()).toEqual([hash])
    expect(csp).toContain(`script-src 'self' ${hash}`)
    expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/)
    expect(csp).toMatch(/frame-ancestors 'none'/)
    expect(r.headers['x-frame-options']).toBe('DENY')
    expect(r.headers['x-content-type-options']).toBe('nosniff')
  })

  it('lets server-rendered documents use inline styles, no script, framed only by the platform', async () => {
    for (const path of ['/indicators?year=2025', '/reports/2025/district.html']) {
      const r = await app.inject({ method: 'GET', url: path, headers: auth(ADMIN) })
      const csp = String(r.headers['content-security-policy'])
      expect(csp, path).toMatch(/style-src 'unsafe-inline'/)
      expect(csp, path).toMatch(/default-src 'none'/)
      expect(csp, path).not.toMatch(/script-src/)
      expect(csp, path).toMatch(/frame-ancestors 'self'/)
      expect(r.headers['x-frame-options'], path).toBe('SAMEORIGIN')
      expect(r.headers['x-content-type-options'], path).toBe('nosniff')
    }
  })

  it('gives /docs swagger-ui\'s own policy, without inline script', async () => {
    const r = await app.inject({ method: 'GET', url: '/docs/' })
    const csp = String(r.headers['content-security-policy'])
    expect(csp).toMatch(/script-src 'self';/)
    expect(csp).toMatch(/frame-ancestors 'none'/)
  })

  it('makes the session cookie Secure behind TIERSCOPE_TRUST_PROXY with X-Forwarded-Proto: https', async () => {
    const proxied = (await buildApp(platform, { trustProxy: settingsFromEnv({ TIERSCOPE_TRUST_PROXY: 'true' }).trustProxy })).app
    apps.push(proxied)
    const https = await signIn('frank', PASSWORD, '127.0.0.1', proxied, { 'x-forwarded-proto': 'https', 'x-forwarded-for': '198.51.100.10' })
    expect(https.statusCode, https.body).toBe(200)
    expect(String(https.headers['set-cookie'])).toMatch(/;\s*Secure/i)
    const plain = await signIn('frank', PASSWORD, '127.0.0.1', proxied, { 'x-forwarded-for': '198.51.100.10' })
    expect(String(plain.headers['set-cookie'])).not.toMatch(/Secure/i)
    // without trusting the proxy its header is not believed
    const untrusted = await signIn('frank', PASSWORD, '198.51.100.11', app, { 'x-forwarded-proto': 'https' })
    expect(untrusted.statusCode).toBe(200)
    expect(String(untrusted.headers['set-cookie'])).not.toMatch(/Secure/i)
  })

  it('behind a trusted proxy, throttles the client\'s address (X-Forwarded-For), not the proxy\'s', async () => {
    const proxied = (await buildApp(platform, { trustProxy: true })).app
    apps.push(proxied)
    for (let i = 0; i < MAX_FAILURES + 1; i++) await signIn('frank', `guess ${i}`, '127.0.0.1', proxied, { 'x-forwarded-for': '198.51.100.12' })
    expect((await signIn('frank', PASSWORD, '127.0.0.1', proxied, { 'x-forwarded-for': '198.51.100.12' })).statusCode).toBe(401)
    expect((await signIn('frank', PASSWORD, '127.0.0.1', proxied, { 'x-forwarded-for': '198.51.100.13' })).statusCode).toBe(200)
  })
})

describe('shedding load', () => {
  it('answers 503 with Retry-After while memory is over its limit, says so in the log, and keeps health answering', async () => {
    const lines: string[] = []
    const logStream = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) })
    // a heap limit of 1 byte: under pressure from the first sample on
    const loaded = (await buildApp(platform, { logStream, pressure: { maxHeapUsedBytes: 1, sampleInterval: 50, retryAfter: 7 } })).app
    apps.push(loaded)
    await loaded.ready()
    await new Promise((r) => setTimeout(r, 200))
    const r = await loaded.inject({ method: 'GET', url: '/api/v1/metrics', headers: auth(ADMIN) })
    expect(r.statusCode).toBe(503)
    expect(r.headers['retry-after']).toBe('7')
    expect(r.json().error).toBe('overloaded')
    const health = await loaded.inject({ method: 'GET', url: '/api/v1/health' })
    expect(health.statusCode).toBe(200)
    expect(health.headers['x-tierscope-pressure']).toBe('heapUsedBytes')
    const shedLine = lines.map((l) => JSON.parse(l)).find((l) => /shedding load/.test(l.msg))
    expect(shedLine).toMatchObject({ level: 40, pressure: 'heapUsedBytes' })
  })
})

describe('start-up checks', () => {
  it('refuses an admin token shorter than 24 characters, saying why', async () => {
    expect(adminTokenProblem(undefined)).toBeUndefined()
    expect(adminTokenProblem('x'.repeat(24))).toBeUndefined()
    expect(adminTokenProblem('admin-test-token')).toMatch(/at least 24/)
    const dir = mkdtempSync(join(tmpdir(), 'tierscope-token-'))
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, TIERSCOPE_DATA_DIR: dir, TIERSCOPE_PORT: '0', TIERSCOPE_ADMIN_TOKEN: 'too-short-token' }
      delete env.VITEST
      const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'main.ts')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
      let output = ''
      child.stdout.on('data', (d) => (output += d))
      child.stderr.on('data', (d) => (output += d))
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
      expect(code).not.toBe(0)
      expect(output).toMatch(/TIERSCOPE_ADMIN_TOKEN is 15 characters long; it must be at least 24/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)

  it('reads TIERSCOPE_TRUST_PROXY and TIERSCOPE_PUBLIC_URL', () => {
    expect(trustProxyOf(undefined)).toBe(false)
    expect(trustProxyOf('true')).toBe(true)
    expect(trustProxyOf('1')).toBe(1)
    expect(trustProxyOf('127.0.0.1, 10.0.0.0/8')).toEqual(['127.0.0.1', '10.0.0.0/8'])
    expect(() => trustProxyOf('yes please')).toThrow(/TIERSCOPE_TRUST_PROXY/)
    expect(publicUrlOf('http://localhost:3000/')).toBe('http://localhost:3000')
    expect(() => publicUrlOf('ftp://x')).toThrow(/TIERSCOPE_PUBLIC_URL/)
    expect(() => publicUrlOf('not a url')).toThrow(/TIERSCOPE_PUBLIC_URL/)
  })
})

/** An error body without its request_id, which differs from request to request. */
function withoutRequestId(body: Record<string, unknown>): Record<string, unknown> {
  const { request_id: _id, ...rest } = body
  return rest
}
