// The annual assessment published, frozen and restated, end to end on the real engine: the demo
// district's 2025 (a few thousand cases) through the API. Publishing freezes exactly the figures
// the assessment gives at that moment; late data for the year leaves the published report byte for
// byte as it was and shows up in the restatement instead; every unit's report has every section;
// the CSV and the XLSX read back to the published figures.
import ExcelJS from 'exceljs'
import { parse } from 'csv-parse/sync'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { IngestService } from '../ingest/index.ts'
import { loadDemoDistrict } from '../ingest/demo/index.ts'
import { AssessmentService, MetricsService, type TierAssessment } from '../metrics/index.ts'
import { DISTRICT_SECTIONS, ReportService, UNIT_SECTIONS, type FrozenReport } from '../reports/index.ts'
import type { Platform } from '../warehouse/index.ts'
import { ADMIN, auth, makeKey, openTestApp } from './support.ts'

const YEAR = 2025
const REASON_ZH = { small_sample: '样本不足', no_records: '无记录', no_target: '无目标值' } as const
const LEADER_UNIT = 'DC-S-DHM'
const ODD_UNIT = { unit_id: 'DC-TEST-ODD', name: '=测试<script>alert("x")</script>&站', tier: 3, kind: 'community_station', parent_id: LEADER_UNIT }

let app: FastifyInstance
let platform: Platform
let close: () => Promise<void>
let reports: ReportService
let meeting: string
let leader: string
let assessedAtPublish: TierAssessment[]
let districtHtml: string
let unitHtml: string
let frozenBefore: FrozenReport

const get = (url: string, token = meeting) => app.inject({ method: 'GET', url, headers: auth(token) })

beforeAll(async () => {
  ;({ app, platform, close } = await openTestApp())
  await loadDemoDistrict(platform, new IngestService(platform), { cases: 3000, from: '2025-01-01', to: '2025-12-31' })
  const r = await app.inject({ method: 'PUT', url: '/api/v1/reference/units', headers: { 'content-type': 'application/json', ...auth(ADMIN) }, payload: [ODD_UNIT] })
  if (r.statusCode !== 200) throw new Error(r.body)
  reports = new ReportService(platform, new AssessmentService(platform, new MetricsService(platform)))
  meeting = await makeKey(app, 'joint_meeting')
  leader = await makeKey(app, 'unit_leader', [LEADER_UNIT])
}, 300_000)

afterAll(async () => {
  await reports?.close()
  await close?.()
})

describe('publishing', () => {
  it('answers 404 not_published before the year is published, and refuses a year that is not over', async () => {
    const doc = await get(`/reports/${YEAR}/district.html`)
    expect(doc.statusCode).toBe(404)
    expect(doc.json()).toMatchObject({ error: 'not_published' })
    expect(doc.json().message).toContain(`POST /api/v1/reports/${YEAR}/publish`)
    expect((await get(`/api/v1/reports/${YEAR}`)).json()).toMatchObject({ year: YEAR, published: false, versions: [] })
    const thisYear = new Date().getFullYear() + 1
    const early = await app.inject({ method: 'POST', url: `/api/v1/reports/${thisYear}/publish`, headers: auth(meeting) })
    expect(early.statusCode).toBe(409)
    expect(early.json().error).toBe('year_not_over')
  })

  it('lets only the joint meeting and admins publish', async () => {
    const r = await app.inject({ method: 'POST', url: `/api/v1/reports/${YEAR}/publish`, headers: auth(leader) })
    expect(r.statusCode).toBe(403)
    expect(r.json().error).toBe('forbidden')
    expect((await app.inject({ method: 'POST', url: `/api/v1/reports/${YEAR}/publish` })).statusCode).toBe(401)
  })

  it('freezes exactly the figures of the assessment at the moment of publishing', async () => {
    const r = await app.inject({ method: 'POST', url: `/api/v1/reports/${YEAR}/publish`, headers: auth(meeting), payload: { note: '经联席会议审议通过' } })
    expect(r.statusCode, r.body).toBe(201)
    const info = r.json()
    expect(info).toMatchObject({ year: YEAR, version: 1, note: '经联席会议审议通过', period: { from: '2025-01-01', to: '2025-12-31' } })
    expect(info.published_by).toContain('joint_meeting')
    // nothing has arrived since: the assessment now is the assessment at publishing
    assessedAtPublish = await Promise.all(([1, 2, 3] as const).map(async (tier) => (await get(`/api/v1/assessment?year=${YEAR}&tier=${tier}`)).json() as TierAssessment))
    frozenBefore = await reports.frozen(YEAR)
    const assessed = assessedAtPublish.flatMap((t) => t.units)
    expect(frozenBefore.units.length).toBe(assessed.length)
    expect(assessed.length).toBe(platform.reference.units.size)
    const frozen = new Map(frozenBefore.units.map((u) => [u.unit_id, u]))
    for (const a of assessed) {
      const f = frozen.get(a.unit_id)!
      expect({ composite: f.composite, grade: f.grade, rank: f.rank, tier: f.tier, name: f.name }, a.unit_id)
        .toEqual({ composite: a.composite_score, grade: a.grade, rank: a.rank, tier: a.tier, name: a.name })
      expect(f.indicators.map((i) => i.id)).toEqual(a.indicators.map((i) => i.id))
      a.indicators.forEach((ai, k) => {
        const fi = f.indicators[k]!
        for (const field of ['value', 'numerator', 'denominator', 'target', 'score', 'weight', 'points', 'points_lost', 'scored_value', 'small_sample',
          'scored', 'not_scored_reason', 'sample', 'sample_of', 'min_sample', 'scheme_weight'] as const) {
          expect(fi[field], `${a.unit_id} ${ai.id} ${field}`).toEqual(ai[field])
        }
        // the link to the records names the moment it was assessed at: the same list but for that moment
        const withoutMoment = (link: string | null) => link?.replace(/&as_of=[^&]*/, '') ?? null
        expect(withoutMoment(fi.explain), `${a.unit_id} ${ai.id} explain`).toEqual(withoutMoment(ai.explain))
      })
    }
    for (const a of assessed) expect(frozen.get(a.unit_id)!.scored_scheme_weight, a.unit_id).toBe(a.scored_scheme_weight)
    expect(frozenBefore.units.every((u) => u.rule === 'actual_value')).toBe(true)
    // the units scored and ranked: a real assessment, not an empty one. In this small district the
    // stations have a case or two each, fewer than the scheme's minimum sample: not scored, each
    // indicator saying why; the halls and most of the district's units are scored.
    const scored = assessed.filter((u) => u.composite_score !== null)
    expect(scored.length).toBeGreaterThan(20)
    expect(assessed.filter((u) => u.tier === 2).every((u) => u.composite_score !== null)).toBe(true)
    expect(new Set(assessed.map((u) => u.grade)).size).toBeGreaterThan(1)
    expect(assessed.filter((u) => u.composite_score === null).every((u) => u.indicators.every((i) => !i.scored && i.not_scored_reason !== null))).toBe(true)
    // 2024 has no data and no publication: last year's figures are computed, and empty
    expect(frozenBefore.publication.previous).toMatchObject({ source: 'computed', year: 2024 })
    expect(frozenBefore.units.every((u) => u.prev_composite === null)).toBe(true)
  })

  it('keeps the bad-rating and complaint records of each unit with the publication', () => {
    const total = frozenBefore.units.reduce((s, u) => s + u.records.bad.total, 0)
    const complaints = frozenBefore.units.reduce((s, u) => s + u.records.complaints.received, 0)
    expect(total).toBeGreaterThan(0)
    expect(complaints).toBeGreaterThan(0)
    // the record agrees with the indicator's numerator and denominator (same rule, same moment)
    for (const u of frozenBefore.units) {
      const rect = u.indicators.find((i) => i.id === 'bad_review_rectified_on_time_rate')
      if (!rect) continue
      expect([u.records.bad.rectified_in_time, u.records.bad.limit_passed], u.unit_id).toEqual([rect.numerator, rect.denominator ?? 0])
    }
    // and the hotline's steps, counted as its three rates count them
    const sum = (k: 'response_limit_passed' | 'responded_in_time' | 'rated' | 'satisfied') => frozenBefore.units.reduce((s, u) => s + (u.records.complaints[k] ?? 0), 0)
    expect(sum('response_limit_passed')).toBeGreaterThan(0)
    expect(sum('responded_in_time')).toBeGreaterThan(0)
    expect(sum('rated')).toBeGreaterThan(0)
    expect(sum('satisfied')).toBeLessThanOrEqual(sum('rated'))
  })

  it('reports the status and versions of the year', async () => {
    const s = (await get(`/api/v1/reports/${YEAR}`)).json()
    expect(s).toMatchObject({ year: YEAR, published: true, latest: { version: 1 } })
    expect(s.versions).toHaveLength(1)
    expect(s.units).toHaveLength(platform.reference.units.size)
    expect(s.links.district_pdf).toBe(`/reports/${YEAR}/district.pdf`)
    // a unit leader is told about its own units' reports only
    const mine = (await get(`/api/v1/reports/${YEAR}`, leader)).json().units.map((u: { unit_id: string }) => u.unit_id)
    expect(mine).toEqual(expect.arrayContaining([LEADER_UNIT, ODD_UNIT.unit_id]))
    expect(new Set(mine)).toEqual(new Set(platform.reference.withDescendants(LEADER_UNIT)))
  })
})

describe('the documents', () => {
  it('renders the district report with every section, and regenerates it byte for byte', async () => {
    const r = await get(`/reports/${YEAR}/district.html`)
    expect(r.statusCode).toBe(200)
    expect(r.headers['content-type']).toContain('text/html')
    districtHtml = r.body
    for (const s of DISTRICT_SECTIONS) expect(districtHtml, s).toContain(`data-section="${s}"`)
    expect(districtHtml).toContain('东城区政务服务三级体系联席会议')
    expect(districtHtml).toContain('2025年度政务服务绩效考核报告')
    expect(districtHtml).toContain('发布日期')
    expect(districtHtml).toContain('<table data-hotline><thead><tr><th>响应率</th><th>解决率</th><th>满意率</th>')
    expect(districtHtml).toContain('<svg')
    // the district sums each tier's bad ratings and complaints; the single late ones are in the units' reports
    expect(frozenBefore.units.some((u) => u.records.bad.listed_of > 0 || u.records.complaints.listed_of > 0), 'the fixture has late records').toBe(true)
    const records = districtHtml.slice(districtHtml.indexOf('data-section="bad_ratings"'), districtHtml.indexOf('data-section="scheme"'))
    expect(records.length).toBeGreaterThan(0)
    expect(records).not.toMatch(/列出前|超期整改和逾期未整改的差评（|超期办结和逾期未办结的投诉（/)
    expect(records.match(/<th>差评数<\/th><th>已核实<\/th>/g)?.length).toBe(new Set(frozenBefore.units.map((u) => u.tier)).size)
    // every indicator's definition is in the appendix
    const appendix = districtHtml.slice(districtHtml.indexOf('data-section="appendix"'))
    for (const c of frozenBefore.publication.catalog) expect(appendix, c.id).toContain(`<code>${c.id}</code>`)
    expect((await get(`/reports/${YEAR}/district.html`)).body).toBe(districtHtml)
    // a fresh service (nothing cached, other ECharts instance numbers) gives the same bytes
    const again = new ReportService(platform, new AssessmentService(platform, new MetricsService(platform)))
    expect((await again.document(YEAR, 'html')).body).toBe(districtHtml)
    await again.close()
  })

  it('renders every unit\'s report with every section', async () => {
    const units = (await get(`/api/v1/reports/${YEAR}`)).json().units as Array<{ unit_id: string; name: string }>
    for (const u of units) {
      const r = await get(`/reports/${YEAR}/units/${encodeURIComponent(u.unit_id)}.html`)
      expect(r.statusCode, u.unit_id).toBe(200)
      for (const s of UNIT_SECTIONS) expect(r.body, `${u.unit_id} ${s}`).toContain(`data-section="${s}"`)
      expect(r.body).toContain(`<code>${u.unit_id}</code>`)
      if (u.unit_id === LEADER_UNIT) unitHtml = r.body
    }
    expect(unitHtml).toContain('东华门街道')
    expect(unitHtml).toContain('差评处理记录')
  })

  it('shows which indicators were not scored and why, and the composite\'s arithmetic', async () => {
    const hall = frozenBefore.units.find((u) => u.unit_id === LEADER_UNIT)!
    const missing = hall.indicators.filter((i) => !i.scored)
    expect(missing.length, 'the hall has an indicator not scored').toBeGreaterThan(0)
    expect(hall.composite).not.toBeNull()
    // the unit's report: a table of the arithmetic, each indicator's scheme weight, 折算 weight, points; the reason for each not scored
    const arithmetic = unitHtml.slice(unitHtml.indexOf('综合得分的计算（按比例折算）'))
    expect(arithmetic.length).toBeGreaterThan(0)
    const pct = (w: number) => `${(w * 100).toFixed(2)}%`
    for (const i of hall.indicators) expect(arithmetic, i.id).toContain(pct(i.scheme_weight))
    for (const i of hall.indicators.filter((x) => x.scored)) expect(arithmetic, i.id).toContain(pct(i.weight))
    for (const i of missing) {
      const why = i.not_scored_reason === 'small_sample' ? `样本不足（${i.sample} &lt; ${i.min_sample}）` : i.not_scored_reason === 'no_records' ? '无记录' : '无目标值'
      expect(arithmetic, i.id).toContain(`不计分</span>：${why}`)
    }
    expect(arithmetic).toContain(`计分指标的方案权重之和（${pct(hall.scored_scheme_weight)}）`)
    expect(arithmetic).toContain(`= <b>${hall.composite!.toFixed(2)}</b> 分`)
    expect(unitHtml).not.toContain('置信界 ')
    // the district's score table: a line per unit saying what was not scored
    const scores = districtHtml.slice(districtHtml.indexOf('data-section="scores"'), districtHtml.indexOf('data-section="charts"'))
    expect(scores).toContain('<th>计分说明</th>')
    expect(scores.match(/data-scoring/g)?.length).toBe(frozenBefore.units.length)
    expect(scores).toContain(`计分指标方案权重 ${pct(hall.scored_scheme_weight)}`)
    expect(scores).toContain('均未计分（样本不足或无记录）')
    // the scheme section says the rule, and the minimum sample of each indicator
    const scheme = districtHtml.slice(districtHtml.indexOf('data-section="scheme"'), districtHtml.indexOf('data-section="signature"'))
    expect(scheme).toContain('<th>最小样本量</th>')
    expect(scheme).toContain('按比例折算')
    expect(scheme).not.toContain('Wilson 置信界（越高越好取下界，越低越好取上界）计分')
  })

  it('escapes every text that comes from data', async () => {
    const r = await get(`/reports/${YEAR}/units/${ODD_UNIT.unit_id}.html`)
    expect(r.body).not.toContain('<script>')
    expect(r.body).toContain('=测试&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;站')
    expect(districtHtml).not.toContain('<script>')
  })

  it('keeps a unit leader to its own units\' reports', async () => {
    expect((await get(`/reports/${YEAR}/units/${LEADER_UNIT}.html`, leader)).statusCode).toBe(200)
    const other = await get(`/reports/${YEAR}/units/DC-S-JS.html`, leader)
    expect(other.statusCode).toBe(403)
    expect(other.json().error).toBe('forbidden')
    expect((await get(`/reports/${YEAR}/district.html`, leader)).statusCode).toBe(403)
    expect((await get(`/reports/${YEAR}/district.xlsx`, leader)).statusCode).toBe(403)
  })

  it('answers clear errors for unknown units and formats', async () => {
    const unknown = await get(`/reports/${YEAR}/units/NOPE.html`)
    expect(unknown.statusCode).toBe(404)
    expect(unknown.json().error).toBe('unknown_unit')
    const format = await get(`/reports/${YEAR}/units/${LEADER_UNIT}.docx`)
    expect(format.statusCode).toBe(404)
    expect(format.json()).toMatchObject({ error: 'unknown_format' })
    expect((await get(`/reports/${YEAR}/district.txt`)).json().error).toBe('unknown_format')
    expect((await get('/reports/1999/district.html')).statusCode).toBe(400)
    expect((await get(`/reports/${YEAR}/district.html?version=7`)).json().error).toBe('not_published')
  })

  it('gives the score table as CSV that parses back to the published figures', async () => {
    const r = await get(`/reports/${YEAR}/district.csv`)
    expect(r.statusCode).toBe(200)
    expect(r.headers['content-disposition']).toContain(`district-${YEAR}.csv`)
    expect(r.body.startsWith('\uFEFF')).toBe(true)
    const rows = parse(r.body.slice(1), { columns: true }) as Array<Record<string, string>>
    expect(rows.length).toBe(frozenBefore.units.reduce((s, u) => s + u.indicators.length, 0))
    const byKey = new Map(rows.map((x) => [`${x['单位编号']}/${x['指标编号']}`, x]))
    for (const u of frozenBefore.units) {
      for (const i of u.indicators) {
        const row = byKey.get(`${u.unit_id}/${i.id}`)!
        expect(row['单位名称']!.replace(/^'=/, '='), u.unit_id).toBe(u.name)
        expect(row['综合得分'] === '' ? null : Number(row['综合得分'])).toBe(u.composite)
        expect(row['值'] === '' ? null : Number(row['值']), `${u.unit_id} ${i.id}`).toBe(i.value)
        expect(Number(row['分子'])).toBe(i.numerator)
        expect(row['得分点'] === '' ? null : Number(row['得分点'])).toBe(i.points)
        // whether it was scored and why not, and the 折算 arithmetic: scheme weight, weight after 折算
        expect([row['计分'], row['不计分原因'], Number(row['样本']), Number(row['最小样本量']), Number(row['方案权重']), Number(row['折算权重'])], `${u.unit_id} ${i.id}`)
          .toEqual([i.scored ? '是' : '否', i.scored ? '' : REASON_ZH[i.not_scored_reason!], i.sample, i.min_sample, i.scheme_weight, i.weight])
      }
    }
    // a name that starts like a formula is written as text, not run by a spreadsheet
    expect(r.body).toContain(`"'=测试<script>alert(""x"")</script>&站"`)
    expect(rows.find((x) => x['单位编号'] === ODD_UNIT.unit_id)!['单位名称']).toBe(`'${ODD_UNIT.name}`)
  })

  it('gives the score table as an XLSX workbook that reads back to the published figures', async () => {
    const r = await get(`/reports/${YEAR}/district.xlsx`)
    expect(r.statusCode).toBe(200)
    expect(r.headers['content-type']).toContain('spreadsheetml')
    const wb = new ExcelJS.Workbook()
    await wb.xlsx.load(r.rawPayload as unknown as ArrayBuffer)
    expect(wb.worksheets.map((w) => w.name)).toEqual(['说明', '综合得分', '指标明细'])
    const about = wb.getWorksheet('说明')!
    expect(about.getCell('B5').value).toBe(frozenBefore.publication.publication_id)
    const scores = wb.getWorksheet('综合得分')!
    const header = (scores.getRow(1).values as unknown[]).slice(1)
    expect(header).toEqual(['层级', '名次', '单位编号', '单位名称', '综合得分', '等级', '参评单位数', '上年得分', '上年名次', '计分指标方案权重', '不计分指标'])
    const read: Array<Record<string, unknown>> = []
    scores.eachRow((row, n) => {
      if (n === 1) return
      const v = row.values as unknown[]
      read.push({ tier: v[1], rank: v[2] ?? null, unit_id: v[3], name: v[4], composite: v[5] ?? null, grade: v[6] ?? null })
    })
    expect(read).toEqual(frozenBefore.units.map((u) => ({ tier: u.tier, rank: u.rank, unit_id: u.unit_id, name: u.name, composite: u.composite, grade: u.grade })))
    const detail = wb.getWorksheet('指标明细')!
    expect(detail.rowCount - 1).toBe(frozenBefore.units.reduce((s, u) => s + u.indicators.length, 0))
    const cols = (detail.getRow(1).values as string[])
    const col = (name: string) => cols.indexOf(name)
    let checked = 0
    detail.eachRow((row, n) => {
      if (n === 1) return
      const v = row.values as unknown[]
      const u = frozenBefore.units.find((x) => x.unit_id === v[col('单位编号')])!
      const i = u.indicators.find((x) => x.id === v[col('指标编号')])!
      expect([v[col('值')] ?? null, v[col('分子')], v[col('分母')] ?? null, v[col('得分')] ?? null, v[col('折算权重')], v[col('失分')]])
        .toEqual([i.value, i.numerator, i.denominator, i.score, i.weight, i.points_lost])
      expect([v[col('计分')], v[col('不计分原因')] ?? null, v[col('样本')], v[col('最小样本量')], v[col('方案权重')]])
        .toEqual([i.scored ? '是' : '否', i.scored ? null : REASON_ZH[i.not_scored_reason!], i.sample, i.min_sample, i.scheme_weight])
      checked++
    })
    expect(checked).toBeGreaterThan(1000)
  })
})

describe('late data', () => {
  const late = Array.from({ length: 6 }, (_, k) => ({
    event_id: `late-bad-${k}`, unit_id: LEADER_UNIT, rating: 1, active: true, channel: 'sms',
    occurred_at: `2025-12-${String(10 + k).padStart(2, '0')}T10:00:00+08:00`, comment: '补报的差评',
  }))

  it('shows up as a restatement and leaves the published report byte for byte as it was', async () => {
    const before = (await get(`/api/v1/reports/${YEAR}/restatement`)).json()
    expect(before).toMatchObject({ year: YEAR, version: 1, restated: false, units: [], indicators: [] })

    const r = await app.inject({ method: 'POST', url: '/api/v1/ingest/evaluations', headers: { 'content-type': 'application/x-ndjson', ...auth(ADMIN) }, payload: late.map((x) => JSON.stringify(x)).join('\n') })
    expect(r.statusCode, r.body).toBeLessThan(300)
    expect(r.json().accepted).toBe(late.length)

    // the published documents and figures are untouched
    expect((await get(`/reports/${YEAR}/district.html`)).body).toBe(districtHtml)
    expect((await get(`/reports/${YEAR}/units/${LEADER_UNIT}.html`)).body).toBe(unitHtml)
    const fresh = new ReportService(platform, new AssessmentService(platform, new MetricsService(platform)))
    expect(await fresh.frozen(YEAR)).toEqual(frozenBefore)
    // and rendered again from the stored figures (nothing remembered in this service): the same bytes
    expect((await fresh.document(YEAR, 'html')).body).toBe(districtHtml)
    expect((await fresh.document(YEAR, 'html', { unitId: LEADER_UNIT })).body).toBe(unitHtml)
    await fresh.close()

    // the restatement lists the unit and indicator with both values
    const rs = (await get(`/api/v1/reports/${YEAR}/restatement`)).json()
    expect(rs.restated).toBe(true)
    const published = frozenBefore.units.find((u) => u.unit_id === LEADER_UNIT)!.indicators.find((i) => i.id === 'satisfaction_rate')!
    const sat = rs.indicators.find((x: { unit_id: string; indicator_id: string }) => x.unit_id === LEADER_UNIT && x.indicator_id === 'satisfaction_rate')
    expect(sat).toBeDefined()
    expect(sat.fields).toEqual(expect.arrayContaining(['value', 'denominator']))
    expect(sat.published.value).toBe(published.value)
    expect(sat.published.denominator).toBe(published.denominator)
    expect(sat.current.denominator).toBe(published.denominator! + late.length)
    expect(sat.current.numerator).toBe(published.numerator)
    expect(sat.current.value).toBeLessThan(published.value!)
    // only differences are listed: every field named differs between the two sides
    for (const x of rs.indicators) {
      expect(x.fields.length).toBeGreaterThan(0)
      for (const f of x.fields) expect(x.published?.[f] ?? null, `${x.unit_id} ${x.indicator_id} ${f}`).not.toEqual(x.current?.[f] ?? null)
    }
    expect(rs.indicators.every((x: { tier: number }) => x.tier === 2)).toBe(true)

    // a unit leader sees the restatement of its own units only; the document view is there too
    const mine = (await get(`/api/v1/reports/${YEAR}/restatement`, leader)).json()
    expect(mine.indicators.length).toBeGreaterThan(0)
    const own = platform.reference.withDescendants(LEADER_UNIT)
    expect(mine.indicators.every((x: { unit_id: string }) => own.includes(x.unit_id))).toBe(true)
    const view = await get(`/reports/${YEAR}/restatement.html`)
    expect(view.statusCode).toBe(200)
    expect(view.body).toContain('好评率')
    expect(view.body).toContain(LEADER_UNIT)
  })

  it('goes into the figures only by an explicit republication, a new version; the old one stays readable', async () => {
    const r = await app.inject({ method: 'POST', url: `/api/v1/reports/${YEAR}/publish`, headers: auth(ADMIN), payload: { note: '补报数据后更正重发' } })
    expect(r.statusCode, r.body).toBe(201)
    expect(r.json().version).toBe(2)
    const s = (await get(`/api/v1/reports/${YEAR}`)).json()
    expect(s.versions.map((v: { version: number }) => v.version)).toEqual([1, 2])
    const v2 = (await get(`/reports/${YEAR}/district.html`)).body
    expect(v2).not.toBe(districtHtml)
    expect(v2).toContain('第 2 版')
    expect((await get(`/reports/${YEAR}/district.html?version=1`)).body).toBe(districtHtml)
    const rs = (await get(`/api/v1/reports/${YEAR}/restatement`)).json()
    expect(rs).toMatchObject({ version: 2, restated: false })
    expect((await get(`/api/v1/reports/${YEAR}/restatement?version=1`)).json().restated).toBe(true)
    // the status of one version: its own units; a version that does not exist is 404
    const v1 = (await get(`/api/v1/reports/${YEAR}?version=1`)).json()
    expect(v1.units.map((u: { unit_id: string }) => u.unit_id)).toEqual(frozenBefore.units.map((u) => u.unit_id))
    const none = await get(`/api/v1/reports/${YEAR}?version=99`)
    expect(none.statusCode).toBe(404)
    expect(none.json().error).toBe('not_published')
  })
})
