// The sample of each indicator: how many records a unit's figure is taken over, which the
// scheme's minimum sample is compared with (below it the indicator is not scored for the unit:
// 样本不足，不计分). For a rate it is its denominator (cases, ratings, bad ratings, complaints,
// tickets); for a count or an average, the records it is taken over. Where the denominator is no
// count of records (days, yuan, staff), or is the failures themselves, the sample is a count of
// its own, asked in the same query as the indicators (each source is still read once: the parts
// below are the catalogue's own where they can be).
import { INDICATOR_BY_ID, type Indicator, type Part } from './catalog.ts'
import type { MetricRow } from './service.ts'

export interface SampleSpec {
  /** What the sample counts, in words (the reports print it). */
  text: { zh: string; en: string }
  /** An indicator (not in the catalogue) whose value is the sample; absent: the indicator's own denominator. */
  indicator?: Indicator
  /**
   * The value the unit is scored on when its sample is there but the records the indicator is
   * an average over are none (no late case at all: 0 working days overdue). Without it, a
   * figure without a value is not scored.
   */
  none?: number
  /**
   * A unit whose numerator is 0 has no records of it (no cost in the ledger: the costs were not
   * reported, they were not nothing): not scored, as for no records.
   */
  needsNumerator?: boolean
}

const from = (id: string, which: 'numerator' | 'denominator'): Part => {
  const p = INDICATOR_BY_ID.get(id)?.[which]
  if (!p) throw new Error(`samples: ${id} has no ${which}`)
  return p
}

// the catalogue's own parts (so a sample adds no aggregate where an indicator already has it)
const casesJudged = from('on_time_rate', 'denominator')
const casesStopped = from('first_time_right_rate', 'denominator')
const casesCompleted = from('cost_per_case', 'denominator')
// and two counts no indicator has
const casesOpen: Part = { source: 'open_cases', sql: 'count()', text: { zh: '期末在办件数', en: 'cases open at the end of the period' } }
const ledgerEntries: Part = { source: 'costs', sql: 'count()', text: { zh: '成本台账条目数', en: 'cost ledger entries' } }

function count(id: string, numerator: Part, plusOpenAtEnd?: Part): Indicator {
  const base = INDICATOR_BY_ID.get(id)!
  const text = plusOpenAtEnd ? { zh: `${numerator.text.zh}＋${plusOpenAtEnd.text.zh}`, en: `${numerator.text.en} plus ${plusOpenAtEnd.text.en}` } : numerator.text
  return {
    id: `sample:${id}`, name: { zh: `${base.name.zh}的样本`, en: `sample of ${base.name.en}` }, category: base.category, unit: 'cases', direction: base.direction, tiers: base.tiers,
    numerator, denominator: null, ...(plusOpenAtEnd ? { plusOpenAtEnd } : {}), definition: text,
  }
}

function spec(indicator: Indicator, none?: number): SampleSpec {
  return { text: indicator.definition, indicator, ...(none === undefined ? {} : { none }) }
}

/** Indicators whose sample is not their denominator. */
const SPECIAL: Record<string, SampleSpec> = {
  // counts of overdue cases: over the cases the unit had to finish in time (stopped in the period with a verdict, open at its end)
  overdue_open: spec(count('overdue_open', casesJudged, casesOpen)),
  overdue_cases: spec(count('overdue_cases', casesJudged, casesOpen)),
  // an average over the late cases: judged on the cases that could have been late, and none late is 0 days over
  avg_overdue_days: spec(count('avg_overdue_days', casesJudged), 0),
  // denominators of working days summed, of staff, of yuan
  promise_compression_rate: spec(count('promise_compression_rate', casesStopped)),
  actual_speedup_rate: spec(count('actual_speedup_rate', casesStopped)),
  cases_per_staff: spec(count('cases_per_staff', casesCompleted)),
  purchased_service_share: spec(count('purchased_service_share', ledgerEntries)),
  // over the completed cases, and only where the ledger has the unit's costs
  cost_per_case: { text: { zh: `${casesCompleted.text.zh}（须有成本台账）`, en: `${casesCompleted.text.en} (with costs in the ledger)` }, needsNumerator: true },
}

/** The sample of an indicator: what it counts, and how it is asked. */
export function sampleOf(ind: Indicator): SampleSpec {
  return SPECIAL[ind.id] ?? { text: ind.denominator?.text ?? ind.numerator.text }
}

/** Whether an indicator's denominator counts its records (cases, ratings, tickets), not days, yuan or staff. */
export function denominatorCountsRecords(id: string | undefined): boolean {
  return !(id !== undefined && SPECIAL[id]?.indicator)
}

/** A unit's sample for an indicator, from its own row and (where the sample is asked apart) the sample's row. */
export function sampleSize(spec: SampleSpec, row: MetricRow | undefined, sampleRow: MetricRow | undefined): number {
  if (spec.indicator) return sampleRow?.value ?? 0
  return row?.denominator ?? 0
}
