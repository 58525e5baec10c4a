// 一事一评 through rating_contests: a case's ratings arriving in different batches are ranked
// against each other, as of any moment; a rating stored twice (two processes at once) counts once;
// a batch stored without its refresh (a crash in between) is found at start-up; and the answer is
// the one the plain ranking of every rating gives.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { countedRatingsSql, epochSeconds, queryRows } from './index.ts'
import { openTestPlatform } from './testing.ts'

let p: Awaited<ReturnType<typeof openTestPlatform>>
const at = (s: string) => (Date.parse(s) / 1000).toFixed(3)

type Rating = [event: string, caseId: string | null, time: string, opts?: { active?: boolean; followUp?: boolean; rating?: number }]

/** Stores ratings straight into the warehouse as one batch, as ingest does; its id is returned. */
async function storeBatch(ratings: Rating[]): Promise<string> {
  const batch = crypto.randomUUID()
  await p.warehouse.client.insert({
    table: 'evaluations',
    format: 'JSONEachRow',
    values: ratings.map(([event_id, case_id, time, o = {}]) => ({
      event_id, unit_id: 'U1', rating: o.rating ?? 5, rating_scheme_received: 'five_star', active: o.active ?? true, follow_up: o.followUp ?? false,
      occurred_at: at(time), channel: 'app', case_id, item_code: null, staff_id: null, comment: null, real_name: null,
      content_hash: '0', batch_id: batch, source_key: 'test', ingested_at: at(new Date().toISOString()),
    })),
  })
  return batch
}

/** The ratings as of a moment, each with whether it counts. */
const counted = async (asOf: string) => (await queryRows<{ event_id: string; counted: boolean }>(p.warehouse,
  `SELECT event_id, counted FROM (${countedRatingsSql(p.warehouse.timezone)}) ORDER BY event_id`, { as_of: epochSeconds(Date.parse(asOf)) }))
  .map((r) => `${r.event_id}${r.counted ? '' : ' (not counted)'}`)

/** The same, by ranking every rating (the rule written out once more, without rating_contests). */
const rankedWhole = async (asOf: string) => (await queryRows<{ event_id: string; counted: boolean }>(p.warehouse, `
  SELECT event_id, NOT follow_up AND row_number() OVER (PARTITION BY follow_up, ifNull(case_id, event_id) ORDER BY active DESC, occurred_at, event_id) = 1 AS counted
  FROM (SELECT * FROM evaluations WHERE occurred_at <= {as_of:DateTime64(3)} LIMIT 1 BY event_id) ORDER BY event_id`, { as_of: epochSeconds(Date.parse(asOf)) }))
  .map((r) => `${r.event_id}${r.counted ? '' : ' (not counted)'}`)

const contests = async () => (await queryRows<{ rated: string; follow_up: boolean }>(p.warehouse,
  'SELECT DISTINCT rated, follow_up FROM rating_contests ORDER BY rated, follow_up')).map((r) => `${r.rated}${r.follow_up ? ' 追评' : ''}`)

beforeAll(async () => {
  p = await openTestPlatform()
})
afterAll(async () => p?.close())

describe('一事一评 (rating_contests)', () => {
  it('ranks a case\'s ratings from different batches against each other, as of each moment', async () => {
    await p.ratings.refreshBatches([await storeBatch([
      ['r1', 'C1', '2025-03-03T09:00:00+08:00', { active: false }], // a default rating first
      ['r2', 'C2', '2025-03-03T10:00:00+08:00'],
      ['v1', null, '2025-03-03T11:00:00+08:00'], // a visit: a rating of its own
    ])])
    expect(await contests()).toEqual([])
    await p.ratings.refreshBatches([await storeBatch([
      ['r3', 'C1', '2025-03-05T09:00:00+08:00'], // the citizen's own rating, later: it counts instead
      ['r4', 'C2', '2025-03-01T09:00:00+08:00', { active: false }], // an earlier default rating: the active r2 still counts
      ['f1', 'C2', '2025-03-10T09:00:00+08:00', { followUp: true, rating: 2 }], // a 追评: never a second rating
    ])])
    expect(await contests()).toEqual(['C1', 'C2'])
    expect(await counted('2025-03-04T00:00:00+08:00')).toEqual(['r1', 'r2', 'r4 (not counted)', 'v1'])
    expect(await counted('2025-03-31T00:00:00+08:00')).toEqual(['f1 (not counted)', 'r1 (not counted)', 'r2', 'r3', 'r4 (not counted)', 'v1'])
  })

  it('counts a rating stored twice once, once its batch is refreshed', async () => {
    // two processes each stored the same new rows (their dedup lookups ran before either insert)
    const rows: Rating[] = [['r5', 'C3', '2025-04-01T09:00:00+08:00'], ['v2', null, '2025-04-01T10:00:00+08:00']]
    const batches = [await storeBatch(rows), await storeBatch(rows)]
    await p.ratings.refreshBatches(batches)
    expect(await contests()).toEqual(['C1', 'C2', 'C3', 'v2'])
    const now = '2025-12-31T00:00:00+08:00'
    expect((await counted(now)).filter((r) => r.startsWith('r5') || r.startsWith('v2'))).toEqual(['r5', 'v2'])
    expect(await counted(now)).toEqual(await rankedWhole(now))
  })

  it('finds at start-up what a batch stored without its refresh left out', async () => {
    await storeBatch([['r6', 'C4', '2025-05-01T09:00:00+08:00', { active: false }], ['r7', 'C4', '2025-05-02T09:00:00+08:00', { active: false }]])
    const now = '2025-12-31T00:00:00+08:00'
    // (without the refresh, both of C4's ratings would count)
    expect((await counted(now)).filter((r) => /^r[67]/.test(r))).toEqual(['r6', 'r7'])
    await p.ratings.repair()
    expect((await counted(now)).filter((r) => /^r[67]/.test(r))).toEqual(['r6', 'r7 (not counted)'])
    expect(await counted(now)).toEqual(await rankedWhole(now))
    // a repair with nothing missing changes nothing
    const before = await contests()
    await p.ratings.repair()
    expect(await contests()).toEqual(before)
  })

  it('counts a rating whose key only shares its hash with a contested key as it would unranked', async () => {
    // a key in rating_contests with one rating: what a rating whose rated_key collides with a
    // contested key's meets (it is ranked, alone among the ratings of its own key)
    await storeBatch([['r8', 'C5', '2025-06-01T09:00:00+08:00'], ['v3', null, '2025-06-01T10:00:00+08:00'], ['f2', 'C5', '2025-06-02T09:00:00+08:00', { followUp: true }]])
    await p.warehouse.client.insert({ table: 'rating_contests', values: [{ follow_up: false, rated: 'C5' }, { follow_up: false, rated: 'v3' }, { follow_up: true, rated: 'C5' }], format: 'JSONEachRow' })
    const [{ ranked }] = await queryRows<{ ranked: string }>(p.warehouse,
      "SELECT count() AS ranked FROM evaluations WHERE event_id IN ('r8', 'v3', 'f2') AND rated_key IN (SELECT rated_key FROM rating_contests)") as [{ ranked: string }]
    expect(Number(ranked)).toBe(3)
    const now = '2025-12-31T00:00:00+08:00'
    expect((await counted(now)).filter((r) => /^(r8|v3|f2)/.test(r))).toEqual(['f2 (not counted)', 'r8', 'v3'])
    expect(await counted(now)).toEqual(await rankedWhole(now))
  })
})
