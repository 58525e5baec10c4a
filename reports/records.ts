// The 差评 handling record and the complaints of a year, per unit, as of a moment: what the
// published report lists besides the indicators, frozen with them. Read straight from the stream
// tables (evaluations, evaluation_followups, complaints) with the same rules as the indicators:
// a bad rating is an active rating of 1–2 stars; "in time" means handled within the limit in
// official working days counted from the day it came in; a limit has passed when that many
// working days have gone by at the moment the record is taken.
import { epochSeconds, localDate, queryRows, type Platform } from '../warehouse/index.ts'

/** How many of the records that cost points are listed by name in a unit's report. */
export const LISTED = 30

export interface BadRatingEntry {
  event_id: string
  date: string
  rating: number
  channel: string
  case_id: string | null
  comment: string | null
  /** 'rectified_late' | 'unrectified' | 'pending' (within its limit, not yet rectified). */
  state: 'rectified_late' | 'unrectified' | 'pending'
  rectified: string | null
  working_days: number | null
  revisited: boolean
}

export interface ComplaintEntry {
  complaint_id: string
  date: string
  source: string | null
  category: string | null
  state: 'resolved_late' | 'unresolved' | 'pending'
  resolved: string | null
  working_days: number | null
  substantiated: boolean | null
}

export interface UnitRecords {
  bad: {
    total: number
    dismissed: number
    verified: number
    rectified: number
    /** not dismissed and past the rectification limit (the indicator's denominator) */
    limit_passed: number
    rectified_in_time: number
    revisited: number
    by_channel: Record<string, number>
    /** the bad ratings that cost points (rectified late, or past the limit and not rectified), first LISTED */
    listed: BadRatingEntry[]
    listed_of: number
  }
  complaints: {
    received: number
    resolved: number
    limit_passed: number
    resolved_in_time: number
    substantiated: number
    by_source: Record<string, number>
    by_category: Record<string, number>
    listed: ComplaintEntry[]
    listed_of: number
  }
}

export const emptyRecords = (): UnitRecords => ({
  bad: { total: 0, dismissed: 0, verified: 0, rectified: 0, limit_passed: 0, rectified_in_time: 0, revisited: 0, by_channel: {}, listed: [], listed_of: 0 },
  complaints: { received: 0, resolved: 0, limit_passed: 0, resolved_in_time: 0, substantiated: 0, by_source: {}, by_category: {}, listed: [], listed_of: 0 },
})

const DAY_MS = 86_400_000
const dayNumber = (date: string) => Date.parse(`${date}T00:00:00Z`) / DAY_MS

/** W(date): the working-day ordinal from the loaded official calendar, or null outside it. */
function workingDayOrdinal(platform: Platform): (date: string) => number | null {
  const index = platform.calendar.workingDayIndex()
  const start = dayNumber(index.start)
  return (date) => {
    const w = index.ordinals[dayNumber(date) - start]
    return w === undefined || w < 0 ? null : w
  }
}

const bump = (m: Record<string, number>, key: string | null) => {
  const k = key ?? '未注明'
  m[k] = (m[k] ?? 0) + 1
}

/** Every unit's bad ratings and complaints received in [from, to], with their handling as of `asOfMs`. */
export async function unitRecords(platform: Platform, from: string, to: string, asOfMs: number): Promise<Map<string, UnitRecords>> {
  const tz = platform.warehouse.timezone
  const settings = platform.settings.get()
  const W = workingDayOrdinal(platform)
  const today = localDate(asOfMs, tz)
  const wNow = W(today)
  const params = { from, to, as_of: epochSeconds(asOfMs) }

  const [bad, complaints] = await Promise.all([
    queryRows<{ unit_id: string; event_id: string; day: string; rating: number; channel: string; case_id: string | null; comment: string | null;
      verified: number; rectified_day: string | null; revisited: number; dismissed: number }>(platform.warehouse, `
      SELECT unit_id, event_id, day, rating, channel, case_id, comment,
        ifNull(f.verified, 0) AS verified, if(f.rectified_at IS NULL, NULL, toString(toDate(f.rectified_at))) AS rectified_day,
        ifNull(f.revisited, 0) AS revisited, ifNull(f.dismissed, 0) AS dismissed
      FROM (
        SELECT toString(unit_id) AS unit_id, event_id, toString(toDate(occurred_at)) AS day, occurred_at, rating, toString(channel) AS channel, case_id, comment
        FROM evaluations
        WHERE active AND rating <= 2 AND occurred_at <= {as_of:DateTime64(3, '${tz}')}
          AND toDate(occurred_at) BETWEEN {from:Date} AND {to:Date}
      ) AS e
      LEFT JOIN (
        SELECT evaluation_id, toUInt8(countIf(type = 'verified') > 0) AS verified, minIfOrNull(occurred_at, type = 'rectified') AS rectified_at,
          toUInt8(countIf(type = 'revisited') > 0) AS revisited, toUInt8(countIf(type = 'dismissed') > 0) AS dismissed
        FROM evaluation_followups WHERE occurred_at <= {as_of:DateTime64(3, '${tz}')}
        GROUP BY evaluation_id
      ) AS f ON f.evaluation_id = e.event_id
      ORDER BY unit_id, e.occurred_at, event_id`, params),
    queryRows<{ unit_id: string; complaint_id: string; day: string; source: string | null; category: string | null; resolved_day: string | null; substantiated: number | null }>(platform.warehouse, `
      SELECT unit_id, complaint_id, toString(toDate(at)) AS day, source, category,
        if(resolved_at IS NULL, NULL, toString(toDate(resolved_at))) AS resolved_day, substantiated
      FROM (
        SELECT complaint_id, toString(argMinIf(unit_id, occurred_at, type = 'received')) AS unit_id,
          argMinIf(source, occurred_at, type = 'received') AS source, argMinIf(category, occurred_at, type = 'received') AS category,
          minIf(occurred_at, type = 'received') AS at, minIfOrNull(occurred_at, type = 'resolved') AS resolved_at,
          argMinIf(substantiated, occurred_at, type = 'resolved') AS substantiated
        FROM complaints WHERE occurred_at <= {as_of:DateTime64(3, '${tz}')}
        GROUP BY complaint_id HAVING countIf(type = 'received') > 0
      )
      WHERE toDate(at) BETWEEN {from:Date} AND {to:Date}
      ORDER BY unit_id, at, complaint_id`, params),
  ])

  const out = new Map<string, UnitRecords>()
  const of = (unit: string) => {
    let r = out.get(unit)
    if (!r) out.set(unit, (r = emptyRecords()))
    return r
  }
  /** Working days from the day it came in to the day it was dealt with; limit passed as of now. */
  const handling = (day: string, doneDay: string | null, limit: number) => {
    const start = W(day)
    const done = doneDay === null ? null : W(doneDay)
    const days = start === null || done === null ? null : done - start
    return { days, inTime: days !== null && days <= limit, limitPassed: start !== null && wNow !== null && wNow - start > limit }
  }

  for (const r of bad) {
    const rec = of(r.unit_id).bad
    rec.total++
    bump(rec.by_channel, r.channel)
    if (Number(r.verified)) rec.verified++
    if (Number(r.dismissed)) {
      rec.dismissed++
      continue
    }
    if (r.rectified_day !== null) rec.rectified++
    if (Number(r.revisited)) rec.revisited++
    const h = handling(r.day, r.rectified_day, settings.rectification_limit_days)
    if (h.limitPassed) {
      rec.limit_passed++
      if (h.inTime) rec.rectified_in_time++
    }
    const state = r.rectified_day !== null && !h.inTime ? 'rectified_late' : r.rectified_day === null ? (h.limitPassed ? 'unrectified' : 'pending') : null
    if (state === null || state === 'pending') continue
    rec.listed_of++
    if (rec.listed.length < LISTED) {
      rec.listed.push({ event_id: r.event_id, date: r.day, rating: Number(r.rating), channel: r.channel, case_id: r.case_id, comment: r.comment, state, rectified: r.rectified_day, working_days: h.days, revisited: Boolean(Number(r.revisited)) })
    }
  }
  for (const r of complaints) {
    const rec = of(r.unit_id).complaints
    rec.received++
    bump(rec.by_source, r.source)
    bump(rec.by_category, r.category)
    if (r.resolved_day !== null) rec.resolved++
    if (r.substantiated !== null && Number(r.substantiated)) rec.substantiated++
    const h = handling(r.day, r.resolved_day, settings.complaint_limit_days)
    if (h.limitPassed) {
      rec.limit_passed++
      if (h.inTime) rec.resolved_in_time++
    }
    const state = r.resolved_day !== null && !h.inTime ? 'resolved_late' : r.resolved_day === null ? (h.limitPassed ? 'unresolved' : 'pending') : null
    if (state === null || state === 'pending') continue
    rec.listed_of++
    if (rec.listed.length < LISTED) {
      rec.listed.push({ complaint_id: r.complaint_id, date: r.day, source: r.source, category: r.category, state, resolved: r.resolved_day, working_days: h.days, substantiated: r.substantiated === null ? null : Boolean(Number(r.substantiated)) })
    }
  }
  return out
}
