// The one process: API and dashboard, assembled from each module's routes. Fastify plugins keep
// each module's content-type parsers and hooks to itself (encapsulation).
//
// What every request meets before a module sees it (README.md "Security", dashboard/README.md "CSP"):
// @fastify/helmet's headers; @fastify/under-pressure shedding load (503) while the event loop is
// blocked or memory is nearly gone; a write with the session cookie from a foreign page refused
// (403); the caller's credentials checked before the body of any write is read (401); JSON bodies
// of 64 KB at most outside ingest and reference data (413); sign-in limited per address by
// @fastify/rate-limit (429) and throttled per account and address (auth/users.ts). Who may call
// each route is declared in its config.access and checked by auth's one hook (auth/access.ts);
// audited routes leave a row in the audit log (auth/audit.ts).
import { totalmem } from 'node:os'
import { getHeapStatistics } from 'node:v8'
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import cookie from '@fastify/cookie'
import helmet from '@fastify/helmet'
import rateLimit from '@fastify/rate-limit'
import underPressure from '@fastify/under-pressure'
import { backupRoutes, DerivedStateError, HttpError, sendError, warehouseRoutes, type Platform } from './warehouse/index.ts'
import { ANYONE, authRoutes, guardRoutes, SWEEP_MS } from './auth/index.ts'
import { IngestService, ingestRoutes } from './ingest/index.ts'
import { AssessmentService, assessmentRoutes, MetricsService, metricsRoutes, recordRoutes } from './metrics/index.ts'
import { dashboardRoutes } from './dashboard/index.ts'
import { reportRoutes } from './reports/index.ts'
import { acceptableRequestId, installRequestLog, Monitoring, newRequestId, REQUEST_ID_HEADER, type ReadinessOptions } from './monitoring/index.ts'

/** The largest body of a JSON route that is not ingest or reference data. */
export const JSON_BODY_LIMIT = 64 * 1024

/** Routes whose bodies are data of any size (they stream or have their own limit). */
const LARGE_BODY_PREFIXES = ['/api/v1/ingest/', '/api/v1/reference/']

/** Documents rendered on the server (reports, the indicator definitions): inline <style>, inline SVG, no script. */
const DOCUMENT_PREFIXES = ['/reports/', '/indicators']

/** The health route: answered while the server sheds load (see `pressure` below). */
const HEALTH = '/api/v1/health'

export interface AppOptions {
  /** Largest request body of ingest and reference data, in bytes (also after gzip decompression). */
  bodyLimit?: number
  /** Log level; internal errors are always logged. */
  logLevel?: 'error' | 'warn' | 'info' | 'debug'
  /** Where the log goes (standard output by default). */
  logStream?: NodeJS.WritableStream
  /** TIERSCOPE_PUBLIC_URL's origin: the platform's own for cross-site checks; https makes cookies Secure. */
  publicUrl?: string
  /** TIERSCOPE_TRUST_PROXY, as fastify's `trustProxy`. */
  trustProxy?: boolean | number | string[]
  /** Socket timeouts, in ms. */
  timeouts?: Partial<Timeouts>
  /** When load is shed (@fastify/under-pressure); 0 turns a check off. */
  pressure?: Partial<Pressure>
  /** TIERSCOPE_BACKUP_DIR: where POST /api/v1/backups may write. */
  backupDir?: string
  /** TIERSCOPE_METRICS_ADDR: a separate listener for GET /metrics without a key. */
  metricsAddr?: string
  /** What GET /api/v1/health/ready requires. */
  readiness?: Partial<ReadinessOptions>
}

export interface Timeouts {
  /** The whole request, headers and body, must arrive within this (a 100,000-row body over a slow link). */
  requestMs: number
  /** The headers must arrive within this: a connection that sends nothing is closed. */
  headersMs: number
  /** A socket with no traffic either way for this long is closed (a stalled upload, a vanished client). */
  connectionMs: number
  /** An idle keep-alive connection is kept this long (longer than the usual proxy's 60 s). */
  keepAliveMs: number
}

export const DEFAULT_TIMEOUTS: Timeouts = { requestMs: 5 * 60_000, headersMs: 30_000, connectionMs: 2 * 60_000, keepAliveMs: 72_000 }

export interface Pressure {
  /** Mean event-loop delay over a sample, in ms. */
  maxEventLoopDelay: number
  /** JavaScript heap in use, in bytes (the engine's memory is not in it). */
  maxHeapUsedBytes: number
  /** Resident memory of the whole process, the embedded engine's included, in bytes. */
  maxRssBytes: number
  /** How often the figures are sampled, in ms. */
  sampleInterval: number
  /** Retry-After of a shed request, in seconds. */
  retryAfter: number
}

function defaultPressure(): Pressure {
  const constrained = (process as { constrainedMemory?: () => number }).constrainedMemory?.() ?? 0
  const memory = constrained > 0 ? Math.min(constrained, totalmem()) : totalmem()
  return {
    maxEventLoopDelay: 1000,
    maxHeapUsedBytes: Math.floor(getHeapStatistics().heap_size_limit * 0.9),
    maxRssBytes: Math.floor(memory * 0.95),
    sampleInterval: 1000,
    retryAfter: 10,
  }
}

export async function buildApp(platform: Platform, options: AppOptions = {}): Promise<{ app: FastifyInstance; ingest: IngestService; metrics: MetricsService; monitoring: Monitoring }> {
  const bodyLimit = options.bodyLimit ?? 256 * 1024 * 1024
  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts }
  const app = Fastify({
    logger: { level: options.logLevel ?? 'warn', redact: ['req.headers.authorization', 'req.headers.cookie'], ...(options.logStream ? { stream: options.logStream } : {}) },
    // one access line per request, with its caller and route (monitoring/request-log.ts); the id a
    // trusted proxy sends in X-Request-ID (nginx's $request_id), else a new UUID
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: (req) => {
      const given = req.headers[REQUEST_ID_HEADER]
      return options.trustProxy && acceptableRequestId(given) ? given : newRequestId()
    },
    bodyLimit,
    // a number of hops is accepted at run time (proxy-addr), though fastify's types leave it out
    trustProxy: (options.trustProxy ?? false) as boolean | string | string[],
    requestTimeout: timeouts.requestMs,
    connectionTimeout: timeouts.connectionMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    http: {
      headersTimeout: Math.min(timeouts.headersMs, timeouts.requestMs),
      // how often Node looks for connections past the headers and request timeouts
      connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(timeouts.headersMs / 2))),
    },
  })
  app.decorate('publicOrigin', options.publicUrl)
  const ingest = new IngestService(platform)
  const metrics = new MetricsService(platform)
  // the hooks that count every request (monitoring/README.md); its routes come after auth's guard
  const monitoring = new Monitoring(platform)
  monitoring.install(app, { metricsAddr: options.metricsAddr, readiness: options.readiness })
  installRequestLog(app, platform)

  app.setErrorHandler((err: FastifyError | HttpError, request, reply) => {
    if (err instanceof HttpError) return sendError(reply, err)
    if (err instanceof DerivedStateError) {
      request.log.error({ err: err.cause }, `request ${request.id}: ${err.message}`)
      return reply.code(503).header('retry-after', '5').send({ error: err.code, message: err.message, request_id: request.id })
    }
    const fe = err as FastifyError
    if (fe.validation) return reply.code(400).send({ error: 'invalid_parameter', message: `${fe.validationContext ?? 'request'} ${fe.message.replace(/^(querystring|body|params)\/?/, '')}`.trim() })
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const limit = request.routeOptions.bodyLimit ?? bodyLimit
      return reply.code(413).send({
        error: 'body_too_large',
        message: limit < bodyLimit
          ? `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]} takes a body of at most ${Math.round(limit / 1024)} KB, and this one is larger. Records go to POST /api/v1/ingest/{stream} and reference data to PUT /api/v1/reference/{kind}, which take large bodies.`
          : `The body is larger than ${limit} bytes; split it into smaller batches.`,
      })
    }
    if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return reply.code(415).send({ error: 'unsupported_media_type', message: fe.message })
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) return reply.code(fe.statusCode).send({ error: fe.code ?? 'bad_request', message: fe.message })
    // the engine's text goes to the log under the request id, never to the client
    request.log.error({ err }, `request ${request.id} failed: ${err.message.split('\n')[0]}`)
    return reply.code(500).send({ error: 'internal_error', message: `Something went wrong on our side; the request can be retried. The server log has the details under request ${request.id}.`, request_id: request.id })
  })
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: 'not_found', message: `No route ${request.method} ${request.url.split('?')[0]}.` }))

  // Security headers on every answer. The global policy is the API's: a JSON answer opened as a
  // page may load nothing and be framed by nothing. Pages have their own (a route's config.helmet):
  // the dashboard's (dashboard/index.ts), the server-rendered documents' (below), /docs' (staticCSP).
  const publicHttps = options.publicUrl?.startsWith('https:') ?? false
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { 'default-src': ["'none'"], 'base-uri': ["'none'"], 'form-action': ["'none'"], 'frame-ancestors': ["'none'"] },
    },
    frameguard: { action: 'deny' },
    // over plain HTTP browsers ignore it; not for sibling hosts of the district's domain
    strictTransportSecurity: { maxAge: 180 * 24 * 3600, includeSubDomains: false },
    // the reports are downloaded and framed by the dashboard, both same-origin
    crossOriginResourcePolicy: { policy: 'same-origin' },
  })
  const documentHelmet = {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'none'"], 'style-src': ["'unsafe-inline'"], 'img-src': ["'self'", 'data:'], 'font-src': ["'self'", 'data:'],
        'base-uri': ["'none'"], 'form-action': ["'none'"],
        // the dashboard's /reports page shows the published report in an <iframe>
        'frame-ancestors': ["'self'"],
      },
    },
    frameguard: { action: 'sameorigin' as const },
  }

  // Shedding load: while the event loop is blocked too long or memory is nearly gone, new requests
  // are answered 503 with Retry-After at once, and the log says so (at most every 10 s, with how
  // many were shed). Health is exempt: it is how an operator or a monitor tells an overloaded
  // server (answers, with x-tierscope-pressure) from a dead one, and it costs a SELECT 1.
  const pressure = { ...defaultPressure(), ...options.pressure }
  let shed = 0
  let lastShedLog = 0
  await app.register(underPressure, {
    maxEventLoopDelay: pressure.maxEventLoopDelay,
    maxHeapUsedBytes: pressure.maxHeapUsedBytes,
    maxRssBytes: pressure.maxRssBytes,
    sampleInterval: pressure.sampleInterval,
    retryAfter: pressure.retryAfter,
    // a value returned is sent as the answer (the types say void; index.js sends it)
    pressureHandler: ((request: FastifyRequest, reply: FastifyReply, type: string, value: number | undefined) => {
      if (request.routeOptions.url === HEALTH) {
        reply.header('x-tierscope-pressure', type)
        return undefined // answered as usual
      }
      shed += 1
      const now = Date.now()
      if (now - lastShedLog >= 10_000) {
        request.log.warn({ pressure: type, value, limit: limitOf(pressure, type), shed }, `shedding load (${type} ${Math.round(value ?? 0)} over ${limitOf(pressure, type)}): ${shed} request(s) answered 503 since the last such line`)
        lastShedLog = now
        shed = 0
      }
      reply.code(503).header('retry-after', String(pressure.retryAfter))
      return { error: 'overloaded', message: `The server is overloaded (${type}); try again in ${pressure.retryAfter} s.` }
    }) as unknown as (request: FastifyRequest, reply: FastifyReply, type: string, value: number | undefined) => void,
  })

  // Per-address limits, applied by routes that ask for them (config.rateLimit): sign-in.
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) =>
      new HttpError(context.statusCode, 'too_many_requests', `Too many sign-in attempts from your address; try again in ${context.after}.`, { retry_after: Math.ceil(context.ttl / 1000) }),
    onExceeded: (request) => request.log.info({ ip: request.ip, url: request.url }, 'rate limit exceeded'),
  })

  // Writes with the session cookie only from the platform's own pages; then, route by route,
  // the caller's credentials before the body, and the size of JSON bodies. (An embedded
  // warehouse is held by this process alone, its lock file says so: no other process's keys or
  // sessions to sweep for, and no two reads every 2 s queued between the users' queries.)
  guardRoutes(app, platform, platform.warehouse.kind === 'embedded' ? 0 : SWEEP_MS)
  app.addHook('onRoute', (route) => {
    const url = route.url ?? route.path
    if (route.bodyLimit === undefined && !LARGE_BODY_PREFIXES.some((p) => url.startsWith(p))) route.bodyLimit = JSON_BODY_LIMIT
    if (DOCUMENT_PREFIXES.some((p) => url.startsWith(p))) route.config = { ...(route.config ?? {}), helmet: documentHelmet } as typeof route.config
  })

  // The API described from its route schemas: /api/v1/openapi.json, browsable at /docs.
  await app.register(swagger, {
    openapi: {
      info: { title: 'tierscope API', version: '1', description: 'Ingest, cases and indicators of a district\'s three-tier government service system.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'an API key (POST /api/v1/keys)' } } },
      security: [{ bearer: [] }],
    },
  })
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    // swagger-ui's page loads its script files from /docs/static (no inline script) but inserts
    // <style> elements as it renders; this policy replaces the global one on its routes (it is
    // set after helmet's, in onSend)
    staticCSP: {
      'default-src': ["'self'"], 'script-src': ["'self'"], 'script-src-attr': ["'none'"], 'style-src': ["'self'", "'unsafe-inline'"],
      'img-src': ["'self'", 'data:'], 'font-src': ["'self'", 'data:'], 'connect-src': ["'self'"], 'object-src': ["'none'"],
      'base-uri': ["'self'"], 'form-action': ["'self'"], 'frame-ancestors': ["'none'"],
      ...(publicHttps ? { 'upgrade-insecure-requests': [] } : {}),
    },
  })
  app.get('/api/v1/openapi.json', { config: { access: ANYONE }, schema: { hide: true } }, async () => app.swagger())

  // sessions of the dashboard: signed cookies (the secret is kept in the warehouse, see auth/users.ts)
  await app.register(cookie, { secret: platform.users.secret })
  await app.register(authRoutes, { platform })
  await app.register(warehouseRoutes, { platform })
  await app.register(ingestRoutes, { platform, service: ingest, bodyLimit })
  const assessment = new AssessmentService(platform, metrics)
  await app.register(metricsRoutes, { platform, metrics, assessment })
  await app.register(assessmentRoutes, { platform, assessment })
  await app.register(recordRoutes, { platform })
  await app.register(reportRoutes, { platform, assessment })
  await app.register(dashboardRoutes, { platform })
  await app.register(backupRoutes, { platform, backupDir: options.backupDir })
  monitoring.routes(app, { metricsAddr: options.metricsAddr, readiness: options.readiness })
  return { app, ingest, metrics, monitoring }
}

function limitOf(p: Pressure, type: string): number | undefined {
  return type === 'eventLoopDelay' ? p.maxEventLoopDelay : type === 'heapUsedBytes' ? p.maxHeapUsedBytes : type === 'rssBytes' ? p.maxRssBytes : undefined
}
