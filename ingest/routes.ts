// HTTP surface of ingest: POST /api/v1/ingest/{stream} and PUT /api/v1/reference/{kind}.
import { randomUUID } from 'node:crypto'
import { gunzip } from 'node:zlib'
import { promisify } from 'node:util'
import type { Readable } from 'node:stream'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { ADMIN_ONLY, ANYONE, ROLES } from '../auth/index.ts'
import { HttpError, localDate, PartialYearError, type Platform } from '../warehouse/index.ts'
import { isStreamName, STREAMS } from './contract.ts'
import { applyReference, parseReferenceBody, REFERENCE_KINDS, REFERENCE_SPECS, type ReferenceKind } from './reference.ts'
import { ArrangementMissingError, calendarInputOf, IncompleteArrangementError, loadCalendar } from './calendar.ts'
import { NoticeApplyError, NoticeReadError } from './holiday-notice.ts'
import type { RowError } from './validate.ts'
import { IngestService, ScopeError, WarehouseUnavailableError } from './service.ts'
import { BodyFormatError, MEDIA_TYPES, TooManyRowsError } from './sources.ts'
import { BodyTooLargeError, spool, UnreadableBodyError } from './spool.ts'
import { ingestLog, listQuarantine } from './quarantine.ts'
import { contractDocument } from './contract-schema.ts'

const gunzipAsync = promisify(gunzip)

export interface IngestRouteOptions {
  platform: Platform
  service: IngestService
  /** Largest body accepted, in bytes, after decompression too. */
  bodyLimit: number
}

function mediaType(request: FastifyRequest): string {
  return (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
}

function contentEncoding(request: FastifyRequest): 'gzip' | 'identity' {
  const encoding = (request.headers['content-encoding'] ?? 'identity').toLowerCase().trim()
  if (encoding === 'identity' || encoding === 'gzip') return encoding
  throw new HttpError(415, 'unsupported_encoding', `Content-Encoding ${encoding} is not supported; send gzip or no encoding.`)
}

/** Stream bodies: spooled to a file and read by the engine, so memory does not grow with them. */
async function streamRoutes(app: FastifyInstance, opts: IngestRouteOptions): Promise<void> {
  const { platform, service, bodyLimit } = opts
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload))

  app.post<{ Params: { stream: string } }>('/api/v1/ingest/:stream', {
    schema: {
      tags: ['ingest'],
      summary: 'Send records of one stream (NDJSON, JSON array, CSV or Arrow IPC stream; gzip allowed); answers with a receipt',
      params: { type: 'object', properties: { stream: { type: 'string', description: `one of ${Object.keys(STREAMS).join(', ')}` } } },
    },
    // the key is checked before the body is read (auth/access.ts)
    config: { access: { roles: ['source', 'admin'] } },
  }, async (request) => {
    const principal = request.principal
    const { stream } = request.params
    if (!isStreamName(stream)) throw new HttpError(404, 'unknown_stream', `There is no stream ${JSON.stringify(stream)}; the streams are ${Object.keys(STREAMS).join(', ')}.`)
    const type = mediaType(request)
    const format = MEDIA_TYPES[type]
    if (!format) throw new HttpError(415, 'unsupported_media_type', `Content-Type ${type || '(none)'} is not accepted; send one of ${Object.keys(MEDIA_TYPES).join(', ')}.`)
    const gzip = contentEncoding(request) === 'gzip'
    if (!request.body) throw new HttpError(400, 'empty_body', 'The request has no body: send the records in it.')
    let spooled
    try {
      spooled = await spool(request.body as Readable, { dir: service.spoolDir, name: `${randomUUID()}.${format}`, limit: bodyLimit, gzip })
    } catch (err) {
      if (err instanceof BodyTooLargeError) throw new HttpError(413, err.code, err.message)
      if (err instanceof UnreadableBodyError) throw new HttpError(400, err.code, err.message)
      throw err
    }
    try {
      if (spooled.bytes === 0) throw new HttpError(400, 'empty_body', 'The request body is empty: send the records in it.')
      return await service.ingestFile(stream, { format, path: spooled.path }, principal)
    } catch (err) {
      if (err instanceof ScopeError) throw new HttpError(403, err.code, err.message, { rows: err.rows, total: err.total })
      if (err instanceof TooManyRowsError) throw new HttpError(413, err.code, err.message, { limit: err.limit, ...(err.rows === undefined ? {} : { received: err.rows }) })
      if (err instanceof BodyFormatError) throw new HttpError(400, err.code, err.message)
      if (err instanceof WarehouseUnavailableError) {
        request.log.warn({ err: err.cause }, 'ingest refused: warehouse unavailable')
        throw new HttpError(503, err.code, `${err.message} The server log has the details under request ${request.id}.`, { request_id: request.id })
      }
      throw err
    } finally {
      spooled.remove()
    }
  })
}

/** Reference bodies are small and applied whole: read into memory and validated here. */
async function referenceRoutes(app: FastifyInstance, opts: IngestRouteOptions): Promise<void> {
  const { platform, bodyLimit } = opts
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body))

  app.put<{ Params: { kind: string }; Querystring: { dry_run?: boolean } }>('/api/v1/reference/:kind', {
    schema: {
      tags: ['reference'],
      summary: 'Upsert reference data (admin): units, items, calendar or targets, as JSON, NDJSON or CSV (the calendar also as the text of the State Council notice, text/plain); applied whole or not at all',
      params: { type: 'object', properties: { kind: { type: 'string', description: `one of ${REFERENCE_KINDS.join(', ')}` } } },
      querystring: { type: 'object', additionalProperties: false, properties: { dry_run: { type: 'boolean', description: 'calendar: answer what would be stored, store nothing' } } },
    },
    config: { access: { roles: ADMIN_ONLY }, audit: 'reference.change' },
  }, async (request) => {
    const { kind } = request.params
    request.audit = { action: kind === 'calendar' ? 'calendar.change' : 'reference.change', target: kind }
    if (!(REFERENCE_KINDS as readonly string[]).includes(kind)) {
      throw new HttpError(404, 'unknown_reference', `There is no reference data ${JSON.stringify(kind)}; it is one of ${REFERENCE_KINDS.join(', ')}.`)
    }
    if (!Buffer.isBuffer(request.body)) throw new HttpError(400, 'empty_body', 'The request has no body.')
    let body = request.body
    if (contentEncoding(request) === 'gzip') {
      try {
        body = await gunzipAsync(body, { maxOutputLength: bodyLimit })
      } catch (err) {
        throw new HttpError((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? 413 : 400, 'unreadable_body', `The gzip body cannot be decompressed within ${bodyLimit} bytes.`)
      }
    }
    const type = mediaType(request)
    if (kind === 'calendar') {
      const dryRun = request.query.dry_run === true
      request.audit.skip = dryRun
      const loaded = await putCalendar(platform, type, body, dryRun)
      request.audit.details = { year: loaded.year, status: loaded.status, source: loaded.source, years: loaded.years, changes: loaded.changes, content_type: type, bytes: body.length }
      return loaded
    }
    const result = await applyReference(platform, kind as Exclude<ReferenceKind, 'calendar'>, parseReferenceBody(type, body, REFERENCE_SPECS[kind as ReferenceKind]))
    if (!result.ok) {
      request.audit.details = { problems: result.errors.length, first: result.errors[0]?.message }
      throw invalidReference(result.errors)
    }
    request.audit.details = { stored: result.stored, content_type: type, bytes: body.length }
    return result
  })

  app.get<{ Querystring: { year?: number } }>('/api/v1/reference/calendar', {
    schema: {
      tags: ['reference'],
      summary: 'A year of the working-day calendar: every date, official or provisional, and where it came from; without year, the years and their status',
      querystring: { type: 'object', additionalProperties: false, properties: { year: { type: 'integer', minimum: 1901, maximum: 2099 } } },
    },
    config: { access: { roles: ROLES } },
  }, async (request) => {
    const { calendar } = platform
    if (request.query.year !== undefined) return calendar.year(request.query.year)
    const loaded = calendar.loadedYears()
    const through = Number(localDate(Date.now(), platform.warehouse.timezone).slice(0, 4)) + 1
    const years = []
    for (let y = loaded[0] ?? through - 1; y <= Math.max(through, loaded[loaded.length - 1] ?? through); y++) {
      const { status, source } = calendar.year(y)
      years.push({ year: y, status, source })
    }
    return { years, warning: calendar.warning() }
  })
}

const invalidReference = (errors: RowError[]) =>
  new HttpError(400, 'invalid_reference', `Nothing was stored: ${errors.length} problem(s) in the body, the first: ${errors[0]!.message}`, { errors: errors.slice(0, 100) })

/** PUT /api/v1/reference/calendar: the notice as text, the arrangement as JSON, or whole years of date rows. */
async function putCalendar(platform: Platform, type: string, body: Buffer, dryRun: boolean) {
  const input = calendarInputOf(platform, type, body)
  if (!input.ok) throw invalidReference(input.errors)
  try {
    return await loadCalendar(platform, input.input, dryRun)
  } catch (err) {
    if (err instanceof NoticeReadError) throw new HttpError(400, err.code, err.message, { line: err.line, text: err.text })
    if (err instanceof PartialYearError) throw new HttpError(400, err.code, err.message, { year: err.year, missing: err.missing.length })
    if (err instanceof IncompleteArrangementError) throw new HttpError(400, err.code, err.message, { year: err.year, missing: err.missing })
    if (err instanceof ArrangementMissingError) throw new HttpError(409, err.code, err.message, { year: err.year })
    if (err instanceof NoticeApplyError) throw new HttpError(409, err.code, err.message)
    throw err
  }
}

interface QuarantineQuery { batch_id?: string; stream?: string; source?: string; code?: string; limit?: number; cursor?: string }

/** The quarantine and the ingest log: an admin sees every source, a source key its own. */
async function logRoutes(app: FastifyInstance, opts: IngestRouteOptions): Promise<void> {
  const { platform } = opts
  app.get<{ Querystring: QuarantineQuery }>('/api/v1/ingest/quarantine', {
    schema: {
      tags: ['ingest'],
      summary: 'Rejected rows with their reasons (a source key sees its own)',
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          batch_id: { type: 'string', format: 'uuid' },
          stream: { type: 'string', enum: Object.keys(STREAMS) },
          source: { type: 'string', minLength: 1 },
          code: { type: 'string', minLength: 1, maxLength: 64 },
          limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          cursor: { type: 'string' },
        },
      },
    },
    config: { access: { roles: ['source', 'admin'] } },
  }, async (request) => {
    const principal = request.principal
    const q = request.query
    const source = principal.role === 'source' ? principal.key_id : q.source
    let after: { received_ms: number; batch_id: string; row: number } | undefined
    if (q.cursor) {
      try {
        after = JSON.parse(Buffer.from(q.cursor, 'base64url').toString('utf8'))
        if (typeof after?.received_ms !== 'number' || typeof after.batch_id !== 'string' || typeof after.row !== 'number') throw new Error('shape')
      } catch {
        throw new HttpError(400, 'invalid_parameter', 'cursor: expected the next_cursor of a previous page, unchanged')
      }
    }
    const limit = q.limit ?? 100
    const rows = await listQuarantine(platform, { batch_id: q.batch_id, stream: q.stream, source, code: q.code, after, limit: limit + 1 })
    const page = rows.slice(0, limit)
    const last = page[page.length - 1]
    const next = rows.length > limit && last
      ? Buffer.from(JSON.stringify({ received_ms: Date.parse(last.received_at), batch_id: last.batch_id, row: last.row })).toString('base64url')
      : null
    return { rows: page, next_cursor: next }
  })

  app.get<{ Querystring: { source?: string } }>('/api/v1/ingest/log', {
    schema: { tags: ['ingest'], summary: 'Per source and stream: batches, rows accepted, duplicate and rejected, last received', querystring: { type: 'object', additionalProperties: false, properties: { source: { type: 'string', minLength: 1 } } } },
    config: { access: { roles: ['source', 'admin'] } },
  }, async (request) => {
    const principal = request.principal
    return { rows: await ingestLog(platform, principal.role === 'source' ? principal.key_id : request.query.source) }
  })
}

export async function ingestRoutes(app: FastifyInstance, opts: IngestRouteOptions): Promise<void> {
  const contract = contractDocument()
  app.get('/api/v1/contract', { config: { access: ANYONE }, schema: { tags: ['ingest'], summary: 'The data-exchange contract as JSON Schema', security: [] } }, async () => contract)
  await app.register(streamRoutes, opts)
  await app.register(referenceRoutes, opts)
  await app.register(logRoutes, opts)
}
