// Every indicator of the catalogue on a small hand-made district, recomputed by an independent
// route: plain TypeScript over the fixture rows (its own working-day clock, its own sums), checked
// against the API's rows to the unit — value, numerator and denominator.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { applyReference, IngestService, type StreamName } from '../ingest/index.ts'
import { openTestPlatform } from '../warehouse/testing.ts'
import { INDICATORS } from './catalog.ts'
import { MetricsService } from './service.ts'

let p: Awaited<ReturnType<typeof openTestPlatform>>
let metrics: MetricsService
const AS_OF = Date.parse('2025-12-31T23:59:59+08:00')
const PERIOD = { from: '2025-01-01', to: '2025-12-31' }

const units = [
  { unit_id: 'C', name: '区政务服务中心', tier: 1, kind: 'district_centre' },
  { unit_id: 'S1', name: '东华门街道', tier: 2, kind: 'street_hall', parent_id: 'C' },
  { unit_id: 'S2', name: '景山街道', tier: 2, kind: 'street_hall', parent_id: 'C' },
  { unit_id: 'S1A', name: '多福巷社区', tier: 3, kind: 'community_station', parent_id: 'S1' },
]
const items = [
  { item_code: 'I3', name: '居住证', category: 'public_service', statutory_days: 10, promised_days: 3, tiers: [1, 2, 3] },
  { item_code: 'I0', name: '证明', category: 'public_service', statutory_days: 5, promised_days: 0, tiers: [2] },
  { item_code: 'NL', name: '咨询', category: 'other', tiers: [2] },
]
const limits: Record<string, { promised: number | null; statutory: number | null }> = {
  I3: { promised: 3, statutory: 10 }, I0: { promised: 0, statutory: 5 }, NL: { promised: null, statutory: null },
}

type Ev = [type: string, day: string, extra?: Record<string, unknown>]
const t = (day: string, hour = '10:00') => `${day}T${hour}:00+08:00`
const cases: Record<string, { unit: string; item: string; channel: string; events: Ev[] }> = {
  c1: { unit: 'S1', item: 'I3', channel: 'online', events: [['accepted', '2025-03-03'], ['completed', '2025-03-05']] },
  c2: { unit: 'S1', item: 'I3', channel: 'window', events: [['accepted', '2025-03-03'], ['completed', '2025-03-10']] },
  c3: { unit: 'S1', item: 'I3', channel: 'mobile', events: [['accepted', '2025-03-03'], ['supplement_requested', '2025-03-04'], ['supplement_received', '2025-03-06'], ['completed', '2025-03-07']] },
  c4: { unit: 'S2', item: 'I0', channel: 'window', events: [['accepted', '2025-04-01'], ['completed', '2025-04-01']] },
  c5: { unit: 'S2', item: 'I0', channel: 'window', events: [['accepted', '2025-04-01'], ['completed', '2025-04-02']] },
  c6: { unit: 'S2', item: 'NL', channel: 'window', events: [['accepted', '2025-04-01'], ['completed', '2025-04-10']] },
  c7: { unit: 'S1A', item: 'I3', channel: 'online', events: [['accepted', '2025-05-06'], ['rejected', '2025-05-07']] },
  c8: { unit: 'S1A', item: 'I3', channel: 'window', events: [['accepted', '2025-06-03'], ['withdrawn', '2025-06-05']] },
  c9: { unit: 'S1', item: 'I3', channel: 'window', events: [['accepted', '2025-11-03']] },
  c10: { unit: 'C', item: 'I3', channel: 'online', events: [['accepted', '2025-12-30']] },
  c11: { unit: 'S1', item: 'I3', channel: 'window', events: [['accepted', '2025-07-01'], ['transferred', '2025-07-02', { to_unit_id: 'S2' }], ['completed', '2025-07-03']] },
  // 代办: accepted at the station S1A and transferred to its street hall, one on time and one late
  c12: { unit: 'S1A', item: 'I3', channel: 'window', events: [['accepted', '2025-08-04'], ['transferred', '2025-08-05', { to_unit_id: 'S1' }], ['completed', '2025-08-06']] },
  c13: { unit: 'S1A', item: 'I3', channel: 'window', events: [['accepted', '2025-09-01'], ['transferred', '2025-09-02', { to_unit_id: 'S1' }], ['completed', '2025-09-15']] },
}
const evaluations = [
  { event_id: 'e1', unit_id: 'S1', rating: 5, occurred_at: t('2025-03-06'), channel: 'web', case_id: 'c1' },
  // c1 rated a second time, not as a 追评: 一事一评, the first stands and this one is not counted
  { event_id: 'e10', unit_id: 'S1', rating: 1, occurred_at: t('2025-03-07'), channel: 'web', case_id: 'c1' },
  { event_id: 'e2', unit_id: 'S1', rating: 1, occurred_at: t('2025-03-10'), channel: 'sms', case_id: 'c2', real_name: true },
  // the 追评 of c2 after its rectification (20 Mar): the citizen's verdict on it, not a second rating
  { event_id: 'e9', unit_id: 'S1', rating: 4, follow_up: true, occurred_at: t('2025-03-26'), channel: 'sms', case_id: 'c2' },
  { event_id: 'e3', unit_id: 'S1', rating: 2, rating_scheme: 'gbt39046', occurred_at: t('2025-03-11'), channel: 'app' },
  { event_id: 'e4', unit_id: 'S1', rating: 4, active: false, occurred_at: t('2025-03-12'), channel: 'window_device' },
  { event_id: 'e5', unit_id: 'S2', rating: 2, occurred_at: t('2025-05-06'), channel: 'qr_code' },
  { event_id: 'e6', unit_id: 'S2', rating: 3, occurred_at: t('2025-05-07'), channel: 'web' },
  { event_id: 'e7', unit_id: 'S2', rating: 1, occurred_at: t('2025-12-29'), channel: 'hotline' },
  { event_id: 'e11', unit_id: 'S2', rating: 2, follow_up: true, occurred_at: t('2025-06-25'), channel: 'qr_code' },
  { event_id: 'e8', unit_id: 'S1A', rating: 5, occurred_at: t('2025-05-08'), channel: 'app' },
]
const followups = [
  { event_id: 'f1', evaluation_id: 'e2', type: 'verified', occurred_at: t('2025-03-11'), unit_id: 'S1' },
  { event_id: 'f2', evaluation_id: 'e2', type: 'rectified', occurred_at: t('2025-03-20'), unit_id: 'S1' },
  { event_id: 'f3', evaluation_id: 'e2', type: 'revisited', occurred_at: t('2025-03-25'), unit_id: 'S1' },
  { event_id: 'f4', evaluation_id: 'e5', type: 'rectified', occurred_at: t('2025-06-20'), unit_id: 'S2' },
  { event_id: 'f5', evaluation_id: 'e7', type: 'dismissed', occurred_at: t('2025-12-30'), unit_id: 'S2' },
  // e5 (Tue 6 May) verified on Mon 12 May: 4 working days, late against 1; never revisited
  { event_id: 'f6', evaluation_id: 'e5', type: 'verified', occurred_at: t('2025-05-12'), unit_id: 'S2' },
]
const complaints = [
  // K1: every step, each in time (response limit 1 working day, resolution 15), linked to a case and a rating
  { event_id: 'k1r', complaint_id: 'K1', type: 'received', occurred_at: t('2025-03-12'), unit_id: 'S1', source: 'hotline', case_id: 'c2', evaluation_id: 'e2' },
  { event_id: 'k1p', complaint_id: 'K1', type: 'responded', occurred_at: t('2025-03-13'), unit_id: 'S1' },
  { event_id: 'k1d', complaint_id: 'K1', type: 'resolved', occurred_at: t('2025-03-20'), unit_id: 'S1', substantiated: true },
  { event_id: 'k1s', complaint_id: 'K1', type: 'rated', occurred_at: t('2025-03-21'), unit_id: 'S1', rating: 4 },
  // K2: responded late (Tue 6 May → Fri 9 May), resolved late, rated 2 and then 3 (the latest counts)
  { event_id: 'k2r', complaint_id: 'K2', type: 'received', occurred_at: t('2025-05-06'), unit_id: 'S2', source: 'web' },
  { event_id: 'k2p', complaint_id: 'K2', type: 'responded', occurred_at: t('2025-05-09'), unit_id: 'S2' },
  { event_id: 'k2d', complaint_id: 'K2', type: 'resolved', occurred_at: t('2025-07-01'), unit_id: 'S2', substantiated: false },
  { event_id: 'k2s', complaint_id: 'K2', type: 'rated', occurred_at: t('2025-07-02'), unit_id: 'S2', rating: 2 },
  { event_id: 'k2t', complaint_id: 'K2', type: 'rated', occurred_at: t('2025-07-05'), unit_id: 'S2', rating: 3 },
  // K3: received on 30 Dec, its response limit not yet passed on the 31st
  { event_id: 'k3r', complaint_id: 'K3', type: 'received', occurred_at: t('2025-12-30'), unit_id: 'S2', source: 'letter' },
  // K4: at a station, responded the same day, never resolved
  { event_id: 'k4r', complaint_id: 'K4', type: 'received', occurred_at: t('2025-06-03'), unit_id: 'S1A', source: 'in_person' },
  { event_id: 'k4p', complaint_id: 'K4', type: 'responded', occurred_at: t('2025-06-03', '15:00'), unit_id: 'S1A' },
]
const tickets = [
  { event_id: 'q1', ticket_id: 'T1', type: 'issued', occurred_at: t('2025-03-03', '09:00'), unit_id: 'S1', item_code: 'I3' },
  { event_id: 'q2', ticket_id: 'T1', type: 'called', occurred_at: t('2025-03-03', '09:10'), unit_id: 'S1' },
  { event_id: 'q3', ticket_id: 'T2', type: 'issued', occurred_at: t('2025-03-03', '09:05'), unit_id: 'S1', item_code: 'I3' },
  { event_id: 'q4', ticket_id: 'T2', type: 'called', occurred_at: t('2025-03-03', '09:35'), unit_id: 'S1' },
  { event_id: 'q5', ticket_id: 'T3', type: 'issued', occurred_at: t('2025-03-03', '09:30'), unit_id: 'S1', item_code: 'I0' },
  { event_id: 'q6', ticket_id: 'T3', type: 'abandoned', occurred_at: t('2025-03-03', '10:30'), unit_id: 'S1' },
  { event_id: 'q7', ticket_id: 'T4', type: 'issued', occurred_at: t('2025-04-01', '10:00'), unit_id: 'S2', item_code: 'I0' },
  { event_id: 'q8', ticket_id: 'T4', type: 'called', occurred_at: t('2025-04-01', '10:05'), unit_id: 'S2' },
]
const costs = [
  { entry_id: 'm1', unit_id: 'S1', period: '2025-03', category: 'staff', amount: '300000.00', staff_fte: 10 },
  { entry_id: 'm2', unit_id: 'S1', period: '2025-03', category: 'purchased_service', amount: '100000.00' },
  { entry_id: 'm3', unit_id: 'S2', period: '2025-04', category: 'staff', amount: '200000.00', staff_fte: 8 },
  { entry_id: 'm4', unit_id: 'S2', period: '2025-04', category: 'it', amount: 50000.5 },
]

// ── the independent route: a clock in plain TypeScript over the fixture
const DAY = 86_400_000
const working = (day: string) => p.calendar.isWorkingDay(day)
const nextDay = (day: string) => new Date(Date.parse(day) + DAY).toISOString().slice(0, 10)
/** Working days in (a, b]. */
function workingDaysBetween(a: string, b: string): number {
  let n = 0
  for (let d = nextDay(a); d <= b; d = nextDay(d)) if (working(d)) n++
  return n
}
interface CaseFacts { unit: string; item: string; channel: string; status: string; accepted: string; stop?: string; elapsed: number; onTime: boolean | null; daysOver: number; supplement: boolean; overdueAtEnd: boolean }
function caseFacts(c: (typeof cases)[string]): CaseFacts {
  const [, accepted] = c.events[0]!
  const stopEvent = c.events.find(([type]) => type === 'completed' || type === 'rejected')
  const withdrawn = c.events.find(([type]) => type === 'withdrawn')
  const status = stopEvent ? stopEvent[0] : withdrawn ? 'withdrawn' : 'open'
  const end = stopEvent?.[1] ?? withdrawn?.[1] ?? '2025-12-31'
  const transfer = c.events.filter(([type]) => type === 'transferred').pop()
  const unit = (transfer?.[2]?.to_unit_id as string | undefined) ?? c.unit
  const supStart = c.events.find(([type]) => type === 'supplement_requested')?.[1]
  const supEnd = c.events.find(([type]) => type === 'supplement_received')?.[1]
  const suspended = supStart && supEnd ? workingDaysBetween(supStart, supEnd) : 0
  const elapsed = workingDaysBetween(accepted, end) - suspended
  const limit = limits[c.item]!.promised
  const onTime = stopEvent && limit !== null ? elapsed <= limit : null
  return {
    unit, item: c.item, channel: c.channel, status, accepted, stop: stopEvent?.[1], elapsed, onTime,
    daysOver: limit !== null && elapsed > limit ? elapsed - limit : 0, supplement: !!supStart,
    overdueAtEnd: status === 'open' && limit !== null && elapsed > limit,
  }
}

type Figures = Map<string, { n: number; d: number | null; v?: number | null }>
const ratio = (n: number, d: number) => ({ n, d, v: d === 0 ? null : n / d })
function perUnit<T>(rows: T[], unitOf: (r: T) => string, f: (rows: T[]) => { n: number; d: number | null; v?: number | null }): Figures {
  const out: Figures = new Map()
  for (const u of new Set(rows.map(unitOf))) out.set(u, f(rows.filter((r) => unitOf(r) === u)))
  return out
}

function expected(id: string): Figures {
  const facts = Object.values(cases).map(caseFacts)
  const stoppedCases = facts.filter((f) => f.status === 'completed' || f.status === 'rejected')
  const count = <T>(rows: T[], pred: (r: T) => boolean) => rows.filter(pred).length
  const sum = <T>(rows: T[], f: (r: T) => number) => rows.reduce((s, r) => s + f(r), 0)
  const stars = evaluations.map((e) => ({ ...e, stars: e.rating_scheme === 'gbt39046' ? 6 - e.rating : e.rating, active: e.active ?? true, follow_up: e.follow_up ?? false }))
  // 一事一评: the first rating of a case that is not a 追评 (an active one first); one without a case is a visit of its own
  const firstOfCase = new Map<string, string>()
  for (const e of [...stars].filter((x) => !x.follow_up).sort((a, b) => Number(b.active) - Number(a.active) || a.occurred_at.localeCompare(b.occurred_at) || a.event_id.localeCompare(b.event_id))) {
    const key = e.case_id ?? e.event_id
    if (!firstOfCase.has(key)) firstOfCase.set(key, e.event_id)
  }
  const rated = stars.filter((e) => firstOfCase.get(e.case_id ?? e.event_id) === e.event_id)
  const bad = rated.filter((e) => e.active && e.stars <= 2).map((e) => {
    const fu = followups.filter((f) => f.evaluation_id === e.event_id)
    const day = e.occurred_at.slice(0, 10)
    const first = (...types: string[]) => fu.filter((f) => types.includes(f.type)).map((f) => f.occurred_at.slice(0, 10)).sort()[0]
    const rect = first('rectified'), verified = first('verified', 'dismissed'), revisitedOn = first('revisited')
    const within = (done: string | undefined, limit: number) => done !== undefined && workingDaysBetween(day, done) <= limit
    return {
      unit: e.unit_id, dismissed: fu.some((f) => f.type === 'dismissed'), revisited: fu.some((f) => f.type === 'revisited'), realName: e.real_name === true,
      passed: workingDaysBetween(day, '2025-12-31') > 15, inTime: within(rect, 15),
      verifyPassed: workingDaysBetween(day, '2025-12-31') > 1, verifiedInTime: within(verified, 1),
      revisitPassed: workingDaysBetween(day, '2025-12-31') > 20, revisitedInTime: within(revisitedOn, 20),
    }
  })
  const complaintRows = complaints.filter((c) => c.type === 'received').map((c) => {
    const step = (type: string) => complaints.filter((r) => r.complaint_id === c.complaint_id && r.type === type)
    const resolved = step('resolved')[0]
    const responded = step('responded')[0]?.occurred_at.slice(0, 10)
    const ratings = step('rated')
    const day = c.occurred_at.slice(0, 10)
    return {
      unit: c.unit_id, passed: workingDaysBetween(day, '2025-12-31') > 15, inTime: resolved !== undefined && workingDaysBetween(day, resolved.occurred_at.slice(0, 10)) <= 15,
      responsePassed: workingDaysBetween(day, '2025-12-31') > 1, respondedInTime: responded !== undefined && workingDaysBetween(day, responded) <= 1,
      resolved: resolved !== undefined, substantiated: resolved?.substantiated === true, rating: ratings.at(-1)?.rating ?? null,
    }
  })
  const waits = tickets.filter((q) => q.type === 'issued').map((q) => {
    const called = tickets.find((c) => c.ticket_id === q.ticket_id && c.type === 'called')
    return { unit: q.unit_id, wait: called ? (Date.parse(called.occurred_at) - Date.parse(q.occurred_at)) / 60_000 : null }
  })
  const completedBy = (u: string) => count(stoppedCases, (f) => f.unit === u && f.status === 'completed')
  const costBy = (u: string, cat?: string) => sum(costs.filter((c) => c.unit_id === u && (!cat || c.category === cat)), (c) => Number(c.amount))
  const costUnits = [...new Set(costs.map((c) => c.unit_id))]
  switch (id) {
    case 'on_time_rate': return perUnit(stoppedCases, (f) => f.unit, (r) => ratio(count(r, (f) => f.onTime === true), count(r, (f) => f.onTime !== null)))
    case 'overdue_cases': return perUnit(facts.filter((f) => f.status !== 'withdrawn'), (f) => f.unit, (r) => { const n = count(r, (f) => f.onTime === false || f.overdueAtEnd); return { n, d: null, v: n } })
    case 'overdue_open': return perUnit(facts.filter((f) => f.status === 'open'), (f) => f.unit, (r) => { const n = count(r, (f) => f.overdueAtEnd); return { n, d: null, v: n } })
    case 'avg_overdue_days': return perUnit(stoppedCases, (f) => f.unit, (r) => ratio(sum(r, (f) => (f.onTime === false ? f.daysOver : 0)), count(r, (f) => f.onTime === false)))
    case 'avg_elapsed_days': return perUnit(stoppedCases, (f) => f.unit, (r) => ratio(sum(r, (f) => f.elapsed), r.length))
    case 'first_time_right_rate': return perUnit(stoppedCases, (f) => f.unit, (r) => ratio(count(r, (f) => !f.supplement), r.length))
    case 'online_rate': return perUnit(facts, (f) => f.unit, (r) => ratio(count(r, (f) => f.channel === 'online' || f.channel === 'mobile'), r.length))
    case 'instant_rate': return perUnit(stoppedCases, (f) => f.unit, (r) => ratio(count(r, (f) => limits[f.item]!.promised === 0), r.length))
    case 'promise_compression_rate': return perUnit(stoppedCases, (f) => f.unit, (r) => {
      const w = r.filter((f) => limits[f.item]!.statutory && limits[f.item]!.promised !== null)
      return ratio(sum(w, (f) => limits[f.item]!.statutory! - limits[f.item]!.promised!), sum(w, (f) => limits[f.item]!.statutory!))
    })
    case 'actual_speedup_rate': return perUnit(stoppedCases, (f) => f.unit, (r) => {
      const w = r.filter((f) => limits[f.item]!.statutory)
      const n = sum(w, (f) => f.elapsed)
      const d = sum(w, (f) => limits[f.item]!.statutory!)
      return { n, d, v: d === 0 ? null : 1 - n / d }
    })
    case 'proxy_rate':
    case 'proxy_on_time_rate': {
      const tierOf = (u: string) => units.find((x) => x.unit_id === u)!.tier
      const accepted = Object.values(cases).map((c) => ({ c, f: caseFacts(c) }))
        .map(({ c, f }) => ({ unit: c.unit, f, toHall: c.events.some(([type, , extra]) => type === 'transferred' && tierOf(String(extra!.to_unit_id)) < tierOf(c.unit)) }))
      return id === 'proxy_rate'
        ? perUnit(accepted, (a) => a.unit, (r) => ratio(count(r, (a) => a.toHall), r.length))
        : perUnit(accepted, (a) => a.unit, (r) => ratio(count(r, (a) => a.toHall && a.f.onTime === true), count(r, (a) => a.toHall && a.f.onTime !== null)))
    }
    case 'complaint_resolved_on_time_rate': return perUnit(complaintRows, (c) => c.unit, (r) => ratio(count(r, (c) => c.passed && c.inTime), count(r, (c) => c.passed)))
    case 'queue_wait_avg': return perUnit(waits, (q) => q.unit, (r) => ratio(sum(r, (q) => q.wait ?? 0), count(r, (q) => q.wait !== null)))
    case 'queue_wait_p90': return perUnit(waits, (q) => q.unit, (r) => {
      const w = r.map((q) => q.wait).filter((x): x is number => x !== null).sort((a, b) => a - b)
      const v = w[Math.floor(0.9 * w.length)]!
      return { n: v, d: w.length, v }
    })
    case 'cases_per_staff': return new Map([...new Set([...stoppedCases.map((f) => f.unit), ...costUnits])].map((u) => {
      const fte = sum(costs.filter((c) => c.unit_id === u && c.category === 'staff'), (c) => c.staff_fte ?? 0) / 12
      return [u, ratio(completedBy(u), fte)]
    }))
    case 'cost_per_case': return new Map([...new Set([...stoppedCases.map((f) => f.unit), ...costUnits])].map((u) => [u, ratio(costBy(u), completedBy(u))]))
    case 'purchased_service_share': return new Map(costUnits.map((u) => [u, ratio(costBy(u, 'purchased_service'), costBy(u))]))
    case 'satisfaction_rate': return perUnit(rated, (e) => e.unit_id, (r) => ratio(count(r, (e) => e.active && e.stars >= 3), count(r, (e) => e.active)))
    case 'bad_review_rate': return perUnit(rated, (e) => e.unit_id, (r) => ratio(count(r, (e) => e.active && e.stars <= 2), count(r, (e) => e.active)))
    case 'evaluation_rate': return perUnit(rated, (e) => e.unit_id, (r) => ratio(count(r, (e) => e.active), r.length))
    case 'follow_up_satisfaction_rate': return perUnit(stars.filter((e) => e.follow_up), (e) => e.unit_id, (r) => ratio(count(r, (e) => e.active && e.stars >= 3), count(r, (e) => e.active)))
    case 'complaint_response_rate': return perUnit(complaintRows, (c) => c.unit, (r) => ratio(count(r, (c) => c.responsePassed && c.respondedInTime), count(r, (c) => c.responsePassed)))
    case 'complaint_resolution_rate': return perUnit(complaintRows, (c) => c.unit, (r) => ratio(count(r, (c) => c.resolved), r.length))
    case 'complaint_satisfaction_rate': return perUnit(complaintRows, (c) => c.unit, (r) => ratio(count(r, (c) => c.rating !== null && c.rating >= 3), count(r, (c) => c.rating !== null)))
    case 'complaint_substantiated_share': return perUnit(complaintRows, (c) => c.unit, (r) => ratio(count(r, (c) => c.resolved && c.substantiated), count(r, (c) => c.resolved)))
    case 'bad_review_rectified_on_time_rate': return perUnit(bad, (b) => b.unit, (r) => ratio(count(r, (b) => !b.dismissed && b.passed && b.inTime), count(r, (b) => !b.dismissed && b.passed)))
    case 'bad_review_verified_on_time_rate': return perUnit(bad, (b) => b.unit, (r) => ratio(count(r, (b) => b.verifyPassed && b.verifiedInTime), count(r, (b) => b.verifyPassed)))
    case 'revisit_on_time_rate': return perUnit(bad, (b) => b.unit, (r) => ratio(count(r, (b) => !b.dismissed && b.revisitPassed && b.revisitedInTime), count(r, (b) => !b.dismissed && b.revisitPassed)))
    case 'real_name_revisit_rate': return perUnit(bad, (b) => b.unit, (r) => ratio(count(r, (b) => !b.dismissed && b.realName && b.revisited), count(r, (b) => !b.dismissed && b.realName)))
    case 'bad_review_dismissed_share': return perUnit(bad, (b) => b.unit, (r) => ratio(count(r, (b) => b.dismissed), r.length))
    case 'revisit_rate': return perUnit(bad, (b) => b.unit, (r) => ratio(count(r, (b) => !b.dismissed && b.revisited), count(r, (b) => !b.dismissed)))
    case 'complaints_per_10k': return new Map([...new Set([...stoppedCases.map((f) => f.unit), ...complaintRows.map((c) => c.unit)])].map((u) => {
      const n = count(complaintRows, (c) => c.unit === u)
      const d = completedBy(u)
      return [u, { n, d, v: d === 0 ? null : (n / d) * 10_000 }]
    }))
  }
  throw new Error(`no independent computation for ${id}`)
}

beforeAll(async () => {
  p = await openTestPlatform()
  const ref = (rows: object[]) => rows.map((value, i) => ({ row: i + 1, raw: '', value }))
  await applyReference(p, 'units', ref(units))
  await applyReference(p, 'items', ref(items))
  const service = new IngestService(p)
  const principal = { key_id: 'test', name: 'test', writableUnits: () => undefined }
  const caseEvents = Object.entries(cases).flatMap(([id, c]) =>
    c.events.map(([type, day, extra], i) => ({
      event_id: `${id}-${i}`, case_id: id, type, occurred_at: t(day, type === 'accepted' ? '09:30' : '16:00'), unit_id: c.unit,
      ...(type === 'accepted' ? { item_code: c.item, channel: c.channel } : {}), ...extra,
    })),
  )
  const streams: Array<[StreamName, object[]]> = [['case-events', caseEvents], ['evaluations', evaluations], ['evaluation-followups', followups], ['complaints', complaints], ['queue-tickets', tickets], ['costs', costs]]
  for (const [stream, rows] of streams) {
    const receipt = await service.ingest(stream, ref(rows), principal)
    expect(receipt.rejected, `${stream}: ${JSON.stringify(receipt.errors)}`).toBe(0)
  }
  metrics = new MetricsService(p)
  // the items were loaded after the (empty) daily aggregate was built: build it on them now
  await p.cases.rebuildDaily()
}, 120_000)
afterAll(async () => p?.close())

describe('every indicator, by unit, against an independent computation', () => {
  it.each(INDICATORS.map((i) => i.id))('%s', async (id) => {
    // the case indicators read the daily aggregate
    expect(p.cases.dailyReady()).toBe(true)
    const result = await metrics.run(id, { ...PERIOD, by: 'unit', asOfMs: AS_OF })
    const want = expected(id)
    const got = new Map(result.rows.map((r) => [String(r.key), r]))
    // the fixture gives every indicator something to count
    expect([...want.values()].some((w) => w.n !== 0), `${id}: the fixture counts nothing`).toBe(true)
    expect(result.rows.length).toBeGreaterThan(0)
    // units with nothing to count on either side may be absent from one of the two
    const keys = new Set([...want.keys(), ...got.keys()])
    for (const unit of keys) {
      const w = want.get(unit) ?? { n: 0, d: INDICATORS.find((i) => i.id === id)!.denominator ? 0 : null, v: null }
      const g = got.get(unit) ?? { numerator: 0, denominator: w.d === null ? null : 0, value: w.d === null ? 0 : null }
      expect(g.numerator, `${id} ${unit} numerator`).toBeCloseTo(w.n, 6)
      if (w.d === null) expect(g.denominator, `${id} ${unit} denominator`).toBeNull()
      else expect(g.denominator, `${id} ${unit} denominator`).toBeCloseTo(w.d, 6)
      const wv = w.v === undefined ? (w.d ? w.n / w.d : null) : w.v
      if (wv === null) expect(g.value, `${id} ${unit} value`).toBeNull()
      else expect(g.value, `${id} ${unit} value`).toBeCloseTo(wv, 6)
    }
  })
})

describe('several indicators in one query', () => {
  it.each(['unit', 'month', 'tier'] as const)('gives each indicator the rows it has alone, by %s', async (by) => {
    const ids = INDICATORS.map((i) => i.id)
    for (const at of [AS_OF, Date.parse('2025-03-15T12:00:00+08:00')]) {
      const req = { ...PERIOD, by, asOfMs: at }
      const together = await metrics.runMany(ids, req)
      expect(together.map((r) => r.metric)).toEqual(ids)
      for (const [i, id] of ids.entries()) expect(together[i], `${id} by ${by}`).toEqual(await metrics.run(id, req))
      expect(together.some((r) => r.rows.length > 0)).toBe(true)
    }
  })
})

describe('settings', () => {
  it('takes the rectification limit from the district\'s settings', async () => {
    const before = await metrics.run('bad_review_rectified_on_time_rate', { ...PERIOD, by: 'unit', asOfMs: AS_OF })
    expect(before.rows.find((r) => r.key === 'S1')).toMatchObject({ numerator: 1, denominator: 1 })
    await p.settings.update({ rectification_limit_days: 5, effective_from: '2025-01-01' })
    try {
      // e2 (10 Mar) was rectified on 20 Mar: 8 working days, within 15 but not within 5
      const after = await metrics.run('bad_review_rectified_on_time_rate', { ...PERIOD, by: 'unit', asOfMs: AS_OF })
      expect(after.rows.find((r) => r.key === 'S1')).toMatchObject({ numerator: 0, denominator: 1 })
    } finally {
      await p.settings.update({ rectification_limit_days: 15, effective_from: '2025-01-01' })
    }
  })

  it('judges each record by the limit in effect on its own day: a change from July leaves March as it was', async () => {
    const s1 = async () => (await metrics.run('bad_review_rectified_on_time_rate', { ...PERIOD, by: 'unit', asOfMs: AS_OF })).rows.find((r) => r.key === 'S1')
    // e2 (10 Mar, rectified 20 Mar: 8 working days) against 5 working days from 1 July on: still in time
    await p.settings.update({ rectification_limit_days: 5, effective_from: '2025-07-01' })
    try {
      expect(await s1()).toMatchObject({ numerator: 1, denominator: 1 })
      expect(p.settings.get('2025-03-10').rectification_limit_days).toBe(15)
      expect(p.settings.get('2025-07-01').rectification_limit_days).toBe(5)
      // and from 1 March, it is late
      await p.settings.update({ rectification_limit_days: 5, effective_from: '2025-03-01' })
      expect(await s1()).toMatchObject({ numerator: 0, denominator: 1 })
    } finally {
      await p.settings.update({ rectification_limit_days: 15, effective_from: '2025-01-01' })
      await p.settings.update({ rectification_limit_days: 15, effective_from: '2025-03-01' })
      await p.settings.update({ rectification_limit_days: 15, effective_from: '2025-07-01' })
    }
    expect(await s1()).toMatchObject({ numerator: 1, denominator: 1 })
  })

  it("takes a tier's own response limit for its units only, and the district's again once it is taken away", async () => {
    const rows = async () => Object.fromEntries((await metrics.run('complaint_response_rate', { ...PERIOD, by: 'unit', asOfMs: AS_OF })).rows.map((r) => [r.key, [r.numerator, r.denominator]]))
    // K2 (S2, a street hall) was responded to 3 working days after it came in: late against 1
    expect(await rows()).toEqual({ S1: [1, 1], S2: [0, 1], S1A: [1, 1] })
    await p.settings.update({ by_tier: { 2: { complaint_response_limit_days: 3 } }, effective_from: '2025-01-01' })
    try {
      expect(p.settings.get().by_tier).toEqual({ 2: { complaint_response_limit_days: 3 } })
      // in time against the street halls' 3; the station (K4) keeps the district's 1
      expect(await rows()).toEqual({ S1: [1, 1], S2: [1, 1], S1A: [1, 1] })
    } finally {
      await p.settings.update({ by_tier: { 2: { complaint_response_limit_days: null } }, effective_from: '2025-01-01' })
    }
    expect(p.settings.get().by_tier).toEqual({})
    expect(await rows()).toEqual({ S1: [1, 1], S2: [0, 1], S1A: [1, 1] })
  })

  it('takes the warning threshold from the settings', async () => {
    // c10, accepted Tue 30 Dec with 3 working days: 2 left on the 31st — in warning only from a threshold of 2
    expect(await p.cases.get('c10', AS_OF)).toMatchObject({ warning: false, elapsed_days: 1 })
    await p.settings.update({ warning_days: 2 })
    try {
      expect(await p.cases.get('c10', AS_OF)).toMatchObject({ warning: true })
    } finally {
      await p.settings.update({ warning_days: 1 })
    }
  })

  it("counts a yellow card at the unit's tier's own threshold, and at the item's own above both", async () => {
    // c10 is the district centre's (tier 1): a street halls' threshold of 2 leaves it alone, the centre's takes it
    await p.settings.update({ by_tier: { 2: { warning_days: 2 } } })
    try {
      expect(await p.cases.get('c10', AS_OF)).toMatchObject({ warning: false })
      await p.settings.update({ by_tier: { 1: { warning_days: 2 } } })
      expect(p.settings.get().by_tier).toMatchObject({ 1: { warning_days: 2 }, 2: { warning_days: 2 } })
      expect(await p.cases.get('c10', AS_OF)).toMatchObject({ warning: true })
      // the lists the inspector counts yellow cards from read the same clock
      const warned = await p.cases.list({ units: ['C'], warning: true, limit: 10 }, AS_OF)
      expect(warned.map((r) => r.case_id)).toEqual(['c10'])
      // an item's own threshold goes before the tier's: I3 at 0 working days takes the card away
      const ref = (rows: object[]) => rows.map((value, i) => ({ row: i + 1, raw: '', value }))
      await applyReference(p, 'items', ref(items.map((i) => (i.item_code === 'I3' ? { ...i, warning_days: 0 } : i))))
      try {
        expect(await p.cases.get('c10', AS_OF)).toMatchObject({ warning: false })
      } finally {
        await applyReference(p, 'items', ref(items))
        await p.cases.rebuildDaily()
      }
    } finally {
      await p.settings.update({ by_tier: { 1: { warning_days: null }, 2: { warning_days: null } } })
    }
    expect(p.settings.get().by_tier).toEqual({})
    expect(await p.cases.get('c10', AS_OF)).toMatchObject({ warning: false })
  })
})

describe('ratios are ratios of sums', () => {
  it('the district figure is Σ numerators ÷ Σ denominators of the units, not a mean of their rates', async () => {
    const byUnit = await metrics.run('on_time_rate', { ...PERIOD, by: 'unit', asOfMs: AS_OF })
    const [district] = (await metrics.run('on_time_rate', { ...PERIOD, asOfMs: AS_OF })).rows
    const n = byUnit.rows.reduce((s, r) => s + r.numerator, 0)
    const d = byUnit.rows.reduce((s, r) => s + (r.denominator ?? 0), 0)
    expect(district).toMatchObject({ numerator: n, denominator: d })
    expect(district!.value).toBeCloseTo(n / d, 12)
    const meanOfRates = byUnit.rows.reduce((s, r) => s + (r.value ?? 0), 0) / byUnit.rows.length
    expect(district!.value).not.toBeCloseTo(meanOfRates, 6)
  })

  it('groups bad ratings by channel, and refuses a grouping a source does not have', async () => {
    const byChannel = await metrics.run('bad_review_rate', { ...PERIOD, by: 'channel', asOfMs: AS_OF })
    expect(Object.fromEntries(byChannel.rows.map((r) => [r.key, [r.numerator, r.denominator]]))).toEqual({ app: [0, 2], hotline: [1, 1], qr_code: [1, 1], sms: [1, 1], web: [0, 2], window_device: [0, 0] })
    await expect(metrics.run('cost_per_case', { ...PERIOD, by: 'item', asOfMs: AS_OF })).rejects.toThrow(/cannot be grouped by item/)
  })

  it("breaks cost per case down by the ledger's categories: each category's cost over all the period's completed cases", async () => {
    const byCategory = await metrics.run('cost_per_case', { ...PERIOD, by: 'category', asOfMs: AS_OF })
    const completed = Object.values(cases).map(caseFacts).filter((f) => f.status === 'completed').length
    const spent = (cat: string) => costs.filter((c) => c.category === cat).reduce((s, c) => s + Number(c.amount), 0)
    expect(byCategory.rows.map((r) => r.key)).toEqual(['it', 'purchased_service', 'staff'])
    for (const r of byCategory.rows) {
      expect(r.numerator, String(r.key)).toBeCloseTo(spent(String(r.key)), 6)
      expect(r.denominator, String(r.key)).toBe(completed)
    }
    // the categories add up to the whole
    const [all] = (await metrics.run('cost_per_case', { ...PERIOD, asOfMs: AS_OF })).rows
    expect(byCategory.rows.reduce((s, r) => s + r.value!, 0)).toBeCloseTo(all!.value!, 9)
    // an indicator with nothing from the ledger has no categories
    await expect(metrics.run('on_time_rate', { ...PERIOD, by: 'category', asOfMs: AS_OF })).rejects.toThrow(/cannot be grouped by category/)
  })

  it('places open overdue cases in the month whose end they are judged at', async () => {
    const byMonth = await metrics.run('overdue_open', { ...PERIOD, by: 'month', asOfMs: AS_OF })
    // c9 (accepted 3 Nov, 3 working days) is overdue from 7 Nov: at the ends of November and December
    expect(byMonth.rows.map((r) => [r.key, r.value])).toEqual([['2025-11-01', 1], ['2025-12-01', 1]])
  })
})

describe('the daily aggregate', () => {
  const moments = ['2025-12-31T23:59:59+08:00', '2025-03-06T12:00:00+08:00', '2025-07-02T12:00:00+08:00']
  const onDaily = INDICATORS.filter((i) => [i.numerator, i.denominator].some((part) => part?.daily)).map((i) => i.id)
  it.each(onDaily)('%s: the same rows as through the clock, as of past moments', async (id) => {
    expect(p.cases.dailyReady()).toBe(true)
    for (const at of moments) {
      // groupings the aggregate answers (by channel or item it is not used: nothing to compare)
      for (const by of ['unit', 'month', 'tier'] as const) {
        const req = { ...PERIOD, by, asOfMs: Date.parse(at) }
        // the clock's way on a service of its own: nothing remembered from the other answer
        const throughClock = new MetricsService(p)
        throughClock.useDaily = false
        expect(await metrics.run(id, req), `${id} by ${by} as of ${at}`).toEqual(await throughClock.run(id, req))
      }
    }
  })
})
