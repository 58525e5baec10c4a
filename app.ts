// The one process: API and dashboard, assembled from each module's routes. Fastify plugins keep
// each module's content-type parsers and hooks to itself (encapsulation).
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import cookie from '@fastify/cookie'
import { HttpError, sendError, warehouseRoutes, type Platform } from './warehouse/index.ts'
import { IngestService, ingestRoutes } from './ingest/index.ts'
import { AssessmentService, assessmentRoutes, MetricsService, metricsRoutes, recordRoutes } from './metrics/index.ts'
import { dashboardRoutes } from './dashboard/index.ts'
import { reportRoutes } from './reports/index.ts'

export interface AppOptions {
  /** Largest request body, in bytes (also after gzip decompression). */
  bodyLimit?: number
  /** Log level; internal errors are always logged. */
  logLevel?: 'error' | 'warn' | 'info' | 'debug'
}

export async function buildApp(platform: Platform, options: AppOptions = {}): Promise<{ app: FastifyInstance; ingest: IngestService; metrics: MetricsService }> {
  const bodyLimit = options.bodyLimit ?? 256 * 1024 * 1024
  const app = Fastify({ logger: { level: options.logLevel ?? 'warn' }, bodyLimit })
  const ingest = new IngestService(platform)
  const metrics = new MetricsService(platform)

  app.setErrorHandler((err: FastifyError | HttpError, request, reply) => {
    if (err instanceof HttpError) return sendError(reply, err)
    const fe = err as FastifyError
    if (fe.validation) return reply.code(400).send({ error: 'invalid_parameter', message: `${fe.validationContext ?? 'request'} ${fe.message.replace(/^(querystring|body|params)\/?/, '')}`.trim() })
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send({ error: 'body_too_large', message: `The body is larger than ${bodyLimit} bytes; split it into smaller batches.` })
    if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return reply.code(415).send({ error: 'unsupported_media_type', message: fe.message })
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) return reply.code(fe.statusCode).send({ error: fe.code ?? 'bad_request', message: fe.message })
    request.log.error(err)
    return reply.code(500).send({ error: 'internal_error', message: 'Something went wrong on our side; the request can be retried. The server log has the details.' })
  })
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: 'not_found', message: `No route ${request.method} ${request.url.split('?')[0]}.` }))

  // The API described from its route schemas: /api/v1/openapi.json, browsable at /docs.
  await app.register(swagger, {
    openapi: {
      info: { title: 'tierscope API', version: '1', description: 'Ingest, cases and indicators of a district\'s three-tier government service system.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'an API key (POST /api/v1/keys)' } } },
      security: [{ bearer: [] }],
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger())

  // sessions of the dashboard: signed cookies (the secret is the warehouse's, see warehouse/users.ts)
  await app.register(cookie, { secret: platform.users.secret })
  await app.register(warehouseRoutes, { platform })
  await app.register(ingestRoutes, { platform, service: ingest, bodyLimit })
  const assessment = new AssessmentService(platform, metrics)
  await app.register(metricsRoutes, { platform, metrics, assessment })
  await app.register(assessmentRoutes, { platform, assessment })
  await app.register(recordRoutes, { platform })
  await app.register(reportRoutes, { platform, assessment })
  await app.register(dashboardRoutes, { platform })
  return { app, ingest, metrics }
}
