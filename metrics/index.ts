// metrics: the indicator catalogue, compiled to parameterised ClickHouse SQL, and its routes.
export { INDICATORS, INDICATOR_BY_ID, periodRule, type Indicator, type Part, type Category, type Direction } from './catalog.ts'
export { GROUPINGS, type Grouping } from './compile.ts'
export { limitParams, SOURCES, type SourceId } from './sources.ts'
export { MetricsService, UnknownMetricError, UnsupportedGroupingError, periodsOf, type MetricRequest, type MetricResult, type MetricRow } from './service.ts'
export { metricsRoutes } from './routes.ts'
export { recordRoutes } from './record-routes.ts'
export {
  AssessmentService, wilsonBound, rankWithTies, scoreValue, resolveTarget, spreadWeights, judgeSample, projectYearEnd, projectionBasis, NOT_SCORED_ZH,
  type TierAssessment, type AssessedUnit, type AssessedIndicator, type CategoryResult, type NotScoredReason, type ProjectionBasis,
} from './assessment.ts'
export { dongchengScheme, gradeOf, schemeProblems, schemeEntries, minSampleOf, orderedSteps, type Scheme, type SchemeEntry, type SchemeIndicator, type ScoringMethod } from './scheme.ts'
export { sampleOf, type SampleSpec } from './samples.ts'
export { assessmentRoutes, indicatorDocument } from './assessment-routes.ts'
export { unitTrend, median, type UnitTrend, type TrendMetric, type TrendValue } from './trend.ts'
