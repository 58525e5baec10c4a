// The queue tickets, one row each (queue_ticket_state): what the queue indicators read instead of
// regrouping every ticket event on every question. A batch's tickets are rebuilt whole from all of
// their events after the batch is stored, so a row is always exact for the events it counted.
//
// A crash between storing a batch and rebuilding its tickets leaves rows that counted fewer events
// than are stored: at start-up the number of events the rows counted is compared with the number
// stored, and the whole table is rebuilt when they differ (a few seconds for millions of events).
import type { Warehouse } from './client.ts'
import { queryRows } from './client.ts'
import { DERIVED_WRITE } from './derived.ts'

/** The rows of the given tickets (a SQL set of ticket ids), from every stored event of theirs. */
const ticketRows = (tickets: string | null) => `
  SELECT ticket_id,
    toString(argMinIf(unit_id, occurred_at, type = 'issued')) AS unit_id,
    argMinIf(item_code, occurred_at, type = 'issued') AS item_code,
    minIfOrNull(occurred_at, type = 'issued') AS issued_at,
    minIfOrNull(occurred_at, type = 'called') AS called_at,
    minIfOrNull(occurred_at, type = 'abandoned') AS abandoned_at,
    count() AS events,
    -- a later rebuild replaces an earlier one: it started after, so it read every event the earlier one did
    toUnixTimestamp64Nano(now64(9)) AS version
  FROM queue_tickets ${tickets === null ? '' : `WHERE ticket_id IN (${tickets})`}
  GROUP BY ticket_id`

export class QueueStore {
  constructor(private readonly warehouse: Warehouse) {}

  /** Rebuilds the rows of the tickets several batches stored events of, in one statement. */
  async refreshBatches(batchIds: string[]): Promise<void> {
    if (batchIds.length === 0) return
    await this.warehouse.client.command({
      query: `INSERT INTO queue_ticket_state ${ticketRows('SELECT ticket_id FROM queue_tickets WHERE batch_id IN {batches:Array(UUID)}')} ${DERIVED_WRITE}`,
      query_params: { batches: batchIds },
    })
  }

  /** At start-up: rebuilds every row when the rows do not count every stored event (a crash, or a warehouse from before the table). */
  async repair(): Promise<void> {
    const [row] = await queryRows<{ stored: string; counted: string }>(
      this.warehouse,
      `SELECT (SELECT count() FROM queue_tickets) AS stored, (SELECT sum(events) FROM queue_ticket_state FINAL) AS counted`,
    )
    if (row && row.stored !== row.counted) await this.warehouse.client.command({ query: `INSERT INTO queue_ticket_state ${ticketRows(null)} ${DERIVED_WRITE}` })
  }
}
