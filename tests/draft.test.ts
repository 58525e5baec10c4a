// The draft for comment (征求意见稿) on the real engine: the demo district's 2025 (3,000 cases)
// before it is published, and the current year as it stands. A draft is the published documents'
// renderer on the assessment computed now (what publishing would freeze, held in memory), marked
// as a draft on every page, with no seal; the same access rules as the published documents; it
// follows the data as it arrives, while a published report does not. With Chromium, the draft
// PDF carries the mark on every page (tests/artifacts/screenshots/report-draft.png to look at).
import { execFileSync } from 'node:child_process'
import { mkdirSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { IngestService } from '../ingest/index.ts'
import { loadDemoDistrict } from '../ingest/demo/index.ts'
import { AssessmentService, MetricsService, type TierAssessment } from '../metrics/index.ts'
import { DISTRICT_SECTIONS, ReportService, UNIT_SECTIONS } from '../reports/index.ts'
import { localDate, type Platform } from '../warehouse/index.ts'
import { ADMIN, auth, makeKey, openTestApp, pdfToolsAvailable } from './support.ts'

const YEAR = 2025
const LEADER_UNIT = 'DC-S-DHM'
const OTHER_UNIT = 'DC-S-JS'
const PDF = pdfToolsAvailable()
const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), 'artifacts')

let app: FastifyInstance
let platform: Platform
let close: () => Promise<void>
let reports: ReportService
let meeting: string
let inspector: string
let leader: string
let thisYear: number

const get = (url: string, token = meeting) => app.inject({ method: 'GET', url, headers: auth(token) })
const ingest = (rows: object[]) => app.inject({ method: 'POST', url: '/api/v1/ingest/evaluations', headers: { 'content-type': 'application/x-ndjson', ...auth(ADMIN) }, payload: rows.map((x) => JSON.stringify(x)).join('\n') })
const badRatings = (prefix: string, n: number, year: number) => Array.from({ length: n }, (_, k) => ({
  event_id: `${prefix}-${k}`, unit_id: LEADER_UNIT, rating: 1, active: true, channel: 'sms',
  occurred_at: `${year}-11-${String(10 + k).padStart(2, '0')}T10:00:00+08:00`, comment: '补报的差评',
}))
/** The marks every draft carries, and what only a publication has. */
function expectDraftMarks(html: string) {
  expect(html).toMatch(/<title>[^<]*（征求意见稿）[^<]*<\/title>/)
  expect(html).toContain('<div class="draft-line" data-draft>征求意见稿')
  expect(html).toContain('data-watermark')
  expect(html).toMatch(/征求意见稿 — 数据截至 \d{4}-\d\d-\d\d \d\d:\d\d，以正式发布为准/)
  expect(html).toContain('年度政务服务绩效考核报告（征求意见稿）</h1>')
  expect(html).toContain('data-section="draft_notice"')
  // no seal, no signature, no date of publication, no version, no publication id
  expect(html).not.toContain('data-section="signature"')
  expect(html).not.toContain('（盖章）')
  expect(html).not.toContain('（印章）')
  expect(html).not.toContain('负责人（签字）')
  expect(html).not.toContain('发布日期')
  expect(html).not.toContain('发布编号')
  expect(html).not.toContain('正式发布数据')
}
const unitOf = async (year: number, unitId: string) => {
  const tiers = await Promise.all(([1, 2, 3] as const).map(async (tier) => (await get(`/api/v1/assessment?year=${year}&tier=${tier}`)).json() as TierAssessment))
  return tiers.flatMap((t) => t.units).find((u) => u.unit_id === unitId)!
}

beforeAll(async () => {
  ;({ app, platform, close } = await openTestApp())
  await loadDemoDistrict(platform, new IngestService(platform), { cases: 3000, from: '2025-01-01', to: '2025-12-31' })
  reports = new ReportService(platform, new AssessmentService(platform, new MetricsService(platform)))
  meeting = await makeKey(app, 'joint_meeting')
  inspector = await makeKey(app, 'inspector')
  leader = await makeKey(app, 'unit_leader', [LEADER_UNIT])
  thisYear = Number(localDate(Date.now(), platform.warehouse.timezone).slice(0, 4))
}, 300_000)

afterAll(async () => {
  await reports?.close()
  await close?.()
})

describe('a year not published', () => {
  it('says a draft is available, with its links and units (a unit leader: its own)', async () => {
    const s = (await get(`/api/v1/reports/${YEAR}`)).json()
    expect(s).toMatchObject({ published: false, draft: { available: true }, links: { draft_district_html: `/reports/${YEAR}/draft/district.html`, draft_unit_pdf: `/reports/${YEAR}/draft/units/{unit_id}.pdf` } })
    expect(s.links.district_html).toBeUndefined()
    expect(s.draft.units).toHaveLength(platform.reference.units.size)
    const mine = (await get(`/api/v1/reports/${YEAR}`, leader)).json().draft.units.map((u: { unit_id: string }) => u.unit_id)
    expect(new Set(mine)).toEqual(new Set(platform.reference.withDescendants(LEADER_UNIT)))
    expect((await get(`/api/v1/reports/${thisYear}`)).json().draft.available).toBe(true)
    expect((await get(`/api/v1/reports/${thisYear + 2}`)).json().draft.available).toBe(false)
  })

  it('renders the district draft: every section, the draft marks, no seal, the current figures', async () => {
    const r = await get(`/reports/${YEAR}/draft/district.html`, inspector)
    expect(r.statusCode, r.body.slice(0, 300)).toBe(200)
    expect(r.headers['content-type']).toContain('text/html')
    expect(r.headers['content-disposition']).toContain(`district-${YEAR}-draft.html`)
    for (const s of DISTRICT_SECTIONS.filter((x) => x !== 'signature')) expect(r.body, s).toContain(`data-section="${s}"`)
    expectDraftMarks(r.body)
    // the score table has every unit's composite as the assessment gives it now
    const hall = await unitOf(YEAR, LEADER_UNIT)
    expect(hall.composite_score).not.toBeNull()
    const scores = r.body.slice(r.body.indexOf('data-section="scores"'), r.body.indexOf('data-section="charts"'))
    expect(scores).toContain(`<code>${LEADER_UNIT}</code></td><td class="n">${hall.composite_score!.toFixed(2)}</td>`)
    // and the published route still answers 404 not_published: a draft is not a publication
    expect((await get(`/reports/${YEAR}/district.html`)).json().error).toBe('not_published')
  })

  it('renders a unit\'s draft with every section and its composite\'s arithmetic as of now', async () => {
    const r = await get(`/reports/${YEAR}/draft/units/${LEADER_UNIT}.html`, leader)
    expect(r.statusCode, r.body.slice(0, 300)).toBe(200)
    for (const s of UNIT_SECTIONS.filter((x) => x !== 'signature')) expect(r.body, s).toContain(`data-section="${s}"`)
    expectDraftMarks(r.body)
    const hall = await unitOf(YEAR, LEADER_UNIT)
    expect(r.body).toContain(`= <b>${hall.composite_score!.toFixed(2)}</b> 分`)
    expect(r.body).toContain('东华门街道')
  })

  it('is the figures publishing would freeze, field by field', async () => {
    const draft = await reports.publications.draft(YEAR)
    expect(draft.publication).toMatchObject({ draft: true, version: 0, publication_id: '', published_by: '', period: { from: '2025-01-01', to: '2025-12-31' } })
    const assessed = new Map((await Promise.all(([1, 2, 3] as const).map(async (t) => (await get(`/api/v1/assessment?year=${YEAR}&tier=${t}`)).json() as TierAssessment))).flatMap((t) => t.units).map((u) => [u.unit_id, u]))
    expect(draft.units.length).toBe(assessed.size)
    for (const u of draft.units) {
      const a = assessed.get(u.unit_id)!
      expect({ composite: u.composite, grade: u.grade, rank: u.rank, scored_scheme_weight: u.scored_scheme_weight }, u.unit_id)
        .toEqual({ composite: a.composite_score, grade: a.grade, rank: a.rank, scored_scheme_weight: a.scored_scheme_weight })
      a.indicators.forEach((ai, k) => {
        for (const f of ['value', 'numerator', 'denominator', 'score', 'weight', 'points', 'points_lost', 'scored', 'not_scored_reason', 'sample', 'scheme_weight'] as const) {
          expect(u.indicators[k]![f], `${u.unit_id} ${ai.id} ${f}`).toEqual(ai[f])
        }
      })
    }
  })

  it('keeps the published documents\' access rules', async () => {
    expect((await get(`/reports/${YEAR}/draft/units/${OTHER_UNIT}.html`, leader)).statusCode).toBe(403)
    expect((await get(`/reports/${YEAR}/draft/units/${OTHER_UNIT}.pdf`, leader)).json().error).toBe('forbidden')
    expect((await get(`/reports/${YEAR}/draft/district.html`, leader)).statusCode).toBe(403)
    expect((await get(`/reports/${YEAR}/draft/district.pdf`, leader)).statusCode).toBe(403)
    expect((await app.inject({ method: 'GET', url: `/reports/${YEAR}/draft/district.html` })).statusCode).toBe(401)
    const unknown = await get(`/reports/${YEAR}/draft/units/NOPE.html`)
    expect(unknown.statusCode).toBe(404)
    expect(unknown.json().error).toBe('unknown_unit')
    // a draft is a document to read and check: no score table to file
    expect((await get(`/reports/${YEAR}/draft/district.csv`)).json().error).toBe('unknown_format')
    expect((await get(`/reports/${YEAR}/draft/units/${LEADER_UNIT}.xlsx`, leader)).json().error).toBe('unknown_format')
    expect((await get(`/reports/${thisYear + 2}/draft/district.html`)).json().error).toBe('year_not_started')
  })

  it('renders the current year as it stands, year to date', async () => {
    const r = await get(`/reports/${thisYear}/draft/units/${LEADER_UNIT}.html`, leader)
    expect(r.statusCode, r.body.slice(0, 300)).toBe(200)
    expectDraftMarks(r.body)
    const today = localDate(Date.now(), platform.warehouse.timezone)
    if (today < `${thisYear}-12-31`) expect(r.body).toContain(`${thisYear}-01-01 至 ${today}（年初至今，本年度尚未结束）`)
  })
})

describe.runIf(PDF)('the draft as PDF', () => {
  it('carries the draft mark on every page, and its first page is written as PNG', async () => {
    const r = await get(`/reports/${YEAR}/draft/district.pdf`)
    expect(r.statusCode, r.body.slice(0, 300)).toBe(200)
    expect(r.headers['content-type']).toBe('application/pdf')
    mkdirSync(join(ARTIFACTS, 'reports'), { recursive: true })
    mkdirSync(join(ARTIFACTS, 'screenshots'), { recursive: true })
    const file = join(ARTIFACTS, 'reports', `district-${YEAR}-draft.pdf`)
    writeFileSync(file, r.rawPayload)
    const pages = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' }).split('\f').filter((p) => p.trim() !== '')
    expect(pages.length).toBeGreaterThan(5)
    // the running header on each page (the watermark's text is rotated; the header is the line read back)
    pages.forEach((p, k) => {
      expect(p, `page ${k + 1}`).toContain('征求意见稿')
      expect(p, `page ${k + 1}`).toContain('以正式发布为准')
    })
    const text = pages.join('\n')
    expect(text).toContain('年度政务服务绩效考核报告（征求意见稿）')
    expect(text).not.toContain('（盖章）')
    const prefix = join(ARTIFACTS, 'screenshots', 'report-draft')
    execFileSync('pdftoppm', ['-png', '-r', '80', '-f', '1', '-l', '1', '-singlefile', file, prefix])
    expect(statSync(`${prefix}.png`).size).toBeGreaterThan(20_000)
  }, 120_000)

  it('gives a unit leader its own unit\'s draft PDF', async () => {
    const r = await get(`/reports/${YEAR}/draft/units/${LEADER_UNIT}.pdf`, leader)
    expect(r.statusCode, r.body.slice(0, 300)).toBe(200)
    const file = join(ARTIFACTS, 'reports', `unit-${LEADER_UNIT}-${YEAR}-draft.pdf`)
    writeFileSync(file, r.rawPayload)
    const pages = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' }).split('\f').filter((p) => p.trim() !== '')
    for (const p of pages) expect(p).toContain('征求意见稿')
  }, 120_000)
})

describe('when data arrives', () => {
  let publishedUnitHtml: string

  it('the draft follows it', async () => {
    const before = await get(`/reports/${YEAR}/draft/units/${LEADER_UNIT}.html`)
    const sat = (await reports.publications.draft(YEAR)).units.find((u) => u.unit_id === LEADER_UNIT)!.indicators.find((i) => i.id === 'satisfaction_rate')!
    const r = await ingest(badRatings('draft-late', 5, YEAR))
    expect(r.statusCode, r.body).toBeLessThan(300)
    const after = await get(`/reports/${YEAR}/draft/units/${LEADER_UNIT}.html`)
    expect(after.body).not.toBe(before.body)
    const now = (await reports.publications.draft(YEAR)).units.find((u) => u.unit_id === LEADER_UNIT)!.indicators.find((i) => i.id === 'satisfaction_rate')!
    expect(now.denominator).toBe(sat.denominator! + 5)
    expect(now.numerator).toBe(sat.numerator)
    // the unit's report shows the new count behind the figure
    expect(after.body).toContain(`${now.numerator.toLocaleString('en-US')} / ${now.denominator!.toLocaleString('en-US')}`)
  })

  it('publishing freezes what the draft showed; then the draft is gone and the published report does not move', async () => {
    const draft = await reports.publications.draft(YEAR)
    const p = await app.inject({ method: 'POST', url: `/api/v1/reports/${YEAR}/publish`, headers: auth(meeting) })
    expect(p.statusCode, p.body).toBe(201)
    const frozen = await reports.frozen(YEAR)
    // nothing arrived in between: the figures are the draft's, unit by unit (the records' links name the moment each was computed)
    const asOfless = (units: typeof draft.units) => units.map((u) => ({ ...u, indicators: u.indicators.map((i) => ({ ...i, explain: i.explain?.replace(/&as_of=[^&]*/, '') ?? null })) }))
    expect(asOfless(frozen.units)).toEqual(asOfless(draft.units))
    expect(frozen.publication.scheme).toEqual(draft.publication.scheme)
    const s = (await get(`/api/v1/reports/${YEAR}`)).json()
    expect(s).toMatchObject({ published: true, draft: { available: false, units: [] } })
    expect(s.links.draft_district_html).toBeUndefined()
    const gone = await get(`/reports/${YEAR}/draft/district.html`)
    expect(gone.statusCode).toBe(409)
    expect(gone.json().error).toBe('already_published')
    expect(gone.json().message).toContain(`/reports/${YEAR}/district.html`)

    publishedUnitHtml = (await get(`/reports/${YEAR}/units/${LEADER_UNIT}.html`)).body
    expect(publishedUnitHtml).not.toContain('征求意见稿')
    expect(publishedUnitHtml).toContain('（盖章）')
    const currentBefore = await get(`/reports/${thisYear}/draft/units/${LEADER_UNIT}.html`)
    const r = await ingest([...badRatings('after-publish', 3, YEAR), ...badRatings('this-year', 4, thisYear)])
    expect(r.statusCode, r.body).toBeLessThan(300)
    expect(r.json().accepted).toBe(7)
    // the published report: byte for byte as it was; the current year's draft: moved with the data
    expect((await get(`/reports/${YEAR}/units/${LEADER_UNIT}.html`)).body).toBe(publishedUnitHtml)
    const currentAfter = await get(`/reports/${thisYear}/draft/units/${LEADER_UNIT}.html`)
    expect(currentAfter.statusCode).toBe(200)
    expect(currentAfter.body).not.toBe(currentBefore.body)
    const sat = (await reports.publications.draft(thisYear)).units.find((u) => u.unit_id === LEADER_UNIT)!.indicators.find((i) => i.id === 'satisfaction_rate')!
    expect(sat.denominator).toBe(4)
  })
})
