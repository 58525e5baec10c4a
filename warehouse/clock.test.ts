// The clock against the official calendar: hand-checked cases around the 2024 National Day
// holiday (Sun 29 Sep was a working day, 1–7 Oct were off), suspensions, due_at, as_of.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CalendarMissingError, nowSeconds, type Item, type Unit } from './index.ts'
import { openTestPlatform } from './testing.ts'

type P = Awaited<ReturnType<typeof openTestPlatform>>
let p: P
let seq = 0

const unit: Unit = { unit_id: 'U1', name: '测试大厅', tier: 2, kind: 'street_hall', parent_id: null, active_from: null, active_to: null }
const item = (code: string, promised: number | null): Item => ({
  item_code: code, name: code, category: 'public_service', statutory_days: promised, promised_days: promised,
  owner_unit_id: null, tiers: [2], warning_days: null, warning_share: null,
})
const at = (s: string) => (Date.parse(s) / 1000).toFixed(3)

/** Stores a case's events straight into the warehouse and refreshes its state. */
async function store(caseId: string, events: Array<[type: string, time: string, extra?: Record<string, unknown>]>) {
  const batch = crypto.randomUUID()
  // what ingest does in SQL before it writes a batch's events: mark its cases for refresh
  await p.warehouse.client.insert({ table: 'case_refresh_queue', values: [{ batch_id: batch, case_id: caseId, queued_at: nowSeconds() }], format: 'JSONEachRow' })
  await p.warehouse.client.insert({
    table: 'case_events',
    format: 'JSONEachRow',
    values: events.map(([type, time, extra]) => ({
      event_id: `e${++seq}`, case_id: caseId, type, occurred_at: at(time), unit_id: 'U1',
      item_code: type === 'accepted' ? 'I3' : null, attrs: '', content_hash: '0', batch_id: batch,
      source_key: 'test', ingested_at: at(new Date().toISOString()), ...extra,
    })),
  })
  await p.cases.refreshBatch(batch)
}

const asOf = (s: string) => Date.parse(s)

beforeAll(async () => {
  p = await openTestPlatform()
  await p.reference.upsertUnits([unit])
  await p.reference.upsertItems([item('I3', 3), item('I0', 0), item('IN', null)])
  await store('fri-on-time', [['accepted', '2024-09-27T10:00:00+08:00'], ['completed', '2024-10-08T16:00:00+08:00']])
  await store('fri-late', [['accepted', '2024-09-27T10:00:00+08:00'], ['completed', '2024-10-09T09:00:00+08:00']])
  // A supplement from Mon 30 Sep to Tue 8 Oct takes 1 working day (30 Sep) off the clock … W(8 Oct) − W(30 Sep) = 1.
  await store('supplement', [
    ['accepted', '2024-09-27T10:00:00+08:00'],
    ['supplement_requested', '2024-09-30T10:00:00+08:00'],
    ['supplement_received', '2024-10-08T10:00:00+08:00'],
    ['completed', '2024-10-09T09:00:00+08:00'],
  ])
  await store('due-at', [
    ['accepted', '2024-09-27T10:00:00+08:00', { due_at: at('2024-10-09T12:00:00+08:00') }],
    ['completed', '2024-10-09T11:59:59+08:00'],
  ])
  await store('open', [['accepted', '2024-09-27T10:00:00+08:00']])
  await store('withdrawn', [['accepted', '2024-09-27T10:00:00+08:00'], ['withdrawn', '2024-10-12T10:00:00+08:00']])
}, 120_000)

afterAll(async () => p?.close())

describe('the clock', () => {
  it('counts working days from the official calendar, not Monday to Friday', async () => {
    const onTime = await p.cases.get('fri-on-time', asOf('2024-12-01T00:00:00+08:00'))
    expect(onTime).toMatchObject({ status: 'completed', elapsed_days: 3, limit_days: 3, on_time: true, overdue: false })
    const late = await p.cases.get('fri-late', asOf('2024-12-01T00:00:00+08:00'))
    expect(late).toMatchObject({ status: 'completed', elapsed_days: 4, on_time: false, overdue: true, days_over: 1 })
  })

  it('takes suspensions off the clock', async () => {
    const c = await p.cases.get('supplement', asOf('2024-12-01T00:00:00+08:00'))
    expect(c).toMatchObject({ elapsed_days: 3, suspended_days: 1, on_time: true })
  })

  it('uses due_at to the second when the source sent one', async () => {
    const c = await p.cases.get('due-at', asOf('2024-12-01T00:00:00+08:00'))
    expect(c).toMatchObject({ elapsed_days: 4, on_time: true, due_at: '2024-10-09T12:00:00.000+08:00' })
  })

  it('judges an open case as of a moment: fine, warning, overdue', async () => {
    // As of Sun 29 Sep (a working day): E = 1 of 3.
    expect(await p.cases.get('open', asOf('2024-09-29T18:00:00+08:00'))).toMatchObject({ status: 'open', elapsed_days: 1, overdue: false, warning: false })
    // As of Mon 30 Sep: E = 2, the deadline (8 Oct) is the next working day: warning.
    expect(await p.cases.get('open', asOf('2024-09-30T18:00:00+08:00'))).toMatchObject({ elapsed_days: 2, overdue: false, warning: true })
    // During the holiday nothing moves.
    expect(await p.cases.get('open', asOf('2024-10-05T18:00:00+08:00'))).toMatchObject({ elapsed_days: 2, warning: true })
    expect(await p.cases.get('open', asOf('2024-10-09T09:00:00+08:00'))).toMatchObject({ elapsed_days: 4, overdue: true, warning: false, days_over: 1 })
    // Before acceptance the case does not exist yet.
    expect(await p.cases.get('open', asOf('2024-09-27T09:59:59+08:00'))).toBeUndefined()
  })

  it('leaves a withdrawn case out of timeliness', async () => {
    expect(await p.cases.get('withdrawn', asOf('2024-12-01T00:00:00+08:00'))).toMatchObject({ status: 'withdrawn', on_time: null, overdue: false, warning: false })
  })

  it('counts a year past the official calendar on the provisional one, and says so', async () => {
    const loaded = p.calendar.loadedYears()
    const next = loaded[loaded.length - 1]! + 1
    expect(p.calendar.statusOf(next)).toBe('provisional')
    // as of a moment in that year the open case's clock runs on through its days
    const later = await p.cases.get('open', asOf(`${next}-01-05T10:00:00+08:00`))
    expect(later).toMatchObject({ status: 'open', overdue: true, calendar_provisional: true })
    // as of a moment in the official years it is not provisional
    expect(await p.cases.get('open', asOf('2024-10-09T09:00:00+08:00'))).toMatchObject({ calendar_provisional: false })
    expect(await p.cases.get('fri-late', asOf(`${next}-01-05T10:00:00+08:00`))).toMatchObject({ calendar_provisional: false, on_time: false })
  })

  it('refuses a moment no calendar can be worked out for, naming the year', async () => {
    await expect(p.cases.get('open', asOf('2150-01-05T10:00:00+08:00'))).rejects.toThrow(CalendarMissingError)
  })
})
