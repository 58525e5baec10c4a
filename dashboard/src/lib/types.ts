// The shapes of the API answers the dashboard reads (see /docs for the full OpenAPI).

/** Why an indicator was not scored for a unit (样本不足，不计分; nothing to count; no target for the target method). */
export type NotScoredReason = 'small_sample' | 'no_records' | 'no_target'

export interface AssessedIndicator {
  id: string; name: string; category: string; value: number | null; numerator: number; denominator: number | null
  scored_value: number | null; small_sample: boolean; target: number | null; score: number | null
  /** scored on the unit's actual value; false below the minimum sample (its weight spread over the scored ones) */
  scored: boolean; not_scored_reason: NotScoredReason | null
  /** what the indicator counts as its sample, against the scheme's minimum for it */
  sample: number | null; sample_of: string | null; min_sample: number | null
  /** the scheme's weight, and the weight after 按比例折算 (scheme_weight ÷ the unit's scored_scheme_weight; 0 when not scored) */
  scheme_weight: number; weight: number
  points: number; points_lost: number; explain: string | null
}

export interface AssessedCategory { score: number | null; rank: number | null; scheme_weight: number; weight: number; points: number }

export interface AssessedUnit {
  unit_id: string; name: string; tier: number
  /** Σ points; null when nothing was scored (未评定: no grade, no rank) */
  composite_score: number | null; grade: string | null; grade_en: string | null
  rank: number | null; scored_scheme_weight: number; categories: Record<string, AssessedCategory | undefined>; indicators: AssessedIndicator[]
  /** the part of the year it was in service, when it opened or closed in it (assessed on that part only) */
  in_service?: InService | null
}

export interface InService { from: string; to: string }

export interface TierAssessment {
  year: number; tier: number; scheme: { year: number; version: string; name: string; min_sample: number }; from: string; to: string; units: AssessedUnit[]
  /** a figure counted a day of a year with only a provisional calendar */
  calendar_provisional?: boolean
}

export interface MetricRow { key: string | number; value: number | null; numerator: number; denominator: number | null }
export interface MetricResult { metric: string; name: string; name_en: string; unit: string; direction: string; rows: MetricRow[]; calendar_provisional?: boolean }

export interface MetricDef {
  id: string; name: string; name_en: string; category: string; unit: string; direction: string; definition: string; definition_en: string
  /** How rankings judge the units on it (null: no intervals, no funnel). */
  funnel?: 'binomial' | 'poisson' | 'normal' | null
}

export interface CaseRow {
  case_id: string; unit_id: string; item_code: string | null; status: string; accepted_at: string | null; stopped_at: string | null
  due_at: string | null; limit_days: number | null; elapsed_days: number | null; suspended_days: number | null
  on_time: boolean | null; overdue: boolean; warning: boolean; days_over: number | null
  /** its working days counted a day of a year with only a provisional calendar */
  calendar_provisional?: boolean
}

export interface CaseEvent {
  event_id: string; type: string; occurred_at: string; unit_id: string; item_code: string | null; channel: string | null
  due_at: string | null; to_unit_id: string | null; staff_id: string | null; applicant_type: string | null; attrs: Record<string, unknown> | null
}

/** The units below a unit (a street hall's stations), summed apart: never in the unit's own figures. */
export interface BelowUnits { unit_ids: string[]; units: number; label: string; label_en: string }

export interface TargetRow {
  metric: string; name: string; direction: string; target: number; target_scope: string
  /** a count's target as set for the whole year, when `target` is the in-service part's share of it */
  target_full_year?: number | null
  /** the unit's own records (counts: 'own') */
  value: number | null; numerator: number; denominator: number | null; attainment: number | null; on_track: boolean | null
  projection: number | null; projected_to_meet: boolean | null
  projection_basis: 'as_is' | 'pace' | 'stock' | 'pace_and_stock'; projection_note: string; projection_note_en: string
  in_scheme: boolean; sample: number | null; min_sample: number | null; below_min_sample: boolean | null
  /** the units below it, summed, separately */
  below: { value: number | null; numerator: number; denominator: number | null } | null
}

export interface TrendMetric {
  metric: string; name: string; name_en: string; unit: string; direction: string; target: number | null; target_scope: string | null
  values: Array<{ month: string; value: number | null; numerator: number; denominator: number | null }>
  tier_median: Array<number | null>
  /** the units below it, summed, month by month (not in `values`) */
  below: { values: Array<{ month: string; value: number | null; numerator: number; denominator: number | null }> } | null
}

/** GET /api/v1/targets */
export interface TargetsAnswer { rows: TargetRow[]; counts?: 'own'; in_service?: InService | null; below?: BelowUnits | null; calendar_provisional?: boolean }
/** GET /api/v1/trend */
export interface TrendAnswer { metrics: TrendMetric[]; counts?: 'own'; below?: BelowUnits | null; calendar_provisional?: boolean }

export interface Scheme { grades: Array<{ grade: string; grade_en: string; min: number }>; min_sample: number }

/** GET /api/v1/rankings/{id}: one indicator ranked within a tier, with intervals and the funnel. */
export interface Ranking {
  metric: string; name: string; unit: string; direction: string; year: number; tier: number; from: string; to: string
  calendar_provisional?: boolean
  funnel: { method: 'binomial' | 'poisson' | 'normal'; target: number; sd?: number; curve: Array<{ n: number; lower95: number; upper95: number; lower998: number; upper998: number }> } | null
  rows: Array<{
    unit_id: string; name: string; value: number | null; numerator: number; denominator: number | null
    interval: { lower: number; upper: number } | null; rank: number | null; rank_range: { best: number; worst: number } | null
    funnel_mark: 'within' | 'above' | 'below' | 'far_above' | 'far_below' | null
    sample?: number | null; small_sample?: boolean
  }>
}

/** GET /api/v1/complaints: a complaint with its steps, their limits and its links. */
export interface ComplaintRow {
  complaint_id: string; unit_id: string; source: string | null; category: string | null
  received_at: string; responded_at: string | null; response_deadline: string; response_limit_passed: boolean; responded_in_time: boolean
  resolved_at: string | null; deadline: string; limit_passed: boolean; resolved_in_time: boolean; substantiated: boolean | null
  rating: number | null; case_id: string | null; evaluation_id: string | null
}
