// Across the year boundary, end to end: the State Council's notice as input, whole years only,
// a year not loaded counted on the provisional calendar and said to be, and what loading the
// official arrangement then changes (the clock, the indicators, a published report's restatement).
import { readFileSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AssessmentService, MetricsService } from '../metrics/index.ts'
import { PublicationStore, renderDistrict, renderRestatement } from '../reports/index.ts'
import { localDate, nowSeconds, type Platform } from '../warehouse/index.ts'
import { ADMIN, auth, loadSmallDistrict, openTestApp, toNdjson } from './support.ts'

let app: FastifyInstance
let platform: Platform
let close: () => Promise<void>

const fixture = (name: string) => readFileSync(new URL(`../ingest/fixtures/${name}`, import.meta.url), 'utf8')
const get = async (url: string) => {
  const r = await app.inject({ method: 'GET', url, headers: auth(ADMIN) })
  return { status: r.statusCode, body: r.json() }
}
const putCalendar = (payload: string, contentType: string, dryRun = false) =>
  app.inject({ method: 'PUT', url: `/api/v1/reference/calendar${dryRun ? '?dry_run=true' : ''}`, headers: { 'content-type': contentType, ...auth(ADMIN) }, payload })
const ingest = async (stream: string, rows: unknown[]) => {
  const r = await app.inject({ method: 'POST', url: `/api/v1/ingest/${stream}`, headers: { 'content-type': 'application/x-ndjson', ...auth(ADMIN) }, payload: toNdjson(rows) })
  expect(r.statusCode, r.body).toBe(200)
  expect(r.json().accepted, r.body).toBe(rows.length)
}
const asOf = (iso: string) => encodeURIComponent(iso)
type Day = { date: string; is_working: boolean; name: string }

/**
 * A made-up arrangement of 2027 in the notice's own form (the real one is not published yet):
 * its Spring Festival (9 days, with two weekend working days) differs from the provisional
 * calendar's (statutory days and 补假 only), so figures counted through February change.
 */
const NOTICE_2027 = `国务院办公厅关于2027年部分节假日安排的通知

一、元旦：1月1日（周五）至3日（周日）放假，共3天。

二、春节：2月5日（农历除夕、周五）至13日（农历正月初八、周六）放假调休，共9天。2月14日（周日）、2月20日（周六）上班。

三、清明节：4月3日（周六）至5日（周一）放假，共3天。

四、劳动节：5月1日（周六）至5日（周三）放假调休，共5天。4月25日（周日）、5月8日（周六）上班。

五、端午节：6月9日（周三）放假，共1天。

六、中秋节：9月15日（周三）放假，共1天。

七、国庆节：10月1日（周五）至7日（周四）放假调休，共7天。9月26日（周日）、10月9日（周六）上班。

国务院办公厅
2026年11月10日
`

let provisional2027: Day[]
let rectificationLimit: number

beforeAll(async () => {
  ;({ app, platform, close } = await openTestApp())
  await loadSmallDistrict(app)
  // a case accepted before the year ends and still open in February 2027
  await ingest('case-events', [
    { event_id: 'e-open-1', case_id: 'C-OPEN', type: 'accepted', occurred_at: '2026-11-25T10:00:00+08:00', unit_id: 'S1', item_code: 'I3', channel: 'window' },
    { event_id: 'e-done-1', case_id: 'C-DONE', type: 'accepted', occurred_at: '2026-03-02T10:00:00+08:00', unit_id: 'S1', item_code: 'I3', channel: 'window' },
    { event_id: 'e-done-2', case_id: 'C-DONE', type: 'completed', occurred_at: '2026-03-04T10:00:00+08:00', unit_id: 'S1' },
  ])
  // a bad rating on 1 December 2026 whose rectification limit ends on 11 February 2027 on the
  // provisional calendar (a working day there; inside the official Spring Festival)
  provisional2027 = (await get('/api/v1/reference/calendar?year=2027')).body.days
  const december = (await get('/api/v1/reference/calendar?year=2026')).body.days as Day[]
  const days = [...december, ...provisional2027]
  rectificationLimit = days.filter((d) => d.date > '2026-12-01' && d.date <= '2027-02-11' && d.is_working).length
  // (in effect from the year's start: a change takes effect from the day it is made unless told,
  // and the rating's day must not depend on the day the test runs)
  const s = await app.inject({ method: 'PUT', url: '/api/v1/settings', headers: auth(ADMIN), payload: { rectification_limit_days: rectificationLimit, effective_from: '2026-01-01' } })
  expect(s.statusCode, s.body).toBe(200)
  await ingest('evaluations', [{ event_id: 'r-bad', unit_id: 'S1', rating: 1, occurred_at: '2026-12-01T08:00:00+08:00', channel: 'web' }])
  // rectified on Fri 12 February 2027: a moment ahead of now, so written as the ingest would
  const batch = crypto.randomUUID()
  await platform.warehouse.client.insert({
    table: 'evaluation_followups', format: 'JSONEachRow',
    values: [{ event_id: 'f-rect', evaluation_id: 'r-bad', type: 'rectified', occurred_at: (Date.parse('2027-02-12T10:00:00+08:00') / 1000).toFixed(3), unit_id: 'S1', note: null,
      content_hash: '0', batch_id: batch, source_key: 'test', ingested_at: nowSeconds() }],
  })
}, 180_000)

afterAll(async () => close?.())

describe('a year not loaded', () => {
  it('is answered on the provisional calendar: statutory days, 补假, no 调休', async () => {
    expect(platform.calendar.statusOf(2027)).toBe('provisional')
    const { status, body } = await get('/api/v1/reference/calendar?year=2027')
    expect(status).toBe(200)
    expect(body).toMatchObject({ year: 2027, status: 'provisional' })
    expect(body.days).toHaveLength(365)
    const byDate = new Map((body.days as Day[]).map((d) => [d.date, d]))
    expect(byDate.get('2027-02-06')).toMatchObject({ is_working: false, name: '春节' }) // 初一, a Saturday
    expect(byDate.get('2027-02-09')).toMatchObject({ is_working: false, name: '春节' }) // 补假
    expect(byDate.get('2027-02-11')).toMatchObject({ is_working: true, name: '' })
    expect((body.days as Day[]).filter((d) => d.is_working && [0, 6].includes(new Date(d.date + 'T00:00:00Z').getUTCDay()))).toEqual([])
    // and a stored year says it is official and where it came from
    const y2026 = (await get('/api/v1/reference/calendar?year=2026')).body
    expect(y2026).toMatchObject({ year: 2026, status: 'official', source: 'chinese-days' })
  })

  it('is said in the health answer, with a warning from 1 November of the year before', async () => {
    const health = (await app.inject({ method: 'GET', url: '/api/v1/health' })).json()
    expect(health.calendar.provisional_years).toContain(2027)
    const today = localDate(Date.now(), 'Asia/Shanghai')
    const year = Number(today.slice(0, 4))
    const expected = [year, ...(today.slice(5) >= '11-01' ? [year + 1] : [])].filter((y) => platform.calendar.statusOf(y) === 'provisional')
    if (expected.length) expect(health.calendar.warning).toMatchObject({ code: 'calendar_provisional', years: expected })
    else expect(health.calendar.warning).toBeNull()
  })

  it('counts an open case of late 2026 as of February 2027, and says the count is provisional', async () => {
    const { status, body } = await get(`/api/v1/cases/C-OPEN?as_of=${asOf('2027-02-15T12:00:00+08:00')}`)
    expect(status).toBe(200)
    expect(body).toMatchObject({ status: 'open', overdue: true, calendar_provisional: true })
    // as of a moment in 2026 nothing provisional was counted
    expect((await get(`/api/v1/cases/C-OPEN?as_of=${asOf('2026-11-30T12:00:00+08:00')}`)).body.calendar_provisional).toBe(false)
    const list = await get(`/api/v1/cases?status=open&as_of=${asOf('2027-02-15T12:00:00+08:00')}`)
    expect(list.body.rows.find((r: { case_id: string }) => r.case_id === 'C-OPEN')).toMatchObject({ calendar_provisional: true })
  })

  it('answers every indicator and the 2026 assessment as of January 2027', async () => {
    const catalogue = (await get('/api/v1/metrics')).body
    const ids: string[] = catalogue.metrics.map((m: { id: string }) => m.id)
    expect(ids.length).toBeGreaterThan(10)
    const at = asOf('2027-01-15T12:00:00+08:00')
    for (const id of ids) {
      const r = await get(`/api/v1/metrics/${id}?from=2026-01-01&to=2026-12-31&by=unit&as_of=${at}`)
      expect(r.status, `${id}: ${JSON.stringify(r.body)}`).toBe(200)
      expect(typeof r.body.calendar_provisional, id).toBe('boolean')
    }
    // the stopped cases of 2026 need no day of 2027; the bad rating's limit runs into it
    expect((await get(`/api/v1/metrics/on_time_rate?from=2026-01-01&to=2026-12-31&as_of=${at}`)).body.calendar_provisional).toBe(false)
    expect((await get(`/api/v1/metrics/bad_review_rectified_on_time_rate?from=2026-01-01&to=2026-12-31&as_of=${at}`)).body.calendar_provisional).toBe(true)
    for (const tier of [1, 2, 3]) {
      const a = await get(`/api/v1/assessment?year=2026&tier=${tier}&as_of=${at}`)
      expect(a.status, JSON.stringify(a.body)).toBe(200)
    }
    expect((await get(`/api/v1/assessment?year=2026&tier=2&as_of=${at}`)).body.calendar_provisional).toBe(true)
  })
})

describe('loading the calendar', () => {
  it('reads the 2026 notice into exactly the official arrangement (dry run: nothing stored)', async () => {
    const r = await putCalendar(fixture('holiday-notices/2026.txt'), 'text/plain; charset=utf-8', true)
    expect(r.statusCode, r.body).toBe(200)
    const answer = r.json()
    expect(answer).toMatchObject({ year: 2026, status: 'official', dry_run: true, years: [2026] })
    expect(answer.days).toHaveLength(365)
    const key = JSON.parse(fixture('holiday-cn/2026.json')) as { days: Array<{ date: string; isOffDay: boolean }> }
    const listed = new Map(key.days.map((d) => [d.date, !d.isOffDay]))
    expect(listed.size).toBeGreaterThan(30)
    for (const d of answer.days as Day[]) {
      const weekend = [0, 6].includes(new Date(d.date + 'T00:00:00Z').getUTCDay())
      expect(d.is_working, d.date).toBe(listed.get(d.date) ?? !weekend)
    }
    // the same days the package has: storing it would change no working day
    expect(answer.changes.filter((c: { before: Day; after: Day }) => c.before.is_working !== c.after.is_working)).toEqual([])
    expect((await get('/api/v1/reference/calendar?year=2026')).body.source).toBe('chinese-days')
  })

  it('refuses text that is not a notice, quoting the line, and stores nothing', async () => {
    const r = await putCalendar('据新华社报道，今年春运客流创新高。\n各地铁路部门加开列车。', 'text/plain')
    expect(r.statusCode).toBe(400)
    expect(r.json().error).toBe('notice_unreadable')
    expect(r.json().message).toContain('据新华社报道')
    expect(platform.calendar.statusOf(2027)).toBe('provisional')
  })

  it('refuses a year of date rows that does not list every date, saying how many are missing', async () => {
    const rows = provisional2027.slice(0, 300).map((d) => ({ date: d.date, is_working: d.is_working, name: d.name }))
    const r = await putCalendar(JSON.stringify(rows), 'application/json')
    expect(r.statusCode, r.body).toBe(400)
    expect(r.json()).toMatchObject({ error: 'partial_year', year: 2027, missing: 65 })
    expect(r.json().message).toContain('65 of its 365 dates are missing')
    // one date of the published shape is not an arrangement either
    const one = await putCalendar(JSON.stringify({ year: 2027, days: [{ name: '元旦', date: '2027-01-01', isOffDay: true }] }), 'application/json')
    expect(one.statusCode, one.body).toBe(400)
    expect(one.json().error).toBe('incomplete_arrangement')
    expect(platform.calendar.statusOf(2027)).toBe('provisional')
  })
})

describe('replacing a provisional year by the official arrangement', () => {
  const publishedAt = Date.parse('2027-03-01T10:00:00+08:00')
  let store: PublicationStore
  let caseBefore: { elapsed_days: number }

  it('publishes 2026 counted in part on the provisional 2027, and says so', async () => {
    store = new PublicationStore(platform, new AssessmentService(platform, new MetricsService(platform)))
    const info = await store.publish(2026, 'joint_meeting test', '', publishedAt)
    expect(info.calendar).toEqual({ provisional: true, provisional_years: [2027] })
    const frozen = await store.load(info)
    const s1 = frozen.units.find((u) => u.unit_id === 'S1')!
    // rectified on 12 Feb, a day after the provisional limit (11 Feb): late
    expect(s1.indicators.find((i) => i.id === 'bad_review_rectified_on_time_rate')).toMatchObject({ numerator: 0, denominator: 1 })
    caseBefore = (await get(`/api/v1/cases/C-OPEN?as_of=${asOf('2027-02-15T12:00:00+08:00')}`)).body
  })

  it('stores the notice, and the figures counted on it are official from then on', async () => {
    const preview = await putCalendar(NOTICE_2027, 'text/plain', true)
    expect(preview.statusCode, preview.body).toBe(200)
    expect(preview.json().changes.map((c: { date: string }) => c.date)).toEqual(expect.arrayContaining(['2027-02-11', '2027-02-12', '2027-02-14', '2027-02-20']))
    expect(platform.calendar.statusOf(2027)).toBe('provisional')
    const r = await putCalendar(NOTICE_2027, 'text/plain')
    expect(r.statusCode, r.body).toBe(200)
    expect(r.json()).toMatchObject({ year: 2027, status: 'official', source: 'notice', dry_run: false })
    expect((await get('/api/v1/reference/calendar?year=2027')).body).toMatchObject({ status: 'official', source: 'notice' })

    const after = (await get(`/api/v1/cases/C-OPEN?as_of=${asOf('2027-02-15T12:00:00+08:00')}`)).body
    expect(after.calendar_provisional).toBe(false)
    // 1–15 February: 7 working days provisionally, 6 officially (11–12 Feb off, Sun 14 Feb worked)
    expect(after.elapsed_days).toBe(caseBefore.elapsed_days - 1)
    const at = asOf('2027-01-15T12:00:00+08:00')
    expect((await get(`/api/v1/metrics/bad_review_rectified_on_time_rate?from=2026-01-01&to=2026-12-31&as_of=${at}`)).body.calendar_provisional).toBe(false)
  })

  it('shows the published figures that changed as a restatement caused by the calendar', async () => {
    const info = (await store.find(2026))!
    const r = await store.restatement(info, publishedAt)
    expect(r.restated).toBe(true)
    expect(r.calendar_provisional).toBe(false)
    expect(r.causes).toEqual([expect.objectContaining({ cause: 'calendar', years: [2027] })])
    // the official limit ends on Sun 14 Feb (a working day): rectified on 12 Feb is in time
    const changed = r.indicators.find((i) => i.unit_id === 'S1' && i.indicator_id === 'bad_review_rectified_on_time_rate')!
    expect(changed.published).toMatchObject({ numerator: 0, denominator: 1 })
    expect(changed.current).toMatchObject({ numerator: 1, denominator: 1 })
    // the published report still shows what was published, provisional mark and all
    const frozen = await store.load(info)
    expect(frozen.units.find((u) => u.unit_id === 'S1')!.indicators.find((i) => i.id === 'bad_review_rectified_on_time_rate')).toMatchObject({ numerator: 0 })
    expect(renderDistrict(frozen, 'Asia/Shanghai')).toContain('data-calendar-provisional')
    expect(renderRestatement(r, frozen, 'Asia/Shanghai')).toContain('data-cause="calendar"')
  })
})

describe('the limits of a past year', () => {
  it('need no later calendar than their own last day', async () => {
    // asked as of 2030, 2026's bad ratings count the days to their limits' end (early 2027, official
    // now) and no day of the provisional years after it
    const r = await get(`/api/v1/metrics/bad_review_rectified_on_time_rate?from=2026-01-01&to=2026-12-31&by=unit&as_of=${asOf('2030-06-01T00:00:00+08:00')}`)
    expect(r.status, JSON.stringify(r.body)).toBe(200)
    expect(r.body.calendar_provisional).toBe(false)
    expect(r.body.rows).toEqual([expect.objectContaining({ key: 'S1', numerator: 1, denominator: 1 })])
    expect(platform.calendar.statusOf(2030)).toBe('provisional')
  })
})
