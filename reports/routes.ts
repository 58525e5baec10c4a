// HTTP surface of reports: publishing a year, its status and versions, the restatement, and the
// documents (district and unit reports as HTML and PDF, the score table as CSV and XLSX).
import { create as createDisposition } from 'content-disposition'
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { AssessmentService } from '../metrics/index.ts'
import { READER_ROLES, type Principal } from '../auth/index.ts'
import { calendarErrorToHttp, HttpError, type Platform } from '../warehouse/index.ts'
import { PdfUnavailableError } from './pdf.ts'
import { NotPublishedError, YearNotOverError } from './publication.ts'
import { DRAFT_FORMATS, FORMATS, NoDraftError, ReportService, UnknownUnitError, type ReportDocument, type ReportFormat } from './service.ts'

const yearParam = { type: 'object', required: ['year'], properties: { year: { type: 'integer', minimum: 2000, maximum: 2100 } } } as const
const versionQuery = { type: 'object', additionalProperties: false, properties: { version: { type: 'integer', minimum: 1 } } } as const
const DISTRICT_ROLES = ['joint_meeting', 'inspector', 'admin'] as const

/** The module's errors as HTTP answers. */
export function reportErrorToHttp(err: unknown): never {
  if (err instanceof NotPublishedError) throw new HttpError(404, err.code, err.message)
  if (err instanceof UnknownUnitError) throw new HttpError(404, err.code, err.message)
  if (err instanceof YearNotOverError) throw new HttpError(409, err.code, err.message)
  if (err instanceof NoDraftError) throw new HttpError(409, err.code, err.message)
  if (err instanceof PdfUnavailableError) throw new HttpError(503, err.code, err.message)
  return calendarErrorToHttp(err)
}

function send(reply: FastifyReply, doc: ReportDocument, format: ReportFormat): FastifyReply {
  const disposition = format === 'html' || format === 'pdf' ? 'inline' : 'attachment'
  return reply
    .type(doc.contentType)
    // the content-disposition package quotes the name and adds RFC 8187's UTF-8 form for a unit id outside ASCII
    .header('content-disposition', createDisposition(doc.filename, { type: disposition }))
    .header('cache-control', 'private, no-cache')
    .send(doc.body)
}

function parseFormat(value: string, allowed: readonly ReportFormat[]): ReportFormat {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new HttpError(404, 'unknown_format', `There is no .${value} of this report; formats: ${allowed.map((f) => `.${f}`).join(', ')}.`)
  }
  return value as ReportFormat
}

export async function reportRoutes(app: FastifyInstance, opts: { platform: Platform; assessment: AssessmentService; service?: ReportService }): Promise<void> {
  const { platform } = opts
  const service = opts.service ?? new ReportService(platform, opts.assessment)
  app.addHook('onClose', async () => service.close())
  const whoPublished = (p: Principal) => `${p.name} (${p.role}, ${p.key_id})`

  app.post<{ Params: { year: number }; Body: { note?: string } | undefined }>('/api/v1/reports/:year/publish', {
    config: { access: { roles: ['joint_meeting', 'admin'] }, audit: 'report.publish' },
    schema: {
      tags: ['reports'],
      summary: 'Publish a year\'s assessment (joint meeting, admin): its figures are frozen; publishing again makes a new version',
      description: 'The body is optional: `{ "note": "…" }`, a remark printed under the title (at most 2000 characters).',
      params: yearParam,
    },
  }, async (request, reply) => {
    const principal = request.principal
    request.audit = { target: String(request.params.year) }
    const body: unknown = request.body
    if (body !== undefined && body !== null && (typeof body !== 'object' || Array.isArray(body) || Object.keys(body).some((k) => k !== 'note'))) {
      throw new HttpError(400, 'invalid_body', 'The body is optional; when sent it is { "note": "…" } and nothing else.')
    }
    const note = (body as { note?: unknown } | undefined)?.note
    if (note !== undefined && (typeof note !== 'string' || note.length > 2000)) throw new HttpError(400, 'invalid_body', 'note: expected text of at most 2000 characters.')
    const info = await service.publish(request.params.year, whoPublished(principal), note ?? '').catch(reportErrorToHttp)
    request.audit.details = { year: info.year, version: info.version, publication_id: info.publication_id, note: note ?? '' }
    return reply.code(201).send({ ...info, links: links(info.year) })
  })

  app.get<{ Params: { year: number }; Querystring: { version?: number } }>('/api/v1/reports/:year', {
    config: { access: { roles: READER_ROLES } },
    schema: { tags: ['reports'], summary: 'Whether a year is published, its versions, and the unit reports there are (of the latest version, or of ?version=)', params: yearParam, querystring: versionQuery },
  }, async (request) => {
    const principal = request.principal
    const status = await service.status(request.params.year, principal.readableUnits(), request.query.version).catch(reportErrorToHttp)
    return { ...status, links: { ...(status.published ? links(status.year) : {}), ...(status.draft.available ? draftLinks(status.year) : {}) } }
  })

  app.get<{ Params: { year: number }; Querystring: { version?: number } }>('/api/v1/reports/:year/restatement', {
    config: { access: { roles: READER_ROLES } },
    schema: {
      tags: ['reports'],
      summary: 'Published versus current figures, per unit and indicator: only what late data has changed since the publication',
      params: yearParam,
      querystring: versionQuery,
    },
  }, async (request) => {
    const principal = request.principal
    const { restatement } = await service.restatement(request.params.year, request.query.version).catch(reportErrorToHttp)
    const readable = principal.readableUnits()
    if (readable) {
      restatement.units = restatement.units.filter((u) => readable.includes(u.unit_id))
      restatement.indicators = restatement.indicators.filter((u) => readable.includes(u.unit_id))
      restatement.restated = restatement.units.length > 0 || restatement.indicators.length > 0
    }
    return restatement
  })

  app.get<{ Params: { year: number }; Querystring: { version?: number } }>('/reports/:year/restatement.html', {
    config: { access: { roles: DISTRICT_ROLES }, audit: 'document.download' },
    schema: { tags: ['reports'], summary: 'The restatement as a document', params: yearParam, querystring: versionQuery },
  }, async (request, reply) => {
    const { restatement, report } = await service.restatement(request.params.year, request.query.version).catch(reportErrorToHttp)
    return reply.type('text/html; charset=utf-8').send(service.restatementHtml(restatement, report))
  })

  app.get<{ Params: { year: number; format: string }; Querystring: { version?: number } }>('/reports/:year/district.:format', {
    config: { access: { roles: DISTRICT_ROLES }, audit: 'document.download' },
    schema: {
      tags: ['reports'],
      summary: 'The published district report (.html, .pdf) or the score table of every unit (.csv, .xlsx)',
      params: { type: 'object', required: ['year', 'format'], properties: { year: yearParam.properties.year, format: { type: 'string' } } },
      querystring: versionQuery,
    },
  }, async (request, reply) => {
    const format = parseFormat(request.params.format, FORMATS)
    const doc = await service.document(request.params.year, format, { version: request.query.version }).catch(reportErrorToHttp)
    return send(reply, doc, format)
  })

  app.get<{ Params: { year: number; file: string }; Querystring: { version?: number } }>('/reports/:year/units/:file', {
    config: { access: { roles: READER_ROLES }, audit: 'document.download' },
    schema: {
      tags: ['reports'],
      summary: 'One unit\'s published report: /reports/{year}/units/{unit_id}.html or .pdf, its rows of the score table as .csv or .xlsx (a unit leader: its own units)',
      params: { type: 'object', required: ['year', 'file'], properties: { year: yearParam.properties.year, file: { type: 'string' } } },
      querystring: versionQuery,
    },
  }, async (request, reply) => {
    const principal = request.principal
    const { unitId, format } = unitDocumentOf(principal, request.params.file, `/reports/${request.params.year}/units`, FORMATS)
    const doc = await service.document(request.params.year, format, { unitId, version: request.query.version }).catch(reportErrorToHttp)
    return send(reply, doc, format)
  })

  // ── the draft for comment (征求意见稿): the assessment as it stands, for a year not published

  app.get<{ Params: { year: number; format: string } }>('/reports/:year/draft/district.:format', {
    config: { access: { roles: DISTRICT_ROLES }, audit: 'document.download' },
    schema: {
      tags: ['reports'],
      summary: 'The draft for comment (征求意见稿) of the district report (.html, .pdf): the assessment as it stands now, for a year not published; marked as a draft on every page',
      params: { type: 'object', required: ['year', 'format'], properties: { year: yearParam.properties.year, format: { type: 'string' } } },
    },
  }, async (request, reply) => {
    const format = parseFormat(request.params.format, DRAFT_FORMATS) as (typeof DRAFT_FORMATS)[number]
    const doc = await service.draftDocument(request.params.year, format).catch(reportErrorToHttp)
    return send(reply, doc, format)
  })

  app.get<{ Params: { year: number; file: string } }>('/reports/:year/draft/units/:file', {
    config: { access: { roles: READER_ROLES }, audit: 'document.download' },
    schema: {
      tags: ['reports'],
      summary: 'The draft for comment (征求意见稿) of one unit\'s report: /reports/{year}/draft/units/{unit_id}.html or .pdf (a unit leader: its own units)',
      params: { type: 'object', required: ['year', 'file'], properties: { year: yearParam.properties.year, file: { type: 'string' } } },
    },
  }, async (request, reply) => {
    const principal = request.principal
    const { unitId, format } = unitDocumentOf(principal, request.params.file, `/reports/${request.params.year}/draft/units`, DRAFT_FORMATS)
    const doc = await service.draftDocument(request.params.year, format, { unitId }).catch(reportErrorToHttp)
    return send(reply, doc, format)
  })
}

/** A unit document's file name (`{unit_id}.{format}`) read, and the reader's right to that unit checked. */
function unitDocumentOf<F extends ReportFormat>(principal: Principal, file: string, base: string, formats: readonly F[]): { unitId: string; format: F } {
  const dot = file.lastIndexOf('.')
  if (dot <= 0) throw new HttpError(404, 'unknown_format', `Name the format: ${base}/${file}.html or .pdf.`)
  const unitId = file.slice(0, dot)
  const format = parseFormat(file.slice(dot + 1), formats) as F
  const readable = principal.readableUnits()
  if (readable && !readable.includes(unitId)) throw new HttpError(403, 'forbidden', 'This key reads only its own units\' reports.')
  return { unitId, format }
}

const draftLinks = (year: number) => ({
  draft_district_html: `/reports/${year}/draft/district.html`,
  draft_district_pdf: `/reports/${year}/draft/district.pdf`,
  draft_unit_html: `/reports/${year}/draft/units/{unit_id}.html`,
  draft_unit_pdf: `/reports/${year}/draft/units/{unit_id}.pdf`,
})

const links = (year: number) => ({
  district_html: `/reports/${year}/district.html`,
  district_pdf: `/reports/${year}/district.pdf`,
  scores_csv: `/reports/${year}/district.csv`,
  scores_xlsx: `/reports/${year}/district.xlsx`,
  unit_html: `/reports/${year}/units/{unit_id}.html`,
  unit_pdf: `/reports/${year}/units/{unit_id}.pdf`,
  restatement: `/api/v1/reports/${year}/restatement`,
  restatement_html: `/reports/${year}/restatement.html`,
})
