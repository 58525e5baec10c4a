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
