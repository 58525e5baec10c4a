// SIGKILL in the middle of a large upload: a real server (a child process running main.ts) takes
// 400k case events in NDJSON bodies of 50k rows over HTTP and is killed three times — a moment
// into an upload, in the middle of a body's insert, and right after a body's events were stored
// but before its case state was refreshed — and restarted on the same data directory, where every
// body is then sent again. What must hold (CONTRACT.md, ingest/README.md "Crash safety"): every
// acknowledged row is stored; every row is stored exactly once however often it is sent;
// case_state is repaired at start-up, one row per case whose events match the stored events; every
// change a kill interrupted is marked ended at start-up; and a resent acknowledged body is all duplicates.
//
// The warehouse is inspected by a short-lived child process that opens the data directory with
// openWarehouse (migrations only: no start-up repair, which would hide what the server left)
// while no server runs on it — libchdb holds one data directory per process. On a ClickHouse
// server (npm run test:server) the server process and the inspection use the data directory's
// own database there (warehouse/testing.ts), and a kill leaves the server's work to the server.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dropTestDatabase, testDatabaseFor, testServer } from '../warehouse/testing.ts'
import { startServer, type ServerProcess } from './bench/server.ts'

import { SMALL_DISTRICT } from './support.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

const CASES = 4000
const ROWS_PER_BODY = 50_000
const BODIES = 8
const TOTAL = ROWS_PER_BODY * BODIES // 400k events

// ---- the district and the events -------------------------------------------------------------

const { units, items } = SMALL_DISTRICT
const caseUnits = ['S1', 'S2', 'S1-C1']
const laterTypes = ['supplement_requested', 'supplement_received', 'suspended', 'resumed', 'approved', 'submitted'] as const

/**
 * Event i (0-based) of the set: case i mod CASES, the case's (i div CASES)-th event. Every body
 * touches every case; the first event of a case is its `accepted` (with item_code). Cases start
 * on different days of March–April 2025, so a body's insert spans several monthly partitions.
 */
function event(i: number): Record<string, unknown> {
  const c = i % CASES
  const j = Math.floor(i / CASES)
  const occurred = Date.UTC(2025, 2, 3, 1, 0, 0) + (c % 50) * 86_400_000 + j * 600_000 + (c % 600) * 1000
  return {
    event_id: `F-${String(i).padStart(7, '0')}`,
    case_id: `C-${String(c).padStart(5, '0')}`,
    type: j === 0 ? 'accepted' : laterTypes[j % laterTypes.length],
    occurred_at: new Date(occurred).toISOString(),
    unit_id: caseUnits[c % caseUnits.length],
    ...(j === 0 ? { item_code: c % 5 === 0 ? 'I0' : 'I3', channel: c % 3 === 0 ? 'online' : 'window' } : {}),
    staff_id: `staff-${c % 37}`,
    ...(j % 10 === 3 ? { attrs: { note: `第${j}步`, n: j } } : {}),
  }
}

const bodies: string[] = Array.from({ length: BODIES }, (_, b) => {
  const lines: string[] = []
  for (let k = 0; k < ROWS_PER_BODY; k++) lines.push(JSON.stringify(event(b * ROWS_PER_BODY + k)))
  return lines.join('\n') + '\n'
})

// ---- talking to the server -------------------------------------------------------------------

interface Receipt { batch_id: string; received: number; accepted: number; duplicates: number; rejected: number; errors: unknown[] }

let dataDir: string
let server: ServerProcess | undefined
let sourceKey: string

const start = async () => (server = await startServer(dataDir, { env: { TIERSCOPE_TRACE_INGEST: '1' } }))

async function call(s: ServerProcess, method: string, path: string, token: string, body: unknown): Promise<Response> {
  return fetch(`${s.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

function postBody(s: ServerProcess, b: number): Promise<Response> {
  return fetch(`${s.url}/api/v1/ingest/case-events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${sourceKey}`, 'content-type': 'application/x-ndjson' },
    body: bodies[b],
  })
}

async function send(s: ServerProcess, b: number): Promise<Receipt> {
  const r = await postBody(s, b)
  const text = await r.text()
  expect(r.status, `body ${b}: ${text.slice(0, 500)}`).toBe(200)
  return JSON.parse(text) as Receipt
}

/** Sends body b and SIGKILLs the server while it is in flight; resolves to what the client saw. */
async function sendAndKill(s: ServerProcess, b: number, when: { afterMs: number } | { onTrace: RegExp }): Promise<'failed' | Receipt> {
  let killing: Promise<void> | undefined
  const kill = () => (killing ??= s.stop('SIGKILL'))
  let timer: NodeJS.Timeout | undefined
  let onData: ((d: Buffer) => void) | undefined
  if ('afterMs' in when) {
    timer = setTimeout(kill, when.afterMs)
  } else {
    let seen = ''
    onData = (d: Buffer) => {
      seen += d.toString()
      if (when.onTrace.test(seen)) kill()
    }
    s.child.stderr!.on('data', onData)
  }
  const outcome = await postBody(s, b).then(
    async (r) => (r.status === 200 ? ((await r.json()) as Receipt) : ('failed' as const)),
    () => 'failed' as const,
  )
  if (timer) clearTimeout(timer)
  await kill() // the server is gone either way before the test goes on
  if (onData) s.child.stderr!.off('data', onData)
  return outcome
}

/** Runs SELECTs against the data directory in a separate process (no server may hold it). */
async function inspect<T extends Record<string, string>>(queries: T): Promise<{ [K in keyof T]: Array<Record<string, number>> }> {
  const module = pathToFileURL(join(root, 'warehouse', 'index.ts')).href
  const code = `
    const { openWarehouse, queryRows } = await import(${JSON.stringify(module)})
    const wh = await openWarehouse({ dataDir: process.env.INSPECT_DIR, timezone: 'Asia/Shanghai', clickhouse: JSON.parse(process.env.INSPECT_SERVER) ?? undefined })
    const out = {}
    for (const [name, sql] of Object.entries(JSON.parse(process.env.INSPECT_QUERIES))) {
      out[name] = (await queryRows(wh, sql)).map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(v)])))
    }
    await wh.close()
    process.stdout.write(JSON.stringify(out))`
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: root,
    env: { ...process.env, INSPECT_DIR: dataDir, INSPECT_SERVER: JSON.stringify(testServer(testDatabaseFor(dataDir)) ?? null), INSPECT_QUERIES: JSON.stringify(queries) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (err += d))
  const code_ = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code_ !== 0) throw new Error(`inspecting the warehouse failed (${code_}):\n${err}`)
  return JSON.parse(out)
}

/** What must hold of the stored events and the case state at any point where no refresh is due. */
const invariants = {
  events: `SELECT count() AS n, uniqExact(event_id) AS ids, uniqExact(case_id) AS cases FROM case_events`,
  // rows per body: event ids are F-<index>, a body holds indexes [b·50k, (b+1)·50k)
  perBody: `SELECT intDiv(toUInt32(substring(event_id, 3)), ${ROWS_PER_BODY}) AS body, count() AS n, uniqExact(event_id) AS ids
            FROM case_events GROUP BY body ORDER BY body`,
  state: `SELECT count() AS rows, uniqExact(case_id) AS cases FROM case_state FINAL`,
  // one row per case in case_events or case_state; a case missing on either side shows as a mismatch
  mismatch: `SELECT count() AS cases,
               countIf(s.n != e.n) AS wrong_length,
               countIf(s.last_at != e.last_at) AS wrong_last
             FROM (SELECT case_id, count() AS n, max(occurred_at) AS last_at FROM case_events GROUP BY case_id) AS e
             FULL OUTER JOIN (SELECT case_id, length(events) AS n, last_at FROM case_state FINAL) AS s USING (case_id)`,
  pending: `SELECT count() AS batches FROM (SELECT DISTINCT batch_id FROM case_refresh_queue
             WHERE batch_id NOT IN (SELECT batch_id FROM case_refresh_done))`,
  // the change log: a batch that started storing and was never marked ended (kept answers about
  // the past would not know of it)
  changes: `SELECT count() AS changes, countIf(ended = 0) AS unended
            FROM (SELECT change_id, countIf(phase = 'end') AS ended FROM data_changes GROUP BY change_id)`,
}

// ---- the test --------------------------------------------------------------------------------

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'tierscope-fault-'))
  const s = await start()
  for (const [kind, rows] of [['units', units], ['items', items]] as const) {
    const r = await call(s, 'PUT', `/api/v1/reference/${kind}`, s.adminToken, rows)
    expect(r.status, await r.text()).toBe(200)
  }
  const k = await call(s, 'POST', '/api/v1/keys', s.adminToken, { name: 'fault source', role: 'source', units: ['CENTRE'] })
  expect(k.status).toBe(201)
  sourceKey = ((await k.json()) as { token: string }).token
}, 120_000)

afterAll(async () => {
  await server?.stop('SIGKILL')
  const onServer = dataDir ? testServer(testDatabaseFor(dataDir)) : undefined
  if (onServer) await dropTestDatabase(onServer)
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

describe('a server killed (SIGKILL) in the middle of large uploads', () => {
  it('loses no acknowledged row, stores every row once after a full resend, and repairs case state at restart', async () => {
    const acknowledged = new Set<number>()

    // 1. Three bodies acknowledged, then a kill a moment into the upload of the fourth.
    let s = server!
    for (const b of [0, 1, 2]) {
      const receipt = await send(s, b)
      expect(receipt, `body ${b}`).toMatchObject({ received: ROWS_PER_BODY, accepted: ROWS_PER_BODY, duplicates: 0, rejected: 0 })
      acknowledged.add(b)
    }
    const midUpload = await sendAndKill(s, 3, { afterMs: 150 })
    expect(midUpload, 'the in-flight request fails when the server is killed').toBe('failed')

    // 2. Restart on the same directory (the source key survives: it is stored hashed in the
    //    warehouse), and kill it while a body's events are being inserted: the ingest trace
    //    reports each step as it ends, and the case_events insert (several monthly partitions,
    //    so several parts) comes right after the refresh queue is written.
    s = await start()
    const midInsert = await sendAndKill(s, 4, { onTrace: /\] INSERT INTO case_refresh_queue / })
    expect(midInsert, 'the in-flight request fails when the server is killed').toBe('failed')

    // 3. Restart again, and kill it right after a body's events are stored: before its case
    //    state is refreshed, and before the receipt is sent.
    s = await start()
    const afterStore = await sendAndKill(s, 5, { onTrace: /\] INSERT INTO case_events / })
    expect(afterStore, 'no receipt for a body whose server died before answering').toBe('failed')

    const beforeRepair = await inspect({ pending: invariants.pending, mismatch: invariants.mismatch, perBody: invariants.perBody, changes: invariants.changes })
    // the kill came between "queued for refresh" and "refresh done": start-up has work to do
    expect(beforeRepair.pending[0]!.batches).toBeGreaterThanOrEqual(1)
    // and between a batch's "change started" and "change ended" (body 5: body 4's was ended by the restart before)
    expect(beforeRepair.changes[0]!.unended).toBe(1)
    const survived = (b: number) => beforeRepair.perBody.find((r) => r.body === b)?.n ?? 0
    console.info(`before the last restart: rows of body 3 stored ${survived(3)}, of body 4 ${survived(4)}; ` +
      `${beforeRepair.pending[0]!.batches} refresh(es) pending; ` +
      `${beforeRepair.mismatch[0]!.wrong_length} case(s) whose case_state does not match their events`)

    // 4. A restart repairs case state before it serves; then it is stopped cleanly and inspected.
    s = await start()
    await s.stop('SIGTERM')
    const repaired = await inspect(invariants)
    const storedBodies = new Map(repaired.perBody.map((r) => [r.body!, r]))
    for (const b of acknowledged) expect(storedBodies.get(b), `acknowledged body ${b}`).toEqual({ body: b, n: ROWS_PER_BODY, ids: ROWS_PER_BODY })
    // body 5's insert had returned before the kill: its rows are on disk
    expect(storedBodies.get(5), 'body 5 (stored, not acknowledged)').toEqual({ body: 5, n: ROWS_PER_BODY, ids: ROWS_PER_BODY })
    expect(repaired.events[0]!.n, 'no event stored twice').toBe(repaired.events[0]!.ids)
    expect(repaired.pending[0]!.batches, 'no refresh left pending after start-up').toBe(0)
    expect(repaired.state[0]).toEqual({ rows: repaired.events[0]!.cases, cases: repaired.events[0]!.cases })
    expect(repaired.mismatch[0]).toEqual({ cases: repaired.events[0]!.cases, wrong_length: 0, wrong_last: 0 })
    expect(repaired.changes[0]!.unended, 'every interrupted change ended at start-up').toBe(0)

    // 5. Another restart, and every body is sent again, acknowledged or not.
    s = await start()
    const resent: Receipt[] = []
    for (let b = 0; b < BODIES; b++) resent.push(await send(s, b))
    for (const [b, r] of resent.entries()) {
      expect(r.received, `body ${b}`).toBe(ROWS_PER_BODY)
      expect(r.rejected, `body ${b}: ${JSON.stringify(r.errors.slice(0, 3))}`).toBe(0)
      // a body cut off by a kill stores exactly the rows that were not stored
      expect(r.accepted, `body ${b}`).toBe(ROWS_PER_BODY - (storedBodies.get(b)?.n ?? 0))
      expect(r.duplicates, `body ${b}`).toBe(storedBodies.get(b)?.n ?? 0)
      // an acknowledged body, and the body stored before the kill, are all duplicates now
      if (acknowledged.has(b) || b === 5) expect(r, `body ${b}`).toMatchObject({ accepted: 0, duplicates: ROWS_PER_BODY })
      // bodies never sent before are all new
      if (b > 5) expect(r, `body ${b}`).toMatchObject({ accepted: ROWS_PER_BODY, duplicates: 0 })
    }
    // and a second resend of the acknowledged bodies changes nothing either
    for (const b of acknowledged) expect(await send(s, b), `body ${b} again`).toMatchObject({ received: ROWS_PER_BODY, accepted: 0, duplicates: ROWS_PER_BODY, rejected: 0 })
    await s.stop('SIGTERM')

    // 6. Every row of every body is stored exactly once, and case state matches the events.
    const final = await inspect(invariants)
    expect(final.events[0]).toEqual({ n: TOTAL, ids: TOTAL, cases: CASES })
    expect(final.perBody).toEqual(Array.from({ length: BODIES }, (_, b) => ({ body: b, n: ROWS_PER_BODY, ids: ROWS_PER_BODY })))
    expect(final.state[0]).toEqual({ rows: CASES, cases: CASES })
    expect(final.mismatch[0]).toEqual({ cases: CASES, wrong_length: 0, wrong_last: 0 })
    expect(final.pending[0]!.batches).toBe(0)
    expect(final.changes[0]).toMatchObject({ unended: 0 })
    expect(final.changes[0]!.changes).toBeGreaterThanOrEqual(BODIES)
  }, 300_000)
})
