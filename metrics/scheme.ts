// The assessment scheme (考核方案) as data: per year and tier, the weight of each category and of
// each indicator in it, how each indicator is scored, and the grade bands. A scheme is versioned;
// the default is Dongcheng's. Schemes for later years are added as data, not code.
import type { Category } from './catalog.ts'

export type ScoringMethod =
  /** 100 × attainment of the unit's target (value ÷ target, or target ÷ value when lower is better), capped at 100. */
  | { kind: 'target' }
  /** 100 for the best unit of the tier, 0 for the worst, linear between. */
  | { kind: 'minmax' }
  /** The score of the first step whose bound the value meets (`at_least` for higher-is-better, `at_most` for lower). */
  | { kind: 'stepped'; steps: Array<{ at_least?: number; at_most?: number; score: number }> }
  /** 100 minus `per` points for each one counted (overdue cases, complaints), at most `max` points off. */
  | { kind: 'deduction'; per: number; max: number }

export interface SchemeIndicator {
  id: string
  weight: number
  method: ScoringMethod
}

export interface Scheme {
  year: number
  version: string
  name: string
  /** Highest band first; a score at or above `min` gets the grade. */
  grades: Array<{ grade: string; grade_en: string; min: number }>
  /** Fewer records than this (denominator) and a unit's rate is flagged as a small sample. */
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

const satisfaction = {
  weight: 0.35,
  indicators: [
    { id: 'satisfaction_rate', weight: 0.4, method: { kind: 'target' } },
    { id: 'bad_review_rectified_on_time_rate', weight: 0.3, method: { kind: 'stepped', steps: [{ at_least: 1, score: 100 }, { at_least: 0.9, score: 80 }, { at_least: 0.8, score: 60 }, { at_least: 0, score: 30 }] } },
    { id: 'complaints_per_10k', weight: 0.3, method: { kind: 'minmax' } },
  ],
} satisfies Scheme['tiers']['1']['satisfaction']

const cost = {
  weight: 0.1,
  indicators: [{ id: 'cost_per_case', weight: 1, method: { kind: 'minmax' } }],
} satisfies Scheme['tiers']['1']['cost']

/** Dongcheng's default scheme: the same shape for every tier, with what each tier is there for weighted up. */
export function dongchengScheme(year: number): Scheme {
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
      // stations: consultation and 代办, few cases of their own
      '3': {
        timeliness,
        efficiency: { weight: 0.2, indicators: [
          { id: 'first_time_right_rate', weight: 0.5, method: { kind: 'minmax' } },
          { id: 'online_rate', weight: 0.5, method: { kind: 'target' } },
        ] },
        satisfaction,
        cost,
      },
    },
  }
}

export function gradeOf(scheme: Scheme, score: number): { grade: string; grade_en: string } {
  const band = scheme.grades.find((g) => score >= g.min) ?? scheme.grades[scheme.grades.length - 1]!
  return { grade: band.grade, grade_en: band.grade_en }
}

const CATEGORIES = ['cost', 'efficiency', 'timeliness', 'satisfaction'] as const

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
        const m = i.method as ScoringMethod | undefined
        if (!m || !['target', 'minmax', 'stepped', 'deduction'].includes(m.kind)) problems.push(`${at}.method: expected kind target, minmax, stepped or deduction`)
        else if (m.kind === 'stepped' && (!Array.isArray(m.steps) || m.steps.length === 0 || m.steps.some((x) => typeof x.score !== 'number'))) problems.push(`${at}.method: stepped needs steps of { at_least or at_most, score }`)
        else if (m.kind === 'deduction' && (typeof m.per !== 'number' || typeof m.max !== 'number')) problems.push(`${at}.method: deduction needs per and max`)
      })
    }
    if (!(Math.abs(total - 1) < 1e-6)) problems.push(`tiers.${tier}: the category weights add up to ${total}, expected 1`)
  }
  return problems
}
