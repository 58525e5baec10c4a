// monitoring: the platform's own figures for Prometheus (GET /metrics), and readiness.
export { Monitoring, listenAddress, type MonitoringOptions } from './monitoring.ts'
