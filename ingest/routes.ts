// HTTP surface of ingest: POST /api/v1/ingest/{stream} and PUT /api/v1/reference/{kind}.
import { gunzip } from 'node:zlib'
import { promisify } from 'node:util'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { HttpError, requireRole, type Platform } from '../warehouse/index.ts'
import { isStreamName, STREAMS, type RecordSpec } from './contract.ts'
import { parseCsv, parseJsonArray, parseNdjson } from './formats.ts'
import { applyReference, calendarRowsFromHolidayCn, REFERENCE_KINDS, REFERENCE_SPECS, type ReferenceKind } from './reference.ts'
import { IngestService, ScopeError, WarehouseUnavailableError, type ParsedRecord } from './service.ts'

const gunzipAsync = promisify(gunzip)

export interface IngestRouteOptions {
  platform: Platform
  service: IngestService
  /** Largest body accepted, in bytes, after decompression too. */
  bodyLimit: number
}

export const SUPPORTED_TYPES = ['application/x-ndjson', 'application/json', 'text/csv'] as const

function mediaType(request: FastifyRequest): string {
  return (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
}

async function decodedBody(request: FastifyRequest, bodyLimit: number): Promise<Buffer> {
  const body = request.body
  if (!Buffer.isBuffer(body)) throw new HttpError(400, 'empty_body', 'The request has no body: send the records in it.')
  const encoding = (request.headers['content-encoding'] ?? 'identity').toLowerCase().trim()
  if (encoding === 'identity') return body
  if (encoding !== 'gzip') throw new HttpError(415, 'unsupported_encoding', `Content-Encoding ${encoding} is not supported; send gzip or no encoding.`)
  try {
    return await gunzipAsync(body, { maxOutputLength: bodyLimit })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new HttpError(413, 'body_too_large', `The body is larger than ${bodyLimit} bytes once decompressed; split it into smaller batches.`)
    }
    throw new HttpError(400, 'unreadable_body', `The gzip body cannot be decompressed (${(err as Error).message}).`)
  }
}

/** Body → records for one spec, by content type; 400/415 when the body cannot be read at all. */
export function parseBody(type: string, body: Buffer, spec: RecordSpec): ParsedRecord[] {
  let parsed: ParsedRecord[] | { error: string }
  switch (type) {
    case 'application/x-ndjson':
      parsed = parseNdjson(body)
      break
    case 'application/json':
      parsed = parseJsonArray(body)
      break
    case 'text/csv':
      parsed = parseCsv(body, spec)
      break
    default:
      throw new HttpError(415, 'unsupported_media_type', `Content-Type ${type || '(none)'} is not accepted here; send one of ${SUPPORTED_TYPES.join(', ')}.`)
  }
  if ('error' in parsed) throw new HttpError(400, 'unreadable_body', parsed.error)
  return parsed
}

export async function ingestRoutes(app: FastifyInstance, opts: IngestRouteOptions): Promise<void> {
  const { platform, service, bodyLimit } = opts
  // Bodies are read raw here and parsed by format; fastify's JSON parser would build one huge object.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body))

  app.post<{ Params: { stream: string } }>('/api/v1/ingest/:stream', {
    // the key is checked before the body is read
    onRequest: async (request) => {
      requireRole(request, platform.keys, ['source', 'admin'])
    },
    schema: { params: { type: 'object', properties: { stream: { type: 'string' } }, required: ['stream'] } },
  }, async (request) => {
    const principal = requireRole(request, platform.keys, ['source', 'admin'])
    const { stream } = request.params
    if (!isStreamName(stream)) throw new HttpError(404, 'unknown_stream', `There is no stream ${JSON.stringify(stream)}; the streams are ${Object.keys(STREAMS).join(', ')}.`)
    const body = await decodedBody(request, bodyLimit)
    const records = parseBody(mediaType(request), body, STREAMS[stream])
    try {
      return await service.ingest(stream, records, principal)
    } catch (err) {
      if (err instanceof ScopeError) throw new HttpError(403, err.code, err.message, { rows: err.rows.slice(0, 100) })
      if (err instanceof WarehouseUnavailableError) throw new HttpError(503, err.code, err.message)
      throw err
    }
  })

  app.put<{ Params: { kind: string } }>('/api/v1/reference/:kind', {
    onRequest: async (request) => {
      requireRole(request, platform.keys, ['admin'])
    },
  }, async (request) => {
    const { kind } = request.params
    if (!(REFERENCE_KINDS as readonly string[]).includes(kind)) {
      throw new HttpError(404, 'unknown_reference', `There is no reference data ${JSON.stringify(kind)}; it is one of ${REFERENCE_KINDS.join(', ')}.`)
    }
    const body = await decodedBody(request, bodyLimit)
    const type = mediaType(request)
    let records: ParsedRecord[] | undefined
    if (kind === 'calendar' && type === 'application/json') {
      try {
        records = calendarRowsFromHolidayCn(JSON.parse(body.toString('utf8')))
      } catch {
        records = undefined // not that shape: read as rows below, which reports the problem
      }
    }
    records ??= parseBody(type, body, REFERENCE_SPECS[kind as ReferenceKind])
    const result = await applyReference(platform, kind as ReferenceKind, records)
    if (!result.ok) {
      throw new HttpError(400, 'invalid_reference', `Nothing was stored: ${result.errors.length} problem(s) in the body, the first: ${result.errors[0]!.message}`, { errors: result.errors.slice(0, 100) })
    }
    return result
  })
}
