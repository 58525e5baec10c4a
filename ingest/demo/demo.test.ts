// The demo district against the real embedded engine: deterministic, loads without a single
// rejected row, keeps every case's events in order on working days, and has Dongcheng's shape.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { queryRows } from '../../warehouse/index.ts'
import { openTestPlatform } from '../../warehouse/testing.ts'
import { STREAM_NAMES, STREAMS, type StreamName } from '../contract.ts'
import { IngestService } from '../service.ts'
import { demoReference, demoStream, loadDemoDistrict, type DemoOptions, type DemoSummary } from './index.ts'

type P = Awaited<ReturnType<typeof openTestPlatform>>
let p: P
let summary: DemoSummary
const opts: DemoOptions = { cases: 800, from: '2025-01-01', to: '2025-03-31' }
const END = Date.parse('2025-03-31T23:59:59+08:00')
const isWorkingDay = (date: string) => p.calendar.isWorkingDay(date)

type Rec = Record<string, unknown>
const all = (stream: StreamName, o: DemoOptions = opts, batchSize?: number): Rec[] => [...demoStream(stream, o, isWorkingDay, batchSize)].flat() as Rec[]

beforeAll(async () => {
  p = await openTestPlatform()
  summary = await loadDemoDistrict(p, new IngestService(p), opts)
}, 300_000)

afterAll(async () => p?.close())

describe('determinism', () => {
  it('gives identical records for the same seed and different ones for another seed', () => {
    for (const stream of STREAM_NAMES) {
      const a = JSON.stringify(all(stream))
      expect(JSON.stringify(all(stream)), stream).toBe(a)
      expect(JSON.stringify(all(stream, opts, 37)), `${stream} in batches of 37`).toBe(a)
    }
    expect(JSON.stringify(all('case-events', { ...opts, seed: 7 }))).not.toBe(JSON.stringify(all('case-events')))
    expect(JSON.stringify(all('evaluations', { ...opts, seed: 7 }))).not.toBe(JSON.stringify(all('evaluations')))
    expect(JSON.stringify(demoReference(20251))).toBe(JSON.stringify(demoReference(20251)))
  })

  it('yields batches of at most batchSize, keeping a case in one batch', () => {
    const seen = new Set<string>()
    for (const batch of demoStream('case-events', opts, isWorkingDay, 100)) {
      expect(batch.length).toBeLessThanOrEqual(100)
      const ids = new Set((batch as Rec[]).map((r) => r.case_id as string))
      for (const id of ids) {
        expect(seen.has(id), `${id} split across batches`).toBe(false)
        seen.add(id)
      }
    }
  })
})

describe('loadDemoDistrict', () => {
  it('stores every record of every stream with nothing rejected', async () => {
    expect(summary.units).toBe(demoReference().units.length)
    for (const stream of STREAM_NAMES) {
      const s = summary.streams[stream]!
      expect(s.received, stream).toBeGreaterThan(0)
      expect(s, stream).toEqual({ received: s.received, accepted: s.received, duplicates: 0, rejected: 0 })
      const [row] = await queryRows<{ n: string }>(p.warehouse, `SELECT count() AS n FROM ${STREAMS[stream].table}`)
      expect(Number(row!.n), stream).toBe(s.accepted)
    }
    const caseEvents = summary.streams['case-events']!.received
    expect(caseEvents / opts.cases!).toBeGreaterThan(3.5)
    const [q] = await queryRows<{ n: string }>(p.warehouse, 'SELECT count() AS n FROM quarantine')
    expect(Number(q!.n)).toBe(0)
  })

  it("keeps each case's events in time order, on working days, in office hours, and never after `to`", () => {
    const events = all('case-events')
    let last: Rec | undefined
    for (const e of events) {
      const at = e.occurred_at as string
      expect(at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/)
      expect(isWorkingDay(at.slice(0, 10)), `${e.event_id} on ${at}`).toBe(true)
      expect(Date.parse(at)).toBeLessThanOrEqual(END)
      const hour = Number(at.slice(11, 13))
      expect(hour >= 9 && hour < 20, `${e.event_id} at ${at}`).toBe(true)
      if (last && last.case_id === e.case_id) expect(Date.parse(at), `${e.event_id}`).toBeGreaterThanOrEqual(Date.parse(last.occurred_at as string))
      last = e
    }
    expect(new Set(events.map((e) => e.event_id)).size).toBe(events.length)
    for (const stream of ['evaluations', 'evaluation-followups', 'complaints', 'queue-tickets'] as const) {
      for (const r of all(stream)) expect(Date.parse(r.occurred_at as string), `${stream} ${r.event_id}`).toBeLessThanOrEqual(END)
    }
  })

  it('accepts every case for an item allowed on the accepting unit\'s tier', () => {
    const ref = demoReference()
    const tierOf = new Map((ref.units as Rec[]).map((u) => [u.unit_id, u.tier as number]))
    const tiersOf = new Map((ref.items as Rec[]).map((i) => [i.item_code, i.tiers as number[]]))
    const accepted = all('case-events').filter((e) => e.type === 'accepted')
    expect(accepted.length).toBeGreaterThan(700)
    for (const e of accepted) expect(tiersOf.get(e.item_code)).toContain(tierOf.get(e.unit_id))
  })

  it('gives the platform cases whose state matches their events', async () => {
    const byCase = new Map<string, Rec[]>()
    for (const e of all('case-events')) byCase.set(e.case_id as string, [...(byCase.get(e.case_id as string) ?? []), e])
    const asOf = Date.parse('2025-04-01T00:00:00+08:00')
    let checked = 0
    for (const [caseId, events] of [...byCase].filter((_, n) => n % 40 === 0)) {
      const stop = events.find((e) => e.type === 'completed' || e.type === 'rejected' || e.type === 'withdrawn')
      const c = await p.cases.get(caseId, asOf)
      expect(c, caseId).toBeDefined()
      expect(c!.status, caseId).toBe(stop ? stop.type : 'open')
      expect(c!.events.length).toBe(events.length)
      checked++
    }
    expect(checked).toBeGreaterThanOrEqual(15)
  })

  it('has ratings, follow-ups, complaints, queues and a full cost ledger', () => {
    const ratings = all('evaluations')
    expect(ratings.length / opts.cases!).toBeGreaterThan(0.4)
    expect(ratings.some((r) => r.rating_scheme === 'gbt39046')).toBe(true)
    expect(ratings.some((r) => r.active === false)).toBe(true)
    const units = demoReference().units
    const costs = all('costs')
    expect(costs.filter((c) => c.category === 'staff').length).toBe(units.length * 3)
    for (const c of costs) expect(c.amount).toMatch(/^\d+\.\d{2}$/)
  })

  it("has the hotline's steps: responses, resolutions, the complainants' ratings and links to cases and ratings", () => {
    // (complaints are few: a larger district than the others here, generated only)
    const big: DemoOptions = { cases: 8000, from: '2025-01-01', to: '2025-06-30' }
    const complaints = all('complaints', big)
    const types = new Map<string, number>()
    for (const c of complaints) types.set(String(c.type), (types.get(String(c.type)) ?? 0) + 1)
    const received = types.get('received') ?? 0
    expect(received).toBeGreaterThan(20)
    expect((types.get('responded') ?? 0) / received).toBeGreaterThan(0.8)
    expect((types.get('rated') ?? 0) / received).toBeGreaterThan(0.3)
    for (const c of complaints) if (c.type === 'rated') expect(c.rating).toBeGreaterThanOrEqual(1)
    const cases = new Set(all('case-events', big).map((e) => e.case_id))
    const linked = complaints.filter((c) => c.case_id !== undefined)
    expect(linked.length / received).toBeGreaterThan(0.5)
    for (const c of linked) expect(cases.has(c.case_id), String(c.case_id)).toBe(true)
    const evaluations = all('evaluations', big)
    const ratings = new Set(evaluations.map((e) => e.event_id))
    const toRatings = complaints.filter((x) => x.evaluation_id !== undefined)
    expect(toRatings.length).toBeGreaterThan(0)
    for (const c of toRatings) expect(ratings.has(c.evaluation_id)).toBe(true)
    expect(evaluations.some((e) => e.follow_up === true)).toBe(true)
  })
})

describe('the unit structure', () => {
  const ref = demoReference()
  const units = ref.units as Rec[]
  const byId = new Map(units.map((u) => [u.unit_id as string, u]))
  const kind = (k: string) => units.filter((u) => u.kind === k)

  it('has one centre, the bureau halls and exactly the 17 street halls', () => {
    expect(byId.size).toBe(units.length)
    expect(kind('district_centre')).toHaveLength(1)
    expect(kind('district_centre')[0]).toMatchObject({ tier: 1, name: '东城区政务服务中心' })
    expect(kind('district_centre')[0]!.parent_id).toBeUndefined()
    expect(kind('bureau_hall').length).toBeGreaterThanOrEqual(25)
    const streets = ['东华门', '景山', '交道口', '安定门', '北新桥', '东四', '朝阳门', '建国门', '东直门', '和平里', '前门', '崇文门外', '东花市', '龙潭', '体育馆路', '天坛', '永定门外']
    expect(kind('street_hall').map((u) => u.name).sort()).toEqual(streets.map((s) => `${s}街道政务服务大厅`).sort())
    for (const u of [...kind('bureau_hall'), ...kind('street_hall')]) expect(byId.get(u.parent_id as string)?.kind).toBe('district_centre')
  })

  it('hangs every station under a street hall, 8–12 community stations per street', () => {
    const stations = [...kind('community_station'), ...kind('enterprise_station')]
    for (const s of stations) {
      expect(s.tier).toBe(3)
      expect(byId.get(s.parent_id as string)?.kind, s.unit_id as string).toBe('street_hall')
    }
    for (const street of kind('street_hall')) {
      const n = kind('community_station').filter((s) => s.parent_id === street.unit_id).length
      expect(n, street.name as string).toBeGreaterThanOrEqual(8)
      expect(n, street.name as string).toBeLessThanOrEqual(12)
    }
    expect(kind('enterprise_station').length).toBeGreaterThanOrEqual(5)
  })

  it('has a catalogue of several hundred items with realistic limits', () => {
    const items = ref.items as Rec[]
    expect(items.length).toBeGreaterThanOrEqual(300)
    expect(new Set(items.map((i) => i.item_code)).size).toBe(items.length)
    for (const i of items) expect(byId.has(i.owner_unit_id as string)).toBe(true)
    const publicServices = items.filter((i) => i.category === 'public_service')
    const immediate = publicServices.filter((i) => i.promised_days === 0).length / publicServices.length
    expect(immediate).toBeGreaterThan(0.15)
    expect(immediate).toBeLessThan(0.4)
    expect(items.some((i) => i.promised_days === undefined)).toBe(true)
    for (const i of items) if (i.promised_days !== undefined && i.statutory_days !== undefined) expect(i.promised_days as number).toBeLessThanOrEqual(i.statutory_days as number)
    expect((ref.targets as Rec[]).filter((t) => t.scope === 'district').map((t) => t.metric_id)).toEqual(expect.arrayContaining(['on_time_rate', 'satisfaction_rate', 'bad_review_rate', 'online_rate']))
  })
})
