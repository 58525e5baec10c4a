// The assessment scheme (考核方案) as data: per year and tier, the weight of each category and of
// each indicator in it, how each indicator is scored, and the grade bands. A scheme is versioned;
// the default is Dongcheng's. Schemes for later years are added as data, not code.
//
// Every method scores the unit's actual value, and a value that meets the unit's target (where it
// has one) scores 100 whatever the method: no unit loses points on an indicator where it does
// what it was asked to.
import { INDICATOR_BY_ID, type Category } from './catalog.ts'

export type ScoringMethod =
  /** 100 × attainment of the unit's target (value ÷ target, or target ÷ value when lower is better), capped at 100. */
  | { kind: 'target' }
  /**
   * Across the tier's units scored on the indicator: 100 for the best (or for meeting the unit's
   * target, when the target is less than the best), 0 for the worst, linear between.
   */
  | { kind: 'minmax' }
  /**
   * The score of the most demanding step whose bound the value meets (`at_least` for
   * higher-is-better, `at_most` for lower); the most demanding step scores 100, and no step scores
   * more than a more demanding one.
   */
  | { kind: 'stepped'; steps: Array<{ at_least?: number; at_most?: number; score: number }> }
  /** 100 minus `per` points for each one counted (overdue cases, complaints), at most `max` points off. */
  | { kind: 'deduction'; per: number; max: number }

export interface SchemeIndicator {
  id: string
  weight: number
  method: ScoringMethod
  /**
   * Fewer records than this in the indicator's sample (what it counts: metrics/samples.ts) and
   * the indicator is not scored for the unit (样本不足，不计分). The scheme's `min_sample` when left out.
   */
  min_sample?: number
}

export interface Scheme {
  year: number
  version: string
  name: string
  /** Highest band first; a score at or above `min` gets the grade. */
  grades: Array<{ grade: string; grade_en: string; min: number }>
  /**
   * The default minimum sample: an indicator whose sample (metrics/samples.ts) is smaller than this
   * for a unit is not scored for it, unless the indicator's entry sets its own `min_sample`.
   */
  min_sample: number
  tiers: Record<'1' | '2' | '3', Record<Category, { weight: number; indicators: SchemeIndicator[] }>>
}

const GRADES: Scheme['grades'] = [
  { grade: '优秀', grade_en: 'excellent', min: 90 },
  { grade: '良好', grade_en: 'good', min: 80 },
  { grade: '合格', grade_en: 'pass', min: 60 },
  { grade: '不合格', grade_en: 'fail', min: 0 },
]

const timeliness = {
  weight: 0.35,
  indicators: [
    { id: 'on_time_rate', weight: 0.5, method: { kind: 'stepped', steps: [{ at_least: 0.99, score: 100 }, { at_least: 0.98, score: 90 }, { at_least: 0.95, score: 75 }, { at_least: 0.9, score: 60 }, { at_least: 0, score: 40 }] } },
    { id: 'overdue_open', weight: 0.3, method: { kind: 'deduction', per: 2, max: 100 } },
    { id: 'avg_overdue_days', weight: 0.2, method: { kind: 'minmax' } },
  ],
} satisfies Scheme['tiers']['1']['timeliness']

const satisfactionBefore2027 = {
  weight: 0.35,
  indicators: [
    { id: 'satisfaction_rate', weight: 0.4, method: { kind: 'target' } },
    { id: 'bad_review_rectified_on_time_rate', weight: 0.3, method: { kind: 'stepped', steps: [{ at_least: 1, score: 100 }, { at_least: 0.9, score: 80 }, { at_least: 0.8, score: 60 }, { at_least: 0, score: 30 }] } },
    { id: 'complaints_per_10k', weight: 0.3, method: { kind: 'minmax' } },
  ],
} satisfies Scheme['tiers']['1']['satisfaction']

/**
 * From the 2027 scheme on, the reporting hotline's three rates (12345: 响应率, 解决率, 满意率) are
 * in the satisfaction category. Earlier years keep the scheme they were assessed on: a scheme is
 * not changed in the year it assesses (the 2026 scheme was in force when these rates came).
 */
export const HOTLINE_SCHEME_FROM = 2027
const satisfactionWithHotline = {
  weight: 0.35,
  indicators: [
    { id: 'satisfaction_rate', weight: 0.3, method: { kind: 'target' } },
    { id: 'bad_review_rectified_on_time_rate', weight: 0.2, method: { kind: 'stepped', steps: [{ at_least: 1, score: 100 }, { at_least: 0.9, score: 80 }, { at_least: 0.8, score: 60 }, { at_least: 0, score: 30 }] } },
    { id: 'complaints_per_10k', weight: 0.15, method: { kind: 'minmax' } },
    { id: 'complaint_response_rate', weight: 0.15, method: { kind: 'stepped', steps: [{ at_least: 0.99, score: 100 }, { at_least: 0.95, score: 85 }, { at_least: 0.9, score: 70 }, { at_least: 0, score: 50 }] } },
    { id: 'complaint_resolution_rate', weight: 0.1, method: { kind: 'stepped', steps: [{ at_least: 0.95, score: 100 }, { at_least: 0.9, score: 85 }, { at_least: 0.8, score: 70 }, { at_least: 0, score: 50 }] } },
    { id: 'complaint_satisfaction_rate', weight: 0.1, method: { kind: 'minmax' } },
  ],
} satisfies Scheme['tiers']['1']['satisfaction']

const cost = {
  weight: 0.1,
  indicators: [{ id: 'cost_per_case', weight: 1, method: { kind: 'minmax' } }],
} satisfies Scheme['tiers']['1']['cost']

/** Dongcheng's default scheme: the same shape for every tier, with what each tier is there for weighted up. */
export function dongchengScheme(year: number): Scheme {
  // a fresh object each time, nothing shared between its tiers or with another call's
  return JSON.parse(JSON.stringify(defaultScheme(year))) as Scheme
}

/** The stations' minimum sample in the default scheme, for every indicator. */
const STATION_MIN_SAMPLE = 10

/** A tier's categories with every indicator's minimum sample set to `n`. */
type TierCategories = Scheme['tiers']['1']
function withMinSample(n: number, categories: TierCategories): TierCategories {
  return Object.fromEntries(Object.entries(categories).map(([name, c]) => [name, { ...c, indicators: c.indicators.map((i) => ({ ...i, min_sample: n })) }])) as TierCategories
}

function defaultScheme(year: number): Scheme {
  const satisfaction = year >= HOTLINE_SCHEME_FROM ? satisfactionWithHotline : satisfactionBefore2027
  return {
    year,
    version: `${year}.1`,
    name: `东城区政务服务三级体系${year}年度绩效考核方案（默认）`,
    grades: GRADES,
    min_sample: 30,
    tiers: {
      // district centre and bureau halls: licensing speed and online service
      '1': {
        timeliness,
        efficiency: { weight: 0.2, indicators: [
          { id: 'online_rate', weight: 0.4, method: { kind: 'target' } },
          { id: 'actual_speedup_rate', weight: 0.3, method: { kind: 'minmax' } },
          { id: 'first_time_right_rate', weight: 0.3, method: { kind: 'minmax' } },
        ] },
        satisfaction,
        cost,
      },
      // street halls: queues and first-time-right matter most
      '2': {
        timeliness,
        efficiency: { weight: 0.2, indicators: [
          { id: 'first_time_right_rate', weight: 0.4, method: { kind: 'minmax' } },
          { id: 'queue_wait_avg', weight: 0.3, method: { kind: 'minmax' } },
          { id: 'online_rate', weight: 0.3, method: { kind: 'target' } },
        ] },
        satisfaction,
        cost,
      },
      // stations: consultation and 代办, few cases of their own — scored from 10 records of what
      // an indicator counts (30 would leave most stations unrated: what chance does to a small
      // station's figure is the funnel plot's to show, not a reason to leave it out)
      '3': withMinSample(STATION_MIN_SAMPLE, {
        timeliness,
        efficiency: { weight: 0.2, indicators: [
          { id: 'first_time_right_rate', weight: 0.5, method: { kind: 'minmax' } },
          { id: 'online_rate', weight: 0.5, method: { kind: 'target' } },
        ] },
        satisfaction,
        cost,
      }),
    },
  }
}

export function gradeOf(scheme: Scheme, score: number): { grade: string; grade_en: string } {
  const band = scheme.grades.find((g) => score >= g.min) ?? scheme.grades[scheme.grades.length - 1]!
  return { grade: band.grade, grade_en: band.grade_en }
}

const CATEGORIES = ['cost', 'efficiency', 'timeliness', 'satisfaction'] as const

/** An indicator's entry in a tier of the scheme: its category, the weights, the method, the minimum sample in force. */
export interface SchemeEntry {
  id: string
  category: Category
  /** the category's weight in the tier */
  category_weight: number
  /** the indicator's weight in its category */
  weight: number
  /** category weight × indicator weight: its share of the composite when everything is scored */
  scheme_weight: number
  method: ScoringMethod
  min_sample: number
}

/** Every indicator of a tier of the scheme, in the scheme's order. */
export function schemeEntries(scheme: Scheme, tier: number): SchemeEntry[] {
  const t = scheme.tiers[String(tier) as '1']
  if (!t) return []
  return (Object.entries(t) as Array<[Category, Scheme['tiers']['1']['cost']]>).flatMap(([category, c]) => c.indicators.map((i) => ({
    id: i.id, category, category_weight: c.weight, weight: i.weight, scheme_weight: c.weight * i.weight, method: i.method,
    min_sample: i.min_sample ?? scheme.min_sample,
  })))
}

/** The minimum sample of an indicator in a tier: its entry's own, else the scheme's default. */
export function minSampleOf(scheme: Scheme, tier: number, id: string): number {
  return schemeEntries(scheme, tier).find((e) => e.id === id)?.min_sample ?? scheme.min_sample
}

/** The steps of a stepped method, the most demanding first (the order a value is tried against them). */
export function orderedSteps(method: Extract<ScoringMethod, { kind: 'stepped' }>, higherIsBetter: boolean): Array<{ bound: number; score: number }> {
  return method.steps
    .map((s) => ({ bound: (higherIsBetter ? s.at_least : s.at_most) ?? (higherIsBetter ? -Infinity : Infinity), score: s.score }))
    .sort((a, b) => (higherIsBetter ? b.bound - a.bound : a.bound - b.bound))
}

/** Every problem with a scheme sent as data, each naming where it is; [] when it can be used. */
export function schemeProblems(value: unknown, knownIndicators: Set<string>): string[] {
  const problems: string[] = []
  const s = value as Partial<Scheme>
  if (typeof value !== 'object' || value === null) return ['the scheme must be a JSON object']
  if (!Number.isInteger(s.year) || s.year! < 2000 || s.year! > 2100) problems.push('year: expected a year such as 2025')
  if (typeof s.version !== 'string' || s.version === '') problems.push('version: expected a non-empty string such as "2025.2"')
  if (typeof s.name !== 'string' || s.name === '') problems.push('name: expected the scheme\'s title')
  if (!Number.isInteger(s.min_sample) || s.min_sample! < 1) problems.push('min_sample: expected a whole number of at least 1')
  const grades = s.grades
  if (!Array.isArray(grades) || grades.length === 0) problems.push('grades: expected a list of { grade, grade_en, min }, highest first')
  else {
    grades.forEach((g, i) => {
      if (typeof g?.grade !== 'string' || typeof g?.grade_en !== 'string' || typeof g?.min !== 'number') problems.push(`grades[${i}]: expected { grade, grade_en, min }`)
      else if (i > 0 && g.min >= grades[i - 1]!.min) problems.push(`grades[${i}]: the bands must go from the highest min down`)
    })
    if (grades[grades.length - 1]?.min !== 0) problems.push('grades: the last band must start at 0, so every score has a grade')
  }
  for (const tier of ['1', '2', '3'] as const) {
    const t = s.tiers?.[tier]
    if (typeof t !== 'object' || t === null) {
      problems.push(`tiers.${tier}: expected the categories ${CATEGORIES.join(', ')}`)
      continue
    }
    const unknownCategories = Object.keys(t).filter((c) => !(CATEGORIES as readonly string[]).includes(c))
    if (unknownCategories.length) problems.push(`tiers.${tier}: unknown categories ${unknownCategories.join(', ')}`)
    let total = 0
    const seen = new Set<string>()
    for (const c of CATEGORIES) {
      const cat = t[c]
      if (!cat) continue
      total += cat.weight
      if (!Array.isArray(cat.indicators) || cat.indicators.length === 0) {
        problems.push(`tiers.${tier}.${c}: expected at least one indicator`)
        continue
      }
      const sum = cat.indicators.reduce((acc, i) => acc + (typeof i.weight === 'number' ? i.weight : NaN), 0)
      if (!(Math.abs(sum - 1) < 1e-6)) problems.push(`tiers.${tier}.${c}: the indicator weights add up to ${sum}, expected 1`)
      cat.indicators.forEach((i, n) => {
        const at = `tiers.${tier}.${c}.indicators[${n}]`
        if (!knownIndicators.has(i.id)) problems.push(`${at}: ${JSON.stringify(i.id)} is not an indicator of the catalogue`)
        else if (seen.has(i.id)) problems.push(`${at}: ${JSON.stringify(i.id)} is in tier ${tier} twice`)
        seen.add(i.id)
        if (i.min_sample !== undefined && (!Number.isInteger(i.min_sample) || i.min_sample < 1)) problems.push(`${at}.min_sample: expected a whole number of at least 1, or leave it out for the scheme's min_sample`)
        const m = i.method as ScoringMethod | undefined
        const ind = INDICATOR_BY_ID.get(i.id)
        const higher = ind?.direction !== 'lower_is_better'
        if (!m || !['target', 'minmax', 'stepped', 'deduction'].includes(m.kind)) problems.push(`${at}.method: expected kind target, minmax, stepped or deduction`)
        else if (m.kind === 'stepped') problems.push(...stepProblems(m, higher, ind?.unit === 'ratio').map((p) => `${at}.method: ${p}`))
        else if (m.kind === 'deduction') {
          if (typeof m.per !== 'number' || typeof m.max !== 'number' || m.per < 0 || m.max < 0 || m.max > 100) problems.push(`${at}.method: deduction needs per ≥ 0 and max between 0 and 100`)
          if (ind && higher) problems.push(`${at}.method: deduction takes points off for each one counted, so it needs an indicator where lower is better; ${i.id} is higher-is-better`)
        }
      })
    }
    if (!(Math.abs(total - 1) < 1e-6)) problems.push(`tiers.${tier}: the category weights add up to ${total}, expected 1`)
  }
  return problems
}

/**
 * What is wrong with a stepped method: every step has the bound its indicator's direction reads
 * (`at_least` where higher is better, `at_most` where lower is) and a score of 0–100; the most
 * demanding step scores 100, so a value at or better than it loses nothing; no step scores more
 * than a more demanding one, so a better value never scores less; and for a rate the most
 * demanding bound is one a perfect record meets (at most 100 %, at least 0 %).
 */
function stepProblems(m: Extract<ScoringMethod, { kind: 'stepped' }>, higher: boolean, ratio: boolean): string[] {
  const bound = higher ? 'at_least' : 'at_most'
  if (!Array.isArray(m.steps) || m.steps.length === 0) return [`stepped needs steps of { ${bound}, score }`]
  const problems: string[] = []
  m.steps.forEach((x, k) => {
    if (typeof x?.score !== 'number' || x.score < 0 || x.score > 100) problems.push(`steps[${k}]: expected a score between 0 and 100`)
    if (typeof x?.[bound] !== 'number') problems.push(`steps[${k}]: expected ${bound} (the indicator is ${higher ? 'higher' : 'lower'}-is-better)`)
  })
  if (problems.length) return problems
  const ordered = orderedSteps(m, higher)
  if (ordered[0]!.score !== 100) problems.push(`the most demanding step (${bound} ${ordered[0]!.bound}) must score 100: a value that meets it loses no points`)
  if (ratio && (higher ? ordered[0]!.bound > 1 : ordered[0]!.bound < 0)) problems.push(`the most demanding step (${bound} ${ordered[0]!.bound}) is out of reach of a rate: a perfect record must meet it`)
  for (let k = 1; k < ordered.length; k++) {
    if (ordered[k]!.score > ordered[k - 1]!.score) problems.push(`the step ${bound} ${ordered[k]!.bound} scores more than the more demanding ${bound} ${ordered[k - 1]!.bound}: a better value would score less`)
  }
  return problems
}
