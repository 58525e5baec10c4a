// reports: the annual performance assessment (年度绩效考核) — publishing and freezing a year's
// figures, the district and unit reports (HTML, PDF), the score table (CSV, XLSX), restatements.
export { reportRoutes, reportErrorToHttp } from './routes.ts'
export { ReportService, FORMATS, DRAFT_FORMATS, CONTENT_TYPES, UnknownUnitError, NoDraftError, type ReportFormat, type ReportDocument, type YearStatus } from './service.ts'
export {
  PublicationStore, NotPublishedError, YearNotOverError, compareWithCurrent,
  type PublicationInfo, type Publication, type FrozenReport, type FrozenUnit, type FrozenIndicator, type Restatement, type RestatedIndicator, type RestatedUnit,
} from './publication.ts'
export { renderDistrict, renderUnit, renderRestatement, draftLine, DISTRICT_SECTIONS, UNIT_SECTIONS, ISSUER } from './html.ts'
export { scoreCsv, scoreXlsx, csvCell } from './tables.ts'
export { PdfRenderer, PdfUnavailableError, PDF_INSTALL_HINT, pdfAvailable, chromiumPath } from './pdf.ts'
export { reportCommand, reportOptions, REPORT_USAGE, type ReportCommandOptions } from './cli.ts'
