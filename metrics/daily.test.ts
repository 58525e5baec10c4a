// The daily aggregate of cases (case_daily) kept by the case refresh: after late events (stops,
// transfers and deadlines that arrive in a later batch than the rest of their case), every case
// indicator read from it equals the same question through the clock, now and as of past moments;
// a refresh run twice changes nothing; a change of items is not read until the aggregate is rebuilt.
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest'
import { applyReference, IngestService } from '../ingest/index.ts'
import { demoReference, demoStream } from '../ingest/demo/index.ts'
import { BACKGROUND_QUERY_PREFIX, queryRows } from '../warehouse/index.ts'
import { openTestPlatform } from '../warehouse/testing.ts'
import { INDICATORS } from './catalog.ts'
import { MetricsService, type MetricRequest } from './service.ts'

let p: Awaited<ReturnType<typeof openTestPlatform>>
let metrics: MetricsService
const principal = { key_id: 'test', name: 'test', writableUnits: () => undefined }
const asParsed = (records: object[]) => records.map((value, i) => ({ row: i + 1, raw: '', value }))
/** The derived tables read directly, once the refresher has caught up with every receipt (warehouse/derived.ts). */
const settledRows = async <T,>(...args: Parameters<typeof queryRows>) => (await p.derived.settled(), queryRows<T>(...args))
const PERIOD = { from: '2025-01-01', to: '2025-06-30' }
const MOMENTS = ['2025-06-30T23:59:59+08:00', '2025-03-31T23:59:59+08:00', '2025-05-15T12:00:00+08:00']
const ON_DAILY = INDICATORS.filter((i) => [i.numerator, i.denominator].some((part) => part?.daily)).map((i) => i.id)

async function bothWays(id: string, req: MetricRequest) {
  // the clock's way on a service of its own: nothing remembered from the other answer
  const throughClock = new MetricsService(p)
  throughClock.useDaily = false
  throughClock.usePastAnswers = metrics.usePastAnswers
  return { viaDaily: await metrics.run(id, req), viaClock: await throughClock.run(id, req) }
}

/** The answers read through one of case_state's copies, checked against the same without it; returned. */
async function sameWithout<T>(copy: 'useOpenCopy' | 'useMonthEndCopy' | 'useDailyForLists', ask: () => Promise<T>): Promise<T> {
  const withCopy = await ask()
  p.cases[copy] = false
  try {
    expect(withCopy).toEqual(await ask())
  } finally {
    p.cases[copy] = true
  }
  return withCopy
}

beforeAll(async () => {
  p = await openTestPlatform()
  const ref = demoReference()
  for (const kind of ['units', 'items'] as const) expect((await applyReference(p, kind, asParsed(ref[kind]))).ok).toBe(true)
  await p.cases.rebuildDaily() // on the items, before any case: from here on only refreshes keep it
  const ingest = new IngestService(p)
  const events = [...demoStream('case-events', { cases: 2500, from: '2025-01-01', to: '2025-06-30' }, (d) => p.calendar.isWorkingDay(d))].flat() as Array<Record<string, unknown>>
  // every third case's last event (a stop, a withdrawal, a transfer…) and every deadline re-sent
  // after a suspension arrive in a later batch than the rest of the case
  const byCase = new Map<string, Array<Record<string, unknown>>>()
  for (const e of events) byCase.set(String(e.case_id), [...(byCase.get(String(e.case_id)) ?? []), e])
  const late = new Set<unknown>()
  let k = 0
  for (const evs of byCase.values()) {
    if (k++ % 3 === 0 && evs.length > 1) late.add(evs[evs.length - 1]!.event_id)
    evs.filter((e, i) => i > 1 && e.due_at).forEach((e) => late.add(e.event_id))
  }
  expect(late.size).toBeGreaterThan(500)
  const first = events.filter((e) => !late.has(e.event_id))
  const second = events.filter((e) => late.has(e.event_id))
  for (let i = 0; i < first.length; i += 4000) expect((await ingest.ingest('case-events', asParsed(first.slice(i, i + 4000)), principal)).rejected).toBe(0)
  for (let i = 0; i < second.length; i += 700) expect((await ingest.ingest('case-events', asParsed(second.slice(i, i + 700)), principal)).rejected).toBe(0)
  // and cases completed in April get an event on 20 May that moves their deadline before the stop:
  // as of 15 May they were on time, from 20 May on they are late (the facts stored say late)
  const moved = [...byCase.values()]
    .map((evs) => evs.find((e) => e.type === 'completed' && String(e.occurred_at).startsWith('2025-04')))
    .filter((e): e is Record<string, unknown> => e !== undefined)
    .slice(0, 60)
    .map((e, i) => ({ ...e, event_id: `moved-${i}`, type: 'approved', occurred_at: '2025-05-20T10:00:00+08:00', due_at: '2025-04-01T00:00:00+08:00' }))
  expect(moved.length).toBe(60)
  expect((await ingest.ingest('case-events', asParsed(moved), principal)).rejected).toBe(0)
  metrics = new MetricsService(p)
}, 300_000)
afterAll(async () => p?.close())

describe('the daily aggregate after late events', () => {
  it('is read (nothing rebuilt it whole since the items were loaded)', () => {
    expect(p.cases.dailyReady()).toBe(true)
  })

  it.each(ON_DAILY)('%s: the same rows as through the clock, now and as of past moments', async (id) => {
    for (const at of MOMENTS) {
      for (const by of ['unit', 'month'] as const) {
        const { viaDaily, viaClock } = await bothWays(id, { ...PERIOD, by, asOfMs: Date.parse(at) })
        expect(viaDaily.rows.length, `${id} by ${by} as of ${at}`).toBeGreaterThan(0)
        expect(viaDaily, `${id} by ${by} as of ${at}`).toEqual(viaClock)
      }
    }
  })

  it.each(INDICATORS.filter((i) => i.spread?.daily).map((i) => i.id))("%s: its records' spread (Σ x², for the rankings' intervals) the same as through the clock", async (id) => {
    const ind = INDICATORS.find((i) => i.id === id)!
    const spread = { ...ind, id: `${id}:spread`, numerator: ind.spread! }
    const throughClock = new MetricsService(p)
    throughClock.useDaily = false
    for (const at of MOMENTS) {
      const req = { ...PERIOD, by: 'unit' as const, asOfMs: Date.parse(at) }
      const [viaDaily] = await metrics.runMany([spread], req)
      const [viaClock] = await throughClock.runMany([spread], req)
      expect(viaDaily!.rows.some((r) => r.numerator > 0), `${id} as of ${at}`).toBe(true)
      expect(viaDaily, `${id} as of ${at}`).toEqual(viaClock)
    }
  })

  it('takes a case with an event after as_of through the clock', async () => {
    const before = await bothWays('on_time_rate', { from: '2025-04-01', to: '2025-04-30', asOfMs: Date.parse('2025-05-15T12:00:00+08:00') })
    const after = await bothWays('on_time_rate', { from: '2025-04-01', to: '2025-04-30', asOfMs: Date.parse('2025-05-25T12:00:00+08:00') })
    expect(before.viaDaily).toEqual(before.viaClock)
    expect(after.viaDaily).toEqual(after.viaClock)
    // the moved deadlines made some of April's stops late between the two moments
    expect(after.viaDaily.rows[0]!.numerator).toBeLessThan(before.viaDaily.rows[0]!.numerator)
  })

  it('holds each (kind, day, unit) once and each case\'s contributions once, and a refresh run again changes no figure', async () => {
    const [before] = await settledRows<{ rows: string; n: string }>(p.warehouse, 'SELECT count() AS rows, sum(n) AS n FROM case_daily FINAL')
    const [{ batch_id }] = (await settledRows<{ batch_id: string }>(p.warehouse, 'SELECT batch_id FROM case_refresh_done ORDER BY done_at DESC LIMIT 1')) as [{ batch_id: string }]
    await p.cases.refreshBatches([batch_id])
    const [after] = await settledRows<{ rows: string; n: string }>(p.warehouse, 'SELECT count() AS rows, sum(n) AS n FROM case_daily FINAL')
    expect(after).toEqual(before)
    const [cases] = await settledRows<{ stopped: string; accepted: string }>(p.warehouse,
      `SELECT countIf(f_status IN ('completed', 'rejected')) AS stopped, countIf(f_accepted_at IS NOT NULL) AS accepted FROM case_state FINAL`)
    const [daily] = await settledRows<{ stopped: string; accepted: string }>(p.warehouse,
      `SELECT sumIf(n, kind = 'stopped') AS stopped, sumIf(n, kind = 'accepted') AS accepted FROM case_daily FINAL`)
    expect(daily).toEqual(cases)
    // every case's contributions once, where case_state says it counts (a case moved by a late
    // transfer or stop left only a row marked deleted where it was)
    // (代办 rows: at the unit that accepted the case)
    const [contributions] = await settledRows<{ stopped: string; accepted: string; proxy: string; misplaced: string; deleted: string; to_hall: string }>(p.warehouse, `SELECT
        countIf(c.kind = 'stopped') AS stopped, countIf(c.kind = 'accepted') AS accepted, countIf(c.kind = 'proxy') AS proxy,
        countIf(c.day != toDate(if(c.kind = 'stopped', s.f_stopped_at, s.f_accepted_at))
          OR c.unit_id != if(c.kind = 'proxy', s.f_accepted_unit_id, s.f_unit_id)) AS misplaced,
        (SELECT count() FROM case_daily_cases WHERE is_deleted = 1) AS deleted, sumIf(c.n_to_hall, c.kind = 'proxy') AS to_hall
      FROM (SELECT * FROM case_daily_cases FINAL) AS c LEFT JOIN (SELECT * FROM case_state FINAL) AS s ON s.case_id = c.case_id`)
    expect({ stopped: contributions!.stopped, accepted: contributions!.accepted }).toEqual(cases)
    expect(contributions!.proxy).toBe(cases!.accepted)
    expect(Number(contributions!.misplaced)).toBe(0)
    expect(Number(contributions!.deleted)).toBeGreaterThan(0) // (the fixture's late events moved some)
    expect(Number(contributions!.to_hall)).toBeGreaterThan(0) // (and stations handed cases to halls: 代办)
    const { viaDaily, viaClock } = await bothWays('on_time_rate', { ...PERIOD, by: 'unit', asOfMs: Date.parse(MOMENTS[0]!) })
    expect(viaDaily).toEqual(viaClock)
  })

  it('reads the cases open now from case_open: the same lists and figures as from case_state', async () => {
    const now = Date.now()
    const ask = async () => ({
      overdue: await p.cases.list({ status: 'open', overdue: true, limit: 1000 }, now),
      warning: await p.cases.list({ warning: true, limit: 1000 }, now),
      open: await p.cases.list({ status: 'open', limit: 5000 }, now),
      byUnit: (await metrics.run('overdue_open', { by: 'unit', asOfMs: now })).rows,
      byItem: (await metrics.run('overdue_open', { by: 'item', units: p.reference.withDescendants('DC-S-DHM'), asOfMs: now })).rows,
    })
    const fromCopy = await sameWithout('useOpenCopy', ask)
    expect(fromCopy.open.length).toBeGreaterThan(50)
    expect(fromCopy.overdue.length).toBeGreaterThan(0)
    // and every case that stopped in a later batch left it: its newest row is deleted
    // (is_deleted), which FINAL leaves out (and the engine's cleanup merges remove)
    const [rows] = await settledRows<{ open: string; stale: string }>(p.warehouse, `SELECT countIf(f_status = 'open') AS open, countIf(f_status != 'open') AS stale FROM case_open FINAL`)
    expect(Number(rows!.open)).toBe(fromCopy.open.length)
    expect(Number(rows!.stale)).toBe(0)
  })

  it('finds the late stops of a list of overdue cases in the contributions: the same lists as through the clock', async () => {
    const now = Date.now()
    const hall = 'DC-S-DHM'
    const windows = [{ from: '2025-01-01', to: '2025-12-31' }, { from: '2025-03-01', to: '2025-04-15' }]
    const ask = async () => ({
      district: await p.cases.list({ overdue: true, limit: 5000 }, now),
      inWindows: await Promise.all(windows.map((stopped) => p.cases.list({ overdue: true, stopped, limit: 5000 }, now))),
      hall: await p.cases.list({ units: p.reference.withDescendants(hall), overdue: true, stopped: windows[0], limit: 5000 }, now),
      page: await p.cases.list({ overdue: true, stopped: windows[0], limit: 20, order: 'days_over' }, now),
      notOverdue: await p.cases.list({ overdue: false, stopped: windows[1], limit: 100 }, now),
    })
    const lists = await sameWithout('useDailyForLists', ask)
    // (the lists hold late stops, not only open cases, and are not cut short by the limit)
    const late = (rows: Array<{ status: string }>) => rows.filter((r) => r.status === 'completed' || r.status === 'rejected').length
    expect(late(lists.district)).toBeGreaterThan(10)
    expect(late(lists.inWindows[1]!)).toBeGreaterThan(0)
    expect(late(lists.inWindows[1]!)).toBeLessThan(late(lists.inWindows[0]!))
    expect(late(lists.hall)).toBeGreaterThan(0)
    expect(lists.district.length).toBeLessThan(5000)
  })

  it('holds every month end since the start of last year by default', () => {
    const ends = p.cases.defaultMonthEnds(Date.parse('2026-12-01T12:00:00+08:00'))
    expect(ends.length).toBe(23)
    expect(ends[0]).toBe(Date.parse('2025-01-31T23:59:59.999+08:00'))
    expect(ends.at(-1)).toBe(Date.parse('2026-11-30T23:59:59.999+08:00'))
    expect(ends).toContain(Date.parse('2025-12-31T23:59:59.999+08:00')) // last year's assessment
    // on the first day of a year: last year's months only
    const inJanuary = p.cases.defaultMonthEnds(Date.parse('2027-01-01T00:00:00+08:00'))
    expect(inJanuary.length).toBe(12)
    expect(inJanuary[0]).toBe(Date.parse('2026-01-31T23:59:59.999+08:00'))
    expect(inJanuary.at(-1)).toBe(Date.parse('2026-12-31T23:59:59.999+08:00'))
  })

  it('reads the state at month ends from case_month_end: the same lists and figures as from the events', async () => {
    const ENDS = ['01-31', '02-28', '03-31', '04-30', '05-31', '06-30'].map((d) => Date.parse(`2025-${d}T23:59:59.999+08:00`))
    const end = ENDS[4]!
    const ids = ['on_time_rate', 'online_rate', 'overdue_cases', 'overdue_open', 'avg_elapsed_days']
    /** The answers, and whether case_month_end was read for them. */
    const reading = async <T,>(fn: () => Promise<T>): Promise<{ answers: T; copyRead: boolean }> => {
      const asked = vi.spyOn(p.warehouse.client, 'query')
      try {
        const answers = await fn()
        return { answers, copyRead: asked.mock.calls.some(([q]) => (q as { query: string }).query.includes('case_month_end')) }
      } finally {
        asked.mockRestore()
      }
    }
    // open cases at each month's end of the half year, and the half year's end as of now
    const now = Date.now()
    const byMonth = (id: string) => bothWays(id, { ...PERIOD, by: 'month', asOfMs: now })
    const ask = async () => {
      const answers: unknown[] = [await p.cases.list({ status: 'open', limit: 5000 }, end), await p.cases.list({ overdue: true, limit: 5000 }, end)]
      for (const id of ids) answers.push(await bothWays(id, { from: '2025-01-01', to: '2025-12-31', by: 'unit', asOfMs: end }))
      for (const id of ['overdue_cases', 'overdue_open']) answers.push(await byMonth(id), await bothWays(id, { ...PERIOD, by: 'unit', asOfMs: now }))
      return answers
    }
    const compare = async () => {
      const { copyRead } = await reading(() => sameWithout('useMonthEndCopy', ask))
      expect(copyRead).toBe(true)
      // every month end of the half year from the copy, in the question by month alone
      expect((await reading(() => byMonth('overdue_open'))).copyRead).toBe(true)
    }
    const held = async (at: number) => (await settledRows<{ case_id: string }>(p.warehouse,
      'SELECT case_id FROM case_month_end FINAL WHERE month_end = {at:DateTime64(3)} ORDER BY case_id', { at: at / 1000 })).map((r) => r.case_id)
    const spanning = async (at: number) => Number((await settledRows<{ n: string }>(p.warehouse,
      'SELECT count() AS n FROM case_state FINAL WHERE first_at <= {at:DateTime64(3)} AND last_at > {at:DateTime64(3)}', { at: at / 1000 }))[0]!.n)
    // (kept answers off: each question is asked of the engine, through the copy or not)
    // (and none kept across moments: what is read is what this question reads)
    metrics.usePastAnswers = false
    p.answers.keepAcrossMoments = false
    onTestFinished(() => {
      metrics.usePastAnswers = true
      p.answers.keepAcrossMoments = true
    })
    await p.cases.holdMonthEnds(ENDS)
    for (const at of ENDS.slice(0, 5)) {
      expect((await held(at)).length).toBe(await spanning(at))
      expect((await held(at)).length).toBeGreaterThan(50)
    }
    await compare()
    // a late event before a month end for a case held, and a first event after it for one not held
    const [heldCase] = await settledRows<{ case_id: string; unit_id: string }>(p.warehouse, `SELECT case_id, f_unit_id AS unit_id FROM case_month_end FINAL
      WHERE month_end = {at:DateTime64(3)} AND f_status = 'open' AND f_accepted_at IS NOT NULL ORDER BY case_id LIMIT 1`, { at: end / 1000 })
    const [quiet] = await settledRows<{ case_id: string; unit_id: string }>(p.warehouse, `SELECT case_id, f_unit_id AS unit_id FROM case_state FINAL
      WHERE f_status = 'open' AND f_accepted_at IS NOT NULL AND last_at < '2025-04-01 00:00:00' ORDER BY case_id LIMIT 1`)
    expect(await held(end)).not.toContain(quiet!.case_id)
    const receipt = await new IngestService(p).ingest('case-events', asParsed([
      { event_id: 'month-end-late', case_id: heldCase!.case_id, type: 'suspended', occurred_at: '2025-05-30T10:00:00+08:00', unit_id: heldCase!.unit_id },
      { event_id: 'month-end-after', case_id: quiet!.case_id, type: 'completed', occurred_at: '2025-06-03T10:00:00+08:00', unit_id: quiet!.unit_id },
    ]), principal)
    expect(receipt.accepted).toBe(2)
    // held at every month end it now spans (April's and May's), and the figures still agree
    expect(await held(end)).toContain(quiet!.case_id)
    expect(await held(ENDS[3]!)).toContain(quiet!.case_id)
    await compare()
    // with only May's end held, the question by month is answered from the events, the same
    await p.cases.holdMonthEnds([end])
    expect(await held(end)).toContain(quiet!.case_id)
    const { answers: fromEvents, copyRead } = await reading(() => byMonth('overdue_open'))
    expect(copyRead).toBe(false)
    expect(fromEvents.viaDaily).toEqual(fromEvents.viaClock)
    await p.cases.holdMonthEnds(ENDS)
    expect((await reading(() => byMonth('overdue_open'))).answers).toEqual(fromEvents)
    await compare()
  })

  it('keeps an answer about a past moment until records dated up to it arrive', async () => {
    const req = { from: '2025-06-01', to: '2025-06-30', asOfMs: Date.parse('2025-06-20T23:59:59+08:00') }
    // (what past_answers keeps, read each time: nothing kept in this process across moments)
    p.answers.keepAcrossMoments = false
    onTestFinished(() => { p.answers.keepAcrossMoments = true })
    const before = (await metrics.run('first_time_right_rate', req)).rows[0]!
    const askedAgain = async () => {
      // what the engine is asked: only for the kept answer and whether anything changed since
      // (not what the refresher reads while it brings the derived state up to date with a receipt)
      await p.derived.settled()
      const asked = vi.spyOn(p.warehouse.client, 'query')
      try {
        const rows = (await metrics.run('first_time_right_rate', req)).rows
        // (on a ClickHouse server every question first asks which batches other processes left due,
        // and every 2 s the platform reads what other processes wrote to the reference data: the
        // platform's own background reads, not the answer's work)
        const queries = asked.mock.calls.map(([q]) => q as { query: string; query_id?: string })
          .filter((q) => !q.query_id?.startsWith(BACKGROUND_QUERY_PREFIX)).map((q) => q.query)
        return { rows, queries }
      } finally {
        asked.mockRestore()
      }
    }
    const kept = await askedAgain()
    expect(kept.rows[0]).toEqual(before)
    expect(kept.queries.length).toBe(2)
    expect(kept.queries[0]).toContain('past_answers')
    expect(kept.queries[1]).toContain('data_changes')
    // a late stop dated after the moment changes nothing about it: the answer is still kept
    const open = async (before: string) => (await settledRows<{ case_id: string; unit_id: string }>(p.warehouse,
      `SELECT case_id, f_unit_id AS unit_id FROM case_state FINAL WHERE f_status = 'open' AND f_accepted_at < {before:String} ORDER BY case_id LIMIT 1`, { before }))[0]!
    const stop = async (id: string, c: { case_id: string; unit_id: string }, at: string) =>
      (await new IngestService(p).ingest('case-events', asParsed([{ event_id: id, case_id: c.case_id, type: 'completed', occurred_at: at, unit_id: c.unit_id }]), principal)).accepted
    expect(await stop('later-stop', await open('2025-06-10'), '2025-06-25T10:00:00+08:00')).toBe(1)
    const still = await askedAgain()
    expect(still.queries.length).toBe(2)
    expect(still.rows[0]).toEqual(before)
    // one dated up to it is counted at once
    expect(await stop('late-stop', await open('2025-06-10'), '2025-06-19T10:00:00+08:00')).toBe(1)
    const after = (await metrics.run('first_time_right_rate', req)).rows[0]!
    expect(after.denominator).toBe(before.denominator! + 1)
    // and so is a batch a crash interrupted (its start marked, its end not): ended at the next start-up
    expect((await askedAgain()).queries.length).toBe(2)
    await p.changes.starting('interrupted-batch', '2025-06-01')
    expect((await askedAgain()).queries.length).toBe(2) // kept until the batch ends
    expect(await p.changes.endInterrupted()).toBe(1)
    expect((await askedAgain()).queries.length).toBeGreaterThan(2)
    // and reference data written since is a change to every moment
    expect((await askedAgain()).queries.length).toBe(2)
    await p.reference.upsertUnits([p.reference.units.get('DC-S-DHM')!])
    expect((await askedAgain()).queries.length).toBeGreaterThan(2)
  })

  it('is not read after the items change until it is rebuilt on them', async () => {
    const items = [...p.reference.items.values()]
    const item = items.find((i) => i.promised_days !== null && i.promised_days !== undefined && i.promised_days > 1)!
    await p.reference.upsertItems([{ ...item, promised_days: item.promised_days! - 1 }])
    expect(p.cases.dailyReady()).toBe(false) // and starts the rebuild
    const req = { ...PERIOD, by: 'unit' as const, asOfMs: Date.parse(MOMENTS[0]!) }
    const { viaDaily, viaClock } = await bothWays('on_time_rate', req)
    expect(viaDaily).toEqual(viaClock)
    for (let i = 0; i < 200 && !p.cases.dailyReady(); i++) await new Promise((r) => setTimeout(r, 100))
    expect(p.cases.dailyReady()).toBe(true)
    const again = await bothWays('on_time_rate', req)
    expect(again.viaDaily).toEqual(again.viaClock)
  })

  it("is not read after a unit's tier changes until it is rebuilt on it (which transfers are 代办)", async () => {
    const ready = async () => { for (let i = 0; i < 200 && !p.cases.dailyReady(); i++) await new Promise((r) => setTimeout(r, 100)) }
    await ready()
    const req = { ...PERIOD, by: 'unit' as const, asOfMs: Date.parse(MOMENTS[0]!) }
    const before = await bothWays('proxy_rate', req)
    // a street hall made a station: the transfers its stations made to it are no longer 代办
    const hall = [...p.reference.units.values()].find((u) => u.tier === 2 && before.viaDaily.rows.some((r) => p.reference.units.get(String(r.key))?.parent_id === u.unit_id && r.numerator > 0))!
    await p.reference.upsertUnits([{ ...hall, tier: 3 }])
    try {
      expect(p.cases.dailyReady()).toBe(false) // (and starts the rebuild)
      const { viaDaily, viaClock } = await bothWays('proxy_rate', req)
      expect(viaDaily).toEqual(viaClock)
      await ready()
      expect(p.cases.dailyReady()).toBe(true)
      const again = await bothWays('proxy_rate', req)
      expect(again.viaDaily).toEqual(again.viaClock)
      const sum = (rows: Array<{ numerator: number }>) => rows.reduce((n, r) => n + r.numerator, 0)
      expect(sum(again.viaDaily.rows)).toBeLessThan(sum(before.viaDaily.rows))
    } finally {
      await p.reference.upsertUnits([hall])
    }
  })

  it("takes in a unit and an item added without a rebuild, stored before figures are computed on them; a later tier change of that unit rebuilds it", async () => {
    const ready = async () => { for (let i = 0; i < 200 && !p.cases.dailyReady(); i++) await new Promise((r) => setTimeout(r, 100)) }
    await ready()
    const storedTiers = async () => JSON.parse((await settledRows<{ value: string }>(p.warehouse, `SELECT value FROM meta FINAL WHERE key = 'case_daily_basis'`))[0]!.value).tiers as Record<string, number>
    const units = [...p.reference.units.values()]
    const station = units.find((u) => u.tier === 3)!
    const hall = units.find((u) => u.tier === 2)!
    const added = { ...station, unit_id: 'added-station', name: '新设服务站', active_from: null, active_to: null }
    const item = { ...[...p.reference.items.values()][0]!, item_code: 'ADDED-ITEM', tiers: [1, 2, 3] }
    await p.reference.upsertUnits([added])
    await p.reference.upsertItems([item])
    expect(p.cases.dailyReady()).toBe(true) // no rebuild: nothing stored names them
    // a case of the new station, with the new item, that it transfers to a hall: 代办 at the station
    const at = (d: string) => `2025-06-${d}T10:00:00+08:00`
    const receipt = await new IngestService(p).ingest('case-events', asParsed([
      { event_id: 'added-1', case_id: 'added-case', type: 'submitted', occurred_at: at('10'), unit_id: added.unit_id, item_code: item.item_code, channel: 'window' },
      { event_id: 'added-2', case_id: 'added-case', type: 'accepted', occurred_at: at('10'), unit_id: added.unit_id, item_code: item.item_code },
      { event_id: 'added-3', case_id: 'added-case', type: 'transferred', occurred_at: at('11'), unit_id: added.unit_id, to_unit_id: hall.unit_id },
    ]), principal)
    expect(receipt.accepted).toBe(3)
    // (the refresh stored the basis with the new unit before it computed the case's figures)
    expect((await storedTiers())[added.unit_id]).toBe(3)
    const req = { ...PERIOD, by: 'unit' as const, asOfMs: Date.parse(MOMENTS[0]!) }
    const proxyAtStation = (rows: Array<{ key: unknown; numerator: number }>) => rows.find((r) => r.key === added.unit_id)?.numerator
    const first = await bothWays('proxy_rate', req)
    expect(first.viaDaily).toEqual(first.viaClock)
    expect(proxyAtStation(first.viaDaily.rows)).toBe(1)
    // the new station made a hall of tier 1: its transfer to a street hall is no longer 代办
    await p.reference.upsertUnits([{ ...added, tier: 1 }])
    expect(p.cases.dailyReady()).toBe(false)
    await ready()
    const again = await bothWays('proxy_rate', req)
    expect(again.viaDaily).toEqual(again.viaClock)
    expect(proxyAtStation(again.viaDaily.rows) ?? 0).toBe(0)
    expect((await storedTiers())[added.unit_id]).toBe(1)
  })
})
