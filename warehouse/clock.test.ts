// The clock against the official calendar: hand-checked cases around the 2024 National Day
// holiday (Sun 29 Sep was a working day, 1–7 Oct were off), suspensions, due_at, as_of.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CalendarMissingError, nowSeconds, queryRows, type Item, type Unit } from './index.ts'
import { openTestPlatform } from './testing.ts'
import { CALENDAR_WITH, calendarParams, W, workingDayOf } from './clock.ts'

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
  await p.cases.refreshBatches([batch])
}

const asOf = (s: string) => Date.parse(s)
const nov = (day: number, hour = 10) => `2024-11-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00+08:00`

/**
 * Each pause shape with its working days counted by hand (accepted Mon 4 Nov 2024; E counts the
 * working days after the acceptance day up to the stop, less those the clock stood still).
 */
const PAUSE_CASES: Record<string, Array<[string, string]>> = {
  // a supplement (5–7 Nov) overlapping a special procedure (6–11 Nov): still from 5 to 11 Nov,
  // W(11) − W(5) = 4 (6, 7, 8, 11); E = 7 (5–8, 11–13) − 4 = 3
  overlap: [['accepted', nov(4)], ['supplement_requested', nov(5)], ['suspended', nov(6)], ['supplement_received', nov(7)], ['resumed', nov(11)], ['completed', nov(13)]],
  // a supplement (6–7 Nov) inside a special procedure (5–12 Nov): 5 off; E = 8 − 5 = 3
  nested: [['accepted', nov(4)], ['suspended', nov(5)], ['supplement_requested', nov(6)], ['supplement_received', nov(7)], ['resumed', nov(12)], ['completed', nov(14)]],
  // a second 补正告知 (7 Nov) before the materials arrive (8 Nov) changes nothing: 5–8 Nov, 3 off; E = 6 − 3 = 3
  repeated: [['accepted', nov(4)], ['supplement_requested', nov(5)], ['supplement_requested', nov(7)], ['supplement_received', nov(8)], ['completed', nov(12)]],
  // stopped while suspended (6 Nov): the pause runs to the stop (8 Nov), 2 off; E = 4 − 2 = 2
  unclosed: [['accepted', nov(4)], ['suspended', nov(6)], ['completed', nov(8)]],
  // materials received that were never asked for: no pause; E = 3
  'end-only': [['accepted', nov(4)], ['supplement_received', nov(5)], ['completed', nov(7)]],
  // everything at once, which took 7 days off a 4-day case before: still 4–8 Nov, E = 4 − 4 = 0
  tangle: [['accepted', nov(4)], ['supplement_requested', nov(4, 11)], ['suspended', nov(4, 12)], ['supplement_requested', nov(5)], ['supplement_received', nov(6)],
    ['supplement_received', nov(7)], ['resumed', nov(8)], ['completed', nov(8, 16)]],
  // open, a supplement asked on 6 Nov and received on 20 Nov
  'open-pause': [['accepted', nov(4)], ['supplement_requested', nov(6)], ['supplement_received', nov(20)]],
}

beforeAll(async () => {
  p = await openTestPlatform()
  await p.reference.upsertUnits([unit, { ...unit, unit_id: 'U2', name: '测试大厅二' }])
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
  // the pause shapes, in November 2024 (no holidays: Monday to Friday are the working days), at unit U2
  for (const [caseId, events] of Object.entries(PAUSE_CASES)) await store(caseId, events.map(([type, time]) => [type, time, { unit_id: 'U2' }]))
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

  it('stands still while at least one pause is open: each shape against working days counted by hand', async () => {
    const expected: Record<string, { elapsed_days: number; suspended_days: number }> = {
      overlap: { elapsed_days: 3, suspended_days: 4 },
      nested: { elapsed_days: 3, suspended_days: 5 },
      repeated: { elapsed_days: 3, suspended_days: 3 },
      unclosed: { elapsed_days: 2, suspended_days: 2 },
      'end-only': { elapsed_days: 3, suspended_days: 0 },
      tangle: { elapsed_days: 0, suspended_days: 4 },
    }
    for (const [caseId, figures] of Object.entries(expected)) {
      // read from the stored facts (nothing after December) and from the events (as of the stop's
      // own moment there are later events in none, so also a moment read on the stop day itself)
      expect(await p.cases.get(caseId, asOf('2024-12-01T00:00:00+08:00')), caseId).toMatchObject({ status: 'completed', ...figures })
      const stop = PAUSE_CASES[caseId]!.at(-1)![1]
      expect(await p.cases.get(caseId, asOf(stop)), `${caseId} as of its stop`).toMatchObject({ status: 'completed', ...figures })
    }
    // the daily aggregate sums the same elapsed days
    const [daily] = await queryRows<{ elapsed: string; n: string }>(p.warehouse,
      `SELECT sum(elapsed_sum) AS elapsed, sum(n) AS n FROM case_daily FINAL WHERE kind = 'stopped' AND unit_id = 'U2'`)
    expect({ elapsed: Number(daily!.elapsed), n: Number(daily!.n) }).toEqual({ elapsed: 3 + 3 + 3 + 2 + 3 + 0, n: 6 })
  })

  it('derives the stored facts again at start-up when they were derived by an earlier rule', async () => {
    // a case_state row whose stored pauses are wrong, as an earlier rule left them: no pause at all
    // (and no accepting unit, which rule 2 did not store)
    await p.warehouse.client.command({
      query: `INSERT INTO case_state SELECT * REPLACE (CAST([] AS Array(Tuple(DateTime64(3, 'Asia/Shanghai'), Nullable(DateTime64(3, 'Asia/Shanghai'))))) AS f_suspensions, '' AS f_accepted_unit_id, now64(3) AS refreshed_at)
        FROM case_state FINAL WHERE case_id = 'overlap'`,
    })
    await p.warehouse.client.insert({ table: 'meta', values: [{ key: 'case_facts_version', value: '1', updated_at: nowSeconds() }], format: 'JSONEachRow' })
    expect(await p.cases.get('overlap', asOf('2024-12-01T00:00:00+08:00'))).toMatchObject({ elapsed_days: 7, suspended_days: 0 })
    await p.cases.repair()
    expect(await p.cases.get('overlap', asOf('2024-12-01T00:00:00+08:00'))).toMatchObject({ elapsed_days: 3, suspended_days: 4 })
    const [version] = await queryRows<{ value: string }>(p.warehouse, `SELECT value FROM meta FINAL WHERE key = 'case_facts_version'`)
    expect(version?.value).toBe('3')
    // (3: the accepting unit is stored with the facts too)
    const [facts] = await queryRows<{ f_accepted_unit_id: string }>(p.warehouse, `SELECT f_accepted_unit_id FROM case_state FINAL WHERE case_id = 'overlap'`)
    expect(facts?.f_accepted_unit_id).not.toBe('')
  })

  it('counts an open pause to the moment asked, and a closed one to its end', async () => {
    // as of Wed 13 Nov (the receipt of 20 Nov lies ahead: read from the events): still from 6 Nov,
    // 5 off (7, 8, 11, 12, 13); E = 7 − 5 = 2
    expect(await p.cases.get('open-pause', asOf(nov(13, 18)))).toMatchObject({ status: 'open', elapsed_days: 2, suspended_days: 5 })
    // as of Mon 25 Nov (from the stored facts): 6–20 Nov, 10 off; E = 15 − 10 = 5
    expect(await p.cases.get('open-pause', asOf(nov(25, 18)))).toMatchObject({ status: 'open', elapsed_days: 5, suspended_days: 10 })
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

  it('looks up W(d) and the k-th working day from the packed calendar, −1 outside it', async () => {
    const asOfMs = asOf('2024-12-01T00:00:00+08:00')
    const params = calendarParams(p.calendar, asOfMs, 'Asia/Shanghai')
    const index = p.calendar.workingDayIndex(2025)
    expect(params.cal_start).toBe(index.start)
    const days = index.ordinals.length
    const [row] = await queryRows<{ w: number[]; day: string[] }>(p.warehouse, `${CALENDAR_WITH}
      SELECT arrayMap(i -> ${W('cal_start + toIntervalDay(i)')}, range(-3, {days:Int32} + 3)) AS w,
        arrayMap(k -> toString(${workingDayOf('k')}), range(-1, {working:Int32} + 3)) AS day`, { ...params, days, working: index.working.length })
    // three days before the first and after the last are outside
    expect(row!.w.map(Number)).toEqual([-1, -1, -1, ...index.ordinals, -1, -1, -1])
    const dayOf = (offset: number) => new Date(Date.parse(`${index.start}T00:00:00Z`) + offset * 86_400_000).toISOString().slice(0, 10)
    // the working day of ordinal k is the k-th working day (k from 1); none before the first,
    // and past the last the largest Date (a limit that ends there has not run out)
    expect(row!.day).toEqual([dayOf(-1), dayOf(-1), ...index.working.map(dayOf), '2149-06-06', '2149-06-06'])
    expect(index.working.length).toBeGreaterThan(200)
  })
})
