// Publishing a year: the joint meeting's act that turns the year's assessment into official
// figures. Every unit's composite, grade, rank and every indicator's figures (value, numerator,
// denominator, target, score, weight, points, points lost), last year's figures they are compared
// with, the 差评 and complaint records, the scheme, the indicator definitions and the settings in
// force are written to the report_* tables (migration 8) under a new publication id. A published
// report is rendered from these tables only; data that arrives later shows up in the restatement
// (published vs current), never in the published figures. Publishing the same year again is a
// new version, explicit, with its own date.
import { randomUUID } from 'node:crypto'
import { INDICATOR_BY_ID, INDICATORS, periodRule, schemeEntries, type AssessedIndicator, type AssessmentService, type AssessedUnit, type Scheme } from '../metrics/index.ts'
import { CalendarMissingError, localDate, queryRows, toRfc3339, type LimitVersion, type Platform, type TunableSettings } from '../warehouse/index.ts'
import type { FigureUnit } from './format.ts'
import { emptyRecords, unitRecords, type UnitRecords } from './records.ts'

/** An indicator's definition as it stood when the year was published (the appendix prints these). */
export interface CatalogEntry {
  id: string
  name: { zh: string; en: string }
  category: string
  unit: FigureUnit
  direction: 'higher_is_better' | 'lower_is_better'
  definition: { zh: string; en: string }
  formula: string
  period: string
  /** how a value is made from Σ numerator and Σ denominator (for totals over units) */
  complement: boolean
  scale: number | null
  quantile: boolean
}

export interface PublicationInfo {
  year: number
  version: number
  publication_id: string
  published_at: string
  published_by: string
  as_of: string
  /** epoch ms of published_at and as_of, for rendering in the district's zone */
  published_ms: number
  as_of_ms: number
  period: { from: string; to: string }
  note: string
  /** Whether the published figures counted days of a provisional year, and which years those were. */
  calendar: PublishedCalendar
  /** A draft for comment (征求意见稿): the assessment as it stands, not published (version 0, no id). */
  draft?: boolean
}

export interface PublishedCalendar {
  provisional: boolean
  provisional_years: number[]
}

export interface Previous {
  /** Where last year's figures come from: its latest publication, or computed when it has none. */
  source: 'published' | 'computed' | 'none'
  year: number
  version: number | null
  as_of: string | null
}

/**
 * The settings a publication was judged by (settingsOfYear). Publications made before limits had
 * tiers and versions lack `by_tier`, `limit_versions` and the newer limits.
 */
export type PublishedSettings = Pick<TunableSettings, 'warning_days' | 'rectification_limit_days' | 'complaint_limit_days'> & Partial<TunableSettings> & { limit_versions?: LimitVersion[] }

export interface Publication extends PublicationInfo {
  scheme: Scheme
  catalog: CatalogEntry[]
  settings: PublishedSettings
  previous: Previous
}

/** An indicator of a unit as the assessment gave it at publication (its name lives in the frozen catalogue), with last year's figures. */
export interface FrozenIndicator extends Omit<AssessedIndicator, 'name' | 'category'> {
  category: string
  prev_value: number | null
  prev_numerator: number | null
  prev_denominator: number | null
}

/**
 * How a publication's scores were made. `actual_value`: every indicator scored on the unit's
 * actual value, below the scheme's minimum sample not scored and its weight spread over the
 * unit's scored indicators in proportion (the facts of it frozen with the unit). `wilson_bound`:
 * a publication made before that rule, when a small sample was scored at its 95 % Wilson bound
 * (its documents say so; the facts of the new rule were not kept then and are worked out from
 * its figures and its scheme).
 */
export type ScoringRule = 'actual_value' | 'wilson_bound'

/** What report_units.records keeps under `scoring` besides the unit's 差评/complaint record: the composite's arithmetic. */
interface FrozenScoring {
  rule: 'actual_value'
  scored_scheme_weight: number
  /** The part of the year the unit was in service, when not all of it (absent in publications made before it was kept). */
  in_service?: { from: string; to: string } | null
  indicators: Record<string, Pick<AssessedIndicator, 'scored' | 'not_scored_reason' | 'sample' | 'sample_of' | 'min_sample' | 'scheme_weight'> & Partial<Pick<AssessedIndicator, 'target_full_year'>>>
}

export interface FrozenUnit {
  unit_id: string
  name: string
  tier: number
  parent_id: string | null
  composite: number | null
  grade: string | null
  grade_en: string | null
  rank: number | null
  /** how many units of the tier have a rank */
  ranked: number
  prev_composite: number | null
  prev_grade: string | null
  prev_rank: number | null
  records: UnitRecords
  /** How its scores were made (see ScoringRule). */
  rule: ScoringRule
  /** The sum of the scheme weights of the indicators scored: each one's weight is its scheme weight ÷ this (按比例折算). */
  scored_scheme_weight: number
  /** The part of the year it was in service (opened or closed in it); null: all of it. */
  in_service: { from: string; to: string } | null
  indicators: FrozenIndicator[]
}

export interface FrozenReport {
  publication: Publication
  /** tier, then rank (unranked last), then unit id */
  units: FrozenUnit[]
}

export class NotPublishedError extends Error {
  readonly code = 'not_published'
  constructor(readonly year: number, readonly version?: number) {
    super(version === undefined
      ? `The ${year} assessment has not been published: the joint meeting publishes it with POST /api/v1/reports/${year}/publish.`
      : `The ${year} assessment has no version ${version}; GET /api/v1/reports/${year} lists the versions.`)
  }
}

export class YearNotOverError extends Error {
  readonly code = 'year_not_over'
  constructor(readonly year: number) {
    super(`${year} is not over yet in the district's time zone: an annual assessment is published after the year ends.`)
  }
}

const TIERS = [1, 2, 3] as const

function catalogSnapshot(): CatalogEntry[] {
  return INDICATORS.map((i) => ({
    id: i.id,
    name: i.name,
    category: i.category,
    unit: i.unit,
    direction: i.direction,
    definition: i.definition,
    formula: `${i.complement ? '1 − ' : ''}${i.numerator.text.zh}${i.denominator ? ` ÷ ${i.denominator.text.zh}` : ''}${i.scale ? ` × ${i.scale}` : ''}${i.plusOpenAtEnd ? ` ＋ ${i.plusOpenAtEnd.text.zh}` : ''}`,
    period: periodRule(i).zh,
    complement: Boolean(i.complement),
    scale: i.scale ?? null,
    quantile: Boolean(i.quantile),
  }))
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v))

/** The facts of a unit's composite kept with the publication (report_units.records, under `scoring`). */
function scoringOf(u: AssessedUnit): FrozenScoring {
  return {
    rule: 'actual_value',
    scored_scheme_weight: u.scored_scheme_weight,
    in_service: u.in_service,
    indicators: Object.fromEntries(u.indicators.map((i) => [i.id, {
      scored: i.scored, not_scored_reason: i.not_scored_reason, sample: i.sample, sample_of: i.sample_of, min_sample: i.min_sample, scheme_weight: i.scheme_weight,
      target_full_year: i.target_full_year,
    }])),
  }
}

/**
 * A unit's frozen indicators with the facts of its composite: as kept, or, for a publication made
 * before they were kept (the Wilson-bound rule), worked out from its figures and its scheme.
 */
function withScoring(indicators: FrozenIndicator[], scoring: FrozenScoring | undefined, scheme: Scheme, tier: number): Pick<FrozenUnit, 'rule' | 'scored_scheme_weight' | 'in_service' | 'indicators'> {
  if (scoring) {
    return { rule: scoring.rule, scored_scheme_weight: scoring.scored_scheme_weight, in_service: scoring.in_service ?? null, indicators: indicators.map((i) => ({ ...i, ...scoring.indicators[i.id] })) }
  }
  const entries = new Map(schemeEntries(scheme, tier).map((e) => [e.id, e]))
  const list = indicators.map((i): FrozenIndicator => ({
    ...i, scored: i.score !== null, not_scored_reason: i.score !== null ? null : i.value === null ? 'no_records' : 'no_target',
    // (the old rule's sample: the denominator of a rate; a count had none)
    sample: i.denominator ?? 0, sample_of: '', min_sample: scheme.min_sample, scheme_weight: entries.get(i.id)?.scheme_weight ?? 0,
  }))
  return { rule: 'wilson_bound', scored_scheme_weight: list.reduce((s, i) => s + (i.scored ? i.scheme_weight : 0), 0), in_service: null, indicators: list }
}

/** The unit order of a frozen report and of the assessment: tier, rank (unranked last), unit id. */
export const unitOrder = (a: { tier: number; rank: number | null; unit_id: string }, b: { tier: number; rank: number | null; unit_id: string }) =>
  a.tier - b.tier || (a.rank ?? Infinity) - (b.rank ?? Infinity) || (a.unit_id < b.unit_id ? -1 : a.unit_id > b.unit_id ? 1 : 0)

/** The rows of the report_* tables (a publication's, or a draft's in memory) as a frozen report. */
type UnitRow = Record<string, unknown>
type IndicatorRow = Record<string, unknown>
interface Assembled {
  period: { from: string; to: string }
  calendar: PublishedCalendar
  publication: { scheme: string; catalog: string; settings: string; previous: string }
  units: UnitRow[]
  indicators: IndicatorRow[]
}

function frozenFromRows(info: PublicationInfo, pub: Assembled['publication'], units: UnitRow[], indicators: IndicatorRow[]): FrozenReport {
  const byUnit = new Map<string, FrozenIndicator[]>()
  for (const r of [...indicators].sort((a, b) => (String(a.unit_id) < String(b.unit_id) ? -1 : String(a.unit_id) > String(b.unit_id) ? 1 : Number(a.position) - Number(b.position)))) {
    const list = byUnit.get(String(r.unit_id)) ?? []
    list.push({
      // filled in from the unit's `scoring` (withScoring)
      scored: false, not_scored_reason: null, sample: 0, sample_of: '', min_sample: 0, scheme_weight: 0, target_full_year: null,
      id: String(r.indicator_id), category: String(r.category), value: num(r.value), numerator: Number(r.numerator), denominator: num(r.denominator),
      scored_value: num(r.scored_value), small_sample: Boolean(r.small_sample), target: num(r.target), score: num(r.score), weight: Number(r.weight),
      points: Number(r.points), points_lost: Number(r.points_lost), explain: (r.explain as string | null) ?? null,
      prev_value: num(r.prev_value), prev_numerator: num(r.prev_numerator), prev_denominator: num(r.prev_denominator),
    })
    byUnit.set(String(r.unit_id), list)
  }
  const scheme = JSON.parse(pub.scheme) as Scheme
  return {
    publication: {
      ...info,
      scheme,
      catalog: JSON.parse(pub.catalog) as CatalogEntry[],
      settings: JSON.parse(pub.settings) as PublishedSettings,
      previous: JSON.parse(pub.previous) as Previous,
    },
    units: units.map((u) => {
      const { scoring, ...records } = JSON.parse(String(u.records)) as UnitRecords & { scoring?: FrozenScoring }
      const base = {
        unit_id: String(u.unit_id), name: String(u.name), tier: Number(u.tier), parent_id: (u.parent_id as string | null) ?? null,
        composite: num(u.composite), grade: (u.grade as string | null) ?? null, grade_en: (u.grade_en as string | null) ?? null, rank: num(u.rank), ranked: Number(u.ranked),
        prev_composite: num(u.prev_composite), prev_grade: (u.prev_grade as string | null) ?? null, prev_rank: num(u.prev_rank),
        records: records as UnitRecords,
      }
      return { ...base, ...withScoring(byUnit.get(base.unit_id) ?? [], scoring, scheme, base.tier) }
    }).sort(unitOrder),
  }
}

export class PublicationStore {
  /** Frozen reports never change: kept by publication id once read. */
  private frozen = new Map<string, FrozenReport>()
  private publishing: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly platform: Platform,
    private readonly assessment: AssessmentService,
  ) {}

  /** Every publication of a year, oldest first. */
  async versions(year: number): Promise<PublicationInfo[]> {
    const tz = this.platform.warehouse.timezone
    const rows = await queryRows<{ year: number; version: number; publication_id: string; published_ms: string; published_by: string; as_of_ms: string; period_from: string; period_to: string; note: string; calendar: string }>(
      this.platform.warehouse, `
      SELECT year, version, publication_id, toUnixTimestamp64Milli(published_at) AS published_ms, published_by,
        toUnixTimestamp64Milli(as_of) AS as_of_ms, toString(period_from) AS period_from, toString(period_to) AS period_to, note, calendar
      FROM report_publications WHERE year = {year:UInt16} ORDER BY version, publication_id`, { year })
    return rows.map((r) => ({
      year: Number(r.year), version: Number(r.version), publication_id: r.publication_id,
      published_at: toRfc3339(Number(r.published_ms), tz), published_by: r.published_by, as_of: toRfc3339(Number(r.as_of_ms), tz),
      published_ms: Number(r.published_ms), as_of_ms: Number(r.as_of_ms), period: { from: r.period_from, to: r.period_to }, note: r.note,
      calendar: JSON.parse(r.calendar) as PublishedCalendar,
    }))
  }

  /** The latest publication of a year (or the given version), or null. */
  async find(year: number, version?: number): Promise<PublicationInfo | null> {
    const all = await this.versions(year)
    if (version !== undefined) return all.find((v) => v.version === version) ?? null
    return all.at(-1) ?? null
  }

  /**
   * Publishes a year: the assessment of every tier as of now, frozen under a new version. The
   * publication row is written last, so figures of a publishing that did not finish are never read.
   */
  publish(year: number, by: string, note = '', nowMs = Date.now()): Promise<PublicationInfo> {
    const run = this.publishing.then(() => this.publishNow(year, by, note, nowMs))
    this.publishing = run.catch(() => undefined)
    return run
  }

  private async publishNow(year: number, by: string, note: string, nowMs: number): Promise<PublicationInfo> {
    const tz = this.platform.warehouse.timezone
    if (localDate(nowMs, tz) <= `${year}-12-31`) throw new YearNotOverError(year)
    const a = await this.assemble(year, nowMs)
    const existing = await this.versions(year)
    const version = (existing.at(-1)?.version ?? 0) + 1
    const id = randomUUID()

    await this.platform.warehouse.client.insert({ table: 'report_units', format: 'JSONEachRow', values: a.units.map((u) => ({ publication_id: id, ...u })) })
    await this.platform.warehouse.client.insert({ table: 'report_indicators', format: 'JSONEachRow', values: a.indicators.map((i) => ({ publication_id: id, ...i })) })
    await this.platform.warehouse.client.insert({
      table: 'report_publications',
      format: 'JSONEachRow',
      values: [{
        year, version, publication_id: id, published_at: (nowMs / 1000).toFixed(3), published_by: by, as_of: (nowMs / 1000).toFixed(3),
        period_from: a.period.from, period_to: a.period.to, note,
        scheme: a.publication.scheme, catalog: a.publication.catalog, settings: a.publication.settings,
        previous: a.publication.previous, calendar: JSON.stringify(a.calendar),
      }],
    })
    const info = await this.find(year, version)
    if (!info || info.publication_id !== id) throw new Error(`publishing ${year}: version ${version} was taken by another publication at the same moment; publish again`)
    return info
  }

  /**
   * What publishing a year at `nowMs` would freeze, as the rows of the report_* tables (without
   * the publication id): the assessment of every tier, the records, last year's figures, the
   * scheme, the catalogue and the settings. Publishing writes these; a draft reads them in memory.
   */
  /**
   * The settings a year was judged by: those in effect at its end (or now, for a year under way),
   * with every version of the limits, so a limit changed in the year is seen with its day.
   */
  private settingsOfYear(year: number, nowMs: number): PublishedSettings {
    const today = localDate(nowMs, this.platform.warehouse.timezone)
    const end = `${year}-12-31`
    return { ...this.platform.settings.get(end < today ? end : today), limit_versions: this.platform.settings.versions() }
  }

  private async assemble(year: number, nowMs: number): Promise<Assembled> {
    const tiers = await this.assessment.tiers(year, TIERS, nowMs)
    const { scheme } = await this.assessment.scheme(year)
    const period = this.assessment.period(year, nowMs)
    const records = await unitRecords(this.platform, period.from, period.to, nowMs)
    const previous = await this.previousYear(year, nowMs)
    const units = tiers.flatMap((t) => t.units)
    const calendar = this.calendarCounted(tiers.some((t) => t.calendar_provisional), year, nowMs)
    const ranked = new Map(TIERS.map((t, i) => [t, tiers[i]!.units.filter((u) => u.rank !== null).length]))
    return {
      period, calendar,
      publication: { scheme: JSON.stringify(scheme), catalog: JSON.stringify(catalogSnapshot()), settings: JSON.stringify(this.settingsOfYear(year, nowMs)), previous: JSON.stringify(previous.info) },
      units: units.map((u) => {
        const prev = previous.units.get(u.unit_id)
        return {
          unit_id: u.unit_id, name: u.name, tier: u.tier, parent_id: this.platform.reference.units.get(u.unit_id)?.parent_id ?? null,
          composite: u.composite_score, grade: u.grade, grade_en: u.grade_en, rank: u.rank, ranked: ranked.get(u.tier as 1) ?? 0,
          prev_composite: prev?.composite ?? null, prev_grade: prev?.grade ?? null, prev_rank: prev?.rank ?? null,
          // the 差评/complaint record, and under `scoring` the composite's arithmetic (no column of its own: migration 8's tables are kept)
          records: JSON.stringify({ ...(records.get(u.unit_id) ?? emptyRecords()), scoring: scoringOf(u) }),
        }
      }),
      indicators: units.flatMap((u) => u.indicators.map((i, position) => {
        const prev = previous.units.get(u.unit_id)?.indicators.get(i.id)
        return {
          unit_id: u.unit_id, position, indicator_id: i.id, category: i.category,
          value: i.value, numerator: i.numerator, denominator: i.denominator, scored_value: i.scored_value, small_sample: i.small_sample,
          target: i.target, score: i.score, weight: i.weight, points: i.points, points_lost: i.points_lost, explain: i.explain,
          prev_value: prev?.value ?? null, prev_numerator: prev?.numerator ?? null, prev_denominator: prev?.denominator ?? null,
        }
      })),
    }
  }

  /**
   * The draft for comment (征求意见稿) of a year not published: exactly what publishing it at
   * `nowMs` would freeze (the same assembly, the same reading of the rows), held in memory and
   * never written. Its publication is marked `draft`, version 0, with no id and nobody who published it.
   */
  async draft(year: number, nowMs = Date.now()): Promise<FrozenReport> {
    const a = await this.assemble(year, nowMs)
    const tz = this.platform.warehouse.timezone
    const info: PublicationInfo = {
      year, version: 0, publication_id: '', published_at: toRfc3339(nowMs, tz), published_by: '', as_of: toRfc3339(nowMs, tz),
      published_ms: nowMs, as_of_ms: nowMs, period: a.period, note: '', calendar: a.calendar, draft: true,
    }
    return frozenFromRows(info, a.publication, a.units, a.indicators)
  }

  /**
   * The provisional years a question about `year` asked at `nowMs` may have counted days of (none
   * unless it did): from the year to the moment asked, which is as far as any count reaches.
   */
  private calendarCounted(provisional: boolean, year: number, nowMs: number): PublishedCalendar {
    const { calendar, warehouse } = this.platform
    const years: number[] = []
    if (provisional) for (let y = year; y <= Number(localDate(nowMs, warehouse.timezone).slice(0, 4)); y++) if (calendar.statusOf(y) === 'provisional') years.push(y)
    return { provisional, provisional_years: years }
  }

  /** Last year's figures to compare with: its latest publication if it has one, else computed as of now. */
  private async previousYear(year: number, nowMs: number): Promise<{ info: Previous; units: Map<string, { composite: number | null; grade: string | null; rank: number | null; indicators: Map<string, { value: number | null; numerator: number; denominator: number | null }> }> }> {
    const prevYear = year - 1
    const published = await this.find(prevYear)
    if (published) {
      const frozen = await this.load(published)
      return {
        info: { source: 'published', year: prevYear, version: published.version, as_of: published.as_of },
        units: new Map(frozen.units.map((u) => [u.unit_id, { composite: u.composite, grade: u.grade, rank: u.rank, indicators: new Map(u.indicators.map((i) => [i.id, i])) }])),
      }
    }
    let tiers
    try {
      tiers = await this.assessment.tiers(prevYear, TIERS, nowMs)
    } catch (err) {
      if (err instanceof CalendarMissingError) return { info: { source: 'none', year: prevYear, version: null, as_of: null }, units: new Map() }
      throw err
    }
    const units = tiers.flatMap((t) => t.units)
    return {
      info: { source: 'computed', year: prevYear, version: null, as_of: toRfc3339(nowMs, this.platform.warehouse.timezone) },
      units: new Map(units.map((u) => [u.unit_id, { composite: u.composite_score, grade: u.grade, rank: u.rank, indicators: new Map(u.indicators.map((i) => [i.id, i])) }])),
    }
  }

  /** A publication's frozen figures, read from the report_* tables only. */
  async load(info: PublicationInfo): Promise<FrozenReport> {
    const cached = this.frozen.get(info.publication_id)
    if (cached) return cached
    const wh = this.platform.warehouse
    const params = { id: info.publication_id }
    const [[pub], units, indicators] = await Promise.all([
      queryRows<{ scheme: string; catalog: string; settings: string; previous: string }>(wh, 'SELECT scheme, catalog, settings, previous FROM report_publications WHERE publication_id = {id:String}', params),
      queryRows<Record<string, unknown>>(wh, `SELECT unit_id, name, tier, parent_id, composite, grade, grade_en, rank, ranked, prev_composite, prev_grade, prev_rank, records
        FROM report_units WHERE publication_id = {id:String}`, params),
      queryRows<Record<string, unknown>>(wh, `SELECT unit_id, position, indicator_id, category, value, numerator, denominator, scored_value, small_sample, target, score,
        weight, points, points_lost, explain, prev_value, prev_numerator, prev_denominator
        FROM report_indicators WHERE publication_id = {id:String} ORDER BY unit_id, position`, params),
    ])
    if (!pub) throw new NotPublishedError(info.year, info.version)
    const report = frozenFromRows(info, pub, units, indicators)
    this.frozen.set(info.publication_id, report)
    if (this.frozen.size > 8) this.frozen.delete(this.frozen.keys().next().value!)
    return report
  }

  /**
   * Published versus current: per unit and indicator, the figures of the publication against the
   * same assessment computed now, listing only what differs.
   */
  async restatement(info: PublicationInfo, nowMs = Date.now()): Promise<Restatement> {
    const frozen = await this.load(info)
    const tiers = await this.assessment.tiers(info.year, TIERS, nowMs)
    const restatement = compareWithCurrent(frozen, tiers.flatMap((t) => t.units), toRfc3339(nowMs, this.platform.warehouse.timezone))
    // a year counted provisionally at publication whose official arrangement is loaded now
    const replaced = info.calendar.provisional_years.filter((y) => this.platform.calendar.statusOf(y) === 'official')
    restatement.calendar_provisional = tiers.some((t) => t.calendar_provisional)
    restatement.causes = [
      ...(replaced.length && restatement.restated ? [{ cause: 'calendar' as const, years: replaced,
        message: `The State Council's arrangement for ${replaced.join(', ')} was loaded after publication: the figures published on the provisional calendar are counted on the official one now.`,
        message_zh: `发布后载入了国务院${replaced.join('、')}年节假日安排：发布时按暂定日历计算的数字，现按正式安排重新计算。` }] : []),
      // published under the rule that scored small samples at their Wilson bound: the current figures are scored on actual values
      ...(frozen.units.some((u) => u.rule === 'wilson_bound') && restatement.restated ? [{ cause: 'scoring_rule' as const,
        message: 'This version was scored under the earlier rule (small samples at their 95 % Wilson bound); the current figures score every indicator on the actual value, leave those below the minimum sample unscored and spread their weight in proportion.',
        message_zh: '本版按原规则计分（小样本按 95% 置信界计分）；当前数按实际值计分，样本不足的指标不计分，其权重按比例折算。' }] : []),
    ]
    return restatement
  }
}

export interface RestatedUnit {
  unit_id: string
  name: string
  tier: number
  /** 'changed', or a unit only one side has */
  kind: 'changed' | 'added' | 'removed'
  published: { composite: number | null; grade: string | null; rank: number | null } | null
  current: { composite: number | null; grade: string | null; rank: number | null } | null
  fields: string[]
}

export interface RestatedIndicator {
  unit_id: string
  unit_name: string
  tier: number
  indicator_id: string
  indicator_name: string
  fields: string[]
  published: Pick<FrozenIndicator, 'value' | 'numerator' | 'denominator' | 'target' | 'score' | 'weight' | 'points' | 'points_lost'> | null
  current: Pick<FrozenIndicator, 'value' | 'numerator' | 'denominator' | 'target' | 'score' | 'weight' | 'points' | 'points_lost'> | null
}

export interface Restatement {
  year: number
  version: number
  publication_id: string
  published_at: string
  published_as_of: string
  current_as_of: string
  restated: boolean
  /** Whether the current figures still count days of a provisional year. */
  calendar_provisional: boolean
  /** What the restatement is known to come from besides late records: the official calendar replacing a provisional year; a version scored under the earlier rule. */
  causes: Array<{ cause: 'calendar'; years: number[]; message: string; message_zh: string } | { cause: 'scoring_rule'; message: string; message_zh: string }>
  units: RestatedUnit[]
  indicators: RestatedIndicator[]
}

const INDICATOR_FIELDS = ['value', 'numerator', 'denominator', 'target', 'score', 'weight', 'points', 'points_lost'] as const

/** Equal figures: both missing, or equal within a relative 1e-9 (a Float64 round trip). */
export function sameFigure(a: number | null, b: number | null): boolean {
  if (a === null || b === null) return a === b
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b))
}

export function compareWithCurrent(frozen: FrozenReport, current: AssessedUnit[], currentAsOf: string): Restatement {
  const p = frozen.publication
  const units: RestatedUnit[] = []
  const indicators: RestatedIndicator[] = []
  const now = new Map(current.map((u) => [u.unit_id, u]))
  const pick = (i: Pick<FrozenIndicator, (typeof INDICATOR_FIELDS)[number]>) => Object.fromEntries(INDICATOR_FIELDS.map((f) => [f, i[f]])) as RestatedIndicator['published']
  const nameOf = (id: string) => INDICATOR_BY_ID.get(id)?.name.zh ?? p.catalog.find((c) => c.id === id)?.name.zh ?? id
  for (const u of frozen.units) {
    const c = now.get(u.unit_id)
    const published = { composite: u.composite, grade: u.grade, rank: u.rank }
    if (!c) {
      units.push({ unit_id: u.unit_id, name: u.name, tier: u.tier, kind: 'removed', published, current: null, fields: ['unit'] })
      continue
    }
    const cur = { composite: c.composite_score, grade: c.grade, rank: c.rank }
    const fields = [
      ...(sameFigure(u.composite, cur.composite) ? [] : ['composite']),
      ...(u.grade === cur.grade ? [] : ['grade']),
      ...(u.rank === cur.rank ? [] : ['rank']),
    ]
    if (fields.length) units.push({ unit_id: u.unit_id, name: u.name, tier: u.tier, kind: 'changed', published, current: cur, fields })
    const curInd = new Map(c.indicators.map((i) => [i.id, i]))
    for (const i of u.indicators) {
      const ci = curInd.get(i.id)
      const changed = ci ? INDICATOR_FIELDS.filter((f) => !sameFigure(i[f], ci[f])) : ['indicator']
      if (changed.length) indicators.push({ unit_id: u.unit_id, unit_name: u.name, tier: u.tier, indicator_id: i.id, indicator_name: nameOf(i.id), fields: changed, published: pick(i), current: ci ? pick(ci) : null })
      curInd.delete(i.id)
    }
    for (const ci of curInd.values()) {
      indicators.push({ unit_id: u.unit_id, unit_name: u.name, tier: u.tier, indicator_id: ci.id, indicator_name: nameOf(ci.id), fields: ['indicator'], published: null, current: pick(ci) })
    }
    now.delete(u.unit_id)
  }
  for (const c of now.values()) {
    units.push({ unit_id: c.unit_id, name: c.name, tier: c.tier, kind: 'added', published: null, current: { composite: c.composite_score, grade: c.grade, rank: c.rank }, fields: ['unit'] })
  }
  return {
    year: p.year, version: p.version, publication_id: p.publication_id, published_at: p.published_at, published_as_of: p.as_of, current_as_of: currentAsOf,
    restated: units.length > 0 || indicators.length > 0, calendar_provisional: false, causes: [], units, indicators,
  }
}
