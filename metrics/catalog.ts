// The indicator catalogue: each indicator declared once. The compiler (compile.ts) turns a
// declaration plus (period, scope, by, as_of) into one parameterised ClickHouse query.

export type Category = 'cost' | 'efficiency' | 'timeliness' | 'satisfaction'
export type Direction = 'higher_is_better' | 'lower_is_better'

/** Aggregates over the case clock relation (warehouse caseClockSql), one row per case. */
export interface CaseIndicator {
  id: string
  name: { zh: string; en: string }
  category: Category
  unit: 'ratio' | 'cases' | 'working_days'
  direction: Direction
  tiers: number[]
  source: 'stopped_cases'
  /** SQL aggregate of the numerator over the cases stopped in the period. */
  numerator: string
  /** SQL aggregate of the denominator; null for a count. */
  denominator: string | null
  /**
   * Open cases judged at the end of each period are added to the numerator (overdue counts):
   * the condition they must meet then.
   */
  openAtPeriodEnd?: string
  definition: { zh: string; en: string }
}

export type Indicator = CaseIndicator

export const INDICATORS: Indicator[] = [
  {
    id: 'on_time_rate',
    name: { zh: '按时办结率', en: 'On-time completion rate' },
    category: 'timeliness',
    unit: 'ratio',
    direction: 'higher_is_better',
    tiers: [1, 2, 3],
    source: 'stopped_cases',
    numerator: `countIf(on_time = true)`,
    denominator: `countIf(on_time IS NOT NULL)`,
    definition: {
      zh: '办结（或不予许可/退件）的办件中按时的件数 ÷ 有时限判定的办结件数。按办结日期计入期间；撤回件不计。',
      en: 'Stopped cases (completed or rejected) that were on time ÷ stopped cases with an on-time verdict. A case counts in the period of its stop date; withdrawn cases are left out.',
    },
  },
  {
    id: 'overdue_cases',
    name: { zh: '超期件数', en: 'Overdue cases' },
    category: 'timeliness',
    unit: 'cases',
    direction: 'lower_is_better',
    tiers: [1, 2, 3],
    source: 'stopped_cases',
    numerator: `countIf(on_time = false)`,
    denominator: null,
    openAtPeriodEnd: `status = 'open' AND overdue`,
    definition: {
      zh: '期间内办结但超期的件数，加上期末仍在办且已超期的件数（按期末时点判定）。',
      en: 'Cases stopped in the period that were late, plus cases still open and overdue at the end of the period (judged at that moment).',
    },
  },
]

export const INDICATOR_BY_ID = new Map(INDICATORS.map((i) => [i.id, i]))
