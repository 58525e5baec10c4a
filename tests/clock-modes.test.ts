// The two ways to the case clock agree: the facts stored from all events (what "now" reads) and
// the facts derived from the events arrays (what "as of" a past moment reads), on every case of a
// generated district.
import { afterAll, beforeAll, expect, it } from 'vitest'
import { IngestService } from '../ingest/index.ts'
import { loadDemoDistrict } from '../ingest/demo/index.ts'
import { queryRows } from '../warehouse/index.ts'
import { openTestPlatform } from '../warehouse/testing.ts'

let p: Awaited<ReturnType<typeof openTestPlatform>>

/** Every case's clock at a moment, read one way. */
async function readClock(asOfMs: number, mode: 'hybrid' | 'facts' | 'events') {
  const clock = p.cases.clock(asOfMs, undefined, mode)
  return queryRows<Record<string, unknown>>(p.warehouse, `SELECT * FROM (${clock.sql}) ORDER BY case_id`, clock.params)
}
beforeAll(async () => {
  p = await openTestPlatform()
  await loadDemoDistrict(p, new IngestService(p), { cases: 2500, from: '2025-01-01', to: '2025-08-31' })
}, 300_000)
afterAll(async () => p?.close())

it('gives every case the same clock either way', async () => {
  const asOf = Date.parse('2025-09-15T12:00:00+08:00')
  expect(p.cases.clockMode(asOf)).toBe('facts')
  const facts = await readClock(asOf, 'facts')
  const events = await readClock(asOf, 'events')
  expect(facts.length).toBeGreaterThan(2000)
  const differ = facts.filter((f, i) => JSON.stringify(f) !== JSON.stringify(events[i]))
  expect(differ.slice(0, 2).map((f) => [f, events[facts.indexOf(f)]])).toEqual([])
  expect(facts).toEqual(events)
  // the district has what makes the clock interesting
  const statuses = new Set(facts.map((r) => r.status))
  for (const s of ['open', 'completed', 'rejected', 'withdrawn']) expect(statuses).toContain(s)
  expect(facts.some((r) => Number(r.suspended_days) > 0)).toBe(true)
  expect(facts.some((r) => r.overdue && r.status === 'open')).toBe(true)
  // (and transfers, which 代办 reads: the unit that accepted a case and the units it went to)
  expect(facts.some((r) => (r.transfer_units as string[]).length > 0 && r.accepted_unit_id !== r.unit_id)).toBe(true)
})

it('reads "as of" a past moment from the stored facts where it can and the events where it must: the same clock', async () => {
  const past = Date.parse('2025-05-01T00:00:00+08:00')
  expect(p.cases.clockMode(past)).toBe('hybrid')
  const hybrid = await readClock(past, 'hybrid')
  expect(hybrid.length).toBeGreaterThan(500)
  expect(hybrid).toEqual(await readClock(past, 'events'))
  const [c] = await queryRows<{ case_id: string }>(p.warehouse, `SELECT case_id FROM case_state FINAL WHERE f_stopped_at > toDateTime64('2025-05-10 00:00:00', 3, 'Asia/Shanghai') AND f_accepted_at < toDateTime64('2025-04-25 00:00:00', 3, 'Asia/Shanghai') LIMIT 1`)
  expect((await p.cases.get(c!.case_id, past))?.status).toBe('open')
})
