// ingest: the data-exchange contract (CONTRACT.md) — parsing, validation, scope checks,
// idempotency, quarantine, receipts, and the HTTP routes that take records in.
export { STREAMS, STREAM_NAMES, isStreamName, CASE_EVENT_TYPES, type StreamName, type StreamSpec, type RecordSpec, type FieldSpec } from './contract.ts'
export { validateRecord, type RowError, type ValidationContext } from './validate.ts'
export { parseNdjson, parseJsonArray, parseCsv } from './formats.ts'
export { IngestService, ScopeError, WarehouseUnavailableError, MAX_ERRORS_IN_RECEIPT, type Receipt, type ParsedRecord, type SpooledBody } from './service.ts'
export { applyReference, REFERENCE_KINDS, REFERENCE_SPECS, type ReferenceKind } from './reference.ts'
export { ingestRoutes, type IngestRouteOptions } from './routes.ts'
export { compileStream } from './engine-sql.ts'
export { BODY_FORMATS, MEDIA_TYPES, BodyFormatError, type BodyFormat } from './sources.ts'
export { spool, BodyTooLargeError } from './spool.ts'
export { listQuarantine, ingestLog, type QuarantinedRow, type IngestLogRow } from './quarantine.ts'
export { contractDocument } from './contract-schema.ts'
