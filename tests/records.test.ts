// The records behind a figure: complaints, queue tickets and cost entries listed with the filters,
// paging and scopes of the case list, as of a moment, counting what the indicator counts.
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN, auth, loadSmallDistrict, makeKey, openTestApp, toNdjson } from './support.ts'

let app: FastifyInstance
let platform: Awaited<ReturnType<typeof openTestApp>>['platform']
let close: () => Promise<void>
let reader: string
let leader: string

const get = async (url: string, token = reader) => {
  const r = await app.inject({ method: 'GET', url, headers: auth(token) })
  return { status: r.statusCode, body: r.json() }
}
async function ingest(stream: string, rows: unknown[]) {
  const r = await app.inject({ method: 'POST', url: `/api/v1/ingest/${stream}`, headers: { 'content-type': 'application/x-ndjson', ...auth(ADMIN) }, payload: toNdjson(rows) })
  expect(r.statusCode, r.body).toBe(200)
  expect(r.json().accepted, r.body).toBe(rows.length)
}

beforeAll(async () => {
  ;({ app, platform, close } = await openTestApp())
  await loadSmallDistrict(app)
  reader = await makeKey(app, 'inspector')
  leader = await makeKey(app, 'unit_leader', ['S2'])
  // five complaints about S1 in March 2025 (one resolved late, one not yet as of 1 April), one about S2
  const complaints = []
  for (let i = 1; i <= 5; i++) {
    complaints.push({ event_id: `c${i}-r`, complaint_id: `C${i}`, type: 'received', occurred_at: `2025-03-0${i + 2}T09:00:00+08:00`, unit_id: 'S1', source: 'hotline', category: '服务态度' })
    if (i <= 3) complaints.push({ event_id: `c${i}-d`, complaint_id: `C${i}`, type: 'resolved', occurred_at: `2025-03-1${i}T09:00:00+08:00`, unit_id: 'S1', substantiated: i === 1 })
  }
  complaints.push({ event_id: 'c4-d', complaint_id: 'C4', type: 'resolved', occurred_at: '2025-05-20T09:00:00+08:00', unit_id: 'S1' })
  complaints.push({ event_id: 'c9-r', complaint_id: 'C9', type: 'received', occurred_at: '2025-03-05T09:00:00+08:00', unit_id: 'S2', source: 'web' })
  await ingest('complaints', complaints)
  await ingest('queue-tickets', [
    { event_id: 't1-i', ticket_id: 'T1', type: 'issued', occurred_at: '2025-03-03T09:00:00+08:00', unit_id: 'S1' },
    { event_id: 't1-c', ticket_id: 'T1', type: 'called', occurred_at: '2025-03-03T09:12:00+08:00', unit_id: 'S1' },
    { event_id: 't2-i', ticket_id: 'T2', type: 'issued', occurred_at: '2025-03-03T09:05:00+08:00', unit_id: 'S1' },
    { event_id: 't2-a', ticket_id: 'T2', type: 'abandoned', occurred_at: '2025-03-03T09:40:00+08:00', unit_id: 'S1' },
  ])
  await ingest('costs', [
    { entry_id: 'k1', unit_id: 'S1', period: '2025-03', category: 'staff', amount: '120000.50', staff_fte: 6, note: '三月工资' },
    { entry_id: 'k2', unit_id: 'S1', period: '2025-03', category: 'it', amount: 8000 },
    { entry_id: 'k3', unit_id: 'S2', period: '2025-03', category: 'operations', amount: '5000.00' },
  ])
}, 120_000)

afterAll(async () => close?.())

describe('the records behind a figure', () => {
  it('lists a unit\'s complaints with their resolution as of a moment, counting what the indicator counts', async () => {
    const at = encodeURIComponent('2025-04-30T18:00:00+08:00')
    const list = await get(`/api/v1/complaints?unit_id=S1&from=2025-03-01&to=2025-03-31&as_of=${at}`)
    expect(list.status, JSON.stringify(list.body)).toBe(200)
    const rows = list.body.rows as Array<{ complaint_id: string; resolved_at: string | null; limit_passed: boolean; resolved_in_time: boolean; substantiated: boolean | null }>
    expect(rows.map((r) => r.complaint_id)).toEqual(['C1', 'C2', 'C3', 'C4', 'C5'])
    // C4 is resolved on 20 May: not yet as of 30 April
    expect(rows.find((r) => r.complaint_id === 'C4')).toMatchObject({ resolved_at: null, resolved_in_time: false })
    expect(rows.find((r) => r.complaint_id === 'C1')).toMatchObject({ substantiated: true, resolved_in_time: true })
    const figure = await get(`/api/v1/metrics/complaint_resolved_on_time_rate?scope=unit:S1&from=2025-03-01&to=2025-03-31&as_of=${at}`)
    const [row] = figure.body.rows
    expect(row.denominator).toBe(rows.filter((r) => r.limit_passed).length)
    expect(row.numerator).toBe(rows.filter((r) => r.limit_passed && r.resolved_in_time).length)
    // as of today C4 is resolved
    const now = await get('/api/v1/complaints?unit_id=S1&from=2025-03-01&to=2025-03-31')
    expect(now.body.rows.find((r: { complaint_id: string }) => r.complaint_id === 'C4').resolved_at).toMatch(/^2025-05-20T09:00:00/)
  })

  it('pages with a cursor, and shows a unit leader only its own units', async () => {
    const seen: string[] = []
    let url = '/api/v1/complaints?from=2025-01-01&to=2025-12-31&limit=2'
    for (let i = 0; i < 10; i++) {
      const page = await get(url)
      seen.push(...page.body.rows.map((r: { complaint_id: string }) => r.complaint_id))
      if (!page.body.next_cursor) break
      url = `/api/v1/complaints?from=2025-01-01&to=2025-12-31&limit=2&cursor=${page.body.next_cursor}`
    }
    expect(seen.sort()).toEqual(['C1', 'C2', 'C3', 'C4', 'C5', 'C9'])
    const mine = await get('/api/v1/complaints?from=2025-01-01&to=2025-12-31', leader)
    expect(mine.body.rows.map((r: { complaint_id: string }) => r.complaint_id)).toEqual(['C9'])
    expect((await get('/api/v1/cost-entries?unit_id=S1&from=2025-01-01&to=2025-12-31', leader)).body.rows).toEqual([])
  })

  it('lists queue tickets with their waits, and cost entries of the months in the period', async () => {
    const tickets = await get('/api/v1/queue-tickets?unit_id=S1&from=2025-03-01&to=2025-03-31')
    expect(tickets.body.rows).toEqual([
      expect.objectContaining({ ticket_id: 'T1', wait_minutes: 12, abandoned: false }),
      expect.objectContaining({ ticket_id: 'T2', called_at: null, wait_minutes: null, abandoned: true }),
    ])
    const costs = await get('/api/v1/cost-entries?unit_id=S1&from=2025-03-01&to=2025-03-31')
    expect(costs.body.rows).toEqual([
      { entry_id: 'k1', unit_id: 'S1', period: '2025-03-01', category: 'staff', amount: 120000.5, staff_fte: 6, note: '三月工资' },
      { entry_id: 'k2', unit_id: 'S1', period: '2025-03-01', category: 'it', amount: 8000, staff_fte: null, note: null },
    ])
    expect((await get('/api/v1/cost-entries?from=2025-04-01&to=2025-03-01')).status).toBe(400)
  })

  it('lists ratings as the figures count them: one per case (一事一评), the 追评 beside the first, not a second rating', async () => {
    await ingest('evaluations', [
      { event_id: 'r1', unit_id: 'S2', rating: 1, occurred_at: '2025-04-01T10:00:00+08:00', channel: 'app', case_id: 'RC1' },
      { event_id: 'r2', unit_id: 'S2', rating: 2, occurred_at: '2025-04-02T10:00:00+08:00', channel: 'web', case_id: 'RC1' },
      { event_id: 'r3', unit_id: 'S2', rating: 5, follow_up: true, occurred_at: '2025-04-20T10:00:00+08:00', channel: 'sms', case_id: 'RC1' },
    ])
    const all = await get('/api/v1/ratings?unit_id=S2&from=2025-04-01&to=2025-04-30')
    expect(all.status, JSON.stringify(all.body)).toBe(200)
    const byId = new Map((all.body.rows as Array<{ event_id: string; counted: boolean; follow_up: boolean; follow_up_rating: { rating: number } | null }>).map((r) => [r.event_id, r]))
    expect(byId.get('r1')).toMatchObject({ counted: true, follow_up: false, follow_up_rating: { rating: 5 } })
    expect(byId.get('r2')).toMatchObject({ counted: false, follow_up: false, follow_up_rating: null })
    expect(byId.get('r3')).toMatchObject({ counted: false, follow_up: true, follow_up_rating: null })
    // the bad ratings listed are those the 差评 figures count: r1 alone
    const bad = await get('/api/v1/ratings?unit_id=S2&bad=true&from=2025-04-01&to=2025-04-30')
    expect(bad.body.rows.map((r: { event_id: string }) => r.event_id)).toEqual(['r1'])
    const rate = await get('/api/v1/metrics/bad_review_rate?scope=unit:S2&from=2025-04-01&to=2025-04-30')
    expect(rate.body.rows[0]).toMatchObject({ numerator: 1, denominator: 1 })
  })

  it('lists a case\'s second rating as not counted from its receipt on: the list waits for the ratings\' refresh', async () => {
    await ingest('evaluations', [{ event_id: 'w1', unit_id: 'S2', rating: 4, occurred_at: '2025-05-01T10:00:00+08:00', channel: 'app', case_id: 'WC1' }])
    // the refresh that finds WC1 rated twice is held back until the list has been asked
    const real = platform.ratings.refreshBatches.bind(platform.ratings)
    let open!: () => void
    const gate = new Promise<void>((resolve) => (open = resolve))
    platform.ratings.refreshBatches = async (ids) => (await gate, real(ids))
    try {
      await ingest('evaluations', [{ event_id: 'w2', unit_id: 'S2', rating: 1, occurred_at: '2025-05-02T10:00:00+08:00', channel: 'web', case_id: 'WC1' }])
      let answered = false
      const lists = Promise.all([
        get('/api/v1/ratings?unit_id=S2&from=2025-05-01&to=2025-05-31'),
        get('/api/v1/ratings?unit_id=S2&bad=true&from=2025-05-01&to=2025-05-31'),
      ]).then((r) => ((answered = true), r))
      await new Promise((r) => setTimeout(r, 300))
      expect(answered).toBe(false)
      open()
      const [ratings, bad] = await lists
      expect(ratings.status, JSON.stringify(ratings.body)).toBe(200)
      const counted = Object.fromEntries((ratings.body.rows as Array<{ event_id: string; counted: boolean }>).map((r) => [r.event_id, r.counted]))
      expect(counted).toMatchObject({ w1: true, w2: false })
      expect(bad.status, JSON.stringify(bad.body)).toBe(200)
      expect(bad.body.rows.map((r: { event_id: string }) => r.event_id)).not.toContain('w2')
    } finally {
      open()
      platform.ratings.refreshBatches = real
    }
  })

  it('links every indicator that has records to its list, for the year and moment assessed, and every link answers', async () => {
    const at = '2026-01-15T12:00:00+08:00'
    const a = await get(`/api/v1/assessment?year=2025&tier=2&as_of=${encodeURIComponent(at)}`)
    expect(a.status, JSON.stringify(a.body)).toBe(200)
    const links = (a.body.units as Array<{ indicators: Array<{ id: string; explain: string | null }> }>).flatMap((u) => u.indicators.map((i) => i.explain)).filter((l): l is string => l !== null)
    expect(links.length).toBeGreaterThan(10)
    for (const link of new Set(links)) {
      const url = new URL(link, 'http://x')
      // a past year's list as it stood when assessed
      expect(url.searchParams.get('as_of'), link).toMatch(/^2026-01-15T12:00:00/)
      const r = await get(link)
      expect(r.status, `${link}: ${JSON.stringify(r.body)}`).toBe(200)
    }
    expect(links.some((l) => l.startsWith('/api/v1/complaints?'))).toBe(true)
    expect(links.some((l) => l.startsWith('/api/v1/cost-entries?'))).toBe(true)
  })

  it('assesses a unit closed in June on the months it served, and leaves out a unit not in service that year', async () => {
    const units = [
      { unit_id: 'S1-C2', name: '已撤并社区服务站', tier: 3, kind: 'community_station', parent_id: 'S1', active_from: '2020-01-01', active_to: '2025-06-30' },
      { unit_id: 'S1-C3', name: '新建社区服务站', tier: 3, kind: 'community_station', parent_id: 'S1', active_from: '2026-03-01' },
    ]
    const put = await app.inject({ method: 'PUT', url: '/api/v1/reference/units', headers: { 'content-type': 'application/json', ...auth(ADMIN) }, payload: units })
    expect(put.statusCode, put.body).toBe(200)
    const a = (await get('/api/v1/assessment?year=2025&tier=3')).body as { units: Array<{ unit_id: string; in_service: { from: string; to: string } | null; rank: number | null }> }
    const byId = new Map(a.units.map((u) => [u.unit_id, u]))
    expect(byId.get('S1-C2')!.in_service).toEqual({ from: '2025-01-01', to: '2025-06-30' })
    expect(byId.get('S1-C1')!.in_service).toBeNull()
    expect(byId.has('S1-C3')).toBe(false)
    // a record dated after its closing is refused, naming the period
    const r = await app.inject({
      method: 'POST', url: '/api/v1/ingest/complaints', headers: { 'content-type': 'application/x-ndjson', ...auth(ADMIN) },
      payload: toNdjson([{ event_id: 'late-c', complaint_id: 'LC', type: 'received', occurred_at: '2025-07-02T09:00:00+08:00', unit_id: 'S1-C2' }]),
    })
    expect(r.json()).toMatchObject({ accepted: 0, rejected: 1 })
    expect(r.json().errors[0]).toMatchObject({ code: 'unit_inactive' })
    expect(r.json().errors[0].message).toContain('2025-06-30')
  })

  it("prints the indicator document with the scheme's grade names escaped, for a year that can be asked", async () => {
    const scheme = (await get('/api/v1/assessment/scheme?year=2025')).body
    scheme.grades[0].grade = '<img src=x onerror=alert(1)>优秀'
    const stored = await app.inject({ method: 'PUT', url: '/api/v1/assessment/scheme', headers: auth(ADMIN), payload: scheme })
    expect(stored.statusCode, stored.body).toBeLessThan(300)
    const doc = await app.inject({ method: 'GET', url: '/indicators?year=2025' })
    expect(doc.statusCode).toBe(200)
    expect(doc.body).not.toContain('<img src=x')
    expect(doc.body).toContain('&lt;img src=x onerror=alert(1)&gt;优秀')
    expect((await app.inject({ method: 'GET', url: '/indicators?year=99999' })).statusCode).toBe(400)
  })
})
