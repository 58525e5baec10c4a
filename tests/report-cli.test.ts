// `tierscope report` as a user runs it: a child process writing a published year's documents from
// a warehouse directory, then from a server holding that directory; both give the same bytes.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { IngestService } from '../ingest/index.ts'
import { loadDemoDistrict } from '../ingest/demo/index.ts'
import { AssessmentService, MetricsService } from '../metrics/index.ts'
import { PDF_INSTALL_HINT, ReportService } from '../reports/index.ts'
import { openPlatform } from '../warehouse/index.ts'
import { startServer, type ServerProcess } from './bench/server.ts'

const root = join(import.meta.dirname, '..')
const work = mkdtempSync(join(tmpdir(), 'tierscope-report-cli-'))
const dataDir = join(work, 'warehouse')
let units: string[] = []

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin', 'tierscope.js'), 'report', ...args], { cwd: root, env: { ...process.env, TIERSCOPE_DATA_DIR: dataDir, ...env } })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    child.on('exit', (code) => resolve({ code, out }))
  })
}

beforeAll(async () => {
  const platform = await openPlatform({ dataDir, timezone: 'Asia/Shanghai', clickhouse: undefined })
  try {
    await loadDemoDistrict(platform, new IngestService(platform), { cases: 1000, from: '2025-01-01', to: '2025-12-31' })
    const reports = new ReportService(platform, new AssessmentService(platform, new MetricsService(platform)))
    await reports.publish(2025, 'test')
    units = (await reports.frozen(2025)).units.map((u) => u.unit_id)
  } finally {
    await platform.close()
  }
}, 300_000)

afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('tierscope report --data-dir', () => {
  it('writes the district report and every unit\'s report', async () => {
    const out = join(work, 'html')
    const r = await cli(['--year', '2025', '--format', 'html', '--out', out, '--data-dir', dataDir])
    expect(r.code, r.out).toBe(0)
    expect(r.out).toContain(`${units.length} unit reports`)
    const files = readdirSync(out)
    expect(files).toContain('district-2025.html')
    expect(files.length).toBe(units.length + 1)
    for (const u of units) expect(readFileSync(join(out, `unit-${u}-2025.html`), 'utf8')).toContain('data-section="appendix"')
  }, 120_000)

  it('writes one unit\'s rows of the score table', async () => {
    const out = join(work, 'csv')
    const r = await cli(['--year', '2025', '--unit', 'DC-S-DHM', '--format', 'csv', '--out', out, '--data-dir', dataDir])
    expect(r.code, r.out).toBe(0)
    const lines = readFileSync(join(out, 'unit-DC-S-DHM-2025.csv'), 'utf8').trim().split('\r\n')
    expect(lines.length).toBeGreaterThan(5)
    expect(lines.slice(1).every((l) => l.includes('"DC-S-DHM"'))).toBe(true)
  })

  it('says clearly what is wrong: a year not published, a bad format, no Chromium', async () => {
    const notYet = await cli(['--year', '2024', '--format', 'html', '--out', join(work, 'x'), '--data-dir', dataDir])
    expect(notYet.code).toBe(1)
    expect(notYet.out).toContain('has not been published')
    const format = await cli(['--year', '2025', '--format', 'docx', '--out', join(work, 'x'), '--data-dir', dataDir])
    expect(format.code).toBe(1)
    expect(format.out).toContain('--format must be one of html, pdf, csv, xlsx')
    const pdf = await cli(['--year', '2025', '--format', 'pdf', '--out', join(work, 'x'), '--data-dir', dataDir], { TIERSCOPE_CHROMIUM: '/nonexistent/chromium' })
    expect(pdf.code).toBe(1)
    expect(pdf.out).toContain(PDF_INSTALL_HINT)
    expect(existsSync(join(work, 'x', 'district-2025.pdf'))).toBe(false)
  })
})

describe('tierscope report --url', () => {
  let server: ServerProcess

  beforeAll(async () => {
    server = await startServer(dataDir)
  }, 300_000)

  afterAll(async () => server?.stop())

  it('writes the same bytes through the server as from the directory, and the XLSX', async () => {
    const out = join(work, 'via-server')
    const r = await cli(['--year', '2025', '--unit', 'DC-S-DHM', '--format', 'html', '--out', out, '--url', server.url, '--key', server.adminToken])
    expect(r.code, r.out).toBe(0)
    expect(readFileSync(join(out, 'unit-DC-S-DHM-2025.html'), 'utf8')).toBe(readFileSync(join(work, 'html', 'unit-DC-S-DHM-2025.html'), 'utf8'))
    const x = await cli(['--year', '2025', '--format', 'xlsx', '--out', out, '--url', server.url, '--key', server.adminToken])
    expect(x.code, x.out).toBe(0)
    expect(readFileSync(join(out, 'district-2025.xlsx')).subarray(0, 2).toString()).toBe('PK')
    const bad = await cli(['--year', '2025', '--format', 'html', '--out', out, '--url', server.url, '--key', 'not-a-key'])
    expect(bad.code).toBe(1)
    expect(bad.out).toContain('401')
  }, 120_000)
})
