// The relations indicators aggregate over. Each yields one row per counted thing (a case, a
// rating, a complaint, a queue ticket, a ledger entry) with `unit_id`, the date `at` that places
// it in a period, and the columns its indicators use. All are "as of" {as_of}: only what had
// happened by then counts.
import { CALENDAR_GAP_MARKER, countedRatingsSql, limitSchedule, provisionalBetween, TO_HALL_SQL, workingDayOf, workingDayOrdinalSql as W, type Platform } from '../warehouse/index.ts'

export const SOURCE_IDS = ['stopped_cases', 'accepted_cases', 'proxy_cases', 'open_cases', 'evaluations', 'bad_reviews', 'complaints', 'queue_tickets', 'costs'] as const
export type SourceId = (typeof SOURCE_IDS)[number]

export interface SourceDefinition {
  /** Which date places a row in a period, said in words for the definitions. */
  date: { zh: string; en: string }
  /** Groupings besides unit, tier and time that this source has a column for. */
  item: boolean
  channel: boolean
  /**
   * Has a cost category (by=category): the cost ledger. Asked by category, an indicator's parts
   * from other sources (the completed cases of cost per case) are taken whole, for every category.
   */
  category?: boolean
  /** Needs the case clock relation (its SQL is passed in as `clock`). */
  clock: boolean
  /** Needs the calendar bound (CALENDAR_WITH) for working-day limits. */
  calendar: boolean
  /** {as_of}, {from} and {to} are bound; {units:Array(String)} where the question has a scope. */
  sql(tz: string, clock: string): string
}

const asOf = (tz: string) => `{as_of:DateTime64(3, '${tz}')}`
const calendarCheck = (...ordinals: string[]) =>
  `throwIf(${ordinals.map((o) => `${o} < 0`).join(' OR ')}, '${CALENDAR_GAP_MARKER}') = 0`

/**
 * A record's handling limit from its own day `at`: `deadline`, the working day the limit ends on
 * (the limit-th working day after `at`, the day itself not counted), reached by a lookup in the
 * calendar's working days; `limit_passed`, whether that day is over at {as_of}; `inTime`, whether
 * it was dealt with (`done`) by the end of that day. Only the days from `at` to the deadline are
 * counted, so a past year's figures never need a later year's calendar beyond its limits' end;
 * `provisional`, whether any of them is a day of a provisional year. `w_done − w_start` is how many
 * working days handling took (the annual report lists it).
 */
function handledWithin(tz: string, done: string, limit: string, inTime: string, prefix = ''): Handling {
  const p = prefix
  return {
    // the limit in effect on the record's day for the unit's tier (settings: the district's, or
    // the tier's own; each versioned by the day it took effect), the tier looked up below
    // (withHandling)
    ordinals: `arrayElement({${limit}_days:Map(String, Array(Int32))}[limit_tier], arrayLastIndex(d -> d <= toDate(at), {${limit}_from:Map(String, Array(Date))}[limit_tier])) AS ${p}limit_days,
        ${W('toDate(at)')} AS ${p}w_start, if(${done} IS NULL, NULL, ${W(`toDate(${done})`)}) AS ${p}w_done`,
    deadline: `${workingDayOf(`${p}w_start + ${p}limit_days`)} AS ${p}deadline`,
    outcome: `toDate(${asOf(tz)}) > ${p}deadline AS ${p}limit_passed,
        ifNull(toDate(${done}) <= ${p}deadline, false) AS ${inTime},
        ${provisionalBetween('toDate(at)', `least(${p}deadline, toDate(${asOf(tz)}))`)} AS ${p}provisional`,
    columns: [`${p}w_start`, `${p}deadline`, `${p}w_done`, `${p}limit_passed`, inTime, `${p}provisional`],
    check: calendarCheck(`${p}w_start`, `ifNull(${p}w_done, 0)`),
  }
}

/** One kind of handling within a limit, as the layers of `withHandling` compute it. */
interface Handling {
  /** The limit in working days, and the working-day ordinals of the record's day and of its handling. */
  ordinals: string
  /** The day the limit ends on, from the ordinals. */
  deadline: string
  /** Whether the limit is over at as_of, whether it was kept, whether a provisional year counted. */
  outcome: string
  /** What a row has of it. */
  columns: string[]
  /** The calendar's check of its ordinals. */
  check: string
}

/**
 * `columns` of the rows of `from`, with each kind's handling. Each layer reads what the layer
 * below names: an alias used in another alias of the same SELECT is expanded where it is used,
 * so the deadline (and the unit's tier, a map of every unit) was written out once per use —
 * twelve copies of the map in the bad ratings' query, whose analysis took 0.1 s.
 */
function withHandling(columns: string, from: string, kinds: Handling[]): string {
  return `SELECT ${columns}, ${kinds.flatMap((k) => k.columns).join(', ')}
      FROM (SELECT *, ${kinds.map((k) => k.outcome).join(', ')}
      FROM (SELECT *, ${kinds.map((k) => k.deadline).join(', ')}
      FROM (SELECT *, ${kinds.map((k) => k.ordinals).join(', ')}
      FROM (SELECT *, toString({unit_tier:Map(String, UInt8)}[unit_id]) AS limit_tier FROM (${from})))
      WHERE ${kinds.map((k) => k.check).join(' AND ')}))`
}

/**
 * The parameters the handling limits are bound as: each limit's schedule by tier
 * (warehouse/settings.ts limitSchedule), and the units' tiers they are read at.
 */
export function limitParams(platform: Pick<Platform, 'settings' | 'reference'>): Record<string, unknown> {
  const versions = platform.settings.versions()
  const bind = (name: string, limit: Parameters<typeof limitSchedule>[1]) => {
    const schedule = limitSchedule(versions, limit)
    return { [`${name}_from`]: schedule.from, [`${name}_days`]: schedule.days }
  }
  return {
    ...bind('verification_limit', 'verification_limit_days'),
    ...bind('rectification_limit', 'rectification_limit_days'),
    ...bind('revisit_limit', 'revisit_limit_days'),
    ...bind('complaint_limit', 'complaint_limit_days'),
    ...bind('response_limit', 'complaint_response_limit_days'),
    unit_tier: Object.fromEntries([...platform.reference.units.values()].map((u) => [u.unit_id, u.tier])),
  }
}

const rectification = (tz: string) => handledWithin(tz, 'rectified_at', 'rectification_limit', 'rectified_in_time')
const verification = (tz: string) => handledWithin(tz, 'verified_at', 'verification_limit', 'verified_in_time', 'verify_')
const revisit = (tz: string) => handledWithin(tz, 'revisited_at', 'revisit_limit', 'revisited_in_time', 'revisit_')
const resolution = (tz: string) => handledWithin(tz, 'resolved_at', 'complaint_limit', 'resolved_in_time')
const response = (tz: string) => handledWithin(tz, 'responded_at', 'response_limit', 'responded_in_time', 'response_')


export const SOURCES: Record<SourceId, SourceDefinition> = {
  stopped_cases: {
    date: { zh: '办结日期', en: 'the stop date (completed or rejected)' },
    item: true,
    channel: true,
    clock: true,
    calendar: false,
    sql: (_tz, clock) => `SELECT *, stopped_at AS at, accepted_channel AS channel FROM (${clock}) WHERE status IN ('completed', 'rejected')`,
  },
  accepted_cases: {
    date: { zh: '受理日期', en: 'the acceptance date' },
    item: true,
    channel: true,
    clock: true,
    calendar: false,
    sql: (_tz, clock) => `SELECT *, accepted_at AS at, accepted_channel AS channel FROM (${clock}) WHERE accepted_at IS NOT NULL`,
  },
  proxy_cases: {
    date: { zh: '受理日期', en: 'the acceptance date' },
    item: true,
    channel: true,
    clock: true,
    calendar: false,
    // 代办 (下沉): one row per case accepted in the period, placed at the unit that accepted it (a
    // station) whatever unit it belongs to now, with whether it was transferred to a hall (a unit
    // of a higher tier than the one that accepted it; tier 1 is the highest) by as_of and the
    // clock's verdict, counted from the station's acceptance. Both from the clock's facts
    // (accepted_unit_id, transfer_units), stored with the case or derived from its events up to as_of.
    sql: (_tz, clock) => `SELECT case_id, accepted_unit_id AS unit_id, accepted_at AS at,
        ${TO_HALL_SQL} AS to_hall,
        on_time, status, item_code, accepted_channel AS channel
      FROM (${clock})
      WHERE accepted_at IS NOT NULL`,
  },
  open_cases: {
    date: { zh: '期末时点', en: 'the end of the period (cases open then)' },
    item: true,
    channel: true,
    clock: true,
    calendar: false,
    sql: (_tz, clock) => `SELECT *, accepted_channel AS channel FROM (${clock}) WHERE status = 'open'`,
  },
  evaluations: {
    date: { zh: '评价日期', en: 'the rating date' },
    item: true,
    channel: true,
    clock: false,
    calendar: false,
    sql: (tz) => `SELECT unit_id, item_code, channel, rating, active, follow_up, real_name, at, counted FROM (${countedRatingsSql(tz)})`,
  },
  bad_reviews: {
    date: { zh: '差评日期', en: 'the date of the bad rating' },
    item: true,
    channel: true,
    clock: false,
    calendar: true,
    // one row per counted active rating of 1–2 stars, with its handling and the working days it took
    // (and what the annual report lists of each: reports/records.ts reads these rows too)
    sql: (tz) => withHandling(`unit_id, item_code, channel, at, rectified_at, revisited, dismissed, event_id, rating, case_id, comment, verified, real_name,
        verified_at, revisited_at`, `
        SELECT e.unit_id AS unit_id, e.item_code AS item_code, e.channel AS channel, e.at AS at,
          f.rectified_at AS rectified_at, ifNull(f.revisited, false) AS revisited, ifNull(f.dismissed, false) AS dismissed,
          e.event_id AS event_id, e.rating AS rating, e.case_id AS case_id, e.comment AS comment, ifNull(f.verified, false) AS verified,
          e.real_name AS real_name, f.verified_at AS verified_at, f.revisited_at AS revisited_at
        FROM (${countedRatingsSql(tz)}) AS e
        LEFT JOIN (
          SELECT evaluation_id, minIfOrNull(occurred_at, type = 'rectified') AS rectified_at,
            countIf(type = 'revisited') > 0 AS revisited, countIf(type = 'dismissed') > 0 AS dismissed, countIf(type = 'verified') > 0 AS verified,
            -- verified when first verified, or found not to be about the service (which takes a verification)
            minIfOrNull(occurred_at, type IN ('verified', 'dismissed')) AS verified_at, minIfOrNull(occurred_at, type = 'revisited') AS revisited_at
          FROM evaluation_followups WHERE occurred_at <= ${asOf(tz)} GROUP BY evaluation_id
        ) AS f ON f.evaluation_id = e.event_id
        -- one per rated case or visit: a 追评 of 1–2 stars is the citizen's verdict on a
        -- rectification, and a case's second rating no second bad rating
        WHERE e.counted AND e.active AND e.rating <= 2`, [rectification(tz), verification(tz), revisit(tz)]),
  },
  complaints: {
    date: { zh: '投诉受理日期', en: 'the date the complaint was received' },
    item: false,
    channel: true,
    clock: false,
    calendar: true,
    // one row per complaint received, with its resolution and the working days it took (the
    // annual report's complaint record reads these rows too)
    sql: (tz) => withHandling('unit_id, source AS channel, at, resolved_at, substantiated, complaint_id, category, responded_at, rating, case_id, evaluation_id', `
        SELECT complaint_id, toString(argMinIf(unit_id, occurred_at, type = 'received')) AS unit_id, toString(argMinIf(source, occurred_at, type = 'received')) AS source,
          argMinIf(category, occurred_at, type = 'received') AS category,
          minIf(occurred_at, type = 'received') AS at, minIfOrNull(occurred_at, type = 'resolved') AS resolved_at,
          argMinIf(substantiated, occurred_at, type = 'resolved') AS substantiated,
          minIfOrNull(occurred_at, type = 'responded') AS responded_at,
          -- the complainant's rating: the latest given by as_of (a rating given again replaces it)
          argMaxIf(rating, (occurred_at, event_id), type = 'rated') AS rating,
          -- the links: as first sent with any of its events
          argMinIf(case_id, occurred_at, isNotNull(case_id)) AS case_id, argMinIf(evaluation_id, occurred_at, isNotNull(evaluation_id)) AS evaluation_id
        FROM complaints WHERE occurred_at <= ${asOf(tz)}
        GROUP BY complaint_id HAVING countIf(type = 'received') > 0`, [resolution(tz), response(tz)]),
  },
  queue_tickets: {
    date: { zh: '取号日期', en: 'the date the ticket was issued' },
    item: true,
    channel: false,
    clock: false,
    calendar: false,
    // one row per ticket issued, with its wait until called, in minutes: from the ticket rows the
    // queue ingest keeps (warehouse/queue.ts). A ticket's first call or abandonment after {as_of}
    // had not happened then, and its first issue is at or before {as_of} when any issue is.
    sql: (tz) => `SELECT ticket_id, unit_id, item_code, issued_at AS at, if(called_at <= ${asOf(tz)}, called_at, NULL) AS called_at,
        dateDiff('second', at, called_at) AS wait_seconds, wait_seconds / 60 AS wait_minutes, ifNull(abandoned_at <= ${asOf(tz)}, false) AS abandoned
      FROM queue_ticket_state FINAL WHERE issued_at <= ${asOf(tz)}`,
  },
  costs: {
    date: { zh: '成本所属月份', en: 'the month the cost belongs to' },
    item: false,
    channel: false,
    category: true,
    clock: false,
    calendar: false,
    // (entry_id and note: what the list of cost entries shows, GET /api/v1/cost-entries)
    sql: (tz) => `SELECT entry_id, toString(unit_id) AS unit_id, toString(category) AS category, toFloat64(amount) AS amount, staff_fte, note, period AS at
      FROM costs WHERE period <= toDate(${asOf(tz)})
      -- an entry two server processes stored at once is one entry (sums would count it twice)
      LIMIT 1 BY entry_id`,
  },
}
