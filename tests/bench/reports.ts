// The annual assessment's bench: publish the demo year on a running server, then time every
// unit's published report rendered as HTML and as PDF (one after another, as the CLI's all-units
// run asks for them). Figures, not assertions.
//
// From run.ts, on the server holding the 10M-event demo district (after its queries):
//   await timeReports({ url: server.url, adminToken: server.adminToken, year: 2025, report })
// Alone: `npx tsx tests/bench/reports.ts` starts `main.ts --demo` (TIERSCOPE_DEMO_CASES cases,
// 60,000 by default) on TIERSCOPE_BENCH_DATA_DIR or a temporary directory, and times the same.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startServer } from './server.ts'
import { fmt, percentile } from './stats.ts'

export interface ReportTimings {
  publishSeconds: number
  units: number
  html: { totalSeconds: number; medianMs: number; perSecond: number; bytes: number }
  pdf: { totalSeconds: number; medianMs: number; perSecond: number; bytes: number } | null
}

async function timeAll(url: string, token: string, paths: string[]): Promise<{ totalSeconds: number; medianMs: number; perSecond: number; bytes: number }> {
  const times: number[] = []
  let bytes = 0
  const started = performance.now()
  for (const path of paths) {
    const t = performance.now()
    const r = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } })
    const body = await r.arrayBuffer()
    if (!r.ok) throw new Error(`${path}: ${r.status} ${Buffer.from(body).toString().slice(0, 300)}`)
    times.push(performance.now() - t)
    bytes += body.byteLength
  }
  const totalSeconds = (performance.now() - started) / 1000
  times.sort((a, b) => a - b)
  return { totalSeconds, medianMs: percentile(times, 50), perSecond: paths.length / totalSeconds, bytes }
}

/** Publishes `year` (a new version if it is published already) and times every unit's report as HTML, then as PDF. */
export async function timeReports(opts: { url: string; adminToken: string; year: number; report?: (line: string) => void; pdf?: boolean }): Promise<ReportTimings> {
  const report = opts.report ?? ((line: string) => console.log(line))
  const auth = { authorization: `Bearer ${opts.adminToken}` }
  let t = performance.now()
  const published = await fetch(`${opts.url}/api/v1/reports/${opts.year}/publish`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ note: 'bench' }) })
  if (published.status !== 201) throw new Error(`publishing ${opts.year}: ${published.status} ${await published.text()}`)
  const publishSeconds = (performance.now() - t) / 1000
  const version = ((await published.json()) as { version: number }).version
  const asked = await fetch(`${opts.url}/api/v1/reports/${opts.year}`, { headers: auth })
  if (!asked.ok) throw new Error(`the status of ${opts.year}: ${asked.status} ${await asked.text()}`)
  const status = (await asked.json()) as { units: Array<{ unit_id: string }> }
  const units = status.units.map((u) => u.unit_id)
  report(`annual assessment ${opts.year}: published (version ${version}, all tiers frozen) in ${fmt(publishSeconds, 1)} s; ${units.length} units`)

  t = performance.now()
  await timeAll(opts.url, opts.adminToken, [`/reports/${opts.year}/district.html`]) // an error page is not timed as a report
  report(`  district report, HTML (first, reads the frozen figures): ${fmt(performance.now() - t)} ms`)
  const html = await timeAll(opts.url, opts.adminToken, units.map((u) => `/reports/${opts.year}/units/${encodeURIComponent(u)}.html`))
  report(`  every unit's report as HTML: ${fmt(html.totalSeconds, 1)} s, median ${fmt(html.medianMs)} ms per report, ${fmt(html.perSecond, 1)} reports/s (${fmt(html.bytes / 1e6, 1)} MB)`)

  let pdf: ReportTimings['pdf'] = null
  if (opts.pdf !== false) {
    const probe = await fetch(`${opts.url}/reports/${opts.year}/district.pdf`, { headers: auth })
    if (probe.status === 503) {
      report(`  PDF: skipped (${((await probe.json()) as { message: string }).message})`)
    } else {
      await probe.arrayBuffer()
      pdf = await timeAll(opts.url, opts.adminToken, units.map((u) => `/reports/${opts.year}/units/${encodeURIComponent(u)}.pdf`))
      report(`  every unit's report as PDF (one Chromium, reused): ${fmt(pdf.totalSeconds, 1)} s, median ${fmt(pdf.medianMs)} ms per report, ${fmt(pdf.perSecond, 2)} reports/s (${fmt(pdf.bytes / 1e6, 1)} MB)`)
    }
  }
  return { publishSeconds, units: units.length, html, pdf }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const kept = process.env.TIERSCOPE_BENCH_DATA_DIR
  const dir = kept ?? mkdtempSync(join(tmpdir(), 'tierscope-bench-reports-'))
  const year = Number(process.env.TIERSCOPE_BENCH_REPORT_YEAR ?? 2025)
  const t0 = performance.now()
  const server = await startServer(dir, { demo: true })
  console.log(`server up on ${dir} in ${fmt((performance.now() - t0) / 1000, 1)} s`)
  try {
    await timeReports({ url: server.url, adminToken: server.adminToken, year })
  } finally {
    await server.stop()
    if (!kept) rmSync(dir, { recursive: true, force: true })
  }
}
