// The 差评 handling record and the complaints of a year, per unit, as of a moment: what the
// published report lists besides the indicators, frozen with them. Read from the indicators' own
// sources, so the rules are theirs: a bad rating is an active rating of 1–2 stars; "in time" means
// handled within the limit in official working days counted from the day it came in; a limit has
// passed when that many working days have gone by at the moment the record is taken.
import { CALENDAR_WITH, calendarParams, epochSeconds, queryRows, type Platform } from '../warehouse/index.ts'
import { limitParams, SOURCES } from '../metrics/index.ts'

/** How many of the records that cost points are listed by name in a unit's report. */
export const LISTED = 30

export interface BadRatingEntry {
  event_id: string
  date: string
  rating: number
  channel: string
  case_id: string | null
  comment: string | null
  /** rectified after its limit, or not rectified once its limit has passed (those within it are not listed) */
  state: 'rectified_late' | 'unrectified'
  rectified: string | null
  working_days: number | null
  revisited: boolean
}

export interface ComplaintEntry {
  complaint_id: string
  date: string
  source: string | null
  category: string | null
  state: 'resolved_late' | 'unresolved'
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
    /**
     * The hotline's steps (响应率 = responded_in_time ÷ response_limit_passed, 满意率 = satisfied ÷
     * rated); absent in publications made before complaints had them.
     */
    response_limit_passed?: number
    responded_in_time?: number
    rated?: number
    satisfied?: number
  }
}

export const emptyRecords = (): UnitRecords => ({
  bad: { total: 0, dismissed: 0, verified: 0, rectified: 0, limit_passed: 0, rectified_in_time: 0, revisited: 0, by_channel: {}, listed: [], listed_of: 0 },
  complaints: {
    received: 0, resolved: 0, limit_passed: 0, resolved_in_time: 0, substantiated: 0, by_source: {}, by_category: {}, listed: [], listed_of: 0,
    response_limit_passed: 0, responded_in_time: 0, rated: 0, satisfied: 0,
  },
})

const bump = (m: Record<string, number>, key: string | null) => {
  const k = key ?? '未注明'
  m[k] = (m[k] ?? 0) + 1
}

/** A record handled within a limit, as the indicator's source gives it (metrics/sources.ts). */
interface Handled { day: string; done_day: string | null; working_days: number | null; limit_passed: number; in_time: number }

/**
 * Counts a record against its limit and says whether it is listed: dealt with late, or not dealt
 * with once the limit has passed (those still within their limit are not).
 */
function handled(rec: { limit_passed: number; listed_of: number }, r: Handled, countInTime: () => void): 'late' | 'open' | null {
  if (Number(r.limit_passed)) {
    rec.limit_passed++
    if (Number(r.in_time)) countInTime()
  }
  const state = r.done_day !== null ? (Number(r.in_time) ? null : 'late') : Number(r.limit_passed) ? 'open' : null
  if (state !== null) rec.listed_of++
  return state
}

/**
 * Every unit's bad ratings and complaints received in [from, to], with their handling as of
 * `asOfMs`: the rows of the indicators' own sources (bad_reviews, complaints), so the report's
 * counts and its indicators follow one rule, working days and limits included.
 */
export async function unitRecords(platform: Platform, from: string, to: string, asOfMs: number): Promise<Map<string, UnitRecords>> {
  const tz = platform.warehouse.timezone
  const settings = platform.settings.get()
  const params = {
    from, to, as_of: epochSeconds(asOfMs), ...calendarParams(platform.calendar, asOfMs, tz),
    ...limitParams(platform),
  }
  const day = (column: string) => `if(${column} IS NULL, NULL, toString(toDate(${column})))`
  const within = `toDate(at) BETWEEN {from:Date} AND {to:Date}`

  // (after the refresher: the ratings' 一事一评 is derived state)
  const [bad, complaints] = await platform.answers.answer(['report records', params], () => platform.cases.withCalendarCheck(asOfMs, () => Promise.all([
    queryRows<Handled & { unit_id: string; event_id: string; rating: number; channel: string; case_id: string | null; comment: string | null;
      verified: number; revisited: number; dismissed: number }>(platform.warehouse, `${CALENDAR_WITH}
      SELECT unit_id, event_id, toString(toDate(at)) AS day, rating, channel, case_id, comment, verified, revisited, dismissed,
        ${day('rectified_at')} AS done_day, toInt32(w_done - w_start) AS working_days, limit_passed, rectified_in_time AS in_time
      FROM (${SOURCES.bad_reviews.sql(tz, '')}) WHERE ${within}
      ORDER BY unit_id, at, event_id`, params),
    queryRows<Handled & { unit_id: string; complaint_id: string; source: string | null; category: string | null; substantiated: number | null
      response_limit_passed: number; responded_in_time: number; rating: number | null }>(platform.warehouse, `${CALENDAR_WITH}
      SELECT unit_id, complaint_id, toString(toDate(at)) AS day, channel AS source, category, substantiated, response_limit_passed, responded_in_time, rating,
        ${day('resolved_at')} AS done_day, toInt32(w_done - w_start) AS working_days, limit_passed, resolved_in_time AS in_time
      FROM (${SOURCES.complaints.sql(tz, '')}) WHERE ${within}
      ORDER BY unit_id, at, complaint_id`, params),
  ])))

  const out = new Map<string, UnitRecords>()
  const of = (unit: string) => {
    let r = out.get(unit)
    if (!r) out.set(unit, (r = emptyRecords()))
    return r
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
    if (r.done_day !== null) rec.rectified++
    if (Number(r.revisited)) rec.revisited++
    const state = handled(rec, r, () => rec.rectified_in_time++)
    if (state !== null && rec.listed.length < LISTED) {
      rec.listed.push({ event_id: r.event_id, date: r.day, rating: Number(r.rating), channel: r.channel, case_id: r.case_id, comment: r.comment,
        state: state === 'late' ? 'rectified_late' : 'unrectified', rectified: r.done_day, working_days: r.working_days, revisited: Boolean(Number(r.revisited)) })
    }
  }
  for (const r of complaints) {
    const rec = of(r.unit_id).complaints
    rec.received++
    bump(rec.by_source, r.source)
    bump(rec.by_category, r.category)
    if (r.done_day !== null) rec.resolved++
    if (r.substantiated !== null && Number(r.substantiated)) rec.substantiated++
    if (Number(r.response_limit_passed)) {
      rec.response_limit_passed!++
      if (Number(r.responded_in_time)) rec.responded_in_time!++
    }
    if (r.rating !== null) {
      rec.rated!++
      if (Number(r.rating) >= 3) rec.satisfied!++
    }
    const state = handled(rec, r, () => rec.resolved_in_time++)
    if (state !== null && rec.listed.length < LISTED) {
      rec.listed.push({ complaint_id: r.complaint_id, date: r.day, source: r.source, category: r.category,
        state: state === 'late' ? 'resolved_late' : 'unresolved', resolved: r.done_day, working_days: r.working_days,
        substantiated: r.substantiated === null ? null : Boolean(Number(r.substantiated)) })
    }
  }
  return out
}
