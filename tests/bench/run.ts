// npm run bench: the demo district's case events (10M+ by default) ingested over HTTP into a real
// server process, as NDJSON and as Arrow, next to the embedded engine's own bulk insert of the
// same files; the server's peak memory; the latency of the case and indicator queries; and the
// server's peak memory for gzip bodies of bad rows next to as many good ones (bad-rows.ts).
// Figures, not assertions: nothing here fails on a slow machine.
//
// TIERSCOPE_BENCH_DATA_DIR=<dir> keeps the NDJSON server's data directory there (with the other
// demo streams and the targets loaded too); run again with the same variable and, finding the
// directory loaded, the bench only starts a server on it and times the queries and the dashboard views.
import { createWriteStream, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import { demoReference, demoStream } from '../../ingest/demo/index.ts'
import { arrowChunks, ndjsonChunks, type Chunk } from '../../ingest/chunks.ts'
import { officialCalendarFromPackage, openWarehouse, type Warehouse } from '../../warehouse/index.ts'
import { startServer, type ServerProcess } from './server.ts'
import { timeReports } from './reports.ts'
import { fmt, timeRepeated } from './stats.ts'
import { timeDashboardViews } from './views.ts'
import { gradeSpread } from './grades.ts'
import { badRowMemory } from './bad-rows.ts'
import { derivedWorth } from './derived-worth.ts'
import { indicatorTimes } from './indicators.ts'
import { STREAM_NAMES } from '../../ingest/contract.ts'

const CASES = Number(process.env.TIERSCOPE_BENCH_CASES ?? 2_500_000)
const BODY_ROWS = Number(process.env.TIERSCOPE_BENCH_BODY_ROWS ?? 100_000)
/** Clients sending bodies at once. */
const CLIENTS = Number(process.env.TIERSCOPE_BENCH_CLIENTS ?? 2)
/**
 * `ingest`: stop after the ingest figures (NDJSON and Arrow), for a quick look at the receipt path;
 * `views`: with a loaded TIERSCOPE_BENCH_DATA_DIR, time only the dashboard's views.
 */
const ONLY = process.env.TIERSCOPE_BENCH_ONLY
const work = mkdtempSync(join(tmpdir(), 'tierscope-bench-'))
const KEPT_DIR = process.env.TIERSCOPE_BENCH_DATA_DIR
const LOADED_MARK = (dir: string) => join(dir, 'bench-loaded.json')
const report = (s = '') => console.log(s)
const seconds = (t0: number) => (performance.now() - t0) / 1000

/** The demo district's case events as one NDJSON file. */
async function generate(file: string): Promise<number> {
  const working = new Map(officialCalendarFromPackage().map((d) => [d.date, d.is_working]))
  const isWorkingDay = (date: string) => {
    const w = working.get(date)
    if (w === undefined) throw new Error(`no calendar for ${date}`)
    return w
  }
  const out = createWriteStream(file)
  let events = 0
  for (const batch of demoStream('case-events', { cases: CASES }, isWorkingDay, 50_000)) {
    events += batch.length
    if (!out.write(batch.map((r) => JSON.stringify(r)).join('\n') + '\n')) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
  return events
}

const RAW_TABLE = `(event_id String, case_id String, type LowCardinality(String), occurred_at DateTime64(3, 'Asia/Shanghai'),
  unit_id LowCardinality(String), item_code LowCardinality(Nullable(String)), channel LowCardinality(Nullable(String)),
  due_at Nullable(DateTime64(3, 'Asia/Shanghai')), to_unit_id Nullable(String), staff_id Nullable(String),
  applicant_type LowCardinality(Nullable(String)), attrs Nullable(String)) ENGINE = MergeTree ORDER BY (case_id, occurred_at, event_id)`

/** The engine's own INSERT … SELECT FROM file() of a file into a plain table: no validation, no dedup. */
async function engineInsert(engine: Warehouse, table: string, file: string, format: 'JSONEachRow' | 'ArrowStream', rows: number): Promise<number> {
  await engine.client.command({ query: `CREATE TABLE ${table} ${RAW_TABLE}` })
  const t0 = performance.now()
  await engine.client.command({ query: `INSERT INTO ${table} SELECT * FROM file({path:String}, '${format}') SETTINGS date_time_input_format = 'best_effort'`, query_params: { path: file } })
  return rows / seconds(t0)
}

/** Bodies sent by `CLIENTS` clients at once, each taking the next body when its last is answered. */
async function httpIngest(server: ServerProcess, chunks: AsyncGenerator<Chunk>): Promise<{ rate: number; rows: number; accepted: number; rejected: number; secs: number; countedAfter: number; cases: number }> {
  const headers = { authorization: `Bearer ${server.adminToken}` }
  const type = { ndjson: 'application/x-ndjson', arrow: 'application/vnd.apache.arrow.stream', csv: 'text/csv', json: 'application/json' }
  let rows = 0
  let accepted = 0
  let rejected = 0
  const t0 = performance.now()
  const client = async () => {
    for (;;) {
      const next = await chunks.next()
      if (next.done) return
      const chunk = next.value
      const r = await fetch(`${server.url}/api/v1/ingest/case-events`, { method: 'POST', headers: { ...headers, 'content-type': type[chunk.format] }, body: chunk.body as unknown as Blob })
      if (!r.ok) throw new Error(`ingest: ${r.status} ${await r.text()}`)
      const receipt = (await r.json()) as { received: number; accepted: number; rejected: number }
      rows += receipt.received
      accepted += receipt.accepted
      rejected += receipt.rejected
    }
  }
  await Promise.all(Array.from({ length: CLIENTS }, client))
  const secs = seconds(t0)
  // how long after the last receipt a question counts every acknowledged row: the cases per unit
  // (which waits for the derived state to take in every batch acknowledged before it)
  const t1 = performance.now()
  const counts = await fetch(`${server.url}/api/v1/cases/counts?by=unit`, { headers })
  if (!counts.ok) throw new Error(`counts: ${counts.status} ${await counts.text()}`)
  const countedAfter = seconds(t1)
  const cases = ((await counts.json()) as { rows: Array<{ cases: number }> }).rows.reduce((n, r) => n + r.cases, 0)
  return { rate: rows / secs, rows, accepted, rejected, secs, countedAfter, cases }
}

async function serverWithReference(dir: string, withTargets = false): Promise<ServerProcess> {
  const server = await startServer(dir)
  const ref = demoReference()
  for (const kind of withTargets ? (['units', 'items', 'targets'] as const) : (['units', 'items'] as const)) {
    const r = await fetch(`${server.url}/api/v1/reference/${kind}`, { method: 'PUT', headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(ref[kind]) })
    if (!r.ok) throw new Error(`reference ${kind}: ${r.status} ${await r.text()}`)
  }
  return server
}

async function queryLatencies(server: ServerProcess): Promise<void> {
  const admin = { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' }
  const keyRes = await fetch(`${server.url}/api/v1/keys`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'bench inspector', role: 'inspector', units: [] }) })
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
  // dashboard-shaped: the joint meeting's tier rankings, a unit leader's monthly trends
  queries.push(
    ['tier 2 assessment 2025 (composite, grades, ranks)', '/api/v1/assessment?year=2025&tier=2'],
    ['tier 2 ranking on on_time_rate 2025', '/api/v1/rankings/on_time_rate?year=2025&tier=2'],
    ['tier 2 ranking on satisfaction_rate 2025', '/api/v1/rankings/satisfaction_rate?year=2025&tier=2'],
    ['tier 1 ranking on cost_per_case 2025', '/api/v1/rankings/cost_per_case?year=2025&tier=1'],
  )
  // (first: computed; the runs after it, nothing stored in between, take the answer kept across
  // moments where the question reads the figures or the cases: warehouse/answers.ts)
  report('| query | first ms | p50 ms | p95 ms |')
  report('|---|---:|---:|---:|')
  for (const [name, path] of queries) {
    const s = await timeRepeated(10, () => getJson(path))
    report(`| ${name} | ${fmt(s.first)} | ${fmt(s.p50)} | ${fmt(s.p95)} |`)
  }
  // one unit's monthly trend of every indicator, as a unit leader's page asks for it
  const catalogue = ((await getJson('/api/v1/metrics')) as unknown as { metrics: Array<{ id: string }> }).metrics.map((m) => m.id).filter((id) => id !== 'composite_score')
  const trend = await timeRepeated(3, async () => {
    for (const id of catalogue) await getJson(`/api/v1/metrics/${id}?scope=unit:${encodeURIComponent(someUnit)}&by=month&from=2025-01-01&to=2025-12-31`)
  })
  report(`| one unit's monthly trend of all ${catalogue.length} indicators, 2025 (sequential) | ${fmt(trend.first)} | ${fmt(trend.p50)} | ${fmt(trend.p95)} |`)
  // every unit's composite score of 2025: the three tiers assessed in one request (their figures asked once)
  let t0 = performance.now()
  const scores = (await getJson('/api/v1/metrics/composite_score?by=unit&from=2025-01-01&to=2025-12-31')).rows.length
  const whole = seconds(t0)
  t0 = performance.now()
  for (const tier of [1, 2, 3]) await getJson(`/api/v1/assessment?year=2025&tier=${tier}`)
  report('')
  report(`the whole 2025 assessment of every unit (composite_score by unit, ${fmt(scores)} units, one request): ${fmt(whole, 2)} s; the three tiers' pages one after another: ${fmt(seconds(t0), 2)} s`)
}

/** The demo district's other streams (ratings, follow-ups, complaints, queue tickets, costs), over HTTP. */
async function loadOtherStreams(server: ServerProcess): Promise<void> {
  const working = new Map(officialCalendarFromPackage().map((d) => [d.date, d.is_working]))
  const isWorkingDay = (date: string) => working.get(date) ?? false
  for (const stream of STREAM_NAMES.filter((s) => s !== 'case-events')) {
    const t0 = performance.now()
    let accepted = 0
    for (const batch of demoStream(stream, { cases: CASES }, isWorkingDay, 100_000)) {
      const r = await fetch(`${server.url}/api/v1/ingest/${stream}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/x-ndjson' },
        body: batch.map((x) => JSON.stringify(x)).join('\n') + '\n',
      })
      if (!r.ok) throw new Error(`ingest ${stream}: ${r.status} ${await r.text()}`)
      accepted += ((await r.json()) as { accepted: number }).accepted
    }
    report(`${stream}: ${fmt(accepted)} records loaded in ${fmt(seconds(t0), 1)} s`)
  }
}

/** The queries and the dashboard views against a server on a loaded data directory. */
async function queries(server: ServerProcess): Promise<void> {
  await queryLatencies(server)
  report('')
  await timeDashboardViews(server, report)
  report('')
  // whether size decides the grade, in last year's assessment (the demo's first full year)
  await gradeSpread(server, new Date().getFullYear() - 1, report)
  report('')
  // the annual assessment of last year: publish, then every unit's report
  await timeReports({ url: server.url, adminToken: server.adminToken, year: new Date().getFullYear() - 1, report })
  report('')
  report(`server peak memory (VmHWM) after the queries: ${fmt(server.peakRssMiB())} MiB`)
}

async function main(): Promise<void> {
  report(`# tierscope bench — ${new Date().toISOString()}`)
  report(`machine: ${cpus().length} cores, Node ${process.version}`)

  if (KEPT_DIR && existsSync(LOADED_MARK(KEPT_DIR))) {
    report(`queries only, against the data loaded in ${KEPT_DIR}`)
    report('')
    const t0 = performance.now()
    const server = await startServer(KEPT_DIR)
    report(`server up in ${fmt(seconds(t0), 1)} s`)
    try {
      if (ONLY === 'views') await timeDashboardViews(server, report)
      else await queries(server)
    } finally {
      await server.stop()
    }
    if (ONLY === 'views') return
    report('')
    await derivedWorth(KEPT_DIR, report)
    report('')
    await indicatorTimes(KEPT_DIR, report)
    return
  }

  const ndjson = join(work, 'case-events.ndjson')
  let t0 = performance.now()
  const events = await generate(ndjson)
  report(`generated ${fmt(events)} case events of ${fmt(CASES)} cases (${fmt(statSync(ndjson).size / 1e6, 1)} MB NDJSON) in ${fmt(seconds(t0), 1)} s`)

  // The engine's own bulk insert of the same rows, and the same rows as an Arrow stream.
  const engine = await openWarehouse({ dataDir: join(work, 'engine'), timezone: 'Asia/Shanghai', clickhouse: undefined })
  const engineNdjson = await engineInsert(engine, 'raw_ndjson', ndjson, 'JSONEachRow', events)
  const arrow = join(work, 'case-events.arrow')
  // the same rows as an Arrow stream (timestamps as Arrow timestamps), written by the engine
  await engine.client.command({
    query: `INSERT INTO FUNCTION file({out:String}, 'ArrowStream') SELECT * FROM raw_ndjson SETTINGS output_format_arrow_compression_method = 'none'`,
    query_params: { out: arrow },
  })
  const engineArrow = await engineInsert(engine, 'raw_arrow', arrow, 'ArrowStream', events)
  await engine.close()
  report(`engine INSERT … SELECT FROM file(): NDJSON ${fmt(engineNdjson)} rows/s, Arrow ${fmt(engineArrow)} rows/s (plain MergeTree table, no validation, no dedup)`)
  report('')

  // Over HTTP into a server process: full validation, scope check, dedup, quarantine, case state.
  const a = await serverWithReference(KEPT_DIR ?? join(work, 'server-ndjson'), true)
  try {
    const nd = await httpIngest(a, ndjsonChunks(ndjson, false, BODY_ROWS))
    report(`HTTP ingest, NDJSON (${fmt(BODY_ROWS)}-row bodies, ${CLIENTS} clients): ${fmt(nd.rate)} rows/s (${fmt(nd.secs, 1)} s), accepted ${fmt(nd.accepted)}, rejected ${fmt(nd.rejected)}; ratio to the engine's NDJSON insert ${fmt(nd.rate / engineNdjson, 2)}`)
    report(`  every acknowledged row counted ${fmt(nd.countedAfter, 1)} s after the last receipt (${fmt(nd.cases)} cases of ${fmt(CASES)})`)
    t0 = performance.now()
    const again = await httpIngest(a, (async function* () {
      for await (const c of ndjsonChunks(ndjson, false, BODY_ROWS)) {
        yield c
        return
      }
    })())
    report(`resending one body of ${fmt(again.rows)} rows: all duplicates, ${fmt(again.rows / seconds(t0))} rows/s`)
    report(`server peak memory (VmHWM) after the NDJSON load: ${fmt(a.peakRssMiB())} MiB`)
    report('')
    // the rest of the district, so that rating, cost and complaint figures have data behind them
    if (ONLY !== 'ingest') {
      await loadOtherStreams(a)
      if (KEPT_DIR) writeFileSync(LOADED_MARK(KEPT_DIR), JSON.stringify({ cases: CASES, events, loaded_at: new Date().toISOString() }))
      report('')
      await queries(a)
    }
  } finally {
    await a.stop()
  }
  if (ONLY !== 'ingest') {
    report('')
    report('what each derived table is worth (the server stopped; its directory opened here):')
    await derivedWorth(KEPT_DIR ?? join(work, 'server-ndjson'), report)
    report('')
    await indicatorTimes(KEPT_DIR ?? join(work, 'server-ndjson'), report)
  }

  const b = await serverWithReference(join(work, 'server-arrow'))
  try {
    const ar = await httpIngest(b, arrowChunks(arrow, BODY_ROWS))
    report(`HTTP ingest, Arrow (${fmt(BODY_ROWS)}-row bodies, ${CLIENTS} clients): ${fmt(ar.rate)} rows/s (${fmt(ar.secs, 1)} s), accepted ${fmt(ar.accepted)}, rejected ${fmt(ar.rejected)}; ratio to the engine's Arrow insert ${fmt(ar.rate / engineArrow, 2)}`)
    report(`  every acknowledged row counted ${fmt(ar.countedAfter, 1)} s after the last receipt (${fmt(ar.cases)} cases of ${fmt(CASES)})`)
    report(`server peak memory (VmHWM) after the Arrow load: ${fmt(b.peakRssMiB())} MiB`)
  } finally {
    await b.stop()
  }
  report('')
  if (ONLY !== 'ingest') await badRowMemory(report)
}

main()
  .catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
  .finally(() => rmSync(work, { recursive: true, force: true }))
