// The data-exchange contract, version 1 (CONTRACT.md), as data: every stream's fields, types and
// rules are declared once here. Validation (validate.ts), the warehouse rows it produces and the
// machine-readable contract served at GET /api/v1/contract are all derived from these tables.

export type FieldType =
  | { kind: 'id'; max: number }
  | { kind: 'string'; max: number }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'timestamp' }
  | { kind: 'boolean' }
  | { kind: 'integer'; min: number; max: number }
  | { kind: 'number'; min: number }
  | { kind: 'decimal'; scale: number }
  | { kind: 'month' }
  | { kind: 'object'; maxBytes?: number }
  | { kind: 'date' }
  | { kind: 'integer_list'; min: number; max: number }

export interface FieldSpec {
  name: string
  type: FieldType
  /** true, false, or required only when another field has one of these values. */
  required: boolean | { when: string; in: readonly string[] }
  /** Checked against reference data after the type. */
  references?: 'unit' | 'item'
  /** Rejected when more than 24 hours ahead (the contract's future_timestamp). */
  notFuture?: boolean
  meaning: string
}

/**
 * A row is dated outside its unit's active period (the units' active_from/active_to): rejected
 * with code unit_inactive. `date` is a timestamp field (its day in the district's zone) or a
 * month field (the month must overlap the period).
 */
export interface ActiveUnitRule {
  unit: string
  date: string
}

/** A kind of record: a stream of the contract or a kind of reference data. */
export interface RecordSpec {
  name: string
  fields: FieldSpec[]
  /** The unit_inactive rule (CONTRACT.md, Idempotency): both validators check it. */
  activeUnit?: ActiveUnitRule
}

/** The records rows are about, whose current unit decides which keys may write them (CONTRACT.md Transport). */
export const RECORD_KINDS = ['case', 'rating', 'complaint', 'ticket'] as const
export type RecordKind = (typeof RECORD_KINDS)[number]

export interface StreamSpec extends RecordSpec {
  name: StreamName
  table: string
  /** The field that makes a row unique within the stream. */
  idField: 'event_id' | 'entry_id'
  /** The field the key's scope is checked on. */
  unitField: 'unit_id'
  /**
   * The record a row is about, when it may already be stored (an event of a case, a follow-up of
   * a rating, a later event of a complaint or a ticket): only a key whose units cover the
   * record's current unit may write it (403 otherwise; ingest/scope.ts finds the current unit).
   */
  recordOf?: { field: string; kind: RecordKind }
  /**
   * Fields that name another record, which must be stored already (a complaint's case and
   * rating): a row whose link names none is rejected with code `unknown_<kind>`, and quarantined.
   */
  links?: Array<{ field: string; kind: RecordKind }>
}

/** Largest `attrs` (or any object field with a limit), serialised, in bytes: 64 KB. */
export const MAX_OBJECT_BYTES = 64 * 1024

export const STREAM_NAMES = ['case-events', 'evaluations', 'evaluation-followups', 'complaints', 'queue-tickets', 'costs'] as const
export type StreamName = (typeof STREAM_NAMES)[number]

export const CASE_EVENT_TYPES = [
  'submitted', 'accepted', 'supplement_requested', 'supplement_received', 'suspended', 'resumed',
  'transferred', 'approved', 'rejected', 'completed', 'withdrawn',
] as const
export const COMPLAINT_EVENT_TYPES = ['received', 'responded', 'resolved', 'rated'] as const
export const CASE_CHANNELS = ['window', 'online', 'mobile', 'self_service', 'proxy'] as const
export const EVALUATION_CHANNELS = ['window_device', 'sms', 'web', 'app', 'qr_code', 'hotline'] as const

const id = (max = 128): FieldType => ({ kind: 'id', max })
const str = (max = 256): FieldType => ({ kind: 'string', max })
const oneOf = (values: readonly string[]): FieldType => ({ kind: 'enum', values })
const timestamp: FieldType = { kind: 'timestamp' }
const bool: FieldType = { kind: 'boolean' }

export const STREAMS: Record<StreamName, StreamSpec> = {
  'case-events': {
    name: 'case-events',
    table: 'case_events',
    idField: 'event_id',
    unitField: 'unit_id',
    recordOf: { field: 'case_id', kind: 'case' },
    activeUnit: { unit: 'unit_id', date: 'occurred_at' },
    fields: [
      { name: 'event_id', type: id(), required: true, meaning: 'unique id of this record' },
      { name: 'case_id', type: id(), required: true, meaning: 'the case number in the source system (办件编号)' },
      { name: 'type', type: oneOf(CASE_EVENT_TYPES), required: true, meaning: 'what happened' },
      { name: 'occurred_at', type: timestamp, required: true, notFuture: true, meaning: 'when it happened' },
      { name: 'unit_id', type: id(), required: true, references: 'unit', meaning: 'the unit where it happened' },
      { name: 'item_code', type: id(), required: { when: 'type', in: ['accepted'] }, references: 'item', meaning: 'the service item' },
      { name: 'channel', type: oneOf(CASE_CHANNELS), required: false, meaning: 'window, online, mobile, self_service or proxy' },
      { name: 'due_at', type: timestamp, required: false, meaning: "a deadline computed by the source system; overrides the catalogue's" },
      { name: 'to_unit_id', type: id(), required: { when: 'type', in: ['transferred'] }, references: 'unit', meaning: 'the unit the case moves to' },
      { name: 'staff_id', type: id(), required: false, meaning: 'the handling officer' },
      { name: 'applicant_type', type: oneOf(['person', 'enterprise']), required: false, meaning: 'person or enterprise' },
      { name: 'attrs', type: { kind: 'object', maxBytes: MAX_OBJECT_BYTES }, required: false, meaning: 'anything else, kept as JSON; at most 64 KB (65,536 bytes) as sent (attrs_too_large)' },
    ],
  },
  evaluations: {
    name: 'evaluations',
    table: 'evaluations',
    idField: 'event_id',
    unitField: 'unit_id',
    activeUnit: { unit: 'unit_id', date: 'occurred_at' },
    fields: [
      { name: 'event_id', type: id(), required: true, meaning: 'unique id of this rating' },
      { name: 'unit_id', type: id(), required: true, references: 'unit', meaning: 'the unit rated' },
      { name: 'rating', type: { kind: 'integer', min: 1, max: 5 }, required: true, meaning: '5 非常满意 … 1 非常不满意 (stars), or GB/T 39046 codes' },
      { name: 'rating_scheme', type: oneOf(['stars', 'gbt39046']), required: false, meaning: 'stars (default) or gbt39046; stored as stars' },
      { name: 'active', type: bool, required: false, meaning: 'false for a default rating given when the person did not rate' },
      { name: 'follow_up', type: bool, required: false, meaning: 'true for a second rating of the same case (追评)' },
      { name: 'occurred_at', type: timestamp, required: true, notFuture: true, meaning: 'when the rating was given' },
      { name: 'channel', type: oneOf(EVALUATION_CHANNELS), required: true, meaning: 'where the rating was given' },
      { name: 'case_id', type: id(), required: false, meaning: 'the case rated, where known' },
      { name: 'item_code', type: id(), required: false, references: 'item', meaning: 'the service item' },
      { name: 'staff_id', type: id(), required: false, meaning: 'the officer rated' },
      { name: 'comment', type: str(2000), required: false, meaning: 'free text, up to 2000 characters' },
      { name: 'real_name', type: bool, required: false, meaning: 'a named (实名) rating' },
    ],
  },
  'evaluation-followups': {
    name: 'evaluation-followups',
    table: 'evaluation_followups',
    idField: 'event_id',
    unitField: 'unit_id',
    recordOf: { field: 'evaluation_id', kind: 'rating' },
    activeUnit: { unit: 'unit_id', date: 'occurred_at' },
    fields: [
      { name: 'event_id', type: id(), required: true, meaning: 'unique id of this record' },
      { name: 'evaluation_id', type: id(), required: true, meaning: "the rated event's event_id" },
      { name: 'type', type: oneOf(['verified', 'rectified', 'revisited', 'dismissed']), required: true, meaning: 'handling step of a bad rating' },
      { name: 'occurred_at', type: timestamp, required: true, notFuture: true, meaning: 'when it happened' },
      { name: 'unit_id', type: id(), required: true, references: 'unit', meaning: 'the unit handling it' },
      { name: 'note', type: str(2000), required: false, meaning: 'free text' },
    ],
  },
  complaints: {
    name: 'complaints',
    table: 'complaints',
    idField: 'event_id',
    unitField: 'unit_id',
    recordOf: { field: 'complaint_id', kind: 'complaint' },
    activeUnit: { unit: 'unit_id', date: 'occurred_at' },
    fields: [
      { name: 'event_id', type: id(), required: true, meaning: 'unique id of this record' },
      { name: 'complaint_id', type: id(), required: true, meaning: 'the complaint' },
      { name: 'type', type: oneOf(COMPLAINT_EVENT_TYPES), required: true, meaning: 'received; responded (first contact with the complainant); resolved; rated (the complainant\'s rating of the handling)' },
      { name: 'occurred_at', type: timestamp, required: true, notFuture: true, meaning: 'when it happened' },
      { name: 'unit_id', type: id(), required: true, references: 'unit', meaning: 'the unit complained about' },
      { name: 'category', type: str(128), required: false, meaning: 'what the complaint is about' },
      { name: 'substantiated', type: bool, required: false, meaning: 'on resolved: whether the complaint was upheld' },
      { name: 'rating', type: { kind: 'integer', min: 1, max: 5 }, required: { when: 'type', in: ['rated'] }, meaning: 'on rated: the complainant\'s rating of the handling, 5 非常满意 … 1 非常不满意 (as for evaluations)' },
      { name: 'source', type: oneOf(['hotline', 'letter', 'web', 'in_person']), required: false, meaning: 'how it came in' },
      { name: 'case_id', type: id(), required: false, meaning: 'the case the complaint is about: a case already stored (unknown_case otherwise)' },
      { name: 'evaluation_id', type: id(), required: false, meaning: 'the rating the complaint is about (its event_id): a rating already stored (unknown_rating otherwise)' },
    ],
    links: [{ field: 'case_id', kind: 'case' }, { field: 'evaluation_id', kind: 'rating' }],
  },
  'queue-tickets': {
    name: 'queue-tickets',
    table: 'queue_tickets',
    idField: 'event_id',
    unitField: 'unit_id',
    recordOf: { field: 'ticket_id', kind: 'ticket' },
    activeUnit: { unit: 'unit_id', date: 'occurred_at' },
    fields: [
      { name: 'event_id', type: id(), required: true, meaning: 'unique id of this record' },
      { name: 'ticket_id', type: id(), required: true, meaning: 'the queue ticket' },
      { name: 'type', type: oneOf(['issued', 'called', 'served', 'abandoned']), required: true, meaning: 'step of the ticket' },
      { name: 'occurred_at', type: timestamp, required: true, notFuture: true, meaning: 'when it happened' },
      { name: 'unit_id', type: id(), required: true, references: 'unit', meaning: 'the hall' },
      { name: 'window_id', type: id(), required: false, meaning: 'the service window' },
      { name: 'item_code', type: id(), required: false, references: 'item', meaning: 'the service item' },
    ],
  },
  costs: {
    name: 'costs',
    table: 'costs',
    idField: 'entry_id',
    unitField: 'unit_id',
    activeUnit: { unit: 'unit_id', date: 'period' },
    fields: [
      { name: 'entry_id', type: id(), required: true, meaning: 'unique id of this ledger entry' },
      { name: 'unit_id', type: id(), required: true, references: 'unit', meaning: 'the unit the cost belongs to' },
      { name: 'period', type: { kind: 'month' }, required: true, meaning: 'the month, YYYY-MM' },
      { name: 'category', type: oneOf(['staff', 'purchased_service', 'operations', 'it']), required: true, meaning: 'cost category' },
      { name: 'amount', type: { kind: 'decimal', scale: 2 }, required: true, meaning: 'yuan, up to 2 decimal places, as a string or number' },
      { name: 'staff_fte', type: { kind: 'number', min: 0 }, required: false, meaning: 'full-time equivalents, on staff entries' },
      { name: 'note', type: str(2000), required: false, meaning: 'free text' },
    ],
  },
}

export function isStreamName(s: string): s is StreamName {
  return (STREAM_NAMES as readonly string[]).includes(s)
}
