// Time for the demo district: the working days of [from, to] (and a little beyond, for
// deadlines) from the official calendar, how many cases start on each of them, and fast
// RFC 3339 formatting. Times inside the generator are whole seconds of district wall-clock time
// counted from `from` 00:00, so comparing and adding them is plain arithmetic; Asia/Shanghai has
// had no daylight saving since 1991, so every stamp carries +08:00.
import { hash3, Rng } from './random.ts'

export const DAY = 86_400
export const HOUR = 3_600
const DAY_MS = 86_400_000
/** Deadlines may fall after `to`: the calendar is read this far beyond it, where loaded. */
const HORIZON_DAYS = 400

const pad2 = (n: number) => (n < 10 ? '0' : '') + n
const HOURS_MINUTES = Array.from({ length: 1440 }, (_, m) => `${pad2(Math.floor(m / 60))}:${pad2(m % 60)}`)
const SECONDS = Array.from({ length: 60 }, (_, s) => `:${pad2(s)}`)

const dayNumber = (date: string) => Date.parse(date + 'T00:00:00Z') / DAY_MS
const dateOf = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10)

/** Half-hour slots from 09:00 to 17:00 and how busy each is: morning peak, a lunch dip (halls serve through lunch), afternoon peak. */
const SLOT_WEIGHTS = [0.8, 1.1, 1.3, 1.3, 1.2, 0.8, 0.35, 0.35, 0.6, 0.9, 1.2, 1.2, 1.1, 1.0, 0.8, 0.5]
const SLOT_CUM = (() => {
  const total = SLOT_WEIGHTS.reduce((a, b) => a + b, 0)
  let s = 0
  return SLOT_WEIGHTS.map((w) => (s += w / total))
})()

/** Second of the day at quantile q ∈ [0, 1) of office-hour arrivals (09:00–17:00). */
export function officeSecond(q: number): number {
  let slot = 0
  while (slot < SLOT_CUM.length - 1 && SLOT_CUM[slot]! <= q) slot++
  const lo = slot === 0 ? 0 : SLOT_CUM[slot - 1]!
  const within = (q - lo) / (SLOT_CUM[slot]! - lo)
  return 9 * HOUR + slot * 1800 + Math.min(1799, Math.floor(within * 1800))
}

export class Timeline {
  /** Date string of each day index (0 = `from`), up to the horizon. */
  readonly dates: string[] = []
  readonly working: boolean[] = []
  /** Day index of the k-th working day (k from 0). */
  readonly workDays: number[] = []
  /** firstWorkOnOrAfter[d]: the k of the first working day on or after day d (workDays.length if none known). */
  readonly firstWorkOnOrAfter: Int32Array
  /** Index of `to`. */
  readonly lastDay: number
  /** Working days within [from, to]. */
  readonly workDaysInRange: number
  /** The last second of `to`: nothing may happen after it. */
  readonly end: number
  readonly fromDay: number

  constructor(from: string, to: string, isWorkingDay: (date: string) => boolean) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(from) || Number.isNaN(dayNumber(from))) throw new Error(`demo: from must be a date written YYYY-MM-DD, got ${from}`)
    if (!/^\d{4}-\d{2}-\d{2}$/.test(to) || Number.isNaN(dayNumber(to))) throw new Error(`demo: to must be a date written YYYY-MM-DD, got ${to}`)
    this.fromDay = dayNumber(from)
    this.lastDay = dayNumber(to) - this.fromDay
    if (this.lastDay < 0) throw new Error(`demo: from (${from}) is after to (${to})`)
    for (let d = 0; d <= this.lastDay + HORIZON_DAYS; d++) {
      const date = dateOf(this.fromDay + d)
      let working: boolean
      try {
        working = isWorkingDay(date)
      } catch (err) {
        // Within the period the official calendar is a must; beyond `to` it only limits which deadlines can be sent.
        if (d <= this.lastDay) throw err
        break
      }
      this.dates.push(date)
      this.working.push(working)
      if (working) this.workDays.push(d)
    }
    this.firstWorkOnOrAfter = new Int32Array(this.dates.length + 1)
    let k = this.workDays.length
    this.firstWorkOnOrAfter[this.dates.length] = k
    for (let d = this.dates.length - 1; d >= 0; d--) {
      if (this.working[d]) k--
      this.firstWorkOnOrAfter[d] = k
    }
    this.workDaysInRange = this.firstWorkOnOrAfter[this.lastDay + 1]!
    this.end = (this.lastDay + 1) * DAY - 1
  }

  /** RFC 3339 of a generator time, e.g. 2025-03-04T09:12:05+08:00. */
  stamp(t: number): string {
    const day = Math.floor(t / DAY)
    const s = t - day * DAY
    return `${this.dates[day]}T${HOURS_MINUTES[Math.floor(s / 60)]}${SECONDS[s % 60]}+08:00`
  }

  /** The generator time of second `sec` of the k-th working day; Infinity past the known calendar. */
  atWork(k: number, sec: number): number {
    const day = this.workDays[k]
    return day === undefined ? Infinity : day * DAY + sec
  }

  /** The k of the first working day strictly after the day of time t. */
  workAfter(t: number): number {
    const day = Math.floor(t / DAY) + 1
    return day < this.dates.length ? this.firstWorkOnOrAfter[day]! : this.workDays.length
  }

  dayOf(t: number): number {
    return Math.floor(t / DAY)
  }

  /** Whole months since `from` at day index d (for slow trends such as the rising online share). */
  monthsAt(day: number): number {
    return day / 30.44
  }

  compactDate(day: number): string {
    const d = this.dates[day] ?? dateOf(this.fromDay + day)
    return d.slice(0, 4) + d.slice(5, 7) + d.slice(8, 10)
  }
}

/**
 * Which working day each case starts on. Case i starts on working day k when
 * start[k] ≤ i < start[k+1]; days are weighted by weekday, season and holidays, so case numbers
 * follow time and the load has a realistic rhythm. Only one number per working day is kept.
 */
export class CaseSchedule {
  readonly start: Float64Array
  /** First case index of each calendar year, for case numbers that restart every year. */
  private readonly yearFirst = new Map<number, number>()

  constructor(readonly timeline: Timeline, readonly cases: number, seed: number) {
    const n = timeline.workDaysInRange
    const weights = new Float64Array(n)
    const rng = new Rng(0)
    let total = 0
    for (let k = 0; k < n; k++) {
      const day = timeline.workDays[k]!
      const date = timeline.dates[day]!
      const weekday = new Date(date + 'T00:00:00Z').getUTCDay()
      const month = Number(date.slice(5, 7))
      // 调休 weekends are quieter; Mondays and the first day after a holiday take the backlog.
      let w = [0.8, 1.15, 1.05, 1.0, 1.0, 0.88, 0.8][weekday]!
      w *= [1.05, 0.85, 1.1, 1.0, 1.0, 1.0, 1.05, 0.95, 1.0, 0.95, 1.0, 1.1][month - 1]!
      if (day >= 3 && !timeline.working[day - 1] && !timeline.working[day - 2] && !timeline.working[day - 3]) w *= 1.3
      w *= rng.reseed(hash3(seed, timeline.fromDay + day, 11)).uniform(0.9, 1.1)
      weights[k] = w
      total += w
    }
    this.start = new Float64Array(n + 1)
    let acc = 0
    for (let k = 0; k < n; k++) {
      this.start[k] = Math.round((acc / total) * cases)
      acc += weights[k]!
    }
    this.start[n] = cases
    for (let k = n - 1; k >= 0; k--) this.yearFirst.set(Number(timeline.dates[timeline.workDays[k]!]!.slice(0, 4)), this.start[k]!)
  }

  /** The working day k case i starts on (binary search; the generator walks in order anyway). */
  workDayOf(i: number): number {
    let lo = 0
    let hi = this.start.length - 2
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (this.start[mid]! <= i) lo = mid
      else hi = mid - 1
    }
    return lo
  }

  /** 办件编号: DC<year>-<number within the year>, e.g. DC2025-000123. */
  caseId(i: number, k: number): string {
    const year = Number(this.timeline.dates[this.timeline.workDays[k]!]!.slice(0, 4))
    return `DC${year}-${String(i - this.yearFirst.get(year)! + 1).padStart(6, '0')}`
  }
}
