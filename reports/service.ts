// What the routes and the CLI ask of reports: publish a year, its status, a document of a
// publication in a format, and the restatement. Documents come from the frozen figures only.
import type { AssessmentService } from '../metrics/index.ts'
import type { Platform } from '../warehouse/index.ts'
import { renderDistrict, renderRestatement, renderUnit } from './html.ts'
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
  constructor(readonly year: number, readonly unitId: string) {
    super(`Unit ${JSON.stringify(unitId)} is not in the published ${year} assessment.`)
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
}

export class ReportService {
  readonly publications: PublicationStore
  readonly pdf = new PdfRenderer()

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
    return {
      year, published: latest !== null, latest, versions,
      units: units.filter((u) => !readable || readable.includes(u.unit_id)).map((u) => ({ unit_id: u.unit_id, name: u.name, tier: u.tier })),
    }
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
