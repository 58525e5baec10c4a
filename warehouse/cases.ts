// Case state and the case read model: refresh after ingest, crash repair, one case, case lists.
import type { Warehouse } from './client.ts'
import { queryRows } from './client.ts'
import { DERIVED_WRITE } from './derived.ts'
import { readAnew, readDirectly, withoutMoment, type KeepRead, type ShareRead } from './answers.ts'
import { caseStateEventsType } from './migrations.ts'
import { CALENDAR_GAP_MARKER, caseClockSql, clockParams, eventFactsSql, FACT_COLUMNS, type ClockMode, type WarningThresholds } from './clock.ts'
import { createHash } from 'node:crypto'
import { type Calendar, CalendarMissingError } from './calendar.ts'
import type { ReferenceData } from './reference.ts'
import { epochSeconds, localDate, nowSeconds, parseTimestamp, toRfc3339 } from './time.ts'
import { sqlString } from './sql.ts'

export const CASE_STATUSES = ['open', 'completed', 'rejected', 'withdrawn'] as const
export type CaseStatus = (typeof CASE_STATUSES)[number]

export interface CaseRow {
  case_id: string
  unit_id: string
  item_code: string | null
  status: CaseStatus
  accepted_at: string | null
  stopped_at: string | null
  due_at: string | null
  limit_days: number | null
  elapsed_days: number | null
  suspended_days: number | null
  on_time: boolean | null
  overdue: boolean
  warning: boolean
  days_over: number | null
  /** Whether the clock counted a day of a provisional year (one whose official arrangement is not loaded). */
  calendar_provisional: boolean
}

export interface CaseEvent {
  event_id: string
  type: string
  occurred_at: string
  unit_id: string
  item_code: string | null
  channel: string | null
  due_at: string | null
  to_unit_id: string | null
  staff_id: string | null
  applicant_type: string | null
  attrs: Record<string, unknown> | null
}

export interface CaseFilter {
  /** Cases that belong to one of these units; undefined = no restriction. */
  units?: string[]
  item_code?: string
  status?: CaseStatus
  overdue?: boolean
  warning?: boolean
  /** Stopped cases only if stopped on these days (YYYY-MM-DD, both included); others are not narrowed by it. */
  stopped?: { from: string; to: string }
  /** Only cases after this one in the list's order (cursor paging). */
  after?: string
  /** With order days_over: the days over of the case `after` (−1 for none). */
  afterDaysOver?: number
  /** case_id (default), or days_over: most working days over first, then case_id. */
  order?: 'case_id' | 'days_over'
  limit: number
}

interface ClockRowRaw {
  case_id: string
  unit_id: string
  item_code: string | null
  status: CaseStatus
  accepted_ms: string | null
  stopped_ms: string | null
  due_ms: string | null
  limit_days: number | null
  elapsed_days: number | null
  suspended_days: number | null
  on_time: boolean | number | null
  overdue: boolean | number
  warning: boolean | number
  days_over: number | null
  calendar_provisional: boolean | number
}

const CLOCK_COLUMNS = `case_id, unit_id, item_code, status,
  toUnixTimestamp64Milli(accepted_at) AS accepted_ms, toUnixTimestamp64Milli(stopped_at) AS stopped_ms,
  toUnixTimestamp64Milli(due_at) AS due_ms, limit_days, elapsed_days, suspended_days, on_time, overdue, warning, days_over, calendar_provisional`


/** The measures of case_daily (migration 7), each the sum over the cases of a row. */
export const DAILY_MEASURES = ['n', 'n_completed', 'n_verdict', 'n_on_time', 'n_late', 'late_days_over', 'elapsed_sum', 'elapsed_n', 'n_no_supplement', 'n_instant',
  'promise_cut_sum', 'promise_statutory_sum', 'statutory_elapsed_sum', 'statutory_sum', 'n_online', 'gaps',
  'elapsed_sq', 'late_days_over_sq', 'n_to_hall', 'n_to_hall_verdict', 'n_to_hall_on_time'] as const
export type DailyMeasure = (typeof DAILY_MEASURES)[number]

/**
 * A measure of one case over the clock's columns: a count of the cases meeting a condition (true:
 * every case), a sum of a value (over those meeting a condition), or 0. Declared once and written
 * two ways: as an aggregate over the clock's rows (`aggregateOf`: what metrics sum through the
 * clock and show in the catalogue) and as one case's own contribution (`contributionOf`: what
 * case_daily_cases stores, with no GROUP BY: the clock has one row per case, and aggregating
 * 72,000 groups of one row each took most of the refresh's contributions, 500 of 750 ms).
 */
type CaseMeasure = 0 | { count: string | true } | { sum: string; if?: string }

function aggregateOf(m: CaseMeasure): string {
  if (m === 0) return '0'
  if ('count' in m) return m.count === true ? 'count()' : `countIf(${m.count})`
  return m.if ? `sumIf(${m.sum}, ${m.if})` : `sum(${m.sum})`
}

/** The one case's value the aggregate sums (a condition that is NULL counts as false, a NULL value as nothing: as countIf and sumIf do). */
function contributionOf(m: CaseMeasure): string {
  if (m === 0) return 'toInt64(0)'
  if ('count' in m) return m.count === true ? 'toInt64(1)' : `toInt64(ifNull(${m.count}, 0))`
  return `toInt64(ifNull(${m.if ? `if(${m.if}, ${m.sum}, 0)` : m.sum}, 0))`
}

const WITH_STATUTORY = 'isNotNull(statutory_days) AND statutory_days > 0'
/** Each measure of a stopped case, over the clock's columns. */
const STOPPED_MEASURES: Record<DailyMeasure, CaseMeasure> = {
  n: { count: true },
  n_completed: { count: "status = 'completed'" },
  n_verdict: { count: 'on_time IS NOT NULL' },
  n_on_time: { count: 'on_time = true' },
  n_late: { count: 'on_time = false' },
  late_days_over: { sum: 'days_over', if: 'on_time = false' },
  elapsed_sum: { sum: 'ifNull(elapsed_days, 0)' },
  elapsed_n: { count: 'elapsed_days IS NOT NULL' },
  n_no_supplement: { count: 'NOT had_supplement' },
  n_instant: { count: 'limit_days = 0' },
  promise_cut_sum: { sum: 'statutory_days - limit_days', if: `${WITH_STATUTORY} AND isNotNull(limit_days)` },
  promise_statutory_sum: { sum: 'statutory_days', if: `${WITH_STATUTORY} AND isNotNull(limit_days)` },
  statutory_elapsed_sum: { sum: 'ifNull(elapsed_days, 0)', if: WITH_STATUTORY },
  statutory_sum: { sum: 'statutory_days', if: WITH_STATUTORY },
  n_online: 0,
  gaps: { count: 'calendar_gap' },
  // the records' spread, for the t intervals and funnels of the means (migration 15)
  elapsed_sq: { sum: 'ifNull(elapsed_days, 0) * ifNull(elapsed_days, 0)' },
  late_days_over_sq: { sum: 'days_over * days_over', if: 'on_time = false' },
  n_to_hall: 0,
  n_to_hall_verdict: 0,
  n_to_hall_on_time: 0,
}
/** An accepted case counts once, and once more if it was accepted online or on mobile. */
const ACCEPTED_MEASURES: Record<DailyMeasure, CaseMeasure> = Object.fromEntries(
  DAILY_MEASURES.map((m) => [m, m === 'n' ? { count: true } : m === 'gaps' ? { count: 'calendar_gap' } : m === 'n_online' ? { count: "accepted_channel IN ('online', 'mobile')" } : 0]),
) as Record<DailyMeasure, CaseMeasure>

/**
 * 代办: whether a case accepted by a unit was transferred by then to a hall (a unit of a higher tier
 * than the one that accepted it; tier 1 is the highest), over the clock's row and the units' tiers
 * bound as {unit_tier:Map(String, UInt8)}. The proxy_cases source (metrics) and the daily
 * aggregate's 代办 rows both read it from here.
 */
export const TO_HALL_SQL = 'arrayExists(u -> {unit_tier:Map(String, UInt8)}[u] > 0 AND {unit_tier:Map(String, UInt8)}[u] < {unit_tier:Map(String, UInt8)}[accepted_unit_id], transfer_units)'

/** A case accepted by a unit counts once there, and once more if it went to a hall (with its verdict). */
const PROXY_MEASURES: Record<DailyMeasure, CaseMeasure> = Object.fromEntries(
  DAILY_MEASURES.map((m) => [m, ({
    n: { count: true }, gaps: { count: 'calendar_gap' },
    n_to_hall: { count: 'to_hall' }, n_to_hall_verdict: { count: 'to_hall AND on_time IS NOT NULL' }, n_to_hall_on_time: { count: 'to_hall AND on_time = true' },
  } as Partial<Record<DailyMeasure, CaseMeasure>>)[m] ?? 0]),
) as Record<DailyMeasure, CaseMeasure>

const aggregates = (measures: Record<DailyMeasure, CaseMeasure>) =>
  Object.fromEntries(DAILY_MEASURES.map((m) => [m, aggregateOf(measures[m])])) as Record<DailyMeasure, string>

/**
 * Each measure of the daily aggregate as an aggregate over the clock's rows, per source, written
 * from its one declaration (CaseMeasure): the refresh fills case_daily_cases with each case's value
 * of the same declaration, and metrics' catalogue takes this expression for the way through the
 * clock.
 */
export const DAILY_MEASURE_SQL: Record<'stopped_cases' | 'accepted_cases' | 'proxy_cases', Record<DailyMeasure, string>> = {
  stopped_cases: aggregates(STOPPED_MEASURES), accepted_cases: aggregates(ACCEPTED_MEASURES), proxy_cases: aggregates(PROXY_MEASURES),
}

/** The daily aggregate's kinds of rows: by the day of the stop, of the acceptance, and 代办 (by the day of acceptance, at the unit that accepted). */
export type DailyKind = 'stopped' | 'accepted' | 'proxy'

/**
 * A row's `last_day` from a case's last event (`lastAt`): until when its cases may still have
 * events. Stopped cases: that day (their last event is nearly always the stop); accepted cases:
 * the Sunday of that week, which keeps their rows few. Questions as of T read the rows with
 * last_day before T's day and take the cases with this value on or after it through the clock.
 */
export function dailyLastDay(kind: DailyKind, lastAt: string): string {
  return kind === 'stopped' ? `toDate(${lastAt})` : `toMonday(toDate(${lastAt})) + 6`
}

/**
 * Where a case counts in the daily aggregate, per kind, over a case's facts (`p` is their prefix:
 * 'f_' in case_state, '' in the clock's rows): whether it counts, the moment whose day it counts
 * on, the unit it counts at, and its measures. The one declaration every form of "where a case
 * counts" is made from (`dailyKindSql`), and the kind column's type (migration 23).
 */
const DAILY_KINDS: Record<DailyKind, { counts: (p: string) => string; at: (p: string) => string; unit: (p: string) => string; measures: Record<DailyMeasure, CaseMeasure> }> = {
  stopped: { counts: (p) => `${p}status IN ('completed', 'rejected')`, at: (p) => `${p}stopped_at`, unit: (p) => `${p}unit_id`, measures: STOPPED_MEASURES },
  accepted: { counts: (p) => `${p}accepted_at IS NOT NULL`, at: (p) => `${p}accepted_at`, unit: (p) => `${p}unit_id`, measures: ACCEPTED_MEASURES },
  proxy: { counts: (p) => `${p}accepted_at IS NOT NULL`, at: (p) => `${p}accepted_at`, unit: (p) => `${p}accepted_unit_id`, measures: PROXY_MEASURES },
}
const DAILY_KIND_NAMES = Object.keys(DAILY_KINDS) as DailyKind[]

/** The kind column's type (case_daily, case_daily_cases, case_daily_pending): what migration 23 created, for three kinds; a new kind needs a migration too. */
const DAILY_KIND_TYPE = `Enum8(${DAILY_KIND_NAMES.map((k, i) => `'${k}' = ${i + 1}`).join(', ')})`

/** The version of a row of the daily aggregate or its contributions written now (ReplacingMergeTree: the newest stands). */
const VERSION_NOW = 'toUInt64(toUnixTimestamp64Micro(now64(6)))'

/** One expression per kind, chosen by the row's `kind` (a multiIf over the declared kinds). */
function byKind(expr: (kind: DailyKind) => string): string {
  const last = DAILY_KIND_NAMES.at(-1)!
  return `multiIf(${DAILY_KIND_NAMES.slice(0, -1).map((k) => `kind = '${k}', ${expr(k)}`).join(', ')}, ${expr(last)})`
}

/**
 * The rows of `from` with where each counts in the daily aggregate (`kind`, `day`, `unit_id`,
 * `last_day`, replacing columns of those names), one per kind it counts in: each row read once
 * (ARRAY JOIN over the kinds), not once per kind. `p` is the prefix of the facts' columns in
 * `from` (case_state's 'f_', the clock's '').
 */
function dailyKindSql(from: string, p: string): string {
  return `SELECT * EXCEPT (day, unit_id, last_day, k_day, k_unit_id, k_last_day), k_day AS day, k_unit_id AS unit_id, k_last_day AS last_day
    FROM (SELECT *, kind, toDate(${byKind((k) => DAILY_KINDS[k].at(p))}) AS k_day, ${byKind((k) => DAILY_KINDS[k].unit(p))} AS k_unit_id,
        ${byKind((k) => dailyLastDay(k, 'last_at'))} AS k_last_day
      FROM ${from} ARRAY JOIN [${DAILY_KIND_NAMES.map(sqlString).join(', ')}] AS kind
      WHERE ${byKind((k) => DAILY_KINDS[k].counts(p))})`
}

/**
 * Where each case of case_state that `which` selects counts in the daily aggregate (case_id,
 * kind, day, unit_id, last_day). `final`: as it stands now; without, every version stored (the
 * places a case may still have contributions).
 */
function dailyPlacesSql(which: string, final: boolean): string {
  return `SELECT case_id, kind, day, unit_id, last_day FROM (${dailyKindSql(`(SELECT * FROM case_state ${final ? 'FINAL ' : ''}WHERE ${which})`, 'f_')})`
}

/**
 * The rule the stored facts are derived by: raised when eventFactsSql changes what it derives, so
 * that start-up derives every stored case's facts again (2: the clock's pauses as stretches of
 * standing still, overlapping pauses taken off once; 3: the accepting unit and the units
 * transferred to, for 代办).
 */
const FACTS_VERSION = '3'

/**
 * What the daily aggregate's figures were computed on besides the cases: the rules (the
 * working-day calendar, the facts' rule and the measures), each item's limits and each unit's
 * tier (which transfers are 代办). Stored in meta as JSON (`case_daily_basis`). When one that
 * stored figures depend on changes, the aggregate is rebuilt, and not read until it is.
 */
interface DailyBasis {
  rules: string
  items: Record<string, string>
  tiers: Record<string, number>
}

function dailyBasis(calendar: Calendar, items: Iterable<{ item_code: string; promised_days?: number | null; statutory_days?: number | null }>, tiers: Record<string, number>): DailyBasis {
  // (its measures too: an aggregate given a new column is built again to fill it)
  const rules = createHash('sha256').update(JSON.stringify([calendarBasis(calendar), FACTS_VERSION, DAILY_MEASURES])).digest('hex').slice(0, 32)
  return { rules, items: Object.fromEntries([...items].map((i) => [i.item_code, `${i.promised_days ?? ''}:${i.statutory_days ?? ''}`])), tiers }
}

/**
 * Whether figures computed on `built` are those of `now`: the same rules, and every item and unit
 * it knew unchanged. An item or a unit added since changes no stored figure (no case can name
 * one before it is known: the contract rejects unknown units and items), so it costs no rebuild;
 * one changed or removed does.
 */
function basisCovers(built: DailyBasis | undefined, now: DailyBasis): built is DailyBasis {
  if (!built || built.rules !== now.rules) return false
  return Object.entries(built.items).every(([code, limits]) => now.items[code] === limits)
    && Object.entries(built.tiers).every(([unit, tier]) => now.tiers[unit] === tier)
}

/**
 * A stored basis. An earlier release stored one hash of the whole basis (limits sorted, tiers by
 * unit): when it is the hash of `now`, the figures stand on `now` and are not built again (an
 * upgrade at 10M events would otherwise rebuild for 35 s before start-up ends). Anything else,
 * or none, is undefined: built again.
 */
function parseBasis(value: string | undefined, now: DailyBasis, calendar: Calendar): DailyBasis | undefined {
  if (value !== undefined && /^[0-9a-f]{32}$/.test(value)) return value === legacyBasisHash(now, calendar) ? now : undefined
  try {
    const v = JSON.parse(value ?? '') as Partial<DailyBasis>
    return typeof v?.rules === 'string' && v.items && v.tiers ? (v as DailyBasis) : undefined
  } catch {
    return undefined
  }
}

/** The basis as the release before the covering basis stored it (exported for the test of an upgrade). */
export function legacyBasisHash(basis: DailyBasis, calendar: Calendar): string {
  const limits = Object.entries(basis.items).map(([code, limits]) => `${code}:${limits}`).sort()
  const tierList = Object.entries(basis.tiers).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return createHash('sha256').update(JSON.stringify([calendarBasis(calendar), limits, FACTS_VERSION, DAILY_MEASURES, tierList])).digest('hex').slice(0, 32)
}

/**
 * The working days of every official year and of the provisional years the W() array counts (not where the array
 * starts: differences do not depend on it). A provisional year replaced by its official
 * arrangement changes it, and so the aggregate is rebuilt on the official days.
 */
const calendarBases = new WeakMap<object, string>()
function calendarBasis(calendar: Calendar): string {
  const index = calendar.workingDayIndex() // a new object whenever the calendar changes
  let basis = calendarBases.get(index)
  if (basis === undefined) {
    const hash = createHash('sha256')
    for (const year of [...calendar.loadedYears(), ...index.provisional]) {
      let flags = `${year}:`
      for (let d = Date.UTC(year, 0, 1); d < Date.UTC(year + 1, 0, 1); d += 86_400_000) flags += calendar.isWorkingDay(new Date(d).toISOString().slice(0, 10)) ? '1' : '0'
      hash.update(flags)
    }
    calendarBases.set(index, (basis = hash.digest('hex')))
  }
  return basis
}

/** With TIERSCOPE_TRACE_INGEST: each step's time since the one before, on standard error. */
function traceSteps(what: string): (step: string) => void {
  let t0 = performance.now()
  return (step) => {
    console.error(`[${what}] ${step}: ${(performance.now() - t0).toFixed(0)} ms`)
    t0 = performance.now()
  }
}

export class CaseStore {
  constructor(
    private readonly warehouse: Warehouse,
    private readonly calendar: Calendar,
    /** The items whose limits, and the units whose tiers (代办), the daily aggregate's figures depend on. */
    private readonly reference: Pick<ReferenceData, 'items' | 'itemsVersion' | 'units' | 'unitsVersion'>,
    /** Warning (黄牌) threshold in working days where an item sets none (a setting). */
    private readonly warningDays: () => WarningThresholds = () => ({ days: 1, units: {} }),
  ) {}

  /**
   * Every read goes through it: once the derived state counts every batch acknowledged before
   * it, the answer of an equal read being answered, or its own (answers.ts; openPlatform sets it).
   */
  shareRead: ShareRead = readDirectly

  /**
   * And inside it, each query's rows: those as of an earlier moment of the day, while nothing
   * they depend on came in between (answers.ts `acrossMoments`; the clock reads the moment only
   * as its date and in comparisons with the events' occurred_at and due_at). openPlatform sets it.
   */
  keepRead: KeepRead = readAnew

  /** A read's rows, kept across moments under the query itself: its SQL and bound values (the calendar, the thresholds), the moment left out. */
  private keptRows<T>(asOfMs: number, query: string, params: Record<string, unknown>): Promise<T[]> {
    return this.keepRead(['case rows', query, withoutMoment(params, asOfMs)], asOfMs, () => queryRows<T>(this.warehouse, query, params))
  }

  /** The latest event stored: from then on, the stored facts answer every "as of" question. */
  private latestEventMs = Number.POSITIVE_INFINITY

  /** The basis (dailyBasis) the daily aggregate's figures stand on; undefined = not built. */
  private dailyBuiltOn: DailyBasis | undefined
  /** Whether `dailyBuiltOn` is not what meta holds yet (it took in items or units added since): stored before the next refresh writes. */
  private dailyBasisUnstored = false
  private dailyRebuilding: Promise<void> | undefined

  /** Whether case_daily holds every case's figures for the current items, units and calendar. */
  dailyReady(): boolean {
    if (this.adoptBasis()) return true
    // items, units or the calendar changed (or it was never built): rebuild it, and meanwhile let
    // questions take the way through the clock
    if (this.dailyBuiltOn !== undefined && !this.dailyRebuilding) {
      this.dailyRebuilding = this.rebuildDaily()
        .catch((err: unknown) => console.error('tierscope: rebuilding case_daily failed', err))
        .finally(() => (this.dailyRebuilding = undefined))
    }
    return false
  }

  /**
   * Whether the aggregate's basis covers the current one; if only items or units were added, it
   * becomes the current one (stored by `storeAdoptedBasis` before any figure is computed on it).
   */
  private adoptBasis(): boolean {
    const now = this.currentBasis()
    if (this.dailyBuiltOn === now) return true
    if (!basisCovers(this.dailyBuiltOn, now)) return false
    this.dailyBuiltOn = now
    this.dailyBasisUnstored = true
    return true
  }

  /**
   * Before a refresh computes figures: an adopted basis is stored first, so that after a crash
   * start-up compares the reference data with the one the stored figures were computed on.
   */
  private async storeAdoptedBasis(): Promise<void> {
    this.adoptBasis()
    if (!this.dailyBasisUnstored || !this.dailyBuiltOn) return
    this.dailyBasisUnstored = false
    await this.storeBasis(this.dailyBuiltOn)
  }

  private storeBasis(basis: DailyBasis): Promise<unknown> {
    return this.warehouse.client.insert({ table: 'meta', values: [{ key: 'case_daily_basis', value: JSON.stringify(basis), updated_at: nowSeconds() }], format: 'JSONEachRow' })
  }

  /** The basis of the items, the calendar and the units in memory now (worked out again only when one has changed). */
  private currentBasis(): DailyBasis {
    const index = this.calendar.workingDayIndex() // a new object whenever the calendar changes
    const { itemsVersion, unitsVersion } = this.reference
    if (this.basisOf?.index !== index || this.basisOf.itemsVersion !== itemsVersion || this.basisOf.unitsVersion !== unitsVersion) {
      this.basisOf = { index, itemsVersion, unitsVersion, basis: dailyBasis(this.calendar, this.reference.items.values(), this.unitTiers()) }
    }
    return this.basisOf.basis
  }
  private basisOf?: { index: object; itemsVersion: number; unitsVersion: number; basis: DailyBasis }

  /** Each unit's tier, bound as {unit_tier} (which transfers are 代办). */
  private unitTiers(): Record<string, number> {
    return Object.fromEntries([...this.reference.units.values()].map((u) => [u.unit_id, u.tier]))
  }

  /**
   * Each case's contributions to the daily aggregate (case_daily_cases, migration 22): a row per
   * kind it counts in, at the (kind, day, unit) it counts in, with its measures, for the cases
   * `which` selects (a case_state filter; null = every case). Read through the clock from the
   * stored facts, at this moment: the stopped cases' figures do not depend on it.
   */
  private async writeContributions(which: string | null, params: Record<string, unknown>): Promise<void> {
    const tz = this.warehouse.timezone
    // (every case: those that count in any kind)
    const cases = which ?? DAILY_KIND_NAMES.map((k) => `(${DAILY_KINDS[k].counts('f_')})`).join(' OR ')
    const clock = caseClockSql(tz, cases, 'facts', false, 'flag', { prefilter: which !== null })
    // the clock run once over the cases, each of its rows taken once per kind it counts in
    // (代办 is counted at the unit that accepted the case; whether it went to a hall only for those)
    const places = dailyKindSql(`(${clock})`, '')
    await this.warehouse.client.command({
      query: `INSERT INTO case_daily_cases (case_id, kind, day, unit_id, last_day, ${DAILY_MEASURES.join(', ')}, version, is_deleted)
        SELECT case_id, kind, day, unit_id, last_day,
          ${DAILY_MEASURES.map((m) => `${byKind((k) => contributionOf(DAILY_KINDS[k].measures[m]))} AS ${m}`).join(',\n          ')},
          ${VERSION_NOW}, 0
        FROM (SELECT *, if(kind = 'proxy', ${TO_HALL_SQL}, false) AS to_hall FROM (${places}))
        ${DERIVED_WRITE}`,
      query_params: { ...clockParams(this.calendar, Date.now(), this.warningDays(), tz), unit_tier: this.unitTiers(), ...params },
    })
  }

  /**
   * Marks deleted the contributions of the cases `which` selects (a case_state filter) where
   * case_state says they are, before it changes: a case that moves to another day or unit leaves
   * nothing behind where it was (its new contributions, written after, replace the marks where it
   * stays). null = every contribution stored (a whole rebuild).
   */
  private async withdrawContributions(which: string | null, params: Record<string, unknown>): Promise<void> {
    const from = which === null
      ? 'SELECT case_id, toString(kind) AS kind, day, unit_id, last_day FROM case_daily_cases FINAL'
      : dailyPlacesSql(which, false)
    await this.warehouse.client.command({
      query: `INSERT INTO case_daily_cases (case_id, kind, day, unit_id, last_day, version, is_deleted)
        SELECT case_id, kind, day, unit_id, last_day, ${VERSION_NOW}, 1 FROM (${from})
        ${DERIVED_WRITE}`,
      query_params: params,
    })
  }

  /**
   * The aggregate rows of the (kind, day, unit) in \`touched\` (a relation of kind, day, unit_id),
   * summed from the contributions of their cases: every row of them replaced, rows left without
   * cases rewritten as zeros. \`touched\` null = every row.
   */
  private async writeDaily(touched: string | null, params: Record<string, unknown>): Promise<void> {
    const keys = 'kind, day, unit_id, last_day'
    // (the key's first columns: the contributions of those groups are read by the primary key)
    const where = touched === null ? '' : `WHERE (kind, day, unit_id) IN (SELECT CAST(kind, ${sqlString(DAILY_KIND_TYPE)}), day, unit_id FROM (${touched}))`
    await this.warehouse.client.command({
      query: `INSERT INTO case_daily (${keys}, ${DAILY_MEASURES.join(', ')}, version)
        SELECT ${keys}, ${DAILY_MEASURES.map((m) => `sum(${m})`).join(', ')}, ${VERSION_NOW}
        FROM (
          SELECT kind, day, unit_id, last_day, ${DAILY_MEASURES.map((m) => `toInt64(0) AS ${m}`).join(', ')} FROM case_daily FINAL ${where}
          UNION ALL
          SELECT kind, day, unit_id, last_day, ${DAILY_MEASURES.map((m) => `toInt64(${m}) AS ${m}`).join(', ')} FROM case_daily_cases FINAL ${where}
        )
        GROUP BY ${keys}
        ${DERIVED_WRITE}`,
      query_params: params,
    })
  }

  /** Rebuilds the whole daily aggregate from case_state (start-up backfill; items or calendar changed). */
  async rebuildDaily(): Promise<void> {
    const basis = this.currentBasis()
    await this.withdrawContributions(null, {})
    await this.writeContributions(null, {})
    await this.writeDaily(null, {})
    // every row was just written again: merged now, FINAL does not merge two versions of each on
    // every read until the background merges get to them (at 10M events: 0.6 s once; the
    // year's figures then 20 ms instead of 45)
    await this.warehouse.client.command({ query: 'OPTIMIZE TABLE case_daily FINAL' })
    await this.storeBasis(basis)
    this.dailyBuiltOn = basis
    this.dailyBasisUnstored = false
  }

  /** Whether case_open holds every open case (built whole once; kept by every refresh since). */
  private openReady = false

  /** Off: open cases are read from case_state (tests compare both ways). */
  useOpenCopy = true

  /** Whether questions about open cases as of `asOfMs` can read case_open (now, or the month end held). */
  openCasesReadable(asOfMs: number): boolean {
    return this.useOpenCopy && this.openReady && (this.clockMode(asOfMs) === 'facts' || this.monthEndHolds([asOfMs]))
  }

  /**
   * At start-up: case_open is filled from case_state once (migration 18 clears the mark). From
   * then on the refresh keeps it: a case that stops gets a row with is_deleted = 1, which FINAL
   * leaves out and the engine's cleanup merges remove (a case never opens again: its first stop stands).
   */
  private async loadOpen(): Promise<void> {
    const [built] = await queryRows<{ value: string }>(this.warehouse, `SELECT value FROM meta FINAL WHERE key = 'case_open_built'`)
    if (built?.value !== '1') {
      await this.warehouse.client.command({ query: `INSERT INTO case_open SELECT *, toUInt8(0) AS is_deleted FROM case_state FINAL WHERE f_status = 'open' ${DERIVED_WRITE}` })
      await this.warehouse.client.insert({ table: 'meta', values: [{ key: 'case_open_built', value: '1', updated_at: nowSeconds() }], format: 'JSONEachRow' })
    }
    this.openReady = true
  }

  /** At start-up, before the repairs (which keep what is read here): the month ends case_month_end holds, as stored. */
  private async readCopies(): Promise<void> {
    const stored = new Map((await queryRows<{ key: string; value: string }>(this.warehouse,
      `SELECT key, value FROM meta FINAL WHERE key IN ('case_month_end_at')`)).map((r) => [r.key, r.value]))
    // (epoch ms, comma-separated; an earlier release kept one. A build a crash interrupted left out
    // the moments it was building: they are built again.)
    this.monthEnds = new Set((stored.get('case_month_end_at') ?? '').split(',').filter(Boolean).map(Number))
    this.monthEndsSetIn = this.monthEnds.size > 0 ? this.lastMonthEnd() : null
  }

  /** The month ends case_month_end holds the state at (epoch ms): only these are read from it. */
  private monthEnds = new Set<number>()
  /** The end of last month when the month ends held were last set: a refresh in a new month sets them anew. */
  private monthEndsSetIn: number | null = null

  /** Off: questions as of a month end derive the later cases' facts from their events (tests compare both ways). */
  useMonthEndCopy = true

  /**
   * Whether case_month_end answers for every moment read: each is a month end it holds, or is at
   * or after every stored event (no case has a later event, so it has no rows there to read).
   */
  private monthEndHolds(momentsMs: number[]): boolean {
    return this.useMonthEndCopy && momentsMs.some((ms) => this.monthEnds.has(ms)) && momentsMs.every((ms) => this.monthEnds.has(ms) || ms >= this.latestEventMs)
  }

  /** The last moment of the month before the one `ms` falls in, in the district's zone (default: now, so "the end of last month"). */
  private lastMonthEnd(ms = Date.now()): number {
    return parseTimestamp(`${localDate(ms, this.warehouse.timezone).slice(0, 8)}01T00:00:00`, this.warehouse.timezone)! - 1
  }

  /**
   * The month ends held unless told otherwise: every one from the end of January of last year to
   * the end of last month — what the assessment of last year and this asks (the open cases at
   * each month's end for the trend and by month, and at the year's end). Earlier ones are
   * answered from the events, as exactly and more slowly.
   */
  defaultMonthEnds(nowMs = Date.now()): number[] {
    const tz = this.warehouse.timezone
    const from = `${Number(localDate(nowMs, tz).slice(0, 4)) - 1}-02-01`
    const ends: number[] = []
    for (let end = this.lastMonthEnd(nowMs); localDate(end + 1, tz) >= from; end = this.lastMonthEnd(end)) ends.unshift(end)
    return ends
  }

  /**
   * Writes the case_month_end rows, at every month end of `{month_ends}`, of the cases `which`
   * selects (a case_state filter) that have events after that month end: their state built from
   * their events up to then, as case_state would hold it had the later events not arrived yet, but
   * for last_at, which stays the case's last stored event (what the clock reports, and what
   * narrows the cases before it). A case spans a month end for good once it does (events are
   * only added), so rewriting its rows at every refresh keeps them right.
   */
  private monthEndRows(which: string): string {
    const tz = this.warehouse.timezone
    const ends = `{month_ends:Array(DateTime64(3, '${tz}'))}`
    return `INSERT INTO case_month_end (month_end, case_id, events, first_at, last_at, refreshed_at, ${FACT_COLUMNS.join(', ')})
      SELECT month_end, case_id, events, first_at, last_at, now64(3), ${FACT_COLUMNS.join(', ')}
      FROM (${eventFactsSql(`
        SELECT month_end, case_id, events, events AS ev, first_at, last_at
        FROM (SELECT month_end, case_id, arrayFilter(e -> e.at <= month_end, events) AS events, first_at, last_at
          FROM (SELECT case_id, events, first_at, last_at, arrayJoin(${ends}) AS month_end FROM case_state FINAL
            WHERE first_at <= arrayMax(${ends}) AND last_at > arrayMin(${ends}) AND (${which}))
          WHERE first_at <= month_end AND last_at > month_end)`,
        ['month_end', 'case_id', 'events', 'first_at', 'last_at'], 'f_', null, tz)})
      ${DERIVED_WRITE}`
  }

  /**
   * Makes case_month_end hold exactly the month ends `wanted` (by default those of
   * `defaultMonthEnds`): the ones no longer wanted stop being read at once (their rows go by the
   * table's TTL, whole partitions at a time), the missing ones are built. The stored list leaves
   * out the moments being built until they are, so a build a crash interrupted is never read and
   * is done again at the next start-up (its rows written anew replace the first ones).
   */
  async holdMonthEnds(wanted = this.defaultMonthEnds()): Promise<void> {
    const store = (ends: number[]) => this.warehouse.client.insert({ table: 'meta', values: [{ key: 'case_month_end_at', value: ends.join(','), updated_at: nowSeconds() }], format: 'JSONEachRow' })
    const missing = wanted.filter((ms) => !this.monthEnds.has(ms))
    const kept = [...this.monthEnds].filter((ms) => wanted.includes(ms))
    if (missing.length > 0 || kept.length < this.monthEnds.size) {
      this.monthEnds = new Set(kept)
      await store(kept)
      if (missing.length > 0) {
        await this.warehouse.client.command({ query: this.monthEndRows('true'), query_params: { month_ends: missing.map((ms) => epochSeconds(ms)) } })
      }
      this.monthEnds = new Set(wanted)
      await store(wanted)
    }
    this.monthEndsSetIn = this.lastMonthEnd()
  }

  /**
   * At start-up, when the stored facts were derived by an earlier rule (FACTS_VERSION): every
   * case's facts derived again from its stored events, and the copies of case_state rows
   * rewritten from them (case_month_end is built anew by the repair; the daily aggregate's basis
   * names the rule, so it is rebuilt too). The version is written last: an upgrade a crash
   * interrupted runs again.
   */
  private async upgradeFacts(): Promise<void> {
    const [stored] = await queryRows<{ value: string }>(this.warehouse, `SELECT value FROM meta FINAL WHERE key = 'case_facts_version'`)
    if (stored?.value === FACTS_VERSION) return
    const [{ n } = { n: '0' }] = await queryRows<{ n: string }>(this.warehouse, 'SELECT count() AS n FROM case_state')
    if (Number(n) > 0) {
      await this.warehouse.client.command({
        query: `INSERT INTO case_state (case_id, events, first_at, last_at, refreshed_at, ${FACT_COLUMNS.join(', ')})
          SELECT case_id, events, first_at, last_at, now64(3), ${FACT_COLUMNS.join(', ')}
          FROM (${eventFactsSql('SELECT case_id, events, events AS ev, first_at, last_at FROM case_state FINAL', ['case_id', 'events', 'first_at', 'last_at'], 'f_', null, this.warehouse.timezone)})
          ${DERIVED_WRITE}`,
      })
      await this.warehouse.client.command({ query: `INSERT INTO case_open SELECT *, toUInt8(f_status != 'open') AS is_deleted FROM case_state FINAL WHERE case_id IN (SELECT case_id FROM case_open) ${DERIVED_WRITE}` })
      // case_month_end holds facts by the old rule: cleared, it is not read until the repair builds it
      await this.warehouse.client.insert({ table: 'meta', values: [{ key: 'case_month_end_at', value: '', updated_at: nowSeconds() }], format: 'JSONEachRow' })
      this.monthEnds = new Set()
    }
    await this.warehouse.client.insert({ table: 'meta', values: [{ key: 'case_facts_version', value: FACTS_VERSION, updated_at: nowSeconds() }], format: 'JSONEachRow' })
  }

  /**
   * At start-up, before any refresh: a measure declared since the tables were made gets its
   * column in the aggregate and in the contributions (the basis names the measures: both are then
   * built again by loadDaily).
   */
  private async addDailyColumns(): Promise<void> {
    for (const table of ['case_daily', 'case_daily_cases']) {
      const columns = new Set((await queryRows<{ name: string }>(this.warehouse, `SELECT name FROM system.columns WHERE database = currentDatabase() AND table = {table:String}`, { table })).map((c) => c.name))
      for (const m of DAILY_MEASURES.filter((m) => !columns.has(m))) {
        await this.warehouse.client.command({ query: `ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${m} Int64 DEFAULT 0` })
      }
    }
  }

  /** At start-up: the aggregate is built whole unless its basis covers the current items, units and calendar. */
  private async loadDaily(): Promise<void> {
    const [stored] = await queryRows<{ value: string }>(this.warehouse, `SELECT value FROM meta FINAL WHERE key = 'case_daily_basis'`)
    this.dailyBuiltOn = parseBasis(stored?.value, this.currentBasis(), this.calendar)
    if (!this.adoptBasis()) return this.rebuildDaily()
    // (in this release's form, with the items and units added since: an earlier release's hash, or a basis taken in)
    if (stored?.value !== JSON.stringify(this.dailyBuiltOn)) await this.storeBasis(this.dailyBuiltOn!)
    this.dailyBasisUnstored = false
  }

  /**
   * Reads the latest and the earliest event time, of every case or of one batch's cases (events
   * are only ever added, so a batch can only move the latest later and the earliest earlier).
   */
  async loadLatestEvent(batchIds?: string[]): Promise<{ firstMs: number | null }> {
    const [row] = await queryRows<{ ms: string | null; first: string | null; first_ms: string | null }>(
      this.warehouse,
      `SELECT toUnixTimestamp64Milli(maxOrNull(last_at)) AS ms, toString(toDate(minOrNull(first_at))) AS first,
         toUnixTimestamp64Milli(minOrNull(first_at)) AS first_ms FROM case_state
       ${batchIds ? 'WHERE case_id IN (SELECT case_id FROM case_refresh_queue WHERE batch_id IN {batches:Array(UUID)})' : ''}`,
      { batches: batchIds },
    )
    const latest = row?.ms == null ? 0 : Number(row.ms)
    this.latestEventMs = batchIds && Number.isFinite(this.latestEventMs) ? Math.max(this.latestEventMs, latest) : latest
    // however the events were stored, the calendar handed to queries reaches back to them
    if (row?.first) this.calendar.noteData(row.first)
    return { firstMs: row?.first_ms == null ? null : Number(row.first_ms) }
  }

  /** Whether every stored case can be read from its stored facts at as_of (none has a later event). */
  clockMode(asOfMs: number): ClockMode {
    return asOfMs >= this.latestEventMs ? 'facts' : 'hybrid'
  }

  /** The clock relation (SQL) and its parameters at `asOfMs`, for metrics to build on. */
  clock(asOfMs: number, caseFilter?: string, mode: ClockMode = this.clockMode(asOfMs), prefilter = mode !== 'facts', openOnly = false): { sql: string; params: Record<string, unknown> } {
    const monthEnd = mode === 'hybrid' && this.monthEndHolds([asOfMs])
    const fromOpen = openOnly && this.useOpenCopy && (mode === 'facts' || monthEnd) && this.openReady
    return {
      sql: caseClockSql(this.warehouse.timezone, caseFilter, mode, false, 'throw', {
        prefilter, openOnly: fromOpen, monthEnd,
      }),
      params: { ...clockParams(this.calendar, asOfMs, this.warningDays(), this.warehouse.timezone) },
    }
  }

  /** The clock read at each of several moments (ends of periods), in one relation; `as_of` says which. */
  clockAt(momentsMs: number[], caseFilter?: string, openOnly = false): { sql: string; params: Record<string, unknown> } {
    const mode: ClockMode = Math.min(...momentsMs) >= this.latestEventMs ? 'facts' : 'hybrid'
    // no {as_of}: each row's moment is one of `period_ends` (so it can sit beside a clock read at as_of)
    const { as_of: _unused, ...params } = clockParams(this.calendar, Math.max(...momentsMs), this.warningDays(), this.warehouse.timezone)
    const monthEnd = mode === 'hybrid' && this.monthEndHolds(momentsMs)
    return {
      sql: caseClockSql(this.warehouse.timezone, caseFilter, mode, true, 'throw', {
        prefilter: true, openOnly: openOnly && this.useOpenCopy && (mode === 'facts' || monthEnd) && this.openReady, monthEnd,
      }),
      params: { ...params, period_ends: momentsMs.map((ms) => epochSeconds(ms)) },
    }
  }

  /**
   * Rebuilds case_state (and what is kept from it) for the cases of several batches at once, from
   * their stored events; safe to repeat. A round has a fixed cost (about 0.47 s at 10M events,
   * the engine analysing its statements) and one that grows with the cases (about 1.2 s per
   * 100,000-row body of new cases as a round of its own on 2 Dec's machine; 0.31 s a body in
   * rounds of five on 4 Dec's), so batches are taken together where they can be.
   */
  async refreshBatches(batchIds: string[]): Promise<void> {
    if (batchIds.length === 0) return
    const trace = process.env.TIERSCOPE_TRACE_INGEST ? traceSteps(`refresh of ${batchIds.length} batch(es)`) : undefined
    await this.storeAdoptedBasis()
    const batchCases = 'SELECT case_id FROM case_refresh_queue WHERE batch_id IN {batches:Array(UUID)}'
    const batches = { batches: batchIds }
    // where the batch's cases stood in the daily aggregate before (kept, for a rerun after a crash)
    await this.warehouse.client.command({
      query: `INSERT INTO case_daily_pending (batch_id, kind, day, unit_id, queued_at)
        SELECT DISTINCT {batches:Array(UUID)}[1], kind, day, unit_id, now64(3) FROM (${dailyPlacesSql(`case_id IN (${batchCases})`, false)})`,
      query_params: batches,
    })
    // and their contributions to it withdrawn from there (those where they stay are written again below)
    await this.withdrawContributions(`case_id IN (${batchCases})`, batches)
    trace?.('case_daily_pending')
    await this.warehouse.client.command({
      query: `INSERT INTO case_state (case_id, events, first_at, last_at, refreshed_at, ${FACT_COLUMNS.join(', ')})
        SELECT case_id, events, first_at, last_at, now64(3), ${FACT_COLUMNS.join(', ')}
        FROM (${eventFactsSql(`
          SELECT case_id, events, events AS ev, first_at, last_at
          FROM (
            SELECT case_id,
              CAST(arraySort(e -> (e.1, e.2), groupArray((occurred_at, type, toString(unit_id), ifNull(to_unit_id, ''), due_at, ifNull(toString(item_code), ''), ifNull(toString(channel), '')))),
                ${sqlString(caseStateEventsType(this.warehouse.timezone))}) AS events,
              min(occurred_at) AS first_at, max(occurred_at) AS last_at
            FROM (
              SELECT case_id, event_id, occurred_at, type, unit_id, to_unit_id, due_at, item_code, channel FROM case_events
              WHERE case_id IN (${batchCases})
              LIMIT 1 BY case_id, event_id -- belt and braces: a stored duplicate can never count twice
            )
            GROUP BY case_id
          )`, ['case_id', 'events', 'first_at', 'last_at'], 'f_', null, this.warehouse.timezone)})
        ${DERIVED_WRITE}`,
      query_params: batches,
    })
    trace?.('case_state')
    const { firstMs } = await this.loadLatestEvent(batchIds)
    // the batch's open cases, and a newer row, deleted, for those case_open held that have stopped since
    await this.warehouse.client.command({
      query: `INSERT INTO case_open SELECT *, toUInt8(f_status != 'open') AS is_deleted FROM case_state FINAL
        WHERE case_id IN (${batchCases}) AND (f_status = 'open' OR case_id IN (SELECT case_id FROM case_open WHERE case_id IN (${batchCases})))
        ${DERIVED_WRITE}`,
      query_params: batches,
    })
    trace?.('case_open')
    // their state at each month end held, for those with events since (in a new month: the month
    // ends held set anew, the month just ended built)
    if (this.monthEndsSetIn !== null && this.monthEndsSetIn !== this.lastMonthEnd()) await this.holdMonthEnds()
    // (cases that all began after the last month end held have no rows there, before or after:
    // a working day's new cases cost no statement; 50–150 ms of a round at 10M events)
    if (this.monthEnds.size > 0 && firstMs !== null && firstMs <= Math.max(...this.monthEnds)) {
      await this.warehouse.client.command({ query: this.monthEndRows(`case_id IN (${batchCases})`), query_params: { ...batches, month_ends: [...this.monthEnds].map((ms) => epochSeconds(ms)) } })
    }
    trace?.('case_month_end')
    // the batch's cases' contributions where they count now, and the daily aggregate of every
    // (kind, day, unit) they were in or are in now, summed from the contributions of its cases
    await this.writeContributions(`case_id IN (${batchCases})`, batches)
    trace?.('case_daily_cases')
    await this.writeDaily(`
      SELECT toString(kind) AS kind, day, unit_id FROM case_daily_pending WHERE batch_id IN {batches:Array(UUID)}
      UNION ALL
      SELECT kind, day, unit_id FROM (${dailyPlacesSql(`case_id IN (${batchCases})`, true)})`, batches)
    trace?.('case_daily')
    await this.warehouse.client.insert({
      table: 'case_refresh_done',
      // one block: every batch of the round is marked done at once, or none is
      values: batchIds.map((batch_id) => ({ batch_id, done_at: nowSeconds() })),
      format: 'JSONEachRow',
    })
  }

  /** Finishes refreshes that a crash interrupted. Run at start-up. */
  async repair(): Promise<number> {
    await this.loadLatestEvent()
    await this.readCopies()
    await this.addDailyColumns()
    await this.upgradeFacts()
    const pending = await queryRows<{ batch_id: string }>(
      this.warehouse,
      `SELECT DISTINCT batch_id FROM case_refresh_queue WHERE batch_id NOT IN (SELECT batch_id FROM case_refresh_done)`,
    )
    await this.refreshBatches(pending.map((p) => p.batch_id))
    await this.loadDaily()
    await this.loadOpen()
    // case_month_end holds every month end since the start of last year (those missing are built)
    await this.holdMonthEnds()
    return pending.length
  }

  /** Off: lists of overdue cases find the late stops through the clock, not in the daily aggregate (tests compare both ways). */
  useDailyForLists = true

  /** The ways of reading that tests switch (the copies of case_state): part of every shared question. */
  private ways() {
    return { open: this.useOpenCopy, monthEnd: this.useMonthEndCopy, dailyLists: this.useDailyForLists }
  }

  get(caseId: string, asOfMs: number): Promise<(CaseRow & { events: CaseEvent[] }) | undefined> {
    return this.shareRead(['case', caseId, asOfMs, this.ways()], () => this.readCase(caseId, asOfMs))
  }

  private async readCase(caseId: string, asOfMs: number): Promise<(CaseRow & { events: CaseEvent[] }) | undefined> {
    const [row] = await this.runClock(asOfMs, '', { case_id: caseId }, 'case_id = {case_id:String}', false)
    if (!row) return undefined
    const tz = this.warehouse.timezone
    const events = await this.keptRows<Record<string, unknown>>(
      asOfMs,
      `SELECT event_id, toString(type) AS type, toUnixTimestamp64Milli(occurred_at) AS occurred_ms, toString(unit_id) AS unit_id,
         toString(item_code) AS item_code, toString(channel) AS channel, toUnixTimestamp64Milli(due_at) AS due_ms,
         to_unit_id, staff_id, toString(applicant_type) AS applicant_type, attrs
       FROM case_events
       WHERE case_id = {case_id:String} AND occurred_at <= {as_of:DateTime64(3, '${tz}')}
       ORDER BY occurred_at, type, ingested_at
       LIMIT 1 BY event_id`,
      { case_id: caseId, as_of: epochSeconds(asOfMs) },
    )
    return {
      ...row,
      events: events.map((e) => ({
        event_id: String(e.event_id),
        type: String(e.type),
        occurred_at: toRfc3339(Number(e.occurred_ms), tz),
        unit_id: String(e.unit_id),
        item_code: (e.item_code as string | null) ?? null,
        channel: (e.channel as string | null) ?? null,
        due_at: e.due_ms == null ? null : toRfc3339(Number(e.due_ms), tz),
        to_unit_id: (e.to_unit_id as string | null) ?? null,
        staff_id: (e.staff_id as string | null) ?? null,
        applicant_type: (e.applicant_type as string | null) ?? null,
        attrs: e.attrs ? (JSON.parse(String(e.attrs)) as Record<string, unknown>) : null,
      })),
    }
  }

  list(filter: CaseFilter, asOfMs: number): Promise<CaseRow[]> {
    return this.shareRead(['cases', filter, asOfMs, this.ways()], () => this.readList(filter, asOfMs))
  }

  private async readList(filter: CaseFilter, asOfMs: number): Promise<CaseRow[]> {
    const { where, params, narrow, prefilter, openOnly } = this.filterSql(filter, asOfMs)
    params.limit = filter.limit
    const byDaysOver = filter.order === 'days_over'
    if (filter.after !== undefined) {
      params.after = filter.after
      if (!byDaysOver) narrow.push('case_id > {after:String}')
      else {
        // after the cursor's row in (days over descending, case id): known only once the clock ran
        params.after_over = filter.afterDaysOver ?? -1
        where.push('(ifNull(days_over, -1) < {after_over:Int32} OR (ifNull(days_over, -1) = {after_over:Int32} AND case_id > {after:String}))')
      }
    }
    const clause = (where.length ? `WHERE ${where.join(' AND ')}` : '') + (byDaysOver ? ' ORDER BY ifNull(days_over, -1) DESC, case_id' : ' ORDER BY case_id') + ' LIMIT {limit:UInt32}'
    return this.runClock(asOfMs, clause, params, narrow.length ? narrow.join(' AND ') : undefined, prefilter, openOnly)
  }

  /** How many cases match a filter, per unit or per item (the inspector's drill-down). */
  count(filter: Omit<CaseFilter, 'after' | 'limit'>, by: 'unit' | 'item', asOfMs: number): Promise<Array<{ key: string; cases: number }>> {
    return this.shareRead(['case counts', filter, by, asOfMs, this.ways()], () => this.readCount(filter, by, asOfMs))
  }

  private async readCount(filter: Omit<CaseFilter, 'after' | 'limit'>, by: 'unit' | 'item', asOfMs: number): Promise<Array<{ key: string; cases: number }>> {
    const { where, params, narrow, prefilter, openOnly } = this.filterSql(filter, asOfMs)
    const key = by === 'unit' ? 'unit_id' : "ifNull(item_code, '')"
    const clock = this.clock(asOfMs, narrow.length ? narrow.join(' AND ') : undefined, this.clockMode(asOfMs), prefilter, openOnly)
    const rows = await this.withCalendarCheck(asOfMs, () =>
      this.keptRows<{ key: string; cases: string }>(asOfMs, `SELECT ${key} AS key, count() AS cases FROM (${clock.sql})
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''} GROUP BY key ORDER BY cases DESC, key`, { ...clock.params, ...params }),
    )
    return rows.map((r) => ({ key: r.key, cases: Number(r.cases) }))
  }

  /** A filter as SQL over the clock's rows, and how the clock may be narrowed before it is computed. */
  private filterSql(filter: Omit<CaseFilter, 'after' | 'limit'>, asOfMs: number) {
    const where: string[] = []
    const params: Record<string, unknown> = {}
    if (filter.units) (where.push('unit_id IN {units:Array(String)}'), (params.units = filter.units))
    if (filter.item_code !== undefined) (where.push('item_code = {item_code:String}'), (params.item_code = filter.item_code))
    if (filter.status !== undefined) (where.push('status = {status:String}'), (params.status = filter.status))
    if (filter.overdue !== undefined) (where.push('overdue = {overdue:Bool}'), (params.overdue = filter.overdue))
    if (filter.warning !== undefined) (where.push('warning = {warning:Bool}'), (params.warning = filter.warning))
    // narrowed before the clock is computed: "now" by the stored facts (unit, status)
    const narrow: string[] = []
    if (filter.stopped) {
      Object.assign(params, { stopped_from: filter.stopped.from, stopped_to: filter.stopped.to })
      const window = (at: string) => `toDate(${at}) BETWEEN {stopped_from:Date} AND {stopped_to:Date}`
      where.push(`(status NOT IN ('completed', 'rejected') OR ${window('stopped_at')})`)
      // a case stopped by as_of was stopped by its first stop, the stored one
      narrow.push(`(f_stopped_at IS NULL OR f_stopped_at > as_of OR ${window('f_stopped_at')})`)
    }
    if (this.clockMode(asOfMs) === 'facts') {
      if (filter.units) narrow.push('f_unit_id IN {units:Array(String)}')
      if (filter.status) narrow.push('f_status = {status:String}')
    }
    // overdue now is open past the deadline or stopped late: the late stops are found in the daily
    // aggregate's contributions (n_late, read by its key), so only they and the open cases go
    // through the clock, not every case stopped in the period
    const lateFromDaily = filter.overdue === true && filter.status !== 'open' && this.useDailyForLists && this.clockMode(asOfMs) === 'facts' && this.dailyReady()
    if (lateFromDaily) {
      const late = ["kind = 'stopped'", 'n_late > 0']
      if (filter.stopped) late.push('day BETWEEN {stopped_from:Date} AND {stopped_to:Date}')
      if (filter.units) late.push('unit_id IN {units:Array(String)}')
      // and the open ones from case_open's few rows when it holds them (now), not from a scan of
      // every case's stored status: at 10M events a street hall's year 178 → 94 ms for the
      // candidates, 503 → 439 ms for the list
      const open = this.openCasesReadable(asOfMs)
        ? `case_id IN (SELECT case_id FROM case_open FINAL WHERE f_status = 'open'${filter.units ? ' AND f_unit_id IN {units:Array(String)}' : ''})`
        : "f_status = 'open'"
      // (without FINAL: an older version of a contribution only adds a case the clock then rules out)
      narrow.push(`(${open} OR case_id IN (SELECT case_id FROM case_daily_cases WHERE ${late.join(' AND ')}))`)
    }
    // open cases are few: worth finding before FINAL; as of a past moment, so are the cases whose
    // events are read; so are the late ones
    const prefilter = filter.status === 'open' || this.clockMode(asOfMs) !== 'facts' || lateFromDaily
    // open now, or in warning now (only an open case is): case_open has them
    const openOnly = (filter.status === 'open' || filter.warning === true) && this.openCasesReadable(asOfMs)
    return { where, params, narrow, prefilter, openOnly }
  }

  private async runClock(asOfMs: number, clause: string, params: Record<string, unknown>, caseFilter: string | undefined, prefilter: boolean, openOnly = false): Promise<CaseRow[]> {
    const clock = this.clock(asOfMs, caseFilter, this.clockMode(asOfMs), prefilter, openOnly)
    const rows = await this.withCalendarCheck(asOfMs, () =>
      this.keptRows<ClockRowRaw>(asOfMs, `SELECT ${CLOCK_COLUMNS} FROM (${clock.sql}) ${clause}`, { ...clock.params, ...params }),
    )
    const tz = this.warehouse.timezone
    const time = (ms: string | null) => (ms == null ? null : toRfc3339(Number(ms), tz))
    const bool = (v: boolean | number | null) => (v == null ? null : Boolean(v))
    return rows.map((r) => ({
      case_id: r.case_id,
      unit_id: r.unit_id,
      item_code: r.item_code,
      status: r.status,
      accepted_at: time(r.accepted_ms),
      stopped_at: time(r.stopped_ms),
      due_at: time(r.due_ms),
      limit_days: r.limit_days,
      elapsed_days: r.elapsed_days,
      suspended_days: r.suspended_days,
      on_time: bool(r.on_time),
      overdue: Boolean(r.overdue),
      warning: Boolean(r.warning),
      days_over: r.days_over,
      calendar_provisional: Boolean(r.calendar_provisional),
    }))
  }

  /**
   * Runs a clock query; when the engine reports a date outside the loaded calendar, finds which
   * years are missing and raises CalendarMissingError naming them.
   */
  async withCalendarCheck<T>(asOfMs: number, run: () => Promise<T>): Promise<T> {
    try {
      return await run()
    } catch (err) {
      if (!(err instanceof Error) || !err.message.includes(CALENDAR_GAP_MARKER)) throw err
      const tz = this.warehouse.timezone
      const [span] = await queryRows<{ first_year: number }>(
        this.warehouse,
        `SELECT toYear(min(first_at)) AS first_year FROM case_state FINAL WHERE first_at <= {as_of:DateTime64(3, '${tz}')}`,
        { as_of: epochSeconds(asOfMs) },
      )
      const lastYear = Number(toRfc3339(asOfMs, tz).slice(0, 4))
      const years: number[] = []
      for (let y = Number(span?.first_year ?? lastYear); y <= lastYear; y++) years.push(y)
      const missing = this.calendar.missingYears(years)
      throw new CalendarMissingError(missing.length ? missing : [lastYear])
    }
  }
}
