// The log of changes to the stored records (data_changes): each ingest batch writes a mark when it
// starts storing and when it is done, with the date of its earliest record. An answer about a
// moment in the past depends only on records dated up to then (and on the reference data), so it
// stays right until a change reaches back to that moment: what lets metrics keep past answers.
import type { Warehouse } from './client.ts'
import { queryRows } from './client.ts'
import { epochSeconds } from './time.ts'

/** The reference data an answer about the past depends on besides the records (their `updated_at`). */
const REFERENCE_TABLES = ['units', 'items', 'calendar', 'settings'] as const

/** What `unchangedSince` asks: the ends of changes since a moment reaching back to a day, and the reference data written since. */
const UNCHANGED_SINCE_SQL = `SELECT (SELECT count() FROM data_changes WHERE phase = 'end' AND at >= {since:DateTime64(3)} AND earliest <= {day:Date}) AS changes,
    (SELECT count() FROM (
      ${REFERENCE_TABLES.map((t) => `SELECT updated_at FROM ${t}`).join(' UNION ALL ')}
    ) WHERE updated_at >= {since:DateTime64(3)}) AS reference`

/** A day before every record: a change that may touch any moment. */
export const ANY_DAY = '1970-01-01'

export class ChangeLog {
  constructor(private readonly warehouse: Warehouse) {}

  /** The end marks this process wrote, by the day their change reaches back to. */
  private endedByDay = new Map<string, number>()

  private async mark(changeId: string, phase: 'start' | 'end', earliestDay: string): Promise<void> {
    try {
      await this.warehouse.client.insert({
        table: 'data_changes',
        values: [{ change_id: changeId, phase, at: epochSeconds(Date.now()), earliest: earliestDay }],
        format: 'JSONEachRow',
      })
    } finally {
      // counted once written (failed too: it may have been), never before: an answer read while
      // it was being written was read under the count before it, and is asked anew after
      if (phase === 'end') this.endedByDay.set(earliestDay, (this.endedByDay.get(earliestDay) ?? 0) + 1)
    }
  }

  /**
   * What `unchangedSince(·, asOfDay)` would find changed, as this process saw it written: the end
   * marks it wrote reaching back to `asOfDay`, and the writes to the reference tables (and to
   * tables a statement did not name). Equal at two moments, `unchangedSince` between them is true
   * on the embedded warehouse, where every write is this process's (an answer kept across moments
   * from past_answers is kept against it: metrics/service.ts).
   */
  pastVersion(asOfDay: string): string {
    let ended = 0
    for (const [day, n] of this.endedByDay) if (day <= asOfDay) ended += n
    const writes = this.warehouse.writesByTable
    return [ended, ...REFERENCE_TABLES.map((t) => writes.get(t) ?? 0), writes.get('') ?? 0].join(':')
  }

  /** Before a change stores anything: its records are dated `earliestDay` (YYYY-MM-DD) or later. */
  starting(changeId: string, earliestDay: string): Promise<void> {
    return this.mark(changeId, 'start', earliestDay)
  }

  /** After everything a change stores is visible (records, case state, aggregates). */
  ended(changeId: string, earliestDay: string): Promise<void> {
    return this.mark(changeId, 'end', earliestDay)
  }

  /**
   * At start-up, after the repairs: the changes a crash interrupted are ended now, so that what
   * was computed while they were half stored is not taken for current.
   */
  async endInterrupted(): Promise<number> {
    const open = await queryRows<{ change_id: string; earliest: string }>(this.warehouse,
      `SELECT change_id, toString(min(earliest)) AS earliest FROM data_changes GROUP BY change_id HAVING countIf(phase = 'end') = 0`)
    for (const c of open) await this.ended(c.change_id, c.earliest)
    return open.length
  }

  /**
   * Whether nothing that an answer as of `asOfDay` depends on changed at or after `sinceMs`: no
   * change reaching back to that day ended (or was ended at a restart) since, and no reference
   * data (units, items, calendar, settings) was written since.
   */
  async unchangedSince(sinceMs: number, asOfDay: string): Promise<boolean> {
    const [row] = await queryRows<{ changes: string; reference: string }>(this.warehouse, UNCHANGED_SINCE_SQL, { since: epochSeconds(sinceMs), day: asOfDay })
    return row !== undefined && Number(row.changes) === 0 && Number(row.reference) === 0
  }
}
