// The server's log as an operator searches it: JSON lines, each line of a request with its id, its
// route and the caller's key name (never the token); the id comes back in X-Request-ID and in
// every error body, so the report of an error finds its lines.
import { PassThrough } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../app.ts'
import { openTestPlatform } from '../warehouse/testing.ts'
import type { Platform } from '../warehouse/index.ts'
import { ADMIN, auth, loadSmallDistrict, makeKey } from './support.ts'

let app: FastifyInstance
let platform: Platform
let log = ''
let inspector: string

const lines = () => log.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)

beforeAll(async () => {
  platform = await openTestPlatform()
  const stream = new PassThrough()
  stream.on('data', (d) => (log += d))
  ;({ app } = await buildApp(platform, { logLevel: 'info', logStream: stream }))
  await platform.keys.bootstrapAdmin(ADMIN)
  await loadSmallDistrict(app)
  const r = await app.inject({ method: 'POST', url: '/api/v1/keys', headers: auth(ADMIN), payload: { name: 'inspection office', role: 'inspector', units: [] } })
  inspector = r.json().token
}, 120_000)

afterAll(async () => {
  await app?.close()
  await platform?.close()
})

describe('request logs', () => {
  it('writes one JSON line per request with its id, route and the key\'s name, never the token', async () => {
    const r = await app.inject({ method: 'GET', url: '/api/v1/cases?status=open', headers: auth(inspector) })
    expect(r.statusCode).toBe(200)
    const id = r.headers['x-request-id'] as string
    expect(id).toMatch(/^[0-9a-f-]{36}$/)
    const mine = lines().filter((l) => l.reqId === id)
    expect(mine).toHaveLength(1)
    expect(mine[0]).toMatchObject({ level: 30, reqId: id, route: '/api/v1/cases', key: 'inspection office', role: 'inspector', method: 'GET', url: '/api/v1/cases?status=open', status: 200, msg: 'request answered' })
    expect(typeof mine[0]!.ms).toBe('number')
    expect(log).not.toContain(inspector)
    expect(log).not.toContain(ADMIN)
  })

  it('puts the request id in the header and in every error body', async () => {
    const cases = [
      await app.inject({ method: 'GET', url: '/api/v1/cases/nope', headers: auth(inspector) }),
      await app.inject({ method: 'GET', url: '/api/v1/no-such-route' }),
      await app.inject({ method: 'GET', url: '/api/v1/cases?as_of=yesterday', headers: auth(inspector) }),
      await app.inject({ method: 'POST', url: '/api/v1/keys', headers: auth(inspector), payload: { name: 'x', role: 'admin' } }),
      await app.inject({ method: 'GET', url: '/api/v1/cases', headers: auth('not-a-key') }),
    ]
    expect(cases.map((r) => r.statusCode)).toEqual([404, 404, 400, 403, 401])
    for (const r of cases) {
      const id = r.headers['x-request-id']
      expect(typeof id).toBe('string')
      expect(r.json()).toMatchObject({ error: expect.any(String), message: expect.any(String), request_id: id })
      const line = lines().find((l) => l.reqId === id && l.msg === 'request answered')
      expect(line, r.body).toMatchObject({ status: r.statusCode })
    }
    // the refused admin request names the caller; the unknown key has none
    expect(lines().find((l) => l.reqId === cases[3]!.headers['x-request-id'] && l.msg === 'request answered')).toMatchObject({ route: '/api/v1/keys', key: 'inspection office' })
    expect(lines().find((l) => l.reqId === cases[1]!.headers['x-request-id'] && l.msg === 'request answered')).toMatchObject({ route: '/*' }) // the dashboard's catch-all, which answers 404 under /api/
    expect(lines().find((l) => l.reqId === cases[4]!.headers['x-request-id'] && l.msg === 'request answered')!.key).toBeUndefined()
    expect(log).not.toContain('not-a-key')
  })

  it('gives every request its own id, not one sent by a client it does not trust', async () => {
    const a = await app.inject({ method: 'GET', url: '/api/v1/health', headers: { 'x-request-id': 'chosen-by-client' } })
    const b = await app.inject({ method: 'GET', url: '/api/v1/health' })
    expect(a.headers['x-request-id']).not.toBe('chosen-by-client')
    expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id'])
  })
})
