// npm run bench: generates the demo district's case events (≥ 1M by default), ingests them over
// HTTP into a real server process, and prints throughput next to the embedded engine's own bulk
// insert of the same rows, the server's peak memory, and the latency of the case-list queries.
// Figures, not assertions: nothing here fails on a slow machine.
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import { demoReference, demoStream } from '../../ingest/demo/index.ts'
import { officialCalendarFromPackage, openWarehouse } from '../../warehouse/index.ts'
import { startServer } from './server.ts'
import { fmt, timeRepeated } from './stats.ts'

const CASES = Number(process.env.TIERSCOPE_BENCH_CASES ?? 250_000)
const CHUNK_ROWS = Number(process.env.TIERSCOPE_BENCH_CHUNK ?? 100_000)
const work = mkdtempSync(join(tmpdir(), 'tierscope-bench-'))
const lines: string[] = []
const report = (s = '') => {
  lines.push(s)
  console.log(s)
}

async function main(): Promise<void> {
  report(`# tierscope bench — ${new Date().toISOString()}`)
  report(`machine: ${(await import('node:os')).cpus().length} cores, Node ${process.version}`)

  // 1. The demo district's case events as one NDJSON file.
  const working = new Map(officialCalendarFromPackage().map((d) => [d.date, d.is_working]))
  const isWorkingDay = (date: string) => {
    const w = working.get(date)
    if (w === undefined) throw new Error(`no calendar for ${date}`)
    return w
  }
  const file = join(work, 'case-events.ndjson')
  const out = createWriteStream(file)
  let events = 0
  let t = performance.now()
  for (const batch of demoStream('case-events', { cases: CASES }, isWorkingDay, 50_000)) {
    const text = batch.map((r) => JSON.stringify(r)).join('\n') + '\n'
    events += batch.length
    if (!out.write(text)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
  const mb = statSync(file).size / 1e6
  report(`generated ${fmt(events)} case events of ${fmt(CASES)} cases (${fmt(mb, 1)} MB NDJSON) in ${fmt((performance.now() - t) / 1000, 1)} s`)

  // 2. The engine's own bulk insert of the same rows: INSERT … SELECT FROM file(), no validation.
  const engineDir = join(work, 'engine')
  const engine = await openWarehouse({ dataDir: engineDir, timezone: 'Asia/Shanghai', clickhouse: undefined })
  await engine.client.command({
    query: `CREATE TABLE raw_case_events (event_id String, case_id String, type LowCardinality(String), occurred_at DateTime64(3, 'Asia/Shanghai'),
      unit_id LowCardinality(String), item_code LowCardinality(Nullable(String)), channel LowCardinality(Nullable(String)),
      due_at Nullable(DateTime64(3, 'Asia/Shanghai')), to_unit_id Nullable(String), staff_id Nullable(String),
      applicant_type LowCardinality(Nullable(String)), attrs Nullable(String)) ENGINE = MergeTree ORDER BY (case_id, occurred_at, event_id)`,
  })
  t = performance.now()
  await engine.client.command({
    query: `INSERT INTO raw_case_events SELECT * FROM file({path:String}, 'JSONEachRow') SETTINGS date_time_input_format = 'best_effort'`,
    query_params: { path: file },
  })
  const engineSeconds = (performance.now() - t) / 1000
  const engineRate = events / engineSeconds
  await engine.close()
  report(`engine INSERT … SELECT FROM file(JSONEachRow): ${fmt(engineRate)} rows/s (${fmt(engineSeconds, 2)} s)`)

  // 3. The same rows over HTTP into a server process, with full validation and deduplication.
  const server = await startServer(join(work, 'server'))
  const admin = { authorization: `Bearer ${server.adminToken}` }
  try {
    const ref = demoReference()
    for (const kind of ['units', 'items'] as const) {
      const r = await fetch(`${server.url}/api/v1/reference/${kind}`, { method: 'PUT', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify(ref[kind]) })
      if (!r.ok) throw new Error(`reference ${kind}: ${r.status} ${await r.text()}`)
    }
    const body = readFileSync(file)
    let accepted = 0
    let rejected = 0
    t = performance.now()
    let start = 0
    let rows = 0
    while (start < body.length) {
      // cut at a line boundary after CHUNK_ROWS lines
      let end = start
      for (let i = 0; i < CHUNK_ROWS && end < body.length; i++) {
        const nl = body.indexOf(0x0a, end)
        end = nl === -1 ? body.length : nl + 1
      }
      const r = await fetch(`${server.url}/api/v1/ingest/case-events`, { method: 'POST', headers: { ...admin, 'content-type': 'application/x-ndjson' }, body: body.subarray(start, end) })
      if (!r.ok) throw new Error(`ingest: ${r.status} ${await r.text()}`)
      const receipt = (await r.json()) as { received: number; accepted: number; rejected: number }
      accepted += receipt.accepted
      rejected += receipt.rejected
      rows += receipt.received
      start = end
    }
    const httpSeconds = (performance.now() - t) / 1000
    const httpRate = rows / httpSeconds
    report(`HTTP ingest (NDJSON, ${fmt(CHUNK_ROWS)}-row bodies, validated and deduplicated): ${fmt(httpRate)} rows/s (${fmt(httpSeconds, 1)} s), accepted ${fmt(accepted)}, rejected ${fmt(rejected)}`)
    report(`ratio HTTP ingest / engine bulk insert: ${fmt(httpRate / engineRate, 2)}`)
    t = performance.now()
    const again = await fetch(`${server.url}/api/v1/ingest/case-events`, { method: 'POST', headers: { ...admin, 'content-type': 'application/x-ndjson' }, body: body.subarray(0, Math.min(body.length, body.indexOf(0x0a, 20_000_000) + 1 || body.length)) })
    const dup = (await again.json()) as { received: number; duplicates: number }
    report(`resending ${fmt(dup.received)} rows: ${fmt(dup.duplicates)} duplicates in ${fmt((performance.now() - t) / 1000, 2)} s`)
    report(`server peak memory (VmHWM): ${fmt(server.peakRssMiB())} MiB`)

    // 4. Query latency through the API.
    const keyRes = await fetch(`${server.url}/api/v1/keys`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bench inspector', role: 'inspector', units: [] }) })
    const inspector = { authorization: `Bearer ${((await keyRes.json()) as { token: string }).token}` }
    const getJson = async (path: string) => {
      const r = await fetch(`${server.url}${path}`, { headers: inspector })
      if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`)
      return r.json() as Promise<{ rows: Array<{ case_id: string; unit_id: string }>; next_cursor?: string }>
    }
    const sample = await getJson('/api/v1/cases?limit=100')
    const someCase = sample.rows[50]?.case_id ?? sample.rows[0]!.case_id
    const someUnit = sample.rows[0]!.unit_id
    const queries: Array<[string, string]> = [
      ['district overdue list (open, 红牌), first 100', '/api/v1/cases?status=open&overdue=true&limit=100'],
      ['district warning list (黄牌), first 100', '/api/v1/cases?warning=true&limit=100'],
      ['one unit, all cases, first 100', `/api/v1/cases?unit_id=${encodeURIComponent(someUnit)}&limit=100`],
      ['tier 2 overdue, first 100', '/api/v1/cases?tier=2&overdue=true&limit=100'],
      ['next page (cursor)', `/api/v1/cases?limit=100&cursor=${sample.next_cursor}`],
      ['one case with its timeline', `/api/v1/cases/${encodeURIComponent(someCase)}`],
      ['one case as of 2025-06-30', `/api/v1/cases/${encodeURIComponent(someCase)}?as_of=2025-06-30T23:59:59%2B08:00`],
      ['on_time_rate by unit, this year', '/api/v1/metrics/on_time_rate?by=unit'],
      ['overdue_cases by month, 2025', '/api/v1/metrics/overdue_cases?from=2025-01-01&to=2025-12-31&by=month'],
    ]
    report('')
    report('| query | p50 ms | p95 ms |')
    report('|---|---:|---:|')
    for (const [name, path] of queries) {
      const s = await timeRepeated(10, () => getJson(path))
      report(`| ${name} | ${fmt(s.p50)} | ${fmt(s.p95)} |`)
    }
    report('')
    report(`server peak memory after queries (VmHWM): ${fmt(server.peakRssMiB())} MiB`)
  } finally {
    await server.stop()
    rmSync(work, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  console.error(err)
  rmSync(work, { recursive: true, force: true })
  process.exit(1)
})
