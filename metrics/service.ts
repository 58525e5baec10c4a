// Runs catalogue indicators against the warehouse and returns rows that carry their numerator
// and denominator, so any figure can be checked by hand.
import { createHash } from 'node:crypto'
import { epochSeconds, localDate, longestLimit, parseTimestamp, queryRows, toRfc3339, withoutMoment, type Platform } from '../warehouse/index.ts'
import { INDICATOR_BY_ID, type Indicator, type Part } from './catalog.ts'
import { compileDailyParts, compileParts, DAILY_KIND, dailyGroups, dailyLeftToClock, sourceSupports, TIME_GROUPINGS, type InternalGrouping } from './compile.ts'
import { limitParams, SOURCES, type SourceId } from './sources.ts'

/** Part of every kept answer's key: raised when what a query's rows mean changes without its text changing. */
const ANSWERS_VERSION = 1

/** The answers kept in past_answers for a set of keys (none older than 30 days: the change log keeps its marks for 90). */
const PAST_ANSWERS_SQL = `SELECT key, toString(toUnixTimestamp64Milli(computed_at)) AS computed_ms, rows FROM past_answers FINAL
  WHERE key IN {keys:Array(String)} AND computed_at > now64(3) - INTERVAL 30 DAY`

/** The rows of one query as the engine gives them. */
type Rows = Array<Record<string, string | number | null>>

export interface MetricRequest {
  from?: string
  to?: string
  /** Units in scope (already resolved from district / tier:N / unit:ID); undefined = district. */
  units?: string[]
  by?: InternalGrouping
  asOfMs: number
}

export interface MetricRow {
  key: string | number
  value: number | null
  numerator: number
  denominator: number | null
}

export interface MetricResult {
  metric: string
  name: string
  name_en: string
  unit: string
  direction: string
  from: string
  to: string
  as_of: string
  /** Whether a day of a provisional year (its official arrangement not loaded) was counted. */
  calendar_provisional: boolean
  rows: MetricRow[]
}

export class UnknownMetricError extends Error {
  readonly code = 'unknown_metric'
  constructor(id: string) {
    super(`There is no indicator ${JSON.stringify(id)}; GET /api/v1/metrics lists them.`)
  }
}

export class UnsupportedGroupingError extends Error {
  readonly code = 'unsupported_grouping'
  constructor(id: string, by: string) {
    super(`${id} cannot be grouped by ${by}: its records have no ${by}.`)
  }
}


const addMonths = (date: string, n: number) => {
  const d = new Date(date + 'T00:00:00Z')
  d.setUTCMonth(d.getUTCMonth() + n)
  return d.toISOString().slice(0, 10)
}
const dayBefore = (date: string) => new Date(Date.parse(date + 'T00:00:00Z') - 86_400_000).toISOString().slice(0, 10)

/** The periods of a time grouping that overlap [from, to]: first day and last day of each. */
export function periodsOf(by: 'month' | 'quarter' | 'year', from: string, to: string): Array<{ key: string; last: string }> {
  const step = by === 'month' ? 1 : by === 'quarter' ? 3 : 12
  const [y, m] = from.split('-').map(Number) as [number, number]
  const startMonth = by === 'month' ? m : by === 'quarter' ? Math.floor((m - 1) / 3) * 3 + 1 : 1
  let key = `${y}-${String(startMonth).padStart(2, '0')}-01`
  const out: Array<{ key: string; last: string }> = []
  while (key <= to) {
    const next = addMonths(key, step)
    out.push({ key, last: dayBefore(next) })
    key = next
  }
  return out
}

type Totals = Map<string, { numerator: number; denominator: number; quantile?: number }>

export class MetricsService {
  constructor(private readonly platform: Platform) {}

  /** Off: every question through the clock (tests compare both ways). */
  useDaily = true

  /** Off: answers about past moments are always computed, never read from past_answers (the bench times the derived tables this way). */
  usePastAnswers = true

  /**
   * Answers as of a moment in the past are kept in the warehouse (past_answers) and read again
   * while nothing they depend on changed since: no records dated up to that moment arrived, no
   * reference data was written (warehouse/changes.ts). As of now (or ahead), a source's rows
   * depend on the moment only through its local date and the stored moments compared with it
   * (occurred_at, due_at: the clock turns a case overdue on a new day or past its due_at), so the
   * rows as of an earlier moment of the day are taken while no such moment came in between and
   * nothing was stored in the tables the source reads (warehouse/answers.ts `acrossMoments`).
   */
  private async remembered(asOfMs: number, questions: Array<{ key: string; acrossMoments: () => unknown; run: () => Promise<Rows> }>): Promise<Rows[]> {
    const computeAll = async () => {
      const out: Rows[] = []
      for (const q of questions) {
        out.push(await this.platform.answers.acrossMoments(q.acrossMoments(), asOfMs, q.run))
      }
      return out
    }
    if (asOfMs >= Date.now() - 60_000 || !this.usePastAnswers) return computeAll()
    // (what past_answers and the change log gave stays good in this process while the change log
    // would say the same: no change reaching back to the moment's day ended since, no reference
    // data written. So a case of today, which changes no answer about the past, does not make it
    // read past_answers and the change log again: 110 + 60 ms of a joint meeting's opening at
    // 10M events, traced 4 Dec. Asked on the same day with no stored moment in between.)
    const asOfDay = localDate(asOfMs, this.platform.warehouse.timezone)
    return this.platform.answers.acrossMoments(['past answers', questions.map((q) => q.acrossMoments())], asOfMs,
      () => this.fromPastAnswers(asOfMs, questions), { version: () => this.platform.changes.pastVersion(asOfDay) })
  }

  /** The answers of `questions` as of a past moment from past_answers, those not kept there computed and kept. */
  private async fromPastAnswers(asOfMs: number, questions: Array<{ key: string; run: () => Promise<Rows> }>): Promise<Rows[]> {
    const { warehouse, changes } = this.platform
    const asOfDay = localDate(asOfMs, warehouse.timezone)
    const kept = new Map((await queryRows<{ key: string; computed_ms: string; rows: string }>(warehouse, PAST_ANSWERS_SQL,
      { keys: questions.map((q) => q.key) })).map((r) => [r.key, r]))
    // one question for all of them: whether anything changed since the oldest was computed
    const oldest = Math.min(...[...kept.values()].map((r) => Number(r.computed_ms)))
    const valid = kept.size > 0 && (await changes.unchangedSince(oldest, asOfDay))
    const answers: Rows[] = []
    const fresh: Array<{ key: string; computed_at: string; rows: string }> = []
    for (const q of questions) {
      const hit = valid ? kept.get(q.key) : undefined
      if (hit) {
        answers.push(JSON.parse(hit.rows) as Rows)
        continue
      }
      // taken before the question is asked: a change that ends after it may not be in the answer
      const computedAt = Date.now()
      const rows = await q.run()
      answers.push(rows)
      fresh.push({ key: q.key, computed_at: epochSeconds(computedAt), rows: JSON.stringify(rows) })
    }
    if (fresh.length > 0) {
      await warehouse.client.insert({ table: 'past_answers', values: fresh, format: 'JSONEachRow' })
        .catch(() => undefined) // not kept: asked again next time
    }
    return answers
  }

  /** Whether the daily aggregate answers a source's parts at `asOfMs`. */
  private dailyUsable(source: SourceId, parts: Part[], by: MetricRequest['by'], asOfMs: number): boolean {
    if (!this.useDaily || !DAILY_KIND[source] || !dailyGroups(by) || parts.some((p) => p.daily === undefined)) return false
    const { calendar, cases, warehouse } = this.platform
    // a moment no calendar covers: the clock's way says which years are missing
    if (calendar.missingYears([Number(localDate(asOfMs, warehouse.timezone).slice(0, 4))]).length > 0) return false
    return cases.dailyReady()
  }

  indicator(id: string): Indicator {
    const indicator = INDICATOR_BY_ID.get(id)
    if (!indicator) throw new UnknownMetricError(id)
    return indicator
  }

  async run(id: string, req: MetricRequest): Promise<MetricResult> {
    return (await this.runMany([id], req))[0]!
  }

  /**
   * Several indicators for the same question in one query: each source read once with every
   * aggregate any of them needs (the assessment of a tier asks for ten at a time, and the engine
   * runs one query at a time). Each indicator's rows are exactly those `run` gives it alone.
   */
  async runMany(ids: Array<string | Indicator>, req: MetricRequest): Promise<MetricResult[]> {
    // (every batch acknowledged before this question is in the derived state it reads, and in its
    // plan: the clock's mode; an equal question being answered gives its answer: warehouse/answers.ts)
    // (the ways of answering are part of the question: the comparison tests switch them)
    const { cases } = this.platform
    const ways = { daily: this.useDaily, past: this.usePastAnswers, open: cases.useOpenCopy, monthEnd: cases.useMonthEndCopy }
    return this.platform.answers.answer(['metrics', ids, req, ways], () => this.answer(ids, req))
  }

  private async answer(ids: Array<string | Indicator>, req: MetricRequest): Promise<MetricResult[]> {
    // (an indicator given whole is one not in the catalogue: an assessment's sample counts, metrics/samples.ts)
    const indicators = ids.map((id) => (typeof id === 'string' ? this.indicator(id) : id))
    const tz = this.platform.warehouse.timezone
    const asOfDate = localDate(req.asOfMs, tz)
    const to = req.to ?? asOfDate
    const from = req.from ?? `${to.slice(0, 4)}-01-01`
    const partsOf = (i: Indicator) => [i.numerator, i.denominator, i.quantile, i.plusOpenAtEnd].filter((p): p is Part => p !== undefined && p !== null)
    // by category (of costs): an indicator with a part from the ledger takes its other parts whole,
    // the same for every category (cost per case by category: each category's cost ÷ all completed cases)
    const whole = (source: SourceId) => req.by === 'category' && !sourceSupports(source, 'category')
    for (const indicator of indicators) {
      const ps = partsOf(indicator)
      const broadcastable = req.by === 'category' && ps.some((p) => sourceSupports(p.source, 'category'))
      for (const p of ps) if (!sourceSupports(p.source, req.by) && !broadcastable) throw new UnsupportedGroupingError(indicator.id, req.by!)
    }
    const parts = [...new Set(indicators.flatMap(partsOf))]

    // months of the period up to as_of, for per-month averages (staff FTE): one for a row of one month
    const lastDay = to < asOfDate ? to : asOfDate
    const monthly = req.by === 'month' || req.by === 'unit_month'
    const months = monthly ? 1 : Math.max(1, periodsOf('month', from, lastDay).length)
    const params = {
      from, to, units: req.units, months,
      // the handling limits by tier (PUT /api/v1/settings), and the units' tiers
      ...limitParams(this.platform),
    }

    // Each source once, with every aggregate the indicators need from it; open cases are judged at
    // the end of each period (or at as_of, if that comes first), all ends in one reading of the
    // clock. The sources' subqueries are joined on their key: one query per question.
    const bySource = new Map<SourceId, Part[]>()
    for (const p of parts) bySource.set(p.source, [...new Set([...(bySource.get(p.source) ?? []), p])])
    const subqueries: Array<{ source: SourceId; parts: Part[]; moments: number[]; sql: string; params: Record<string, unknown> }> = []
    for (const [source, sourceParts] of bySource) {
      let at: number | number[] = req.asOfMs
      if (source === 'open_cases') {
        const timeBy = req.by === 'unit_month' ? 'month' : req.by
        const ends = timeBy && TIME_GROUPINGS.includes(timeBy)
          ? periodsOf(timeBy as 'month', from, to).map((p) => (p.last < to ? p.last : to))
          : [to]
        at = ends
          .map((last) => Math.min(parseTimestamp(`${last}T23:59:59.999`, tz)!, req.asOfMs))
          .filter((ms, i, all) => localDate(ms, tz) >= from && all.indexOf(ms) === i)
        if (at.length === 0) continue
      }
      subqueries.push({ source, parts: sourceParts, moments: Array.isArray(at) ? at : [at], ...this.sourceQuery(source, sourceParts, whole(source) ? { ...req, by: undefined } : req, at) })
    }
    // Each source is its own query (one plan each: put side by side in one query they took the
    // engine longer to plan than to run), its rows placed side by side per key here.
    // s<i>_p: whether source i has a row for the key.
    const { cases } = this.platform
    const questions = subqueries.map((q) => {
      const queryParams = { ...q.params, ...params }
      return {
        key: createHash('sha256').update(JSON.stringify([ANSWERS_VERSION, q.sql, queryParams])).digest('hex'),
        // the same question with the moment asked left out (answers.ts serialises and hashes it)
        acrossMoments: () => [ANSWERS_VERSION, q.sql, withoutMoment(queryParams, req.asOfMs)],
        run: () => queryRows<Rows[number]>(this.platform.warehouse, q.sql, queryParams),
      }
    })
    const ask = () => this.remembered(req.asOfMs, questions)
    const needsCalendar = subqueries.some((q) => SOURCES[q.source].clock || SOURCES[q.source].calendar)
    const answers = subqueries.length === 0 ? [] : needsCalendar ? await cases.withCalendarCheck(req.asOfMs, ask) : await ask()
    const byKey = new Map<string, Rows[number]>()
    // the sources taken whole (by category): their one row, read for every key
    const wholeRow: Rows[number] = { key: 'all' }
    answers.forEach((rows, i) => {
      if (whole(subqueries[i]!.source)) {
        for (const values of rows) for (const [j] of subqueries[i]!.parts.entries()) wholeRow[`s${i}_v${j}`] = values[`v${j}`] ?? null
        return
      }
      for (const values of rows) {
        const key = String(values.key)
        const row: Rows[number] = byKey.get(key) ?? { key }
        row[`s${i}_p`] = 1
        for (const [j] of subqueries[i]!.parts.entries()) row[`s${i}_v${j}`] = values[`v${j}`] ?? null
        byKey.set(key, row)
      }
    })
    const found = [...byKey.values()]

    const sourceIndex = (p: Part) => subqueries.findIndex((q) => q.parts.includes(p))
    const provisional = new Map(subqueries.map((q) => [q.source, this.countedProvisional(q.source, from, lastDay, asOfDate, q.moments)]))
    return indicators.map((indicator) => {
      // per key: a part's value is 0 where its source had no record for the key
      const value = (row: Record<string, string | number | null>, p: Part | null | undefined) => {
        if (!p) return 0
        const i = sourceIndex(p)
        if (i < 0) return 0
        return Number((whole(subqueries[i]!.source) ? wholeRow : row)[`s${i}_v${subqueries[i]!.parts.indexOf(p)}`] ?? 0)
      }
      // the keys this indicator's own sources have (the others' keys are not its rows)
      const own = [...new Set(partsOf(indicator).map(sourceIndex).filter((i) => i >= 0 && !whole(subqueries[i]!.source)))]
      const totals: Totals = new Map()
      for (const row of found) {
        if (!own.some((i) => Number(row[`s${i}_p`]) === 1)) continue
        totals.set(String(row.key), {
          numerator: value(row, indicator.numerator) + value(row, indicator.plusOpenAtEnd),
          denominator: value(row, indicator.denominator),
          quantile: indicator.quantile ? value(row, indicator.quantile) : undefined,
        })
      }
      const rows: MetricRow[] = [...totals]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([key, t]) => ({ key: req.by === 'tier' ? Number(key) : key, ...valueOf(indicator, t) }))
      return {
        metric: indicator.id,
        name: indicator.name.zh,
        name_en: indicator.name.en,
        unit: indicator.unit,
        direction: indicator.direction,
        from,
        to,
        as_of: toRfc3339(req.asOfMs, tz),
        calendar_provisional: partsOf(indicator).some((p) => provisional.get(p.source) === true),
        rows,
      }
    })
  }

  /**
   * Whether a source's rows for [from, lastDay] (lastDay: the period's end, or as_of if earlier)
   * counted a working day of a provisional year: the last day its working-day counts reach is
   * the period's end for stopped cases, the moment each case is read at for accepted and open
   * cases, and for bad ratings and complaints the end of the handling limit of the last record,
   * as far as the moment asked (a limit that ends later has not run out, whatever its days).
   */
  private countedProvisional(source: SourceId, from: string, lastDay: string, asOfDate: string, moments: number[]): boolean {
    const { calendar, settings, warehouse } = this.platform
    if (!SOURCES[source].clock && !SOURCES[source].calendar) return false
    let reach = lastDay
    if (source === 'accepted_cases') reach = asOfDate
    if (source === 'open_cases') reach = localDate(Math.max(...moments), warehouse.timezone)
    if (SOURCES[source].calendar) {
      // (the longest limit of any tier, and of a complaint's response and resolution)
      const longest = (...names: Parameters<typeof longestLimit>[1][]) => Math.max(...names.map((n) => longestLimit(settings.versions(), n)))
      const limit = source === 'bad_reviews' ? longest('verification_limit_days', 'rectification_limit_days', 'revisit_limit_days')
        : longest('complaint_limit_days', 'complaint_response_limit_days')
      const deadline = calendar.workingDayAfter(lastDay, limit)
      reach = deadline < asOfDate ? deadline : asOfDate
    }
    return reach >= from && calendar.provisionalThrough(reach)
  }

  /** The subquery of one source: per key, the value of each part (v0, v1, …). `at` is as_of, or the moments open cases are read at. */
  private sourceQuery(source: SourceId, parts: Part[], req: MetricRequest, at: number | number[]): { sql: string; params: Record<string, unknown> } {
    const { cases, warehouse } = this.platform
    const asOfMs = Array.isArray(at) ? Math.max(...at) : at
    // narrow the cases by their stored facts before any clock work: exact for the period's
    // stops and acceptances (a stop by as_of is the case's first stop), and for scope "now".
    // Read at several moments, the earliest decides (as clockAt does): a case's stored unit is
    // where its last transfer took it, not where it stood at an earlier month's end.
    const mode = cases.clockMode(Array.isArray(at) ? Math.min(...at) : at)
    const daily = !Array.isArray(at) && this.dailyUsable(source, parts, req.by, asOfMs)
    const narrow = [
      // the cases the daily aggregate leaves out: those that may have had events on or after the day of as_of
      daily ? dailyLeftToClock(source) : '',
      // (stopped or accepted by as_of: the case's first stop or acceptance, the stored one, was by then)
      source === 'stopped_cases' ? 'toDate(f_stopped_at) BETWEEN {from:Date} AND {to:Date} AND f_stopped_at <= as_of' : '',
      source === 'accepted_cases' || source === 'proxy_cases' ? 'toDate(f_accepted_at) BETWEEN {from:Date} AND {to:Date} AND f_accepted_at <= as_of' : '',
      source === 'open_cases' ? 'ifNull(f_stopped_at > as_of, true) AND ifNull(f_withdrawn_at > as_of, true)' : '',
      // (代办 is counted at the unit that accepted a case, not the one it belongs to now)
      mode === 'facts' && req.units !== undefined && SOURCES[source].clock && source !== 'proxy_cases' ? 'f_unit_id IN {units:Array(String)}' : '',
    ].filter(Boolean)
    const filter = narrow.length ? narrow.join(' AND ') : undefined
    // the clock's parameters are the same for every source (calendar, as_of) but for the list of
    // moments open cases are read at, which only their subquery uses
    // open cases are few, and as of a past moment the events are read: find the cases before FINAL
    // (the cases open at moments after every stored event are those open now: case_open has them)
    const clock = Array.isArray(at) ? cases.clockAt(at, filter, source === 'open_cases') : cases.clock(req.asOfMs, filter, mode, mode !== 'facts', false)
    const sql = compileParts(source, parts, req.by, req.units !== undefined, warehouse.timezone, clock.sql)
    if (!daily) return { sql, params: clock.params }
    // every stored event at or before as_of: the aggregate alone answers
    const split = mode !== 'facts'
    return { sql: compileDailyParts(source, parts, req.by, req.units !== undefined, warehouse.timezone, split, split ? sql : null), params: clock.params }
  }
}

/** value, numerator and denominator of one row, by the indicator's rule. */
export function valueOf(i: Indicator, t: { numerator: number; denominator: number; quantile?: number }): Omit<MetricRow, 'key'> {
  if (i.quantile) return { value: Number.isFinite(t.quantile) && t.denominator > 0 ? t.quantile! : null, numerator: t.quantile ?? 0, denominator: t.denominator }
  if (!i.denominator) return { value: t.numerator, numerator: t.numerator, denominator: null }
  if (t.denominator === 0) return { value: null, numerator: t.numerator, denominator: t.denominator }
  const ratio = t.numerator / t.denominator
  return { value: (i.complement ? 1 - ratio : ratio) * (i.scale ?? 1), numerator: t.numerator, denominator: t.denominator }
}
