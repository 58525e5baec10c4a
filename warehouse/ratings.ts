// 一事一评 (CONTRACT.md): a rating counts once per rated case — the first of the case's ratings
// that are not 追评, an active one before a default one — or per visit (a rating without a case).
// Deciding that needs every rating of a case side by side; done for all 1.5M ratings of a 10M-event
// district on every question it took 0.8 s (a window over every rating). Almost every case has one
// rating, so `rating_contests` keeps the few keys that have more than one stored row — a case
// rated twice, or one rating stored twice by two processes at once — and only those ratings are
// ranked; every other rating counts as it is. The table only ever gains keys: ratings are never
// deleted, so a key that once had two rows always has.
//
// A batch's keys are looked at after its rows are stored (DerivedRefresh, off the receipt path);
// start-up rebuilds the whole table (one GROUP BY of the ratings' keys: 0.26 s at 1.5M ratings), so
// a crash between the rows and their refresh leaves nothing behind.
import type { Warehouse } from './client.ts'
import { DERIVED_WRITE } from './derived.ts'

/** What makes ratings contest one count: the same case (or, without one, the same rating), 追评 apart. */
const RATED = 'ifNull(case_id, event_id)'

/** The keys with more than one stored rating row, of the ratings `where` selects (SQL over evaluations). */
const contestedKeys = (where: string) => `
  SELECT follow_up, ${RATED} AS rated FROM evaluations
  ${where}
  GROUP BY follow_up, rated HAVING count() > 1`

export class RatingStore {
  constructor(private readonly warehouse: Warehouse) {}

  /** After batches of ratings are stored: the keys they share with a rating already stored (or with each other). */
  async refreshBatches(batchIds: string[]): Promise<void> {
    if (batchIds.length === 0) return
    await this.warehouse.client.command({
      // (GLOBAL: on a cluster the ratings are spread over the shards by event_id)
      query: `INSERT INTO rating_contests ${contestedKeys(`WHERE (follow_up, ${RATED}) GLOBAL IN (SELECT follow_up, ${RATED} FROM evaluations WHERE batch_id IN {batches:Array(UUID)})`)} ${DERIVED_WRITE}`,
      query_params: { batches: batchIds },
    })
  }

  /** At start-up: every contested key, from every stored rating (what a crash before a refresh missed too). */
  async repair(): Promise<void> {
    await this.warehouse.client.command({ query: `INSERT INTO rating_contests ${contestedKeys('')} ${DERIVED_WRITE}` })
  }
}

/**
 * The ratings given by {as_of:DateTime64(3, tz)}, each marked `counted` by 一事一评: a 追评
 * (follow_up) is never a second rating, and neither is a case's other ratings. One row per rating
 * (a rating two server processes stored at once is one rating: ingest/README.md "Exactly once").
 * Columns: event_id, unit_id, item_code, channel, rating, active, follow_up, real_name, at, case_id,
 * comment, counted.
 */
export function countedRatingsSql(tz: string): string {
  // Which ratings are ranked: those whose key's hash (`rated_key`, migration 24: a column of each
  // table) is a contested key's — a UInt64 in a set, where the key itself, a flag and a string,
  // took 90 of the 140 ms of a year's satisfaction by unit at 1.5M ratings. A rating whose hash
  // only collides with a contested key's is ranked among the ratings of its own key (the window
  // goes by the key), alone there, so it counts exactly as it would have unranked.
  const ratings = (where: string) => `
    SELECT event_id, toString(unit_id) AS unit_id, toString(item_code) AS item_code, toString(channel) AS channel, rating, active, follow_up,
      ifNull(real_name, false) AS real_name, occurred_at AS at, case_id, comment
    FROM evaluations WHERE occurred_at <= {as_of:DateTime64(3, '${tz}')} AND rated_key ${where} (SELECT rated_key FROM rating_contests)`
  return `
  SELECT *, NOT follow_up AS counted FROM (${ratings('NOT IN')})
  UNION ALL
  SELECT * EXCEPT rank, NOT follow_up AND rank = 1 AS counted FROM (
    SELECT *, row_number() OVER (PARTITION BY follow_up, ifNull(case_id, event_id) ORDER BY active DESC, at, event_id) AS rank
    FROM (${ratings('IN')} LIMIT 1 BY event_id))`
}
