// metrics: the indicator catalogue, compiled to parameterised ClickHouse SQL, and its routes.
export { INDICATORS, INDICATOR_BY_ID, periodRule, type Indicator, type Part, type Category, type Direction } from './catalog.ts'
export { GROUPINGS, type Grouping } from './compile.ts'
export { SOURCES, type SourceId } from './sources.ts'
export { MetricsService, UnknownMetricError, UnsupportedGroupingError, periodsOf, type MetricRequest, type MetricResult, type MetricRow } from './service.ts'
export { metricsRoutes } from './routes.ts'
export { AssessmentService, wilsonBound, rankWithTies, scoreValue, resolveTarget, type TierAssessment, type AssessedUnit, type AssessedIndicator } from './assessment.ts'
export { dongchengScheme, gradeOf, schemeProblems, type Scheme, type ScoringMethod } from './scheme.ts'
export { assessmentRoutes, indicatorDocument } from './assessment-routes.ts'
