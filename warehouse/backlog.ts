// How far the derived case state lags behind what was stored: the batches whose cases are queued
// for the refresh (cases.ts) and not yet refreshed. Read by the monitoring at each scrape.
import { queryRows, type Warehouse } from './client.ts'

export interface DerivedBacklog {
  /** Cases queued by batches not yet refreshed. */
  cases: number
  /** Those batches. */
  batches: number
  /** Seconds since the oldest of them was queued (0 when none). */
  lag_seconds: number
}

export async function derivedBacklog(warehouse: Warehouse): Promise<DerivedBacklog> {
  const [row] = await queryRows<{ cases: string; batches: string; oldest: string | null }>(warehouse,
    `SELECT count() AS cases, uniqExact(batch_id) AS batches, if(count() = 0, NULL, toUnixTimestamp64Milli(min(queued_at))) AS oldest
     FROM case_refresh_queue WHERE batch_id NOT IN (SELECT batch_id FROM case_refresh_done)`)
  const oldest = row?.oldest === null || row?.oldest === undefined ? undefined : Number(row.oldest)
  return { cases: Number(row?.cases ?? 0), batches: Number(row?.batches ?? 0), lag_seconds: oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000) }
}
