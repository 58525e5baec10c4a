// The contract as JSON Schema (draft 2020-12), generated from the same specs that validate rows:
// what GET /api/v1/contract serves to the teams that write exporters.
import { MAX_OBJECT_BYTES, STREAMS, type FieldSpec, type FieldType, type RecordSpec, type StreamSpec } from './contract.ts'
import { REFERENCE_SPECS } from './reference.ts'
import { MAX_ROWS_PER_BODY, MEDIA_TYPES } from './sources.ts'

function typeSchema(t: FieldType): Record<string, unknown> {
  switch (t.kind) {
    case 'id':
      return { type: 'string', minLength: 1, maxLength: t.max }
    case 'string':
      return { type: 'string', maxLength: t.max }
    case 'enum':
      return { type: 'string', enum: [...t.values] }
    case 'timestamp':
      return { type: 'string', format: 'date-time', description: 'RFC 3339; without an offset it is read in the district time zone' }
    case 'boolean':
      return { type: 'boolean' }
    case 'integer':
      return { type: 'integer', minimum: t.min, maximum: t.max }
    case 'number':
      return { type: 'number', minimum: t.min }
    case 'decimal':
      return { type: ['string', 'number'], pattern: `^-?\\d{1,16}(\\.\\d{1,${t.scale}})?$` }
    case 'month':
      return { type: 'string', pattern: '^\\d{4}-(0[1-9]|1[0-2])$' }
    case 'object':
      return { type: 'object', ...(t.maxBytes === undefined ? {} : { 'x-max-bytes': t.maxBytes, description: `at most ${t.maxBytes} bytes serialised` }) }
    case 'date':
      return { type: 'string', format: 'date' }
    case 'integer_list':
      return { type: 'array', items: { type: 'integer', minimum: t.min, maximum: t.max } }
  }
}

function recordSchema(spec: RecordSpec | StreamSpec): Record<string, unknown> {
  const properties: Record<string, unknown> = {}
  for (const f of spec.fields) properties[f.name] = { ...typeSchema(f.type), description: f.meaning, ...(f.references ? { 'x-references': f.references } : {}) }
  const rules = {
    ...('recordOf' in spec && spec.recordOf ? { 'x-record': { field: spec.recordOf.field, kind: spec.recordOf.kind } } : {}),
    ...(spec.activeUnit ? { 'x-unit-active': spec.activeUnit } : {}),
  }
  const conditional = spec.fields.filter((f): f is FieldSpec & { required: { when: string; in: readonly string[] } } => typeof f.required === 'object')
  return {
    type: 'object',
    ...rules,
    additionalProperties: false,
    properties,
    required: spec.fields.filter((f) => f.required === true).map((f) => f.name),
    ...(conditional.length
      ? { allOf: conditional.map((f) => ({ if: { properties: { [f.required.when]: { enum: [...f.required.in] } }, required: [f.required.when] }, then: { required: [f.name] } })) }
      : {}),
  }
}

export function contractDocument(): Record<string, unknown> {
  return {
    name: 'tierscope data-exchange contract',
    version: 1,
    transport: {
      ingest: 'POST /api/v1/ingest/{stream}, Authorization: Bearer <source key>',
      content_types: Object.keys(MEDIA_TYPES),
      content_encoding: ['gzip'],
      receipt: { batch_id: 'uuid', received: 'integer', accepted: 'integer', duplicates: 'integer', rejected: 'integer', errors: '[{ row, field, code, message }] (at most 100; all kept in quarantine)' },
      idempotency: 'event_id (entry_id for costs) is unique within a stream; a repeat is a duplicate, a repeat with other content is rejected as conflicting_duplicate, an id first stored by another source system is rejected as id_owned_by_other_source',
      limits: { rows_per_body: MAX_ROWS_PER_BODY, object_bytes: MAX_OBJECT_BYTES },
      scope: 'a source key writes rows of its units (and those below them) only, and only about records whose current unit is one of them (x-record: a case after its transfers, a rating, a complaint by its received, a ticket by its issued); otherwise 403 for the whole body',
      unit_active: 'a row dated outside its unit\'s active_from/active_to (x-unit-active) is rejected as unit_inactive',
    },
    streams: Object.fromEntries(Object.values(STREAMS).map((s) => [s.name, { id_field: s.idField, $schema: 'https://json-schema.org/draft/2020-12/schema', ...recordSchema(s) }])),
    reference: Object.fromEntries(Object.entries(REFERENCE_SPECS).map(([k, s]) => [k, { $schema: 'https://json-schema.org/draft/2020-12/schema', ...recordSchema(s) }])),
  }
}
