// The server's peak memory for small gzip bodies of bad rows, next to the same number of good
// rows: part of `npm run bench`; alone, `npx tsx tests/bench/bad-rows.ts`. Each load runs in a
// server process of its own (VmHWM only grows), on an empty warehouse with one street hall and
// one item. Rows are sent as gzip NDJSON bodies of at most 1,000,000 rows (the contract's limit),
// and a single body of all of them is sent too, which the server must refuse with 413 after
// reading no more than the limit. Figures, not assertions.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { startServer, type ServerProcess } from './server.ts'
import { fmt } from './stats.ts'

const ROWS = Number(process.env.TIERSCOPE_BENCH_BAD_ROWS ?? 2_000_000)
const BODY_LIMIT = 1_000_000

const UNITS = [
  { unit_id: 'CENTRE', name: '区政务服务中心', tier: 1, kind: 'district_centre' },
  { unit_id: 'S1', name: '东华门街道政务服务大厅', tier: 2, kind: 'street_hall', parent_id: 'CENTRE' },
]
const ITEMS = [{ item_code: 'I3', name: '居住证办理', category: 'public_service', statutory_days: 10, promised_days: 3, tiers: [2] }]

/** n lines of `line(i)`, gzip-compressed, built a slice at a time so the bench itself stays small. */
function gzipLines(n: number, line: (i: number) => string, offset = 0): Buffer {
  const parts: string[] = []
  for (let i = 0; i < n; i++) parts.push(line(offset + i))
  return gzipSync(parts.join('\n') + '\n', { level: 9 })
}

const bad = () => '{}'
// a case submitted: valid, and one case each, so every row reaches the case state
const good = (i: number) => `{"event_id":"g${i}","case_id":"C${i}","type":"submitted","occurred_at":"2025-03-03T10:00:00+08:00","unit_id":"S1"}`

async function withServer<T>(work: (server: ServerProcess) => Promise<T>): Promise<{ result: T; peakMiB: number; idleMiB: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'tierscope-bench-bad-'))
  const server = await startServer(dir)
  try {
    for (const [kind, rows] of [['units', UNITS], ['items', ITEMS]] as const) {
      const r = await fetch(`${server.url}/api/v1/reference/${kind}`, { method: 'PUT', headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(rows) })
      if (!r.ok) throw new Error(`reference ${kind}: ${r.status} ${await r.text()}`)
    }
    const idleMiB = server.peakRssMiB()
    const result = await work(server)
    return { result, peakMiB: server.peakRssMiB(), idleMiB }
  } finally {
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

async function send(server: ServerProcess, body: Buffer): Promise<{ status: number; accepted: number; rejected: number; error?: string }> {
  const r = await fetch(`${server.url}/api/v1/ingest/case-events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' },
    body: body as unknown as Blob,
  })
  const json = (await r.json()) as { accepted?: number; rejected?: number; error?: string }
  return { status: r.status, accepted: json.accepted ?? 0, rejected: json.rejected ?? 0, error: json.error }
}

/** Health answered while a body is being taken in: the slowest answer, in ms. */
async function healthWhile<T>(server: ServerProcess, work: Promise<T>): Promise<{ result: T; slowestMs: number }> {
  let slowest = 0
  let done = false
  const probe = (async () => {
    while (!done) {
      const t0 = performance.now()
      await fetch(`${server.url}/api/v1/health`).then((r) => r.arrayBuffer())
      slowest = Math.max(slowest, performance.now() - t0)
      await new Promise((r) => setTimeout(r, 100))
    }
  })()
  const result = await work.finally(() => (done = true))
  await probe
  return { result, slowestMs: slowest }
}

export async function badRowMemory(report: (s?: string) => void = console.log): Promise<void> {
  report(`Memory for bad input (${fmt(ROWS)} rows, gzip NDJSON, bodies of at most ${fmt(BODY_LIMIT)} rows; each load in a fresh server):`)
  const perBody = Math.min(ROWS, BODY_LIMIT)
  for (const [name, line] of [['bad rows ({} lines)', bad], ['good rows (case submitted)', good]] as const) {
    const bodies: Buffer[] = []
    for (let offset = 0; offset < ROWS; offset += perBody) bodies.push(gzipLines(Math.min(perBody, ROWS - offset), line, offset))
    const gz = bodies.reduce((n, b) => n + b.length, 0)
    const t0 = performance.now()
    const { result, peakMiB, idleMiB } = await withServer(async (server) => {
      let accepted = 0
      let rejected = 0
      let slowest = 0
      for (const body of bodies) {
        const { result: r, slowestMs } = await healthWhile(server, send(server, body))
        if (r.status !== 200) throw new Error(`${name}: ${r.status} ${r.error}`)
        accepted += r.accepted
        rejected += r.rejected
        slowest = Math.max(slowest, slowestMs)
      }
      return { accepted, rejected, slowest }
    })
    report(`  ${name}: ${bodies.length} bodies, ${fmt(gz / 1024, 1)} KB gzip; accepted ${fmt(result.accepted)}, rejected ${fmt(result.rejected)} in ${fmt((performance.now() - t0) / 1000, 1)} s; `
      + `server peak memory (VmHWM) ${fmt(peakMiB)} MiB (${fmt(idleMiB)} MiB before the load); slowest health answer meanwhile ${fmt(result.slowest)} ms`)
  }
  if (ROWS > BODY_LIMIT) {
    const body = gzipLines(ROWS, bad)
    const { result, peakMiB, idleMiB } = await withServer(async (server) => send(server, body))
    report(`  one body of ${fmt(ROWS)} bad rows (${fmt(body.length / 1024, 1)} KB gzip): answered ${result.status} ${result.error ?? ''}; server peak memory ${fmt(peakMiB)} MiB (${fmt(idleMiB)} MiB before)`)
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  badRowMemory().catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
}
