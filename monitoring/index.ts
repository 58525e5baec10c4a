// monitoring: the platform's own figures for Prometheus (GET /metrics), and readiness.
export { Monitoring, listenAddress, type MonitoringOptions } from './monitoring.ts'
export { readiness, DEFAULT_READINESS, type Readiness, type ReadinessOptions } from './readiness.ts'
export { startingServer, type StartingServer } from './starting.ts'
export { installRequestLog, newRequestId, acceptableRequestId, REQUEST_ID_HEADER } from './request-log.ts'
