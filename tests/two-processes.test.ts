// Two platform server processes (main.ts) on one ClickHouse database, as a district runs them
// behind a load balancer: the same records sent through both at once — every stream, each body
// twice through each server, concurrently, as retries of a client that timed out do — must be
// stored once and counted once. Checked against the warehouse itself (rows per id, one case_state
// row per case matching its events), against the receipts (every row accepted or a duplicate), and
// against the figures: the case counts and indicators both servers answer must equal those of a
// third database that received every body exactly once.
//
// Needs a ClickHouse server (npm run test:server): on the embedded engine one process owns a data
// directory, and a second server cannot open it.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient, type ClickHouseClient } from '@clickhouse/client'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { dropTestDatabase, testServer, type TestServer } from '../warehouse/testing.ts'
import { startServer, type ServerProcess } from './bench/server.ts'
import { SMALL_DISTRICT, toNdjson } from './support.ts'

const server = testServer(`tierscope_test_two_${randomBytes(5).toString('hex')}`)
const baseline = testServer(`tierscope_test_once_${randomBytes(5).toString('hex')}`)

// ---- the records ------------------------------------------------------------------------------

const CASES = 240
const caseUnits = ['S1', 'S2', 'S1-C1']
const at = (day: number, minutes = 0) => new Date(Date.UTC(2025, 2, 3, 1, 0, 0) + day * 86_400_000 + minutes * 60_000).toISOString()

/** The bodies, in the order they are sent (a later stream may refer to records of an earlier one). */
function bodies(): Array<{ stream: string; rows: Array<Record<string, unknown>> }> {
  const accepted = []
  const later = []
  const ratings = []
  const followups = []
  const complaints = []
  const tickets = []
  for (let c = 0; c < CASES; c++) {
    const case_id = `TP-${String(c).padStart(4, '0')}`
    const unit_id = caseUnits[c % caseUnits.length]!
    const day = c % 60
    accepted.push({ event_id: `${case_id}-1`, case_id, type: 'accepted', occurred_at: at(day), unit_id, item_code: c % 4 === 0 ? 'I0' : 'I3', channel: c % 3 === 0 ? 'online' : 'window' })
    if (c % 5 === 1) later.push({ event_id: `${case_id}-2`, case_id, type: 'supplement_requested', occurred_at: at(day, 60), unit_id })
    if (c % 5 === 1) later.push({ event_id: `${case_id}-3`, case_id, type: 'supplement_received', occurred_at: at(day + 1), unit_id })
    // most cases completed, some late (I3's promise is 3 working days), some left open
    if (c % 7 !== 0) later.push({ event_id: `${case_id}-4`, case_id, type: 'completed', occurred_at: at(day + (c % 6 === 0 ? 9 : 2), 30), unit_id })
    if (c % 2 === 0) {
      const rating = 1 + (c % 5)
      ratings.push({ event_id: `TP-R${c}`, case_id, unit_id, rating, occurred_at: at(day + 3), channel: c % 4 === 0 ? 'sms' : 'window_device', real_name: c % 8 === 0 })
      if (rating <= 2) followups.push({ event_id: `TP-F${c}`, evaluation_id: `TP-R${c}`, type: 'verified', occurred_at: at(day + 4), unit_id })
    }
    if (c % 6 === 0) {
      complaints.push({ event_id: `TP-K${c}-1`, complaint_id: `TP-K${c}`, type: 'received', occurred_at: at(day + 2), unit_id, source: 'hotline' })
      complaints.push({ event_id: `TP-K${c}-2`, complaint_id: `TP-K${c}`, type: 'responded', occurred_at: at(day + 2, 120), unit_id })
      complaints.push({ event_id: `TP-K${c}-3`, complaint_id: `TP-K${c}`, type: 'resolved', occurred_at: at(day + 5), unit_id, substantiated: c % 12 === 0 })
    }
    if (unit_id !== 'S1-C1') {
      tickets.push({ event_id: `TP-Q${c}-1`, ticket_id: `TP-Q${c}`, type: 'issued', occurred_at: at(day), unit_id })
      tickets.push({ event_id: `TP-Q${c}-2`, ticket_id: `TP-Q${c}`, type: 'called', occurred_at: at(day, 5 + (c % 20)), unit_id })
      tickets.push({ event_id: `TP-Q${c}-3`, ticket_id: `TP-Q${c}`, type: 'served', occurred_at: at(day, 15 + (c % 20)), unit_id })
    }
  }
  const costs = []
  for (const unit_id of ['S1', 'S2', 'S1-C1']) {
    for (const period of ['2025-03', '2025-04']) {
      costs.push({ entry_id: `TP-C-${unit_id}-${period}-staff`, unit_id, period, category: 'staff', amount: '120000.50', staff_fte: 6 })
      costs.push({ entry_id: `TP-C-${unit_id}-${period}-it`, unit_id, period, category: 'it', amount: 8000 })
    }
  }
  return [
    { stream: 'case-events', rows: accepted },
    { stream: 'case-events', rows: later },
    { stream: 'evaluations', rows: ratings },
    { stream: 'evaluation-followups', rows: followups },
    { stream: 'complaints', rows: complaints },
    { stream: 'queue-tickets', rows: tickets },
    { stream: 'costs', rows: costs },
  ]
}

const TABLES: Record<string, { table: string; id: string }> = {
  'case-events': { table: 'case_events', id: 'event_id' },
  evaluations: { table: 'evaluations', id: 'event_id' },
  'evaluation-followups': { table: 'evaluation_followups', id: 'event_id' },
  complaints: { table: 'complaints', id: 'event_id' },
  'queue-tickets': { table: 'queue_tickets', id: 'event_id' },
  costs: { table: 'costs', id: 'entry_id' },
}

/** What both servers and the baseline are asked (as of a fixed moment, after every record). */
const AS_OF = encodeURIComponent('2025-12-31T23:59:59+08:00')
const FIGURES = [
  `/api/v1/cases/counts?by=unit&as_of=${AS_OF}`,
  `/api/v1/cases/counts?by=item&as_of=${AS_OF}`,
  `/api/v1/cases/counts?by=unit&status=open&as_of=${AS_OF}`,
  ...['on_time_rate', 'overdue_cases', 'first_time_right_rate', 'online_rate', 'satisfaction_rate', 'bad_review_rate', 'evaluation_rate',
    'bad_review_verified_on_time_rate', 'complaints_per_10k', 'complaint_response_rate', 'complaint_substantiated_share', 'queue_wait_avg',
    'cost_per_case', 'cases_per_staff',
  ].map((m) => `/api/v1/metrics/${m}?from=2025-01-01&to=2025-12-31&by=unit&as_of=${AS_OF}`),
]

// ---- talking to the servers -------------------------------------------------------------------

interface Receipt { received: number; accepted: number; duplicates: number; rejected: number; errors: unknown[] }

const call = (s: ServerProcess, method: string, path: string, body?: unknown, token = s.adminToken) =>
  fetch(`${s.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })

async function send(s: ServerProcess, stream: string, body: string, token: string): Promise<Receipt> {
  const r = await fetch(`${s.url}/api/v1/ingest/${stream}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' }, body })
  const text = await r.text()
  expect(r.status, `${stream} through ${s.url}: ${text.slice(0, 500)}`).toBe(200)
  return JSON.parse(text) as Receipt
}

async function figures(s: ServerProcess): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {}
  for (const path of FIGURES) {
    const r = await call(s, 'GET', path)
    expect(r.status, `${path}: ${await r.clone().text()}`).toBe(200)
    const body = (await r.json()) as Record<string, unknown>
    // the moment of the answer is not a figure
    delete body.computed_at
    out[path] = body
  }
  return out
}

async function setUpDistrict(s: ServerProcess): Promise<string> {
  for (const [kind, rows] of [['units', SMALL_DISTRICT.units], ['items', SMALL_DISTRICT.items]] as const) {
    const r = await call(s, 'PUT', `/api/v1/reference/${kind}`, rows)
    expect(r.status, await r.text()).toBe(200)
  }
  const k = await call(s, 'POST', '/api/v1/keys', { name: 'district source', role: 'source', units: ['CENTRE'] })
  expect(k.status).toBe(201)
  return ((await k.json()) as { token: string }).token
}

// ---- the test ---------------------------------------------------------------------------------

const dirs: string[] = []
const servers: ServerProcess[] = []
let warehouse: ClickHouseClient
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'tierscope-two-'))
  dirs.push(d)
  return d
}
const start = async (database: TestServer) => {
  const s = await startServer(tempDir(), { env: { CLICKHOUSE_DATABASE: database.database } })
  servers.push(s)
  return s
}

afterAll(async () => {
  for (const s of servers) await s.stop()
  await warehouse?.close()
  for (const db of [server, baseline]) if (db) await dropTestDatabase(db).catch(() => undefined)
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const reason = 'needs a ClickHouse server (npm run test:server): on the embedded engine one process owns a data directory'
describe.skipIf(!server)(`two server processes on one ClickHouse database (${reason})`, () => {
  let a: ServerProcess
  let b: ServerProcess
  let expected: Record<string, unknown>
  const receipts: Array<{ stream: string; body: number; rows: number; through: Receipt[] }> = []

  beforeAll(async () => {
    // the baseline: one server, every body once
    const once = await start(baseline!)
    const onceKey = await setUpDistrict(once)
    for (const { stream, rows } of bodies()) {
      expect(await send(once, stream, toNdjson(rows), onceKey), `${stream} once`).toMatchObject({ received: rows.length, accepted: rows.length, rejected: 0 })
    }
    expected = await figures(once)
    await once.stop()

    // the two servers share one database; the second starts on the first's schema and district
    a = await start(server!)
    const key = await setUpDistrict(a)
    b = await start(server!)
    warehouse = createClient({ url: server!.url, username: server!.username, password: server!.password, database: server!.database })

    // every body twice through each server, all four at once
    for (const [i, { stream, rows }] of bodies().entries()) {
      const body = toNdjson(rows)
      const through = await Promise.all([send(a, stream, body, key), send(b, stream, body, key), send(a, stream, body, key), send(b, stream, body, key)])
      receipts.push({ stream, body: i, rows: rows.length, through })
    }
  }, 600_000)

  it('stores every row once', async () => {
    const seen: Record<string, unknown> = {}
    const wanted: Record<string, unknown> = {}
    for (const [stream, { table, id }] of Object.entries(TABLES)) {
      const sent = bodies().filter((b) => b.stream === stream).reduce((n, b) => n + b.rows.length, 0)
      const [r] = await (await warehouse.query({ query: `SELECT count() AS rows, uniqExact(${id}) AS ids FROM ${table}`, format: 'JSONEachRow' })).json<{ rows: string; ids: string }>()
      seen[table] = { rows: Number(r!.rows), ids: Number(r!.ids) }
      wanted[table] = { rows: sent, ids: sent }
    }
    expect(seen).toEqual(wanted)
  })

  it('keeps one case_state row per case, matching its stored events', async () => {
    const [state] = await (await warehouse.query({
      query: `SELECT count() AS cases, countIf(s.n != e.n) AS wrong_length, countIf(s.rows != 1) AS not_one_row
              FROM (SELECT case_id, count() AS n FROM case_events GROUP BY case_id) AS e
              FULL OUTER JOIN (SELECT case_id, any(length(events)) AS n, count() AS rows FROM case_state FINAL GROUP BY case_id) AS s USING (case_id)`,
      format: 'JSONEachRow',
    })).json<Record<string, string>>()
    expect(Object.fromEntries(Object.entries(state!).map(([k, v]) => [k, Number(v)]))).toEqual({ cases: CASES, wrong_length: 0, not_one_row: 0 })
  })

  it('answers every send with every row accepted or a duplicate, each row accepted at least once', () => {
    // Two processes that classify the same rows at the same moment both find them new and both
    // say so; the engine stores the block once (insert_deduplication_token). Sends through one
    // process are serialised there, so its later sends answer them as duplicates.
    for (const { stream, body, rows, through } of receipts) {
      for (const r of through) expect({ stream, body, sum: r.accepted + r.duplicates, rejected: r.rejected }).toEqual({ stream, body, sum: rows, rejected: 0 })
      expect(through.reduce((n, r) => n + r.accepted, 0), `${stream} body ${body}`).toBeGreaterThanOrEqual(rows)
    }
  })

  it('answers, through either server, the figures of the records received once', async () => {
    expect(await figures(a)).toEqual(expected)
    expect(await figures(b)).toEqual(expected)
  })
  it('answers, through each server, what the other wrote to the items, the settings and the keys, within seconds', async () => {
    // (each process keeps these in memory: warehouse/shared.ts and auth's sweep read the other's writes)
    const within = (what: string, seen: () => Promise<boolean>) =>
      vi.waitFor(async () => expect(await seen(), `${what}: not seen within 15 s`).toBe(true), { timeout: 15_000, interval: 250 })
    const renamed = SMALL_DISTRICT.items.map((i) => (i.item_code === 'I3' ? { ...i, name: '居住证办理（两个进程）' } : i))
    expect((await call(a, 'PUT', '/api/v1/reference/items', renamed)).status).toBe(200)
    await within('an item renamed through one server, through the other', async () =>
      ((await (await call(b, 'GET', '/api/v1/items')).json()) as { items: Array<{ item_code: string; name: string }> }).items.some((i) => i.name === '居住证办理（两个进程）'))
    const r = await call(b, 'PUT', '/api/v1/settings', { warning_days: 2 })
    expect(r.status, await r.text()).toBe(200)
    await within('the warning threshold set through one server, through the other', async () =>
      ((await (await call(a, 'GET', '/api/v1/settings')).json()) as { warning_days: number }).warning_days === 2)
    const k = await call(b, 'POST', '/api/v1/keys', { name: 'an inspector of the other server', role: 'inspector', units: [] })
    expect(k.status).toBe(201)
    const token = ((await k.json()) as { token: string }).token
    await within('a key made through one server, through the other', async () => (await call(a, 'GET', '/api/v1/cases?limit=1', undefined, token)).status === 200)
  })
})
