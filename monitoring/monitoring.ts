// The platform's own figures in the Prometheus text format (prom-client): requests by route and
// status with their latencies, ingest rows and refused bodies, the engine's query times, the
// derived state's backlog, the last backup, the calendar, sign-in failures. One registry per app.
import { createServer, type Server } from 'node:http'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { DEFAULT_READINESS, readiness, type ReadinessOptions } from './readiness.ts'
import { derivedBacklog, lastBackupAt, localDate, type Platform } from '../warehouse/index.ts'
import { ADMIN_ONLY, ANYONE } from '../auth/index.ts'

export interface MonitoringOptions {
  /** TIERSCOPE_METRICS_ADDR: `host:port` (or a port) of a listener that serves /metrics to anyone who can reach it. */
  metricsAddr?: string
  /** What readiness requires (free disk space). */
  readiness?: Partial<ReadinessOptions>
}

const INGEST_ROUTE = '/api/v1/ingest/:stream'
const REFERENCE_ROUTE = '/api/v1/reference/:kind'
const SIGN_IN_ROUTE = '/api/v1/session'
const METRICS_ROUTE = '/metrics'

/** Marks a client whose calls are timed already (Monitoring.instrumentEngine). */
const TIMED = Symbol('tierscope.timed')

export class Monitoring {
  readonly registry = new Registry()
  readonly requests = new Counter({ name: 'tierscope_http_requests_total', help: 'HTTP requests answered, by route pattern, method and status', labelNames: ['route', 'method', 'status'], registers: [this.registry] })
  readonly latency = new Histogram({
    name: 'tierscope_http_request_duration_seconds', help: 'Time from receiving a request to the end of its answer, by route pattern, method and status',
    labelNames: ['route', 'method', 'status'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120], registers: [this.registry],
  })
  readonly rows = new Counter({ name: 'tierscope_ingest_rows_total', help: 'Rows of ingest bodies stored with a receipt, by stream, source key name and outcome (received, accepted, duplicate, rejected)', labelNames: ['stream', 'source', 'outcome'], registers: [this.registry] })
  readonly refused = new Counter({ name: 'tierscope_ingest_bodies_refused_total', help: 'Ingest and reference bodies refused whole, by route (stream or reference kind) and reason (the error code of the answer)', labelNames: ['target', 'reason'], registers: [this.registry] })
  readonly engine = new Histogram({
    name: 'tierscope_engine_query_duration_seconds', help: 'Time the ClickHouse engine took per call of the client, by kind (query, command, insert, exec) and outcome',
    labelNames: ['kind', 'outcome'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120], registers: [this.registry],
  })
  readonly signInFailures = new Counter({ name: 'tierscope_sign_in_failures_total', help: 'Sign-ins refused, by reason (invalid_credentials, too_many_requests, sign_in_busy, …)', labelNames: ['reason'], registers: [this.registry] })

  constructor(private readonly platform: Platform) {
    collectDefaultMetrics({ register: this.registry, prefix: 'tierscope_process_' })
    const registers = [this.registry]
    // read at each scrape, before the registry renders (prom-client runs the metrics' own collect
    // functions in parallel, so one cannot set the others)
    const collectTime = new Gauge({ name: 'tierscope_scrape_collect_seconds', help: 'Time taken to read the warehouse-side figures of this scrape', registers })
    this.refresh = async () => {
      const started = performance.now()
      const { warehouse, calendar } = platform
      try {
        const backlog = await derivedBacklog(warehouse)
        backlogCases.set(backlog.cases)
        backlogBatches.set(backlog.batches)
        backlogLag.set(backlog.lag_seconds)
        const last = await lastBackupAt(warehouse)
        backupAge.reset()
        backupAt.reset()
        if (last !== undefined) {
          backupAge.set({ warehouse: warehouse.kind }, (Date.now() - last) / 1000)
          backupAt.set({ warehouse: warehouse.kind }, last / 1000)
        }
        up.set(1)
      } catch {
        up.set(0)
      }
      years.reset()
      const loaded = calendar.loadedYears()
      for (const y of loaded) years.set({ year: String(y) }, 1)
      const thisYear = Number(localDate(Date.now(), warehouse.timezone).slice(0, 4))
      nextProvisional.set(loaded.includes(thisYear + 1) ? 0 : 1)
      currentProvisional.set(loaded.includes(thisYear) ? 0 : 1)
      collectTime.set((performance.now() - started) / 1000)
    }
    const backlogCases = new Gauge({ name: 'tierscope_derived_backlog_cases', help: 'Cases stored whose derived state (the clock\'s facts, the daily aggregate) is not refreshed yet', registers })
    const backlogBatches = new Gauge({ name: 'tierscope_derived_backlog_batches', help: 'Ingest batches whose cases are not refreshed yet', registers })
    const backlogLag = new Gauge({ name: 'tierscope_derived_lag_seconds', help: 'Age of the oldest batch not refreshed yet (0 when none)', registers })
    // labelled (by the warehouse's kind) so that they are absent, not 0, while there was no backup
    const backupAge = new Gauge({ name: 'tierscope_backup_last_success_age_seconds', help: 'Seconds since the last backup that succeeded (absent when there was none)', labelNames: ['warehouse'], registers })
    const backupAt = new Gauge({ name: 'tierscope_backup_last_success_timestamp_seconds', help: 'When the last backup that succeeded was written, as a Unix time (absent when there was none)', labelNames: ['warehouse'], registers })
    const years = new Gauge({ name: 'tierscope_calendar_official_year', help: 'The years whose official State Council arrangement is loaded (1 each)', labelNames: ['year'], registers })
    const nextProvisional = new Gauge({ name: 'tierscope_calendar_next_year_provisional', help: '1 while next year\'s arrangement is not loaded (it is counted on the provisional calendar)', registers })
    const currentProvisional = new Gauge({ name: 'tierscope_calendar_current_year_provisional', help: '1 while this year\'s arrangement is not loaded', registers })
    const up = new Gauge({ name: 'tierscope_warehouse_up', help: '1 when the engine answered the scrape\'s queries', registers })
    this.instrumentEngine()
  }

  /** Reads the figures that live in the warehouse and the calendar. */
  private readonly refresh: () => Promise<void>

  /** The scrape: the Prometheus text of every figure, read now. */
  async render(): Promise<string> {
    await this.refresh()
    return this.registry.metrics()
  }

  /** Times every call the platform makes through the shared client. */
  private instrumentEngine(): void {
    const client = this.platform.warehouse.client as unknown as Record<string | symbol, unknown> & Record<string, (...args: unknown[]) => Promise<unknown>>
    // wrapped once per client: a later Monitoring (another app on the same platform) takes over the timing
    const timed = client[TIMED] as { current: Monitoring } | undefined
    if (timed) {
      timed.current = this
      return
    }
    const holder = { current: this as Monitoring }
    client[TIMED] = holder
    for (const kind of ['query', 'command', 'insert', 'exec'] as const) {
      const original = client[kind]!.bind(client)
      client[kind] = async (...args: unknown[]) => {
        const end = holder.current.engine.startTimer({ kind })
        try {
          const result = await original(...args)
          end({ outcome: 'ok' })
          return result
        } catch (err) {
          end({ outcome: 'error' })
          throw err
        }
      }
    }
  }

  /** The hooks that count requests; added on the root instance before the modules' routes. */
  install(app: FastifyInstance, options: MonitoringOptions): void {
    app.addHook('onSend', async (request, reply, payload) => {
      const route = request.routeOptions.url
      if (route === INGEST_ROUTE && request.method === 'POST') this.countIngest(request, reply, payload)
      else if (route === REFERENCE_ROUTE && reply.statusCode >= 400 && reply.statusCode !== 401 && reply.statusCode !== 403) this.refused.inc({ target: `reference:${(request.params as { kind?: string }).kind ?? ''}`, reason: errorCode(payload) })
      else if (route === SIGN_IN_ROUTE && request.method === 'POST' && reply.statusCode >= 400) this.signInFailures.inc({ reason: errorCode(payload) })
      return payload
    })
    app.addHook('onResponse', async (request, reply) => {
      const labels = { route: request.routeOptions.url ?? 'unmatched', method: request.method, status: String(reply.statusCode) }
      this.requests.inc(labels)
      this.latency.observe(labels, reply.elapsedTime / 1000)
    })
  }

  /**
   * GET /metrics and GET /api/v1/health/ready: registered after auth's guard (app.ts), which
   * checks the access each declares.
   */
  routes(app: FastifyInstance, options: MonitoringOptions): void {
    app.get(METRICS_ROUTE, { config: { access: { roles: ADMIN_ONLY } }, schema: { tags: ['system'], summary: 'The platform\'s figures in the Prometheus text format (admin key; or TIERSCOPE_METRICS_ADDR without one)' } }, async (_request, reply) => {
      return reply.type(this.registry.contentType).send(await this.render())
    })
    const ready = { ...DEFAULT_READINESS, ...options.readiness }
    app.get('/api/v1/health/ready', {
      config: { access: ANYONE },
      schema: { tags: ['system'], summary: 'Readiness: 200 when the server can serve and store; 503 while it starts (migrations, repairs) or when the warehouse cannot take writes, saying why', security: [] },
    }, async (_request, reply) => {
      const r = await readiness(this.platform, ready)
      return reply.code(r.ready ? 200 : 503).header('cache-control', 'no-store').send({ ...r, status: r.ready ? 'ready' : 'not_ready' })
    })
    if (options.metricsAddr) {
      const { host, port } = listenAddress(options.metricsAddr)
      let server: Server | undefined
      app.addHook('onReady', async () => {
        server = createServer((req, res) => {
          if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== METRICS_ROUTE) {
            res.writeHead(404, { 'content-type': 'text/plain' }).end('Only GET /metrics is served here.\n')
            return
          }
          this.render().then(
            (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
            (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${(err as Error).message}\n`),
          )
        })
        await new Promise<void>((resolve, reject) => {
          server!.once('error', (err) => reject(new Error(`TIERSCOPE_METRICS_ADDR ${options.metricsAddr}: cannot listen there (${(err as Error).message}).`)))
          server!.listen(port, host, () => resolve())
        })
        const addr = server.address()
        this.metricsPort = typeof addr === 'object' && addr ? addr.port : undefined
      })
      app.addHook('onClose', async () => {
        await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
      })
    }
  }

  /** The port the separate metrics listener took (after the app is ready). */
  metricsPort: number | undefined

  private countIngest(request: FastifyRequest, reply: FastifyReply, payload: unknown): void {
    const stream = (request.params as { stream?: string }).stream ?? ''
    if (reply.statusCode !== 200) {
      if (reply.statusCode !== 401) this.refused.inc({ target: stream, reason: errorCode(payload) })
      return
    }
    // (the caller auth's hook found: an ingest route declares who may call it)
    const source = request.principal?.name ?? 'unknown'
    const receipt = parsed(payload) as { received?: number; accepted?: number; duplicates?: number; rejected?: number } | undefined
    if (!receipt) return
    for (const [outcome, n] of [['received', receipt.received], ['accepted', receipt.accepted], ['duplicate', receipt.duplicates], ['rejected', receipt.rejected]] as const) {
      this.rows.inc({ stream, source, outcome }, Number(n ?? 0))
    }
  }
}

function parsed(payload: unknown): unknown {
  if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return undefined
  try {
    return JSON.parse(payload.toString())
  } catch {
    return undefined
  }
}

function errorCode(payload: unknown): string {
  const body = parsed(payload) as { error?: unknown } | undefined
  return typeof body?.error === 'string' ? body.error : 'unknown'
}

/** `host:port`, `[v6]:port` or a bare port (on 127.0.0.1). */
export function listenAddress(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+))?:?(\d+)$/.exec(value.trim())
  const port = m ? Number(m[3]) : NaN
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`TIERSCOPE_METRICS_ADDR must be host:port (e.g. 127.0.0.1:9464) or a port, got ${JSON.stringify(value)}`)
  return { host: m[1] ?? m[2] ?? '127.0.0.1', port }
}
