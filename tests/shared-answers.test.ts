// Equal questions asked while one is being answered share its answer (warehouse/answers.ts: the
// indicators' questions, the case lists, counts and pages):
// the engine is asked once; but a question asked after records were stored is asked anew, and
// counts them.
import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import { IngestService } from '../ingest/index.ts'
import { loadDemoDistrict } from '../ingest/demo/index.ts'
import { BACKGROUND_QUERY_PREFIX, queryRows } from '../warehouse/index.ts'
import { openTestPlatform } from '../warehouse/testing.ts'
import { MetricsService, type MetricRequest } from '../metrics/index.ts'

let p: Awaited<ReturnType<typeof openTestPlatform>>
let metrics: MetricsService
const principal = { key_id: 'test', name: 'test', writableUnits: () => undefined }
const asParsed = (records: object[]) => records.map((value, i) => ({ row: i + 1, raw: '', value }))
// a past moment, its answers computed every time (kept answers, and answers kept across moments,
// are other mechanisms: answers-across-moments.test.ts)
const req: MetricRequest = { from: '2025-01-01', to: '2025-06-30', by: 'unit', asOfMs: Date.parse('2025-06-30T23:59:59+08:00') }

beforeAll(async () => {
  p = await openTestPlatform()
  await loadDemoDistrict(p, new IngestService(p), { cases: 300, from: '2025-01-01', to: '2025-06-30' })
  metrics = new MetricsService(p)
  metrics.usePastAnswers = false
  p.answers.keepAcrossMoments = false
}, 300_000)
afterAll(async () => p?.close())

/** The queries the engine is asked while `ask` runs (not the platform's own background reads). */
async function queriesOf<T>(ask: () => Promise<T>): Promise<{ result: T; queries: number }> {
  await p.derived.settled()
  const spy = vi.spyOn(p.warehouse.client, 'query')
  try {
    const result = await ask()
    const queries = spy.mock.calls.filter(([q]) => !(q as { query_id?: string }).query_id?.startsWith(BACKGROUND_QUERY_PREFIX)).length
    return { result, queries }
  } finally {
    spy.mockRestore()
  }
}

it('asks the engine once for equal questions asked together, and gives each the same answer', async () => {
  const alone = await queriesOf(() => metrics.runMany(['on_time_rate', 'satisfaction_rate'], req))
  expect(alone.queries).toBeGreaterThan(0)
  const together = await queriesOf(() => Promise.all([1, 2, 3, 4].map(() => metrics.runMany(['on_time_rate', 'satisfaction_rate'], req))))
  // (on a ClickHouse server other processes store records too, and nothing is shared)
  expect(together.queries).toBe(p.warehouse.kind === 'embedded' ? alone.queries : 4 * alone.queries)
  for (const answer of together.result) expect(answer).toEqual(alone.result)
  // each its own copy: one caller's changes are not another's
  expect(together.result[1]).not.toBe(together.result[0])
  // another question is its own
  const other = await queriesOf(() => Promise.all([metrics.run('on_time_rate', req), metrics.run('on_time_rate', { ...req, by: 'month' })]))
  expect(other.queries).toBe(2 * (await queriesOf(() => metrics.run('on_time_rate', req))).queries)
})

it('asks the engine once for equal case lists and counts asked together', async () => {
  const asOf = Date.parse('2025-06-30T23:59:59+08:00')
  const ask = () => Promise.all([p.cases.list({ status: 'open', limit: 50 }, asOf), p.cases.count({ status: 'open' }, 'unit', asOf)])
  const alone = await queriesOf(ask)
  expect(alone.result[0].length).toBeGreaterThan(0)
  const together = await queriesOf(() => Promise.all([1, 2, 3].map(ask)))
  expect(together.queries).toBe(p.warehouse.kind === 'embedded' ? alone.queries : 3 * alone.queries)
  for (const answer of together.result) expect(answer).toEqual(alone.result)
})

it('reads a year\'s targets once for equal reads at once, and anew after a target is stored', async () => {
  const alone = await queriesOf(() => p.reference.targets(2025))
  expect(alone.queries).toBe(1)
  const together = await queriesOf(() => Promise.all([1, 2, 3, 4].map(() => p.reference.targets(2025))))
  expect(together.queries).toBe(p.warehouse.kind === 'embedded' ? 1 : 4)
  for (const answer of together.result) expect(answer).toEqual(alone.result)
  expect(together.result[1]).not.toBe(together.result[0])
  // a read asked after a write is its own, and sees it, even while one asked before the write is
  // still being answered (held back here until the second is asked)
  // (a value no fixture holds, so only the new target can match it)
  const target = { year: 2025, metric_id: 'on_time_rate', scope: 'tier:2', value: 0.9751 }
  expect(alone.result).not.toContainEqual(target)
  const client = p.warehouse.client
  const query = client.query
  let release!: () => void
  const held = new Promise<void>((resolve) => (release = resolve))
  client.query = (async (...args: Parameters<typeof query>) => {
    client.query = query
    await held
    return query.apply(client, args)
  }) as typeof query
  const first = p.reference.targets(2025)
  expect(client.query).toBe(query) // (the first read's query is the one held)
  await p.reference.upsertTargets([target])
  const second = await queriesOf(async () => {
    const asked = p.reference.targets(2025)
    release()
    return asked
  })
  expect(second.queries).toBe(1)
  expect(second.result).toContainEqual(target)
  await first
})

it('asks anew when records were stored after the first question, and counts them', async () => {
  const before = (await metrics.run('on_time_rate', req)).rows
  const [open] = await queryRows<{ case_id: string; unit_id: string }>(p.warehouse,
    `SELECT case_id, f_unit_id AS unit_id FROM case_state FINAL WHERE f_status = 'open' AND f_accepted_at < '2025-06-20' ORDER BY case_id LIMIT 1`)
  expect(open).toBeDefined()
  const stopped = (rows: typeof before) => rows.filter((r) => r.key === open!.unit_id).reduce((n, r) => n + (r.denominator ?? 0), 0)
  // the first question's answer, computed before the stop is stored, is held back (still being
  // answered) until well after the stop is acknowledged and the second question asked
  let release!: () => void
  const gate = new Promise<void>((r) => (release = r))
  const query = p.warehouse.client.query.bind(p.warehouse.client)
  let held = false
  const spy = vi.spyOn(p.warehouse.client, 'query').mockImplementation((async (params: Parameters<typeof query>[0]) => {
    const result = await query(params)
    // (the first question's query: nothing else is asked until it is held but, on a server, the
    // platform's look for batches other processes left due)
    if (!held && !params.query_id?.startsWith(BACKGROUND_QUERY_PREFIX)) {
      held = true
      await gate
    }
    return result
  }) as typeof p.warehouse.client.query)
  try {
    const first = metrics.run('on_time_rate', req)
    await vi.waitFor(() => expect(held).toBe(true), { interval: 5 })
    const receipt = await new IngestService(p).ingest('case-events', asParsed([{ event_id: 'shared-answers-stop', case_id: open!.case_id, type: 'completed', occurred_at: '2025-06-25T10:00:00+08:00', unit_id: open!.unit_id }]), principal)
    expect(receipt.accepted).toBe(1)
    // (a second question that waited for the first would wait for this)
    const timer = setTimeout(release, 5000)
    const second = await metrics.run('on_time_rate', req)
    release()
    clearTimeout(timer)
    expect(stopped((await first).rows)).toBe(stopped(before))
    expect(stopped(second.rows)).toBe(stopped(before) + 1)
  } finally {
    release()
    spy.mockRestore()
  }
})
