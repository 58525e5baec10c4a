// The published assessment as PDF through Debian's Chromium: the district report and one unit's
// report of the demo district's 2025 are written to tests/artifacts/reports/, and their first
// pages rendered to PNG (pdftoppm) next to the dashboard screenshots (tests/artifacts/screenshots/
// report-district.png, report-unit.png), to be looked at.
//
// Without Chromium (or pdftoppm) these tests are skipped with a message; with
// TIERSCOPE_BROWSER_TESTS=required a missing browser is a failure. Without Chromium the API
// answers 503 pdf_unavailable with the command that installs it: checked here either way.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { IngestService } from '../ingest/index.ts'
import { loadDemoDistrict } from '../ingest/demo/index.ts'
import { PDF_INSTALL_HINT } from '../reports/index.ts'
import type { Platform } from '../warehouse/index.ts'
import { auth, CHROMIUM, makeKey, openTestApp, pdfToolsAvailable } from './support.ts'

const REQUIRED = process.env.TIERSCOPE_BROWSER_TESTS === 'required'
const AVAILABLE = pdfToolsAvailable()
const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), 'artifacts')
const YEAR = 2025
const UNIT = 'DC-S-DHM'

if (!AVAILABLE && !REQUIRED) {
  console.warn(
    `\n  Report PDF tests SKIPPED: ${existsSync(CHROMIUM) ? 'no pdftoppm' : `no Chromium at ${CHROMIUM}`}.\n` +
    '  Install them with `sudo apt-get install -y chromium fonts-noto-cjk poppler-utils` (or point TIERSCOPE_CHROMIUM at a Chromium binary) and run `npm test` again.\n',
  )
}

describe.runIf(REQUIRED && !AVAILABLE)('report PDFs (required here)', () => {
  it('finds Chromium and pdftoppm', () => {
    throw new Error(`TIERSCOPE_BROWSER_TESTS=required but ${existsSync(CHROMIUM) ? 'pdftoppm is missing' : `there is no Chromium at ${CHROMIUM}`}: apt-get install -y chromium fonts-noto-cjk poppler-utils`)
  })
})

let app: FastifyInstance
let platform: Platform
let close: () => Promise<void>
let meeting: string

beforeAll(async () => {
  ;({ app, platform, close } = await openTestApp())
  await loadDemoDistrict(platform, new IngestService(platform), { cases: 3000, from: '2025-01-01', to: '2025-12-31' })
  meeting = await makeKey(app, 'joint_meeting')
  const r = await app.inject({ method: 'POST', url: `/api/v1/reports/${YEAR}/publish`, headers: auth(meeting), payload: { note: '经联席会议审议通过。' } })
  if (r.statusCode !== 201) throw new Error(r.body)
}, 300_000)

afterAll(async () => close?.())

describe('without Chromium', () => {
  it('answers 503 pdf_unavailable with the command that installs it', async () => {
    const saved = process.env.TIERSCOPE_CHROMIUM
    process.env.TIERSCOPE_CHROMIUM = '/nonexistent/chromium'
    try {
      // a fresh app: its renderer has not started a browser yet
      const fresh = await import('../app.ts').then((m) => m.buildApp(platform))
      const r = await fresh.app.inject({ method: 'GET', url: `/reports/${YEAR}/district.pdf`, headers: auth(meeting) })
      expect(r.statusCode).toBe(503)
      expect(r.json().error).toBe('pdf_unavailable')
      expect(r.json().message).toContain(PDF_INSTALL_HINT)
      await fresh.app.close()
    } finally {
      if (saved === undefined) delete process.env.TIERSCOPE_CHROMIUM
      else process.env.TIERSCOPE_CHROMIUM = saved
    }
  })
})

describe.runIf(AVAILABLE)('the published report as PDF', () => {
  const pdfText = (file: string) => execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' })
  const write = (name: string, body: Buffer) => {
    mkdirSync(join(ARTIFACTS, 'reports'), { recursive: true })
    const file = join(ARTIFACTS, 'reports', name)
    writeFileSync(file, body)
    return file
  }
  const firstPagePng = (pdf: string, name: string) => {
    mkdirSync(join(ARTIFACTS, 'screenshots'), { recursive: true })
    const prefix = join(ARTIFACTS, 'screenshots', name)
    execFileSync('pdftoppm', ['-png', '-r', '80', '-f', '1', '-l', '1', '-singlefile', pdf, prefix])
    return `${prefix}.png`
  }

  it('writes the district report as an A4 PDF and its first page as PNG', async () => {
    const r = await app.inject({ method: 'GET', url: `/reports/${YEAR}/district.pdf`, headers: auth(meeting) })
    expect(r.statusCode, r.body.slice(0, 300)).toBe(200)
    expect(r.headers['content-type']).toBe('application/pdf')
    const body = r.rawPayload
    expect(body.subarray(0, 5).toString()).toBe('%PDF-')
    const file = write(`district-${YEAR}.pdf`, body)
    const info = execFileSync('pdfinfo', [file], { encoding: 'utf8' })
    expect(info).toMatch(/Page size:\s+59\d(\.\d+)? x 84\d(\.\d+)? pts \(A4\)/)
    expect(Number(/Pages:\s+(\d+)/.exec(info)![1])).toBeGreaterThan(5)
    const text = pdfText(file)
    expect(text).toContain('东城区政务服务三级体系联席会议')
    expect(text).toContain('2025年度政务服务绩效考核报告')
    expect(text).toContain('附录：指标定义')
    expect(text).toContain('（盖章）')
    const png = firstPagePng(file, 'report-district')
    expect(statSync(png).size).toBeGreaterThan(20_000)
    expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG')
  }, 120_000)

  it('writes one unit\'s report as PDF and its first page as PNG', async () => {
    const r = await app.inject({ method: 'GET', url: `/reports/${YEAR}/units/${UNIT}.pdf`, headers: auth(meeting) })
    expect(r.statusCode, r.body.slice(0, 300)).toBe(200)
    const file = write(`unit-${UNIT}-${YEAR}.pdf`, r.rawPayload)
    const text = pdfText(file)
    expect(text).toContain('东华门街道')
    expect(text).toContain('综合得分')
    expect(text).toContain('差评处理记录')
    const png = firstPagePng(file, 'report-unit')
    expect(statSync(png).size).toBeGreaterThan(20_000)
  }, 120_000)
})
