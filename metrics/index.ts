// metrics: the indicator catalogue, compiled to parameterised ClickHouse SQL, and its routes.
export { INDICATORS, INDICATOR_BY_ID, type Indicator, type CaseIndicator, type Category, type Direction } from './catalog.ts'
export { GROUPINGS, type Grouping } from './compile.ts'
export { MetricsService, UnknownMetricError, periodsOf, type MetricRequest, type MetricResult, type MetricRow } from './service.ts'
export { metricsRoutes } from './routes.ts'
