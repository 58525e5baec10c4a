// GET /metrics as Prometheus scrapes it: after an ingest with bad rows, a refused body and a
// failed sign-in, the counts are there by stream, source and reason; requests by route and
// status with their latencies; the engine's query times; the backlog, the calendar, the last
// backup. Admin key only on the API's port; without a key on TIERSCOPE_METRICS_ADDR's.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../app.ts'
import type { Monitoring } from '../monitoring/index.ts'
import { openTestPlatform } from '../warehouse/testing.ts'
import { backupWarehouse, localDate, type Platform } from '../warehouse/index.ts'
import { ADMIN, auth, loadSmallDistrict, makeKey, toNdjson } from './support.ts'

let app: FastifyInstance
let platform: Platform
let monitoring: Monitoring
let source: string
const work = mkdtempSync(join(tmpdir(), 'tierscope-monitoring-'))

const rating = (i: number, extra: object = {}) => ({ event_id: `m-${i}`, unit_id: 'S1', rating: 4, occurred_at: '2025-03-04T10:00:00+08:00', channel: 'sms', ...extra })

/** The samples of a scrape: `name{labels}` → value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue
    const at = line.lastIndexOf(' ')
    out.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return out
}

async function scrape(): Promise<Map<string, number>> {
  const r = await app.inject({ method: 'GET', url: '/metrics', headers: auth(ADMIN) })
  expect(r.statusCode, r.body).toBe(200)
  expect(r.headers['content-type']).toContain('text/plain; version=0.0.4')
  return samples(r.body)
}

beforeAll(async () => {
  platform = await openTestPlatform()
  ;({ app, monitoring } = await buildApp(platform, { metricsAddr: '127.0.0.1:0' }))
  await platform.keys.bootstrapAdmin(ADMIN)
  await app.ready()
  await loadSmallDistrict(app)
  source = await makeKey(app, 'source', ['S1'])
  const body = toNdjson([rating(1), rating(2), rating(3), rating(4, { rating: 9 }), rating(5, { unit_id: 'S1', channel: 'fax' })])
  for (let i = 0; i < 2; i++) {
    const r = await app.inject({ method: 'POST', url: '/api/v1/ingest/evaluations', headers: { ...auth(source), 'content-type': 'application/x-ndjson' }, payload: body })
    expect(r.json()).toMatchObject(i === 0 ? { received: 5, accepted: 3, duplicates: 0, rejected: 2 } : { received: 5, accepted: 0, duplicates: 3, rejected: 2 })
  }
  const refused = await app.inject({ method: 'POST', url: '/api/v1/ingest/evaluations', headers: { ...auth(source), 'content-type': 'text/xml' }, payload: '<x/>' })
  expect(refused.statusCode).toBe(415)
  const empty = await app.inject({ method: 'POST', url: '/api/v1/ingest/evaluations', headers: { ...auth(source), 'content-type': 'application/x-ndjson' }, payload: '' })
  expect(empty.statusCode).toBe(400)
  const signIn = await app.inject({ method: 'POST', url: '/api/v1/session', payload: { username: 'nobody', password: 'wrong password' } })
  expect(signIn.statusCode).toBe(401)
}, 120_000)

afterAll(async () => {
  await app?.close()
  await platform?.close()
  rmSync(work, { recursive: true, force: true })
})

describe('GET /metrics', () => {
  it('is for admins only on the API\'s port', async () => {
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401)
    expect((await app.inject({ method: 'GET', url: '/metrics', headers: auth(source) })).statusCode).toBe(403)
  })

  it('counts the rows of the ingest by stream, source and outcome, and the bodies refused by reason', async () => {
    const m = await scrape()
    const rows = (outcome: string) => m.get(`tierscope_ingest_rows_total{stream="evaluations",source="source S1",outcome="${outcome}"}`)
    expect([rows('received'), rows('accepted'), rows('duplicate'), rows('rejected')]).toEqual([10, 3, 3, 4])
    expect(m.get('tierscope_ingest_bodies_refused_total{target="evaluations",reason="unsupported_media_type"}')).toBe(1)
    expect(m.get('tierscope_ingest_bodies_refused_total{target="evaluations",reason="empty_body"}')).toBe(1)
    expect(m.get('tierscope_sign_in_failures_total{reason="invalid_credentials"}')).toBe(1)
  })

  it('counts requests by route and status, with latency histograms, and times the engine', async () => {
    const m = await scrape()
    expect(m.get('tierscope_http_requests_total{route="/api/v1/ingest/:stream",method="POST",status="200"}')).toBe(2)
    expect(m.get('tierscope_http_requests_total{route="/api/v1/ingest/:stream",method="POST",status="415"}')).toBe(1)
    expect(m.get('tierscope_http_request_duration_seconds_count{route="/api/v1/ingest/:stream",method="POST",status="200"}')).toBe(2)
    expect(m.get('tierscope_http_request_duration_seconds_bucket{le="+Inf",route="/api/v1/ingest/:stream",method="POST",status="200"}')).toBe(2)
    expect(m.get('tierscope_http_request_duration_seconds_sum{route="/api/v1/ingest/:stream",method="POST",status="200"}')).toBeGreaterThan(0)
    expect(m.get('tierscope_engine_query_duration_seconds_count{kind="query",outcome="ok"}')).toBeGreaterThan(10)
    expect(m.get('tierscope_engine_query_duration_seconds_count{kind="command",outcome="ok"}')).toBeGreaterThan(0)
  })

  it('says the derived state\'s backlog, the calendar years and whether next year is provisional', async () => {
    const m = await scrape()
    expect(m.get('tierscope_warehouse_up')).toBe(1)
    expect(m.get('tierscope_derived_backlog_cases')).toBe(0)
    expect(m.get('tierscope_derived_lag_seconds')).toBe(0)
    const loaded = platform.calendar.loadedYears()
    expect(loaded.length).toBeGreaterThan(5)
    for (const y of loaded) expect(m.get(`tierscope_calendar_official_year{year="${y}"}`), String(y)).toBe(1)
    const next = Number(localDate(Date.now(), 'Asia/Shanghai').slice(0, 4)) + 1
    expect(m.get('tierscope_calendar_next_year_provisional')).toBe(loaded.includes(next) ? 0 : 1)
  })

  it('has the last backup\'s age once one succeeded', async () => {
    expect([...(await scrape()).keys()].some((k) => k.startsWith('tierscope_backup_last_success'))).toBe(false)
    await backupWarehouse(platform.warehouse, { out: join(work, 'b') })
    const m = await scrape()
    expect(m.get('tierscope_backup_last_success_age_seconds{warehouse="embedded"}')).toBeGreaterThanOrEqual(0)
    expect(m.get('tierscope_backup_last_success_age_seconds{warehouse="embedded"}')).toBeLessThan(60)
    expect(m.get('tierscope_backup_last_success_timestamp_seconds{warehouse="embedded"}')! * 1000).toBeGreaterThan(Date.now() - 60_000)
  })

  it('is served without a key on TIERSCOPE_METRICS_ADDR, and only /metrics there', async () => {
    expect(monitoring.metricsPort).toBeGreaterThan(0)
    const r = await fetch(`http://127.0.0.1:${monitoring.metricsPort}/metrics`)
    expect(r.status).toBe(200)
    expect(samples(await r.text()).get('tierscope_ingest_rows_total{stream="evaluations",source="source S1",outcome="accepted"}')).toBe(3)
    expect((await fetch(`http://127.0.0.1:${monitoring.metricsPort}/api/v1/health`)).status).toBe(404)
  })
})
