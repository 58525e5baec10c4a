// Scores from what happened, on small hand-made street halls against the real engine: a unit is
// scored on its actual value; below the scheme's minimum sample an indicator is not scored and
// its weight is spread over the unit's scored indicators in proportion (按比例折算). Two halls with
// the same perfect record and different sizes score the same and lose nothing; a hall with fewer
// failures never scores below one with more; the 折算 arithmetic of one hall checked by hand.
// (Under the rule this replaces, the 5-case hall was scored at the 95 % Wilson lower bound of its
// rates — 40 on on-time, 0 on first-time-right, 30 on rectification — and ended at 52.53, 不合格,
// while the 200-case hall with the same record had 100; FA lost points on a rectification rate of
// 97.5 % against its target of 97 %, and D 30 points' worth of weight on two bad ratings rectified
// on time.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { applyReference, IngestService, type StreamName } from '../ingest/index.ts'
import { AssessmentService, dongchengScheme, MetricsService, type AssessedUnit, type Scheme } from '../metrics/index.ts'
import { openTestPlatform } from '../warehouse/testing.ts'

const YEAR = 2025
const AS_OF = Date.parse('2025-12-31T23:59:59+08:00')

/** A street hall's year: cases (late ones among them), online ones, ratings (bad ones among them, some rectified late), queue tickets. */
interface Hall { id: string; cases: number; late: number; online: number; ratings: number; bad: number; badLate: number; tickets: number }
const HALLS: Hall[] = [
  // the same perfect record (every case on time, every bad rating rectified on time), 5 cases and 200
  { id: 'SMALL', cases: 5, late: 0, online: 3, ratings: 5, bad: 1, badLate: 0, tickets: 5 },
  { id: 'BIG', cases: 200, late: 0, online: 120, ratings: 200, bad: 40, badLate: 0, tickets: 200 },
  // the size of BIG with more and more failures
  { id: 'FA', cases: 200, late: 2, online: 120, ratings: 200, bad: 40, badLate: 1, tickets: 200 },
  { id: 'FB', cases: 200, late: 20, online: 120, ratings: 200, bad: 40, badLate: 10, tickets: 200 },
  { id: 'FC', cases: 200, late: 60, online: 120, ratings: 200, bad: 40, badLate: 30, tickets: 200 },
  // everything scored but the rectification rate (2 bad ratings, fewer than 30), online share under its target
  { id: 'D', cases: 200, late: 0, online: 100, ratings: 200, bad: 2, badLate: 0, tickets: 200 },
]
const TARGETS = [
  { year: YEAR, metric_id: 'on_time_rate', scope: 'tier:2', value: 0.985 },
  { year: YEAR, metric_id: 'satisfaction_rate', scope: 'tier:2', value: 0.8 },
  { year: YEAR, metric_id: 'online_rate', scope: 'tier:2', value: 0.6 },
  { year: YEAR, metric_id: 'bad_review_rectified_on_time_rate', scope: 'tier:2', value: 0.97 },
]

let p: Awaited<ReturnType<typeof openTestPlatform>>
let assessment: AssessmentService

const t = (day: string, hour = '10:00') => `${day}T${hour}:00+08:00`

beforeAll(async () => {
  p = await openTestPlatform()
  const ref = (rows: object[]) => rows.map((value, i) => ({ row: i + 1, raw: '', value }))
  await applyReference(p, 'units', ref([
    { unit_id: 'C', name: '区政务服务中心', tier: 1, kind: 'district_centre' },
    ...HALLS.map((h) => ({ unit_id: h.id, name: `${h.id}街道政务服务大厅`, tier: 2, kind: 'street_hall', parent_id: 'C' })),
  ]))
  await applyReference(p, 'items', ref([{ item_code: 'I3', name: '居住证办理', category: 'public_service', statutory_days: 10, promised_days: 3, tiers: [2] }]))
  await applyReference(p, 'targets', ref(TARGETS))
  // the working days of January–October: records are spread over them, and every limit has passed by the year's end
  const days: string[] = []
  for (let d = Date.parse('2025-01-02'); d <= Date.parse('2025-10-31'); d += 86_400_000) {
    const day = new Date(d).toISOString().slice(0, 10)
    if (p.calendar.isWorkingDay(day)) days.push(day)
  }
  const after = (day: string, n: number) => days[days.indexOf(day) + n]!
  const on = (k: number, n: number) => days[Math.floor((k * (days.length - 30)) / Math.max(1, n))]!
  const events: object[] = []
  const ratings: object[] = []
  const followups: object[] = []
  const tickets: object[] = []
  const costs: object[] = []
  for (const h of HALLS) {
    for (let k = 0; k < h.cases; k++) {
      const day = on(k, h.cases)
      const late = k < h.late
      events.push({ event_id: `${h.id}-c${k}-a`, case_id: `${h.id}-c${k}`, type: 'accepted', occurred_at: t(day, '09:30'), unit_id: h.id, item_code: 'I3', channel: k < h.online ? 'online' : 'window' })
      // on time: the next working day (1 ≤ 3); late: ten working days later (7 over the limit)
      events.push({ event_id: `${h.id}-c${k}-z`, case_id: `${h.id}-c${k}`, type: 'completed', occurred_at: t(after(day, late ? 10 : 1), '16:00'), unit_id: h.id })
    }
    for (let k = 0; k < h.ratings; k++) {
      const day = on(k, h.ratings)
      const bad = k < h.bad
      ratings.push({ event_id: `${h.id}-r${k}`, unit_id: h.id, rating: bad ? 1 : 5, occurred_at: t(day), channel: 'window_device' })
      // rectified within the 15 working days, or after 25 of them
      if (bad) followups.push({ event_id: `${h.id}-r${k}-f`, evaluation_id: `${h.id}-r${k}`, type: 'rectified', occurred_at: t(after(day, k < h.badLate ? 25 : 2)), unit_id: h.id })
    }
    for (let k = 0; k < h.tickets; k++) {
      const day = on(k, h.tickets)
      tickets.push({ event_id: `${h.id}-q${k}-i`, ticket_id: `${h.id}-q${k}`, type: 'issued', occurred_at: t(day, '09:00'), unit_id: h.id, item_code: 'I3' })
      tickets.push({ event_id: `${h.id}-q${k}-c`, ticket_id: `${h.id}-q${k}`, type: 'called', occurred_at: t(day, '09:10'), unit_id: h.id })
    }
    // 100 yuan a case everywhere
    costs.push({ entry_id: `${h.id}-m`, unit_id: h.id, period: '2025-06', category: 'operations', amount: String(100 * h.cases) })
  }
  const service = new IngestService(p)
  const principal = { key_id: 'test', name: 'test', writableUnits: () => undefined }
  const streams: Array<[StreamName, object[]]> = [['case-events', events], ['evaluations', ratings], ['evaluation-followups', followups], ['queue-tickets', tickets], ['costs', costs]]
  for (const [stream, rows] of streams) {
    const receipt = await service.ingest(stream, ref(rows), principal)
    if (receipt.rejected > 0) throw new Error(`${stream}: ${JSON.stringify(receipt.errors.slice(0, 3))}`)
  }
  assessment = new AssessmentService(p, new MetricsService(p))
}, 300_000)
afterAll(async () => p?.close())

const byId = async () => new Map((await assessment.tier(YEAR, 2, AS_OF)).units.map((u) => [u.unit_id, u]))
const ind = (u: AssessedUnit, id: string) => u.indicators.find((i) => i.id === id)!

/** The default scheme with every indicator's minimum sample 1: every hall scored on everything it has records of. */
function everyRecordCounts(): Scheme {
  const s = dongchengScheme(YEAR)
  s.version = `${YEAR}.min1`
  s.min_sample = 1
  return s
}

describe('the default scheme (minimum sample 30)', () => {
  it('leaves the 5-case hall unscored (样本不足) instead of scoring its perfect record at 46.75, and the 200-case hall loses nothing', async () => {
    const units = await byId()
    const small = units.get('SMALL')!
    const big = units.get('BIG')!
    // the facts of the halls, as counted
    expect([ind(small, 'on_time_rate').numerator, ind(small, 'on_time_rate').denominator]).toEqual([5, 5])
    expect([ind(small, 'bad_review_rectified_on_time_rate').numerator, ind(small, 'bad_review_rectified_on_time_rate').denominator]).toEqual([1, 1])
    expect([ind(big, 'bad_review_rectified_on_time_rate').numerator, ind(big, 'bad_review_rectified_on_time_rate').denominator]).toEqual([40, 40])
    for (const i of small.indicators) {
      expect({ id: i.id, scored: i.scored, reason: i.not_scored_reason, min: i.min_sample, lost: i.points_lost, weight: i.weight })
        .toEqual({ id: i.id, scored: false, reason: 'small_sample', min: 30, lost: 0, weight: 0 })
      expect(i.sample, i.id).toBeLessThan(30)
      expect(i.sample, i.id).toBeGreaterThan(0)
    }
    expect(ind(small, 'on_time_rate').sample).toBe(5)
    expect(ind(small, 'bad_review_rectified_on_time_rate').sample).toBe(1)
    expect(small.composite_score).toBeNull()
    expect(small.grade).toBeNull()
    // the big hall's perfect record: every indicator scored, 100 on each, nothing lost
    for (const i of big.indicators) expect({ id: i.id, scored: i.scored, score: i.score, lost: i.points_lost }).toEqual({ id: i.id, scored: true, score: 100, lost: 0 })
    expect(big.composite_score).toBeCloseTo(100, 9)
    expect(big.grade).toBe('优秀')
  })

  it('never scores a hall with fewer failures below one of the same size with more, on any indicator or in all', async () => {
    const units = await byId()
    const order = ['BIG', 'FA', 'FB', 'FC'].map((id) => units.get(id)!)
    for (let k = 1; k < order.length; k++) {
      const [better, worse] = [order[k - 1]!, order[k]!]
      expect(better.composite_score!, `${better.unit_id} ≥ ${worse.unit_id}`).toBeGreaterThanOrEqual(worse.composite_score!)
      for (const i of better.indicators) expect(i.score!, `${i.id}: ${better.unit_id} ≥ ${worse.unit_id}`).toBeGreaterThanOrEqual(ind(worse, i.id).score!)
    }
    // and the failures cost points: 20 late cases and 10 late rectifications are not free
    expect(units.get('FB')!.composite_score!).toBeLessThan(units.get('FA')!.composite_score!)
    // 2 late of 200 (99 %) and 1 of 40 rectified late (97.5 %) meet the targets (98.5 %, 97 %): no points lost there
    expect([ind(units.get('FA')!, 'on_time_rate').score, ind(units.get('FA')!, 'bad_review_rectified_on_time_rate').score]).toEqual([100, 100])
  })

  it('spreads the weight of the one indicator below its minimum over the scored ones in proportion, checked by hand', async () => {
    const d = (await byId()).get('D')!
    const rect = ind(d, 'bad_review_rectified_on_time_rate')
    expect(rect).toMatchObject({ scored: false, not_scored_reason: 'small_sample', sample: 2, min_sample: 30, score: null, weight: 0, points: 0, points_lost: 0, scheme_weight: 0.35 * 0.3 })
    expect(d.indicators.filter((i) => !i.scored).map((i) => i.id)).toEqual(['bad_review_rectified_on_time_rate'])
    // the street halls' scheme (the default): category weight × indicator weight
    const schemeWeights: Record<string, number> = {
      on_time_rate: 0.35 * 0.5, overdue_open: 0.35 * 0.3, avg_overdue_days: 0.35 * 0.2,
      first_time_right_rate: 0.2 * 0.4, queue_wait_avg: 0.2 * 0.3, online_rate: 0.2 * 0.3,
      satisfaction_rate: 0.35 * 0.4, bad_review_rectified_on_time_rate: 0.35 * 0.3, complaints_per_10k: 0.35 * 0.3,
      cost_per_case: 0.1,
    }
    // what is scored is 1 − 0.105 = 0.895 of the scheme; each scored weight is its scheme weight ÷ 0.895
    expect(d.scored_scheme_weight).toBeCloseTo(0.895, 12)
    // every score is 100 but the online share's: 50 % of cases online against a target of 60 % → 100 × 0.5 ÷ 0.6
    const scores: Record<string, number> = Object.fromEntries(Object.keys(schemeWeights).map((id) => [id, 100]))
    scores.online_rate = (100 * 0.5) / 0.6
    let composite = 0
    for (const [id, w] of Object.entries(schemeWeights)) {
      const i = ind(d, id)
      expect(i.scheme_weight, id).toBeCloseTo(w, 12)
      if (id === 'bad_review_rectified_on_time_rate') continue
      expect(i.score, id).toBeCloseTo(scores[id]!, 9)
      expect(i.weight, id).toBeCloseTo(w / 0.895, 12)
      expect(i.points, id).toBeCloseTo((scores[id]! * w) / 0.895, 9)
      composite += (scores[id]! * w) / 0.895
    }
    // (89.5 − 0.06 × 16.67) ÷ 0.895 = 88.5 ÷ 0.895
    expect(composite).toBeCloseTo(88.5 / 0.895, 9)
    expect(d.composite_score!).toBeCloseTo(composite, 9)
    expect(d.indicators.reduce((s, i) => s + i.points, 0)).toBeCloseTo(d.composite_score!, 9)
    expect(d.indicators.reduce((s, i) => s + i.weight, 0)).toBeCloseTo(1, 12)
    expect(ind(d, 'online_rate').points_lost).toBeCloseTo((0.06 / 0.895) * (100 - scores.online_rate!), 9)
    // the categories: satisfaction keeps its two scored indicators' share, the rectification's goes to all of them
    expect(d.categories.satisfaction!.scheme_weight).toBe(0.35)
    expect(d.categories.satisfaction!.score).toBeCloseTo(100, 9)
    expect(d.categories.satisfaction!.weight).toBeCloseTo((0.14 + 0.105) / 0.895, 12)
  })
})

describe('a scheme where every record counts (minimum sample 1)', () => {
  let units: Map<string, AssessedUnit>
  beforeAll(async () => {
    expect(await assessment.storeScheme(everyRecordCounts())).toEqual([])
    units = await byId()
  })

  it('scores two halls with the same perfect record the same on each indicator, whatever their sizes, and takes no points off either', async () => {
    const small = units.get('SMALL')!
    const big = units.get('BIG')!
    expect(small.indicators.map((i) => i.id)).toEqual(big.indicators.map((i) => i.id))
    for (const i of small.indicators) {
      const b = ind(big, i.id)
      expect({ id: i.id, scored: i.scored, value: i.value, score: i.score }).toEqual({ id: i.id, scored: true, value: b.value, score: b.score })
      expect(i.score, i.id).toBe(100)
      expect(i.points_lost, i.id).toBe(0)
    }
    expect(small.composite_score).toBeCloseTo(100, 9)
    expect(small.composite_score).toBeCloseTo(big.composite_score!, 9)
    expect(small.grade).toBe('优秀')
  })

  it('still never scores fewer failures below more', async () => {
    const order = ['BIG', 'FA', 'FB', 'FC'].map((id) => units.get(id)!)
    for (let k = 1; k < order.length; k++) {
      expect(order[k - 1]!.composite_score!).toBeGreaterThanOrEqual(order[k]!.composite_score!)
      for (const i of order[k - 1]!.indicators) expect(i.score!, i.id).toBeGreaterThanOrEqual(ind(order[k]!, i.id).score!)
    }
    // D's two bad ratings count now, both rectified on time: 100 on it, and nothing is left to spread
    expect(ind(units.get('D')!, 'bad_review_rectified_on_time_rate')).toMatchObject({ scored: true, score: 100, sample: 2, min_sample: 1 })
    expect(units.get('D')!.scored_scheme_weight).toBeCloseTo(1, 12)
  })
})
