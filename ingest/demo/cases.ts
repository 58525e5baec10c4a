// One case of the demo district, from its first event to its last, and what hangs off it: its
// ratings and their follow-up, a complaint now and then, the queue tickets of its hall visit.
// Everything about case i is drawn from generators seeded by (seed, i, part), so any stream can
// produce case i on its own without remembering anything about the others, and the case-events
// stream does not pay for the ratings' random draws.
import {
  BAD_COMMENTS, COMPLAINT_CATEGORIES, FOLLOWUP_NOTES, GOOD_COMMENTS, REJECT_REASONS, SPECIAL_PROCEDURES, SUPPLEMENT_MATERIALS,
} from './catalogue.ts'
import { cumulative, hash3, Rng } from './random.ts'
import type { DemoItem, DemoUnit, District } from './structure.ts'
import { type CaseSchedule, DAY, HOUR, officeSecond, type Timeline } from './timeline.ts'

/** Independent random streams per case. */
const PART = { case: 1, rating: 2, followup: 3, complaint: 4, queue: 5 } as const

export type CaseEventType =
  | 'submitted' | 'accepted' | 'supplement_requested' | 'supplement_received' | 'suspended' | 'resumed'
  | 'transferred' | 'approved' | 'rejected' | 'completed' | 'withdrawn'

/** How each unit behaves, precomputed from its traits (see structure.ts) so the hot path only compares. */
interface UnitBehaviour {
  staffIds: string[]
  pLate: number
  /** Exponent on a uniform draw for the share of the limit used: higher is faster. */
  speed: number
  pStuck: number
  pSupplement: number
  pRejectLicence: number
  pRejectOther: number
  onlineLogit: number
  selfService: number
  /** Mean queue wait at the hall, seconds. */
  meanWait: number
  pAbandon: number
  satisfaction: number
  pBadHandled: number
  rectifyMeanDays: number
  complaintRate: number
  integrity: number
  resolveExtraDays: number
  /** A complaint first answered later than the next working day. */
  pRespondLate: number
}

function behaviourOf(u: DemoUnit): UnitBehaviour {
  const t = u.traits
  const staffIds = Array.from({ length: u.staff }, (_, s) => `${u.unit_id}-S${String(s + 1).padStart(2, '0')}`)
  // Base online share (网办率) by kind of unit, as log-odds: bureaus and the centre do most online, stations almost none.
  const onlineBase = { district_centre: 0.2, bureau_hall: 0.45, street_hall: -1.0, community_station: -3, enterprise_station: -3 }[u.kind]
  return {
    staffIds,
    pLate: (u.tier === 3 ? 0.012 : 0.008) * Math.exp(-1.1 * t.timeliness),
    speed: Math.exp(0.45 * t.timeliness),
    pStuck: 0.002 * Math.exp(-1.2 * t.timeliness),
    pSupplement: Math.min(0.2, 0.08 * Math.exp(-0.55 * t.thoroughness)),
    pRejectLicence: 0.035 * Math.exp(-0.3 * t.thoroughness),
    pRejectOther: 0.02 * Math.exp(-0.3 * t.thoroughness),
    onlineLogit: onlineBase + 0.6 * t.online,
    selfService: u.unit_id === 'DC-B-TAX' ? 0.2 : 0.05,
    meanWait: (u.kind === 'street_hall' ? 13 : 11) * 60 * Math.exp(-0.5 * t.queue),
    pAbandon: 0.04 * Math.exp(-0.5 * t.queue),
    satisfaction: t.satisfaction,
    pBadHandled: Math.min(0.995, 0.975 + 0.02 * t.quality),
    rectifyMeanDays: 5 * Math.exp(-0.6 * t.quality),
    complaintRate: (u.tier === 3 ? 0.003 : 0.006) * Math.exp(-0.8 * t.integrity),
    integrity: t.integrity,
    resolveExtraDays: Math.max(0, Math.round(-3 * t.integrity)),
    pRespondLate: Math.min(0.6, 0.08 * Math.exp(-0.9 * t.integrity)),
  }
}

const logistic = (x: number) => 1 / (1 + Math.exp(-x))
const COMPLAINT_CUM = cumulative(COMPLAINT_CATEGORIES.map(([, w]) => w))

/** The events of one case and what the other streams need to know about it. Reused from case to case. */
export class CaseTrace {
  index = 0
  caseId = ''
  /** Working day (k) the case starts on, and the unit where it starts. */
  k0 = 0
  startUnit = 0
  item!: DemoItem
  channel = ''
  applicant = ''
  n = 0
  readonly type: CaseEventType[] = []
  readonly time: number[] = []
  readonly unit: number[] = []
  readonly staff: number[] = []
  readonly toUnit: number[] = []
  readonly due: number[] = []
  readonly attrs: Array<Record<string, string> | undefined> = []
  readonly withChannel: boolean[] = []
  acceptedAt = -1
  acceptUnit = -1
  acceptStaff = -1
  stopType: '' | 'completed' | 'rejected' | 'withdrawn' = ''
  stopAt = -1
  stopUnit = -1
  stopStaff = -1
  /** Whether the case ran (or will run) past its limit, as decided; it shows only if it stops before `to`. */
  late = false
  supplemented = false

  reset(index: number, caseId: string, k0: number): void {
    this.index = index
    this.caseId = caseId
    this.k0 = k0
    this.n = 0
    this.acceptedAt = this.acceptUnit = this.acceptStaff = this.stopAt = this.stopUnit = this.stopStaff = -1
    this.stopType = ''
    this.late = this.supplemented = false
  }
}

export interface Rating {
  event_id: string
  unit: number
  stars: number
  time: number
  channel: string
  scheme: 'stars' | 'gbt39046'
  active: boolean
  followUp: boolean
  caseId?: string
  item?: string
  staff?: string
  comment?: string
  realName?: boolean
}

export interface FollowupStep {
  event_id: string
  evaluation_id: string
  type: 'verified' | 'rectified' | 'revisited' | 'dismissed'
  time: number
  unit: number
  note: string
}

export class CaseSimulator {
  readonly behaviour: UnitBehaviour[]
  private readonly rng = new Rng()
  private readonly side = new Rng()
  private readonly trace: CaseTrace
  private cursorK = 0
  private cursorSec = 0
  private closed = false

  constructor(readonly district: District, readonly timeline: Timeline, readonly schedule: CaseSchedule) {
    this.behaviour = district.units.map(behaviourOf)
    this.trace = new CaseTrace()
  }

  // -------------------------------------------------------------------------------------------
  // The case itself

  /** Simulates case i (starting on working day k) into the reused trace and returns it. */
  run(i: number, k: number): CaseTrace {
    const { district, timeline, schedule } = this
    const rng = this.rng.reseed(hash3(district.seed, i, PART.case))
    const tr = this.trace
    tr.reset(i, schedule.caseId(i, k), k)
    this.closed = false
    const units = district.units
    const items = district.items

    // Where and when it starts: case numbers follow the time of day within the day.
    const first = schedule.start[k]!
    const count = schedule.start[k + 1]! - first
    const startSec = officeSecond((i - first + rng.next()) / count)
    const start = units[rng.weighted(district.unitCum)]!
    tr.startUnit = start.index
    this.cursorK = k
    this.cursorSec = startSec

    type Flow = 'window' | 'online' | 'local' | 'accept_transfer' | 'transfer_accept' | 'proxy_up'
    let flow: Flow
    let item: DemoItem
    let acceptAt: DemoUnit = start
    let channel: string
    const months = timeline.monthsAt(timeline.workDays[k]!)
    if (!start.isHall) {
      if (start.proxyPool && rng.chance(0.7)) {
        // 企业服务站 代办: the station takes the papers and passes them to the hall that owns the item.
        item = items[start.proxyPool.items[rng.weighted(start.proxyPool.cum)]!]!
        flow = 'proxy_up'
        acceptAt = units[district.unitIndex.get(item.owner_unit_id)!]!
        channel = 'proxy'
      } else {
        item = items[start.pool.items[rng.weighted(start.pool.cum)]!]!
        const canGoUp = item.tiers.includes(2) && item.promised_days !== 0
        if (canGoUp && rng.chance(0.7)) {
          flow = rng.chance(0.8) ? 'accept_transfer' : 'transfer_accept'
          if (flow === 'transfer_accept') acceptAt = units[start.parentIndex]!
          channel = 'proxy'
        } else {
          flow = 'local'
          const c = rng.next()
          channel = c < 0.55 ? 'window' : c < 0.9 ? 'proxy' : c < 0.94 ? 'self_service' : 'mobile'
        }
      }
    } else {
      item = items[start.pool.items[rng.weighted(start.pool.cum)]!]!
      const b = this.behaviour[start.index]!
      // The online share rises slowly over the months (the district's 网办 push); enterprises file online more, police services need the person there.
      const logit = b.onlineLogit + 0.025 * months + (item.applicant === 'E' ? 0.5 : item.applicant === 'P' ? -0.2 : 0) +
        (item.owner_unit_id === 'DC-B-GAFJ' ? -1.2 : 0)
      if (rng.chance(logistic(logit))) {
        flow = 'online'
        channel = rng.chance(Math.min(0.6, 0.35 + 0.01 * months)) ? 'mobile' : 'online'
      } else {
        flow = 'window'
        channel = rng.chance(b.selfService) ? 'self_service' : 'window'
      }
    }
    tr.item = item
    tr.channel = channel
    tr.applicant = item.applicant === 'P' ? 'person' : item.applicant === 'E' ? 'enterprise' : rng.chance(0.6) ? 'person' : 'enterprise'

    const processAt = flow === 'accept_transfer' ? units[start.parentIndex]! : acceptAt
    const b = this.behaviour[processAt.index]!
    const acceptStaff = rng.int(0, acceptAt.staff - 1)
    const processStaff = processAt === acceptAt && rng.chance(0.6) ? acceptStaff : rng.int(0, processAt.staff - 1)

    // The plan, in working days of the clock (suspensions not counted), decided before anything is placed.
    const P = item.promised_days
    const licence = item.category === 'administrative_licensing'
    const late = rng.chance(P === 0 ? b.pLate * 0.5 : b.pLate)
    const stuck = P !== null && P > 0 && rng.chance(b.pStuck)
    let E: number
    if (P === null) E = 2 + Math.floor(rng.next() ** 1.5 * 30)
    else if (P === 0) E = late ? rng.int(1, 2) : 0
    else if (stuck) E = P + rng.int(20, 120) // forgotten in a drawer: the inspectors' red cards
    else if (late) E = P + 1 + Math.floor(rng.exponential(1 + 2 * Math.max(0, -processAt.traits.timeliness)))
    else E = Math.round(P * (0.15 + 0.85 * rng.next() ** b.speed))
    const rejected = rng.chance(licence ? b.pRejectLicence : b.pRejectOther)
    if (rejected) E = Math.ceil(E * rng.uniform(0.4, 1))
    tr.late = P !== null && E > P
    const transferDay = flow === 'accept_transfer' ? Math.min(E, rng.chance(0.5) ? 0 : 1) : 0
    const withdrawn = rng.chance(0.015)
    const withdrawDay = withdrawn ? rng.int(transferDay, E) : Infinity
    const supplement = P !== 0 && rng.chance(b.pSupplement)
    const supplementDay = supplement ? rng.int(transferDay, Math.max(transferDay, Math.min(E, 3))) : Infinity
    const supplementGap = supplement ? Math.min(25, 1 + Math.floor(rng.exponential(3))) : 0
    const neverBack = supplement && rng.chance(0.06)
    const special = (licence && (item.statutory_days ?? 0) >= 20 && rng.chance(0.03)) || rng.chance(0.002)
    const specialDay = special ? rng.int(supplement ? supplementDay : transferDay, Math.max(supplement ? supplementDay : transferDay, E)) : Infinity
    const specialGap = special ? rng.int(5, 20) : 0
    const approvedEarly = E > 0 && rng.chance(0.3)

    // Acceptance, with whatever comes before it.
    let kA: number
    const sid = start.index
    const startTime = timeline.atWork(k, startSec)
    if (flow === 'window' || flow === 'local' || flow === 'accept_transfer') {
      // 收件 then 受理: the window registers the papers, checks them, and accepts a few minutes later.
      this.emit(tr, 'submitted', sid, acceptStaff, startTime, true)
      this.emit(tr, 'accepted', sid, acceptStaff, this.place(rng, k, 120, 900), true)
      kA = k
    } else if (flow === 'online') {
      this.emit(tr, 'submitted', sid, -1, startTime, true)
      // 预审: most online applications are accepted the same or the next working day.
      const lag = rng.next() < 0.55 ? 0 : rng.next() < 0.8 ? 1 : 2
      kA = k + lag
      this.emit(tr, 'accepted', sid, acceptStaff, this.place(rng, kA, 600, 7200), true)
    } else {
      // transfer_accept, proxy_up: the station passes the papers on before anyone accepts them.
      this.emit(tr, 'submitted', sid, rng.int(0, start.staff - 1), startTime, true)
      this.emit(tr, 'transferred', sid, -1, this.place(rng, k, 600, 5400), false, acceptAt.index, NaN, { mode: '代办' })
      kA = k + (flow === 'transfer_accept' || rng.chance(0.5) ? 1 : 0)
      this.emit(tr, 'accepted', acceptAt.index, acceptStaff, this.place(rng, kA, 600, 5400), true)
    }

    // A deadline when the accepting unit's own system computes one, and only if the calendar reaches it.
    const sendsDue = acceptAt.traits.sendsDueAt && P !== null && P > 0 && (flow === 'window' || flow === 'online') &&
      kA + P + supplementGap + specialGap < timeline.workDays.length
    const dueAfter = (suspended: number) => (sendsDue ? timeline.atWork(kA + P! + suspended, DAY - 1) : NaN)
    if (sendsDue && tr.n > 0 && tr.type[tr.n - 1] === 'accepted') tr.due[tr.n - 1] = dueAfter(0)

    const pid = processAt.index
    if (flow === 'accept_transfer') {
      this.emit(tr, 'transferred', sid, acceptStaff, this.place(rng, kA + transferDay, 900, 10800), false, pid, NaN, { mode: '代办' })
    }

    // The clock runs; suspensions push the calendar on without counting.
    let suspended = 0
    const steps: Array<[day: number, kind: 'supplement' | 'special']> = []
    if (supplement) steps.push([supplementDay, 'supplement'])
    if (special) steps.push([specialDay, 'special'])
    for (const [day, kind] of steps) {
      if (withdrawDay < day) break
      const kStart = kA + suspended + day
      if (kind === 'supplement') {
        this.emit(tr, 'supplement_requested', pid, processStaff, this.place(rng, kStart), false, -1, NaN, { materials: rng.pick(SUPPLEMENT_MATERIALS) })
        if (neverBack) {
          // The applicant never brings the papers: the case is closed as withdrawn after the waiting period.
          this.emit(tr, 'withdrawn', pid, processStaff, this.place(rng, kStart + rng.int(20, 40)), false, -1, NaN, { reason: '逾期未补正' })
          return tr
        }
        suspended += supplementGap
        this.emit(tr, 'supplement_received', pid, processStaff, this.place(rng, kA + suspended + day), false, -1, dueAfter(suspended))
      } else {
        this.emit(tr, 'suspended', pid, processStaff, this.place(rng, kStart), false, -1, NaN, { procedure: rng.pick(SPECIAL_PROCEDURES) })
        suspended += specialGap
        this.emit(tr, 'resumed', pid, processStaff, this.place(rng, kA + suspended + day), false, -1, dueAfter(suspended))
      }
    }
    if (withdrawn) {
      this.emit(tr, 'withdrawn', pid, -1, this.place(rng, kA + suspended + withdrawDay), false)
      return tr
    }
    if (rejected) {
      this.emit(tr, 'rejected', pid, processStaff, this.place(rng, kA + suspended + E), false, -1, NaN, { reason: rng.pick(REJECT_REASONS) })
      return tr
    }
    // 审批通过 then 办结 (制证、送达), often a day apart; an immediate item passes both within minutes.
    const lastStep = steps.length > 0 ? steps[steps.length - 1]![0] : 0
    const approveDay = Math.max(lastStep, approvedEarly ? E - 1 : E)
    this.emit(tr, 'approved', pid, processStaff, this.place(rng, kA + suspended + approveDay, 180, 2400), false)
    this.emit(tr, 'completed', pid, processStaff, this.place(rng, kA + suspended + E, 180, 2400), false)
    return tr
  }

  /**
   * The next moment on working day k: a random office-hours time on a later day, or a little
   * after the previous event on the same day. Times within a case never go backwards.
   */
  private place(rng: Rng, k: number, minGap = 300, maxGap = 5400): number {
    if (k > this.cursorK) {
      this.cursorK = k
      this.cursorSec = rng.int(9 * HOUR, 17 * HOUR + 1800)
    } else {
      // Late in the afternoon the next step still happens that day, a few minutes on.
      const gap = this.cursorSec > 16 * HOUR ? rng.int(60, 900) : rng.int(minGap, maxGap)
      this.cursorSec = Math.min(DAY - 2, this.cursorSec + gap)
    }
    return this.timeline.atWork(this.cursorK, this.cursorSec)
  }

  private emit(
    tr: CaseTrace, type: CaseEventType, unit: number, staff: number, time: number, withChannel: boolean,
    toUnit = -1, due = NaN, attrs?: Record<string, string>,
  ): void {
    if (this.closed || time > this.timeline.end) {
      // Past `to`: this and everything after it has not happened yet.
      this.closed = true
      return
    }
    const n = tr.n++
    tr.type[n] = type
    tr.time[n] = time
    tr.unit[n] = unit
    tr.staff[n] = staff
    tr.toUnit[n] = toUnit
    tr.due[n] = due
    tr.attrs[n] = attrs
    tr.withChannel[n] = withChannel
    if (type === 'accepted' && tr.acceptedAt < 0) {
      tr.acceptedAt = time
      tr.acceptUnit = unit
      tr.acceptStaff = staff
    } else if (type === 'supplement_requested') tr.supplemented = true
    else if ((type === 'completed' || type === 'rejected' || type === 'withdrawn') && tr.stopAt < 0) {
      tr.stopType = type
      tr.stopAt = time
      tr.stopUnit = unit
      tr.stopStaff = staff
    }
  }

  /** The case's events as contract records. */
  caseEventRecords(tr: CaseTrace, out: object[]): void {
    const units = this.district.units
    const tl = this.timeline
    for (let e = 0; e < tr.n; e++) {
      const unit = tr.unit[e]!
      const type = tr.type[e]!
      const r: Record<string, unknown> = {
        event_id: `${tr.caseId}-${e + 1 < 10 ? '0' : ''}${e + 1}`,
        case_id: tr.caseId,
        type,
        occurred_at: tl.stamp(tr.time[e]!),
        unit_id: units[unit]!.unit_id,
        item_code: tr.item.item_code,
      }
      if (tr.withChannel[e]) {
        r.channel = tr.channel
        r.applicant_type = tr.applicant
      }
      const due = tr.due[e]!
      if (due === due) r.due_at = tl.stamp(due)
      const to = tr.toUnit[e]!
      if (to >= 0) r.to_unit_id = units[to]!.unit_id
      const staff = tr.staff[e]!
      if (staff >= 0) r.staff_id = this.behaviour[unit]!.staffIds[staff]
      const attrs = tr.attrs[e]
      if (attrs) r.attrs = attrs
      out.push(r)
    }
  }

  // -------------------------------------------------------------------------------------------
  // 好差评: ratings, and the handling of the bad ones

  /** The ratings of case i (the trace must be of case i): at most one of the case, maybe one of a consultation visit. */
  ratings(tr: CaseTrace): Rating[] {
    const rng = this.side.reseed(hash3(this.district.seed, tr.index, PART.rating))
    const out: Rating[] = []
    const units = this.district.units
    const tl = this.timeline
    if (tr.acceptedAt >= 0 && tr.channel === 'window' && units[tr.acceptUnit]!.isHall && rng.chance(0.5)) {
      // 评价器 at the window, right after the service (after completion for an immediate item).
      const at = (tr.stopType === 'completed' && tr.stopAt - tr.acceptedAt < 3 * HOUR ? tr.stopAt : tr.acceptedAt) + rng.int(20, 240)
      const b = this.behaviour[tr.acceptUnit]!
      const stars = this.stars(rng, b.satisfaction, Math.max(0, -units[tr.acceptUnit]!.traits.queue) * 0.4)
      out.push(this.rating(rng, `PJ-${tr.caseId}-1`, tr, tr.acceptUnit, tr.acceptStaff, stars, at, 'window_device', true))
    } else if (tr.stopAt >= 0 && tr.stopType !== 'withdrawn' && rng.chance(0.45)) {
      const c = rng.next()
      const channel =
        tr.channel === 'online' ? 'web'
        : tr.channel === 'mobile' ? 'app'
        : tr.channel === 'proxy' ? (c < 0.5 ? 'qr_code' : 'sms')
        : c < 0.8 ? 'sms' : c < 0.95 ? 'qr_code' : 'hotline'
      const penalty = (tr.late ? 1.4 : 0) + (tr.stopType === 'rejected' ? 1.0 : 0) + (tr.supplemented ? 0.4 : 0)
      const b = this.behaviour[tr.stopUnit]!
      if (rng.chance(0.17)) {
        // 未主动评价: the system records the default (满意, 4) when the rating window closes, in its night run.
        const at = (tl.dayOf(tr.stopAt) + 5) * DAY + rng.int(1 * HOUR, 3 * HOUR)
        out.push(this.rating(rng, `PJ-${tr.caseId}-1`, tr, tr.stopUnit, tr.stopStaff, 4, at, channel, false))
      } else {
        let at = tr.stopAt + rng.int(600, 3 * DAY)
        const hour = (at % DAY) / HOUR
        if (hour < 7) at += 8 * HOUR // nobody rates at four in the morning
        else if (hour >= 23) at += 9 * HOUR
        out.push(this.rating(rng, `PJ-${tr.caseId}-1`, tr, tr.stopUnit, tr.stopStaff, this.stars(rng, b.satisfaction, penalty), at, channel, true))
      }
    }
    if (rng.chance(0.07)) {
      // A consultation or appointment visit rated on the spot: no case behind it.
      const unit = tr.startUnit
      const at = tl.atWork(tr.k0, officeSecond(rng.next())) + rng.int(60, 1200)
      const stars = this.stars(rng, this.behaviour[unit]!.satisfaction, 0)
      const channel = units[unit]!.isHall && rng.chance(0.6) ? 'window_device' : 'qr_code'
      const r = this.rating(rng, `PJ-ZX-${tr.caseId}`, undefined, unit, -1, stars, at, channel, true)
      out.push(r)
    }
    return out.filter((r) => r.time <= tl.end)
  }

  /** Stars from the unit's satisfaction and what the person went through. */
  private stars(rng: Rng, satisfaction: number, penalty: number): number {
    const x = penalty - 0.9 * satisfaction
    const pBad = Math.min(0.6, 0.007 * Math.exp(x))
    const p3 = Math.min(0.3, 0.03 * Math.exp(0.5 * x))
    const u = rng.next()
    if (u < pBad) return rng.chance(0.55) ? 1 : 2
    if (u < pBad + p3) return 3
    if (u < pBad + p3 + 0.12) return 4
    return 5
  }

  private rating(
    rng: Rng, id: string, tr: CaseTrace | undefined, unit: number, staff: number, stars: number, time: number, channel: string, active: boolean,
  ): Rating {
    // The national platform's 好差评 interface (web and app) sends GB/T 39046 codes, 1 = 非常满意: most web/app ratings arrive that way.
    const scheme = (channel === 'web' || channel === 'app') && rng.chance(0.7) ? 'gbt39046' : 'stars'
    const r: Rating = { event_id: id, unit, stars, time, channel, scheme, active, followUp: false }
    if (tr) {
      r.caseId = tr.caseId
      r.item = tr.item.item_code
    }
    if (staff >= 0) r.staff = this.behaviour[unit]!.staffIds[staff]
    if (active) {
      if (stars <= 2 && rng.chance(0.8)) r.comment = rng.pick(BAD_COMMENTS)
      else if (stars === 5 && rng.chance(0.08)) r.comment = rng.pick(GOOD_COMMENTS)
      const c = rng.next()
      if (c < 0.65) r.realName = true
      else if (c < 0.85) r.realName = false
    }
    return r
  }

  /**
   * Handling of a bad rating (差评核实、整改、回访) and, sometimes, the person's second rating (追评)
   * after the revisit. `which` numbers the case's ratings so each has its own random stream.
   */
  followups(tr: CaseTrace, rating: Rating, which: number): { steps: FollowupStep[]; second?: Rating } {
    const steps: FollowupStep[] = []
    if (!rating.active || rating.followUp || rating.stars > 2) return { steps }
    const rng = this.side.reseed(hash3(this.district.seed, tr.index, PART.followup * 16 + which))
    const b = this.behaviour[rating.unit]!
    if (!rng.chance(b.pBadHandled)) return { steps }
    const tl = this.timeline
    let k = tl.workAfter(rating.time) + (rng.chance(0.5) ? 0 : rng.int(1, 2))
    let sec = rng.int(9 * HOUR, 17 * HOUR)
    const step = (type: FollowupStep['type'], note: string) => {
      const time = tl.atWork(k, sec)
      if (time <= tl.end) steps.push({ event_id: `${rating.event_id}-F${steps.length + 1}`, evaluation_id: rating.event_id, type, time, unit: rating.unit, note })
      return time
    }
    const later = (days: number) => {
      if (days > 0) {
        k += days
        sec = rng.int(9 * HOUR, 17 * HOUR + 1800)
      } else sec = Math.min(DAY - 2, sec + rng.int(600, 3600))
    }
    step('verified', rng.pick(FOLLOWUP_NOTES.verified))
    if (rng.chance(0.05)) {
      later(rng.int(0, 3))
      step('dismissed', rng.pick(FOLLOWUP_NOTES.dismissed))
      return { steps }
    }
    later(Math.min(45, Math.max(1, Math.round(rng.exponential(b.rectifyMeanDays)))))
    step('rectified', rng.pick(FOLLOWUP_NOTES.rectified))
    later(rng.int(1, 5))
    const revisitedAt = step('revisited', rng.pick(FOLLOWUP_NOTES.revisited))
    if (!rng.chance(0.25)) return { steps }
    const at = revisitedAt + rng.int(HOUR, 2 * DAY)
    if (at > tl.end) return { steps }
    const u = rng.next()
    const second: Rating = {
      event_id: `${rating.event_id}-ZP`, unit: rating.unit, stars: u < 0.35 ? 5 : u < 0.8 ? 4 : 3, time: at, channel: 'sms',
      scheme: 'stars', active: true, followUp: true, caseId: rating.caseId, item: rating.item, staff: rating.staff, realName: true,
    }
    return { steps, second }
  }

  ratingRecord(r: Rating): object {
    const rec: Record<string, unknown> = {
      event_id: r.event_id,
      unit_id: this.district.units[r.unit]!.unit_id,
      rating: r.scheme === 'gbt39046' ? 6 - r.stars : r.stars,
    }
    if (r.scheme === 'gbt39046') rec.rating_scheme = 'gbt39046'
    if (!r.active) rec.active = false
    if (r.followUp) rec.follow_up = true
    rec.occurred_at = this.timeline.stamp(r.time)
    rec.channel = r.channel
    if (r.caseId) rec.case_id = r.caseId
    if (r.item) rec.item_code = r.item
    if (r.staff) rec.staff_id = r.staff
    if (r.comment) rec.comment = r.comment
    if (r.realName !== undefined) rec.real_name = r.realName
    return rec
  }

  followupRecord(f: FollowupStep): object {
    return {
      event_id: f.event_id, evaluation_id: f.evaluation_id, type: f.type, occurred_at: this.timeline.stamp(f.time),
      unit_id: this.district.units[f.unit]!.unit_id, note: f.note,
    }
  }

  // -------------------------------------------------------------------------------------------
  // Complaints (举报电话 and the rest)

  complaintRecords(tr: CaseTrace, out: object[]): void {
    const rng = this.side.reseed(hash3(this.district.seed, tr.index, PART.complaint))
    const unit = tr.stopUnit >= 0 ? tr.stopUnit : tr.acceptUnit >= 0 ? tr.acceptUnit : tr.startUnit
    const b = this.behaviour[unit]!
    const late = tr.late && (tr.stopAt >= 0 || tr.acceptedAt >= 0)
    // a case rated badly is complained about more often too
    const badRating = this.ratings(tr).find((r) => r.active && !r.followUp && r.stars <= 2)
    if (!rng.chance(b.complaintRate * (late ? 4 : 1) * (badRating ? 10 : 1))) return
    const tl = this.timeline
    const from = tr.acceptedAt >= 0 ? tr.acceptedAt : tl.atWork(tr.k0, 9 * HOUR)
    const receivedAt = (tl.dayOf(from) + rng.int(1, 25)) * DAY + rng.int(8 * HOUR, 21 * HOUR)
    if (receivedAt > tl.end) return
    const s = rng.next()
    const source = s < 0.6 ? 'hotline' : s < 0.8 ? 'web' : s < 0.9 ? 'letter' : 'in_person'
    const category = late && rng.chance(0.6) ? '办理时限' : COMPLAINT_CATEGORIES[rng.weighted(COMPLAINT_CUM)]![0]
    const id = `GD${tl.compactDate(tl.dayOf(receivedAt))}${String(tr.index).padStart(7, '0')}`
    const unit_id = this.district.units[unit]!.unit_id
    const k = tl.workAfter(receivedAt) + rng.int(2, 12) + b.resolveExtraDays
    const resolvedAt = tl.atWork(k, rng.int(9 * HOUR, 17 * HOUR + 1800))
    const substantiated = rng.chance(category === '办理时限' && late ? 0.8 : Math.min(0.9, 0.3 * Math.exp(-0.5 * b.integrity)))
    // (drawn after what the complaint was before its steps were generated, which stays the same)
    // the links: the case it is about (when the case was accepted, so its events are stored) and,
    // now and then, the bad rating that came before it
    const links: Record<string, string> = {}
    if (tr.acceptedAt >= 0) links.case_id = tr.caseId
    if (badRating && badRating.time < receivedAt && rng.chance(0.5)) links.evaluation_id = badRating.event_id
    out.push({ event_id: `${id}-1`, complaint_id: id, type: 'received', occurred_at: tl.stamp(receivedAt), unit_id, category, source, ...links })
    // first contact (响应): the next working day, later where integrity is low
    const respondedAt = tl.atWork(tl.workAfter(receivedAt) + (rng.chance(b.pRespondLate) ? rng.int(1, 3) : 0), rng.int(9 * HOUR, 17 * HOUR))
    if (respondedAt <= tl.end) out.push({ event_id: `${id}-R`, complaint_id: id, type: 'responded', occurred_at: tl.stamp(respondedAt), unit_id })
    if (resolvedAt <= tl.end) {
      out.push({ event_id: `${id}-2`, complaint_id: id, type: 'resolved', occurred_at: tl.stamp(resolvedAt), unit_id, category, substantiated, source })
      // the complainant's rating of the handling (满意度回访), for most: higher where the unit's integrity is
      const ratedAt = resolvedAt + rng.int(HOUR, 3 * DAY)
      if (ratedAt <= tl.end && rng.chance(0.7)) {
        const satisfied = rng.chance(logistic(1.4 + 0.9 * b.integrity - (substantiated ? 0.6 : 0)))
        out.push({ event_id: `${id}-S`, complaint_id: id, type: 'rated', occurred_at: tl.stamp(ratedAt), unit_id, rating: satisfied ? rng.int(3, 5) : rng.int(1, 2) })
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Queue tickets of the hall visit (window units only)

  queueRecords(tr: CaseTrace, out: object[]): void {
    const hall = this.district.units[tr.startUnit]!
    if (!hall.isHall) return
    const rng = this.side.reseed(hash3(this.district.seed, tr.index, PART.queue))
    const tl = this.timeline
    const b = this.behaviour[hall.index]!
    const dayStart = tl.atWork(tr.k0, 0)
    const date = tl.compactDate(tl.dayOf(dayStart))
    const weekday = new Date(tl.dates[tl.dayOf(dayStart)]! + 'T00:00:00Z').getUTCDay()
    const waitAt = (sec: number) => {
      // Morning and afternoon peaks and Mondays make the queue longer.
      const h = sec / HOUR
      const peak = (h >= 9.5 && h < 11.5) || (h >= 14 && h < 16) ? 1.35 : 1
      return Math.min(150 * 60, Math.round(rng.exponential(b.meanWait * peak * (weekday === 1 ? 1.2 : 1))))
    }
    const ticket = (suffix: string, steps: Array<[string, number]>, window: number, item?: string) => {
      const ticketId = `${hall.unit_id}-${date}-${tr.index}${suffix}`
      steps.forEach(([type, time], n) => {
        if (time > tl.end) return
        const r: Record<string, unknown> = { event_id: `${ticketId}-${n + 1}`, ticket_id: ticketId, type, occurred_at: tl.stamp(time), unit_id: hall.unit_id }
        if (window >= 0) r.window_id = `W${String(window + 1).padStart(2, '0')}`
        if (item) r.item_code = item
        out.push(r)
      })
    }
    const opening = dayStart + 8 * HOUR + 30 * 60 // ticket machines start at 08:30
    if (tr.channel === 'window' && tr.acceptUnit === hall.index && tr.acceptedAt >= 0 && rng.chance(0.9)) {
      const called = tr.acceptedAt - rng.int(20, 120)
      let issued = Math.max(opening + rng.int(0, 600), called - waitAt(called - dayStart))
      if (issued >= called) issued = called - rng.int(30, 90)
      ticket('', [['issued', issued], ['called', called], ['served', tr.acceptedAt + rng.int(240, 1500)]], tr.acceptStaff % hall.windows, tr.item.item_code)
    }
    if (rng.chance(b.pAbandon)) {
      const issued = dayStart + officeSecond(rng.next())
      if (rng.chance(0.65)) ticket('A', [['issued', issued], ['abandoned', issued + 300 + Math.round(1.6 * waitAt(issued - dayStart))]], -1)
      else {
        // 过号: called, but the person had gone.
        const called = issued + waitAt(issued - dayStart)
        ticket('A', [['issued', issued], ['called', called], ['abandoned', called + rng.int(60, 180)]], rng.int(0, hall.windows - 1))
      }
    }
    if (rng.chance(0.15)) {
      // A consultation (咨询) at the window: queued and served, no case.
      const issued = dayStart + officeSecond(rng.next())
      const called = issued + waitAt(issued - dayStart)
      ticket('C', [['issued', issued], ['called', called], ['served', called + rng.int(180, 720)]], rng.int(0, hall.windows - 1))
    }
  }
}
