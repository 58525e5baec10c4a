// The clock (时限) of CONTRACT.md, compiled to ClickHouse SQL. It runs over case_state, one row
// per case holding its events, so "as of T" is a filter on those arrays and elapsed working days
// are a subtraction of working-day ordinals W(d) (calendar.ts) passed in as a bound array.
import type { Calendar } from './calendar.ts'
import { epochSeconds, localDate } from './time.ts'

export interface CalendarParams {
  cal_start: string
  /** W(d) + 1 of every day from cal_start, packed (`packOrdinals`). */
  cal_w: string
  /** The offset from cal_start of the k-th working day, + 1, packed. */
  cal_wd: string
  cal_prov: number[]
}

export interface ClockParams extends CalendarParams {
  as_of: string
  warn_days: number
  /** The warning threshold of each unit whose tier has its own (settings' by_tier). */
  warn_units: Record<string, number>
}

/** The warning (黄牌) thresholds: the district's, and those of the units whose tier sets its own. */
export interface WarningThresholds { days: number; units: Record<string, number> }

/**
 * The calendar's bound parameters for a question about the moment `asOfMs`: the W() arrays reach
 * the year after it (handling limits that end past the moment asked are looked up too).
 */
export function calendarParams(calendar: Calendar, asOfMs: number, tz: string): CalendarParams {
  const index = calendar.workingDayIndex(Number(localDate(asOfMs, tz).slice(0, 4)) + 1)
  let packed = PACKED.get(index)
  if (!packed) PACKED.set(index, (packed = { cal_w: packOrdinals(index.ordinals), cal_wd: packOrdinals(index.working) }))
  return { cal_start: index.start, ...packed, cal_prov: index.provisional }
}

/** The packed arrays of each working-day index (calendar.ts keeps the indexes). */
const PACKED = new WeakMap<object, { cal_w: string; cal_wd: string }>()

/**
 * Numbers ≥ 0 as the hex text of their value + 1, four bytes each (little-endian Int32), which
 * CALENDAR_WITH unpacks: one string constant in the query instead of an array of a thousand
 * elements, which the engine's analysis copied and hashed at every W() (at 1,095 days, 25 of the
 * 60 ms the engine took to analyse an open-case list). The + 1 leaves 0 for "outside": what a
 * read past the end gives.
 */
function packOrdinals(values: number[]): string {
  const buf = Buffer.alloc(values.length * 4)
  values.forEach((v, i) => buf.writeInt32LE(v + 1, i * 4))
  return buf.toString('hex')
}

/** Bound parameters of the clock for the moment `asOfMs`. */
export function clockParams(calendar: Calendar, asOfMs: number, warning: WarningThresholds, tz: string): ClockParams {
  return { as_of: epochSeconds(asOfMs), ...calendarParams(calendar, asOfMs, tz), warn_days: warning.days, warn_units: warning.units }
}

/**
 * Binds the calendar once for W() and workingDayOf() in the query it starts: `cal_w` the
 * ordinals from `cal_start`, `cal_wd` the working days' offsets (both packed, `packOrdinals`),
 * `cal_prov` the provisional years.
 */
export const CALENDAR_WITH = `WITH unhex({cal_w:String}) AS cal_w, {cal_start:Date} AS cal_start, intDiv(length(cal_w), 4) AS cal_n,
  unhex({cal_wd:String}) AS cal_wd, intDiv(length(cal_wd), 4) AS cal_wd_n, {cal_prov:Array(UInt16)} AS cal_prov`

/**
 * The `k`-th (from 0) of the packed values, −1 when `k` is outside them: a negative `k` turns
 * into a huge UInt64, and `least` takes it to the end, where the read is empty and unpacks as 0.
 */
const unpack = (packed: string, count: string, k: string) =>
  `(reinterpretAsInt32(substring(${packed}, 4 * least(toUInt64(${k}), ${count}) + 1, 4)) - 1)`

/** W(d) for a Date expression: −1 outside the loaded calendar (never a guess). Needs CALENDAR_WITH. */
export const W = (date: string) => unpack('cal_w', 'cal_n', `dateDiff('day', cal_start, ${date})`)

/**
 * The date of the working day with ordinal `ordinal` (the N-th working day after a date d is
 * ordinal W(d) + N): a Date, or the largest Date where it lies past the array (a limit that ends
 * that far has not run out at any moment the array covers). Needs CALENDAR_WITH.
 */
export const workingDayOf = (ordinal: string) =>
  `if(toInt64(${ordinal}) > cal_wd_n, toDate('2149-06-06'), cal_start + toIntervalDay(${unpack('cal_wd', 'cal_wd_n', `toInt64(${ordinal}) - 1`)}))`

/**
 * Whether a count of working days between two dates (Date expressions) used a day of a
 * provisional year. Needs CALENDAR_WITH.
 */
export const provisionalBetween = (from: string, to: string) => `arrayExists(y -> y >= toYear(${from}) AND y <= toYear(${to}), cal_prov)`

/** Marker in the engine's error when a case needs a date whose calendar year is not loaded. */
export const CALENDAR_GAP_MARKER = 'tierscope_calendar_missing'

/**
 * The stretches during which a case's clock stands still (CONTRACT.md "The clock"): a pause runs
 * from `supplement_requested` to the next `supplement_received`, or from `suspended` to the next
 * `resumed`; the clock stands still while at least one is open, so overlapping and nested pauses
 * are one stretch, a second start of a kind already open changes nothing, an end with none open
 * changes nothing, and a pause still open has no end yet (it runs to the clock's end). One pass
 * over the pause events in time order, carrying (supplement open since, suspension open since,
 * stretch open since, stretches closed): Array(Tuple(start, Nullable(end))).
 */
function pauseStretchesSql(pauseEvents: string, tz: string): string {
  const t = `DateTime64(3, '${tz}')`
  const state = `Tuple(Nullable(${t}), Nullable(${t}), Nullable(${t}), Array(Tuple(${t}, Nullable(${t}))))`
  const close = (other: string) => `if(isNull(${other}), NULL, acc.3), if(isNull(${other}), arrayPushBack(acc.4, (assumeNotNull(acc.3), e.at)), acc.4)`
  const fold = `arrayFold((acc, e) -> CAST(multiIf(
      e.type = 'supplement_requested' AND isNull(acc.1), (e.at, acc.2, if(isNull(acc.2), e.at, acc.3), acc.4),
      e.type = 'suspended' AND isNull(acc.2), (acc.1, e.at, if(isNull(acc.1), e.at, acc.3), acc.4),
      e.type = 'supplement_received' AND isNotNull(acc.1), (NULL, acc.2, ${close('acc.2')}),
      e.type = 'resumed' AND isNotNull(acc.2), (acc.1, NULL, ${close('acc.1')}),
      acc) AS ${state}), ${pauseEvents}, CAST((NULL, NULL, NULL, []) AS ${state}))`
  return `arrayMap(f -> if(isNotNull(f.3), arrayPushBack(f.4, (assumeNotNull(f.3), NULL)), f.4), [${fold}])[1]`
}

/**
 * A case's facts from its events: `source` is a relation with `ev` (the events, sorted by time,
 * never empty) and the `keep` columns. `endLimit` is the moment the clock is read at (an as-of
 * moment), or null for the facts from all events stored at refresh time, where a still-open case
 * has no end yet. Built in layers of subqueries: an alias used inside another is expanded where
 * it is used, and nested that deep the expanded expressions made planning alone take 0.4 s.
 */
export function eventFactsSql(source: string, keep: string[], prefix: string, endLimit: string | null, tz: string): string {
  const p = prefix
  const k = keep.join(', ')
  const withinRun = (at: string) => (endLimit === null ? `(${p}end_known IS NULL OR ${at} <= ${p}end_known)` : `${at} <= ${p}end_known`)
  return `
SELECT ${k}, ${p}status, ${p}accepted_at, ${p}stopped_at, ${p}withdrawn_at, ${p}item_code, ${p}channel, ${p}unit_id, ${p}due_at, ${p}suspensions, ${p}had_supplement,
  ${p}accepted_unit_id, ${p}transfer_units${endLimit === null ? '' : `, ${p}end_known AS ${p}end_at`}
FROM (
  SELECT *,
    arrayFilter(e -> e.type = 'transferred' AND ${withinRun('e.at')} AND (acc_i = 0 OR e.at >= acc_at), ev) AS transfers,
    if(length(transfers) > 0, transfers[-1].to_unit_id, if(acc_i > 0, ev[acc_i].unit_id, ev[1].unit_id)) AS ${p}unit_id,
    arrayFilter(e -> isNotNull(e.due_at), ev) AS due_events,
    if(length(due_events) > 0, due_events[-1].due_at, NULL) AS ${p}due_at,
    -- the stretches the clock stood still within its run (started no earlier than the acceptance;
    -- one still open has no end yet and runs to the clock's end)
    arrayMap(s -> (greatest(s.1, acc_at), s.2), ${pauseStretchesSql(`arrayFilter(e -> e.type IN ('supplement_requested', 'supplement_received', 'suspended', 'resumed') AND acc_i > 0 AND ${withinRun('e.at')}, ev)`, tz)}) AS ${p}suspensions,
    toBool(arrayExists(e -> e.type = 'supplement_requested' AND ${withinRun('e.at')}, ev)) AS ${p}had_supplement
  FROM (
    SELECT *,
      if(acc_i > 0, ev[acc_i].at, NULL) AS ${p}accepted_at,
      ev[acc_i].at AS acc_at,
      nullIf(ev[acc_i].item_code, '') AS ${p}item_code,
      nullIf(ev[acc_i].channel, '') AS ${p}channel,
      -- 代办: the unit that accepted the case, and every unit it was transferred to (metrics' proxy_cases)
      if(acc_i > 0, ev[acc_i].unit_id, '') AS ${p}accepted_unit_id,
      arrayMap(e -> e.to_unit_id, arrayFilter(e -> e.type = 'transferred', ev)) AS ${p}transfer_units,
      if(${p}status IN ('completed', 'rejected'), ev[stop_i].at, NULL) AS ${p}stopped_at,
      if(${p}status = 'withdrawn', ev[wd_i].at, NULL) AS ${p}withdrawn_at,
      -- the clock runs to the stop, the withdrawal, or the moment it is read at
      coalesce(${p}stopped_at, ${p}withdrawn_at${endLimit === null ? '' : `, ${endLimit}`}) AS ${p}end_known
    FROM (
      SELECT *,
        -- ev is never empty; index 0 would be a default tuple whose enum has no name
        multiIf(stop_i > 0 AND (wd_i = 0 OR stop_i < wd_i), toString(ev[greatest(stop_i, 1)].type), wd_i > 0, 'withdrawn', 'open') AS ${p}status
      FROM (
        SELECT ${k}, ev,
          arrayFirstIndex(e -> e.type = 'accepted', ev) AS acc_i,
          arrayFirstIndex(e -> e.type IN ('completed', 'rejected'), ev) AS stop_i,
          arrayFirstIndex(e -> e.type = 'withdrawn', ev) AS wd_i
        FROM (${source})
      )
    )
  )
)`
}

/** Columns of case_state that hold the facts from all events (eventFactsSql with prefix f_). */
export const FACT_COLUMNS = ['f_status', 'f_accepted_at', 'f_stopped_at', 'f_withdrawn_at', 'f_item_code', 'f_channel', 'f_unit_id', 'f_due_at', 'f_suspensions', 'f_had_supplement',
  'f_accepted_unit_id', 'f_transfer_units']

export type ClockMode = 'hybrid' | 'facts' | 'events'

/** Which stored rows the clock reads its cases from (case_state, unless one of these says otherwise). */
export interface ClockCopies {
  /** Narrow by the filter on every stored version's light columns first (see below). */
  prefilter?: boolean
  /** The cases open now, from case_open (as 'facts', or 'hybrid' with `monthEnd`: then for the cases with no later event). */
  openOnly?: boolean
  /**
   * Every moment read is a month end case_month_end holds, or after every stored event ('hybrid'
   * only): the cases with events after it are read from their rows there (their state from their
   * events up to then) as stored facts, instead of deriving the facts from their events.
   */
  monthEnd?: boolean
}

/**
 * A relation with one row per case known at `as_of`, with the contract's case fields:
 * case_id, unit_id, item_code, status, accepted_at, stopped_at, due_at, limit_days,
 * elapsed_days, suspended_days, on_time, overdue, warning, days_over, plus accepted_channel,
 * first_at, last_at (the case's last event stored), had_supplement, statutory_days, accepted_unit_id and
 * transfer_units (the unit that accepted it, the units it was transferred to: 代办), as_of (the moment read at). Times are DateTime64 in the district's zone.
 *
 * Two ways to the same facts: stored from all of a case's events (right whenever the case has no
 * event later than as_of), or derived from its events up to as_of. 'hybrid' (the default) reads
 * each case the cheap way it can; 'facts' and 'events' force one way (tests compare them).
 * `caseFilter` narrows the cases read from case_state (its key, case_id, or
 * the stored facts, which only ever narrow correctly: a stop on or before as_of is the first stop).
 * `gaps`: a case that needs a day of a year whose calendar is not loaded makes the query raise
 * ('throw'), or is kept with `calendar_gap` true ('flag': for the daily aggregate, which must
 * never fail an ingest; questions over it raise when they meet such a case).
 */
export function caseClockSql(tz: string, caseFilter?: string, mode: ClockMode = 'hybrid', periodEnds = false, gaps: 'throw' | 'flag' = 'throw', copies: ClockCopies = {}): string {
  const { prefilter = false, openOnly = false, monthEnd = false } = copies
  // the moment each case is read at: one (as_of), or each of a list (the ends of periods), so
  // that "open and overdue at the end of every month" is one query, not twelve
  const asOfValue = periodEnds ? `arrayJoin({period_ends:Array(DateTime64(3, '${tz}'))})` : `{as_of:DateTime64(3, '${tz}')}`
  // Which cases: with `prefilter` (for a filter that leaves few cases, or any filter where the
  // events arrays are read) the filter is first applied to the light columns of every stored
  // version (a superset of the cases it holds for), so that FINAL, which cannot filter non-key
  // columns before it merges, reads only the granules of those case ids, not every case's row.
  // (A filter that leaves most cases is cheaper without: the set would be most of the ids.)
  const filter = `first_at <= as_of${caseFilter ? ` AND (${caseFilter})` : ''}`
  // `openOnly`: the cases open now, from case_open — a copy of their case_state rows kept by the
  // refresh, a few per cent of all cases; as of now, or as of month ends case_month_end holds
  // (the cases open then with no later event are open now; the others are in case_month_end)
  if (openOnly && mode !== 'facts' && !(monthEnd && mode === 'hybrid')) throw new Error('case_open holds the cases open now: read it as of now or of month ends held only')
  const states = (when: string, table?: string) => {
    if (openOnly && table === undefined) return `SELECT * FROM (SELECT *, ${asOfValue} AS as_of FROM case_open FINAL) WHERE f_status = 'open' AND ${filter}${when}`
    const from = table ?? 'case_state'
    return `SELECT * FROM (SELECT *, ${asOfValue} AS as_of FROM ${from} FINAL
      ${prefilter && (caseFilter || when) ? `WHERE case_id IN (SELECT case_id FROM (SELECT *, ${asOfValue} AS as_of FROM ${from}) WHERE ${filter}${when})` : ''})
    WHERE ${filter}${when}`
  }
  // the stored facts, right for every case with no event after as_of
  const factsOf = (stored: string) => `SELECT case_id, first_at, last_at, as_of, f_status AS status, f_accepted_at AS accepted_at, f_stopped_at AS stopped_at,
      coalesce(f_stopped_at, f_withdrawn_at, as_of) AS end_at, f_item_code AS item_code, f_channel AS accepted_channel,
      f_unit_id AS unit_id, f_due_at AS due_at, f_suspensions AS open_suspensions, f_had_supplement AS had_supplement,
      f_accepted_unit_id AS accepted_unit_id, f_transfer_units AS transfer_units
    FROM (${stored})`
  const fromFacts = factsOf(states(mode === 'hybrid' ? ' AND last_at <= as_of' : ''))
  // the facts derived from the events up to as_of, for cases with events after it
  const fromEvents = `SELECT case_id, first_at, last_at, as_of, status, accepted_at, stopped_at, end_at, item_code, channel AS accepted_channel, unit_id, due_at,
      suspensions AS open_suspensions, had_supplement, accepted_unit_id, transfer_units
    FROM (${eventFactsSql(`SELECT case_id, first_at, last_at, as_of, arrayFilter(e -> e.at <= as_of, events) AS ev FROM (${states(mode === 'hybrid' ? ' AND last_at > as_of' : '')})`, ['case_id', 'first_at', 'last_at', 'as_of'], '', 'as_of', tz)})`
  // (case_month_end keeps each month end's rows under their moment: the one read is as_of)
  const later = monthEnd && mode === 'hybrid' ? factsOf(states(' AND month_end = as_of', 'case_month_end')) : fromEvents
  const cases = mode === 'facts' ? fromFacts : mode === 'events' ? fromEvents : `${fromFacts}\n  UNION ALL\n  ${later}`
  // the calendar array is bound once and named: inlined at every W() it would be parsed each time
  return `
${CALENDAR_WITH}
SELECT
  case_id, unit_id, item_code, status, accepted_at, stopped_at, due_at, limit_days,
  if(clock_started, toInt32(greatest(0, w_end - w_start - suspended_days_raw)), NULL) AS elapsed_days,
  if(clock_started, toInt32(suspended_days_raw), NULL) AS suspended_days,
  multiIf(NOT stopped OR NOT clock_started, NULL,
          isNotNull(due_at), stopped_at <= due_at,
          isNotNull(limit_days), elapsed_days <= limit_days,
          NULL) AS on_time,
  multiIf(NOT clock_started OR status = 'withdrawn', false,
          stopped, ifNull(on_time = false, false),
          isNotNull(due_at), as_of > due_at,
          isNotNull(limit_days), elapsed_days > limit_days,
          false) AS overdue,
  multiIf(status != 'open' OR NOT clock_started OR overdue, false,
          isNotNull(due_at),
            -- a deadline weeks away cannot be within the threshold; this also keeps unloaded
            -- far-future years out of the lookup
            dateDiff('day', toDate(as_of), toDate(due_at)) <= 10 + 3 * warn_threshold
            AND (${W('toDate(due_at)')}) - w_end <= warn_threshold,
          isNotNull(limit_days), limit_days - elapsed_days <= warn_threshold,
          false) AS warning,
  multiIf(NOT overdue, NULL,
          isNotNull(due_at), toInt32(greatest(1, (${W('toDate(least(end_at, as_of))')}) - (${W('toDate(due_at)')}))),
          toInt32(elapsed_days - limit_days)) AS days_over,
  -- the working days counted reach from the acceptance to the clock's end (and to a due date
  -- the warning looks ahead to)
  clock_started AND ${provisionalBetween('toDate(accepted_at)', "toDate(if(status = 'open' AND isNotNull(due_at) AND due_at > end_at, least(due_at, end_at + INTERVAL 30 DAY), end_at))")} AS calendar_provisional,
  accepted_channel, first_at, last_at, had_supplement, statutory_days, accepted_unit_id, transfer_units, as_of${gaps === 'flag' ? ', calendar_gap' : ''}
FROM (
  SELECT
    c.*,
    status IN ('completed', 'rejected') AS stopped,
    accepted_at IS NOT NULL AS clock_started,
    it.promised_days AS limit_days,
    it.statutory_days AS statutory_days,
    -- the item's own threshold, else the unit's tier's, else the district's
    coalesce(it.warning_days, it.warning_share * it.promised_days,
      if(mapContains({warn_units:Map(String, Float64)}, c.unit_id), {warn_units:Map(String, Float64)}[c.unit_id], {warn_days:Float64})) AS warn_threshold,
    if(clock_started, ${W('toDate(accepted_at)')}, 0) AS w_start,
    if(clock_started, ${W('toDate(end_at)')}, 0) AS w_end,
    -- a stretch of standing still that has not ended (or ends after the clock stops) ends with the clock
    arrayMap(s -> (${W('toDate(s.1)')}, ${W('toDate(least(ifNull(s.2, end_at), end_at))')}), open_suspensions) AS suspension_w,
    arraySum(arrayMap(x -> greatest(0, x.2 - x.1), suspension_w)) AS suspended_days_raw,
    clock_started AND (w_start < 0 OR w_end < 0 OR arrayExists(x -> x.1 < 0 OR x.2 < 0, suspension_w)) AS calendar_gap${gaps === 'throw' ? `,
    throwIf(calendar_gap, '${CALENDAR_GAP_MARKER}') AS calendar_check` : ''}
  FROM (${cases}) AS c
  LEFT JOIN (SELECT item_code, promised_days, statutory_days, warning_days, warning_share FROM items FINAL) AS it ON it.item_code = c.item_code
)${gaps === 'throw' ? `
WHERE calendar_check = 0` : ''}`
}
