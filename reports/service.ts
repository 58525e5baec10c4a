// What the routes and the CLI ask of reports: publish a year, its status, a document of a
// publication in a format, and the restatement. Documents come from the frozen figures only.
import type { AssessmentService } from '../metrics/index.ts'
import { localDate, type Platform } from '../warehouse/index.ts'
import { draftLine, renderDistrict, renderRestatement, renderUnit } from './html.ts'
import { PdfRenderer } from './pdf.ts'
import { NotPublishedError, PublicationStore, type FrozenReport, type PublicationInfo, type Restatement } from './publication.ts'
import { scoreCsv, scoreXlsx } from './tables.ts'

export const FORMATS = ['html', 'pdf', 'csv', 'xlsx'] as const
export type ReportFormat = (typeof FORMATS)[number]

export const CONTENT_TYPES: Record<ReportFormat, string> = {
  html: 'text/html; charset=utf-8',
  pdf: 'application/pdf',
  csv: 'text/csv; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
}

export class UnknownUnitError extends Error {
  readonly code = 'unknown_unit'
  constructor(readonly year: number, readonly unitId: string, draft = false) {
    super(`Unit ${JSON.stringify(unitId)} is not in the ${draft ? 'draft' : 'published'} ${year} assessment.`)
  }
}

/** The formats of a draft for comment: documents to read and check, not a score table to file. */
export const DRAFT_FORMATS = ['html', 'pdf'] as const satisfies readonly ReportFormat[]

/** A draft asked for a year that is over and published (the published report is the year's), or one that has not begun. */
export class NoDraftError extends Error {
  constructor(readonly year: number, readonly code: 'already_published' | 'year_not_started') {
    super(code === 'already_published'
      ? `The ${year} assessment is published: there is no draft for comment of it any more; read /reports/${year}/district.html (and /api/v1/reports/${year}/restatement for what changed since).`
      : `${year} has not begun in the district's time zone: there is nothing to assess yet.`)
  }
}

export interface ReportDocument {
  body: string | Buffer
  contentType: string
  filename: string
}

export interface YearStatus {
  year: number
  published: boolean
  latest: PublicationInfo | null
  versions: PublicationInfo[]
  /** the units of the latest publication (the unit reports there are) */
  units: Array<{ unit_id: string; name: string; tier: number }>
  /**
   * The draft for comment (征求意见稿): available for a year that has begun and is not over or not
   * published; its units are the district's units now (a unit leader: its own).
   */
  draft: { available: boolean; units: Array<{ unit_id: string; name: string; tier: number }> }
}

export class ReportService {
  readonly publications: PublicationStore
  readonly pdf = new PdfRenderer()
  private drafting = new Map<number, Promise<FrozenReport>>()

  constructor(private readonly platform: Platform, assessment: AssessmentService) {
    this.publications = new PublicationStore(platform, assessment)
  }

  get timezone(): string {
    return this.platform.warehouse.timezone
  }

  publish(year: number, by: string, note = ''): Promise<PublicationInfo> {
    return this.publications.publish(year, by, note)
  }

  /** Whether a year is published, its versions, and the units of its latest one (or of `version`). */
  async status(year: number, readable?: string[], version?: number): Promise<YearStatus> {
    const versions = await this.publications.versions(year)
    const latest = versions.at(-1) ?? null
    const shown = version === undefined ? latest : versions.find((v) => v.version === version)
    if (version !== undefined && !shown) throw new NotPublishedError(year, version)
    const units = shown ? (await this.publications.load(shown)).units : []
    const draftAvailable = this.draftState(year, latest !== null) === null
    const current = [...this.platform.reference.units.values()].filter((u) => [1, 2, 3].includes(u.tier))
      .sort((a, b) => a.tier - b.tier || (a.unit_id < b.unit_id ? -1 : a.unit_id > b.unit_id ? 1 : 0))
    const mine = <T extends { unit_id: string }>(list: T[]) => list.filter((u) => !readable || readable.includes(u.unit_id))
    return {
      year, published: latest !== null, latest, versions,
      units: mine(units).map((u) => ({ unit_id: u.unit_id, name: u.name, tier: u.tier })),
      draft: { available: draftAvailable, units: draftAvailable ? mine(current).map((u) => ({ unit_id: u.unit_id, name: u.name, tier: u.tier })) : [] },
    }
  }

  /** Why a year has no draft for comment now (null: it has one). */
  private draftState(year: number, published: boolean, nowMs = Date.now()): NoDraftError['code'] | null {
    const today = localDate(nowMs, this.timezone)
    if (today < `${year}-01-01`) return 'year_not_started'
    if (published && today > `${year}-12-31`) return 'already_published'
    return null
  }

  /**
   * The draft for comment of a year: what publishing it now would freeze (PublicationStore.draft),
   * in memory, computed afresh for each request (so it follows the data as it arrives); two
   * requests at once for one year share one computation.
   */
  async draft(year: number, nowMs = Date.now()): Promise<FrozenReport> {
    const reason = this.draftState(year, (await this.publications.find(year)) !== null, nowMs)
    if (reason) throw new NoDraftError(year, reason)
    const running = this.drafting.get(year)
    if (running) return running
    const run = this.publications.draft(year, nowMs).finally(() => this.drafting.delete(year))
    this.drafting.set(year, run)
    return run
  }

  /** The draft district report (unitId undefined) or one unit's, as HTML or PDF: the published documents' renderer, marked as a draft. */
  async draftDocument(year: number, format: (typeof DRAFT_FORMATS)[number], opts: { unitId?: string } = {}): Promise<ReportDocument> {
    const report = await this.draft(year)
    const unitId = opts.unitId
    if (unitId !== undefined && !report.units.some((u) => u.unit_id === unitId)) throw new UnknownUnitError(year, unitId, true)
    const filename = `${unitId === undefined ? `district-${year}` : `unit-${unitId}-${year}`}-draft.${format}`
    const html = unitId === undefined ? renderDistrict(report, this.timezone) : renderUnit(report, unitId, this.timezone)
    if (format === 'html') return { body: html, contentType: CONTENT_TYPES.html, filename }
    return { body: await this.pdf.render(html, { header: draftLine(report.publication, this.timezone) }), contentType: CONTENT_TYPES.pdf, filename }
  }

  /** The frozen figures of the latest publication of a year (or a version), or NotPublishedError. */
  async frozen(year: number, version?: number): Promise<FrozenReport> {
    const info = await this.publications.find(year, version)
    if (!info) throw new NotPublishedError(year, version)
    return this.publications.load(info)
  }

  async restatement(year: number, version?: number): Promise<{ restatement: Restatement; report: FrozenReport }> {
    const info = await this.publications.find(year, version)
    if (!info) throw new NotPublishedError(year, version)
    return { restatement: await this.publications.restatement(info), report: await this.publications.load(info) }
  }

  restatementHtml(r: Restatement, report: FrozenReport): string {
    return renderRestatement(r, report, this.timezone)
  }

  /** The district report (unitId undefined) or one unit's, in a format. */
  async document(year: number, format: ReportFormat, opts: { unitId?: string; version?: number } = {}): Promise<ReportDocument> {
    const report = await this.frozen(year, opts.version)
    const unitId = opts.unitId
    if (unitId !== undefined && !report.units.some((u) => u.unit_id === unitId)) throw new UnknownUnitError(year, unitId)
    const v = report.publication.version
    const base = unitId === undefined ? `district-${year}` : `unit-${unitId}-${year}`
    const filename = `${base}${v > 1 ? `-v${v}` : ''}.${format}`
    const html = () => (unitId === undefined ? renderDistrict(report, this.timezone) : renderUnit(report, unitId, this.timezone))
    switch (format) {
      case 'html':
        return { body: html(), contentType: CONTENT_TYPES.html, filename }
      case 'pdf':
        return { body: await this.pdf.render(html()), contentType: CONTENT_TYPES.pdf, filename }
      case 'csv':
        return { body: scoreCsv(report, unitId === undefined ? undefined : [unitId]), contentType: CONTENT_TYPES.csv, filename }
      case 'xlsx':
        return { body: await scoreXlsx(report, unitId === undefined ? undefined : [unitId]), contentType: CONTENT_TYPES.xlsx, filename }
    }
  }

  async close(): Promise<void> {
    await this.pdf.close()
  }
}
