// Writes only to one's own records (CONTRACT.md Transport): a row about a record that may already
// be stored — an event of a case, a follow-up of a rating, a later event of a complaint or of a
// queue ticket — is accepted only from a key whose units cover the record's current unit. The
// lookup is SQL over the warehouse, bounded by the body's own record ids; nothing is read row by
// row in JavaScript.
import type { RecordKind, StreamSpec } from './contract.ts'

/**
 * SQL of (record String, unit String): the current unit of each stored record whose id is in the
 * SQL set `ids`. '' when a stored record has none yet (a ticket whose `issued` has not come).
 */
export function currentUnitSql(kind: RecordKind, ids: string): string {
  switch (kind) {
    // the unit it belongs to now, after transfers: the stored fact of its case_state row
    case 'case':
      return `SELECT case_id AS record, argMax(f_unit_id, refreshed_at) AS unit FROM case_state
        WHERE case_id GLOBAL IN (${ids}) GROUP BY case_id`
    // the unit rated
    case 'rating':
      return `SELECT event_id AS record, toString(any(unit_id)) AS unit FROM evaluations
        WHERE event_id GLOBAL IN (${ids}) GROUP BY event_id`
    // the unit of its first `received` (of its first stored event, while no `received` is stored)
    case 'complaint':
      return `SELECT complaint_id AS record,
          toString(if(countIf(type = 'received') > 0, argMinIf(unit_id, occurred_at, type = 'received'), argMin(unit_id, occurred_at))) AS unit
        FROM complaints WHERE complaint_id GLOBAL IN (${ids}) GROUP BY complaint_id`
    // the unit of its first `issued` (the ticket rows keep it, one per ticket)
    case 'ticket':
      return `SELECT ticket_id AS record, argMax(unit_id, version) AS unit FROM queue_ticket_state
        WHERE ticket_id GLOBAL IN (${ids}) GROUP BY ticket_id`
  }
}

/** What a foreign record is called in messages. */
export const RECORD_WORDS: Record<RecordKind, string> = { case: 'case', rating: 'rating', complaint: 'complaint', ticket: 'ticket' }

/**
 * SELECT row, unit, record, record_unit, total: the staged rows (at most 100, the first) that
 * would be stored and whose record is stored with a current unit outside {writable:Array(String)}.
 * Rows that store nothing (duplicates, conflicts, ids of another source: in ingest_row_status)
 * are left out, so a body resent after its case moved on is still answered with duplicates. A
 * record not stored yet is the body's own: its rows were checked on their own unit already (a
 * case first accepted in the body by the key's unit is the key's).
 */
export function foreignRecordsSql(spec: StreamSpec, stage: string): string | undefined {
  const of = spec.recordOf
  if (!of) return undefined
  return `
    SELECT s.row AS row, s.unit AS unit, s.record AS record, c.unit AS record_unit, count() OVER () AS total
    FROM (
      SELECT row, unit, assumeNotNull(${of.field}) AS record FROM ${stage}
      WHERE row NOT IN (SELECT row FROM ingest_row_status WHERE batch_id = {batch:UUID})
    ) AS s
    INNER JOIN (${currentUnitSql(of.kind, `SELECT assumeNotNull(${of.field}) FROM ${stage}`)}) AS c ON c.record = s.record
    WHERE c.unit != '' AND NOT has({writable:Array(String)}, c.unit)
    ORDER BY row
    LIMIT 100`
}
