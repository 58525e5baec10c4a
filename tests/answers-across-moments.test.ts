// An answer as of now (or a moment ahead) is taken from the one as of an earlier moment of the
// same day while nothing was stored in the tables it reads and nothing it depends on came in between
// (warehouse/answers.ts `acrossMoments`): and a question after a local midnight, past a case's
// due_at, or past a record dated ahead, is asked anew and answers what a fresh computation does.
import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import { IngestService } from '../ingest/index.ts'
import { loadDemoDistrict } from '../ingest/demo/index.ts'
import { BACKGROUND_QUERY_PREFIX, COMPARED_MOMENTS, localDate, parseTimestamp, queryRows, toRfc3339 } from '../warehouse/index.ts'
import { openTestPlatform } from '../warehouse/testing.ts'
import { MetricsService, type MetricRequest } from '../metrics/index.ts'

const tz = 'Asia/Shanghai'
const HOUR = 3_600_000
const DAY = 24 * HOUR
const UNIT = 'DC-S-DHM'
const principal = { key_id: 'test', name: 'test', writableUnits: () => undefined }
const asParsed = (records: object[]) => records.map((value, i) => ({ row: i + 1, raw: '', value }))
const at = (date: string, time: string) => parseTimestamp(`${date}T${time}`, tz)!
const dateAfter = (date: string, days: number) => localDate(at(date, '12:00:00') + days * DAY, tz)
const today = localDate(Date.now(), tz)

let p: Awaited<ReturnType<typeof openTestPlatform>>
let kept: MetricsService
let ingest: IngestService

beforeAll(async () => {
  p = await openTestPlatform()
  ingest = new IngestService(p)
  await loadDemoDistrict(p, ingest, { cases: 300, from: dateAfter(today, -60), to: dateAfter(today, -1) })
  kept = new MetricsService(p)
}, 300_000)
afterAll(async () => p?.close())

/**
 * The question of the tests: the figures by unit of a period around today, as of `asOfMs` (within
 * it: the question's other values are the same at every moment of the tests).
 */
const question = (asOfMs: number): MetricRequest => ({ from: dateAfter(today, -90), to: dateAfter(today, 40), by: 'unit', asOfMs })
const IDS = ['overdue_cases', 'on_time_rate', 'satisfaction_rate']
const unitRow = (answer: Awaited<ReturnType<MetricsService['runMany']>>, metric: string) =>
  answer.find((m) => m.metric === metric)!.rows.find((r) => r.key === UNIT) ?? { numerator: 0, denominator: 0 as number | null }

/** The answer computed anew, nothing kept across moments taken, nor (as of a past moment) read from past_answers. */
async function fresh(req: MetricRequest): Promise<Awaited<ReturnType<MetricsService['runMany']>>> {
  p.answers.keepAcrossMoments = false
  kept.usePastAnswers = false
  try {
    return await kept.runMany(IDS, req)
  } finally {
    p.answers.keepAcrossMoments = true
    kept.usePastAnswers = true
  }
}

/** The queries the engine is asked while `ask` runs (not the platform's own background reads). */
async function queriesOf<T>(ask: () => Promise<T>): Promise<{ result: T; queries: number }> {
  await p.derived.settled()
  const spy = vi.spyOn(p.warehouse.client, 'query')
  try {
    const result = await ask()
    return { result, queries: spy.mock.calls.filter(([q]) => !(q as { query_id?: string }).query_id?.startsWith(BACKGROUND_QUERY_PREFIX)).length }
  } finally {
    spy.mockRestore()
  }
}

/** How many stored moments the figures compare with lie in (from, to]. */
async function momentsBetween(fromMs: number, toMs: number): Promise<number> {
  const [row] = await queryRows<{ n: string }>(p.warehouse, `SELECT sum(n) AS n FROM (${COMPARED_MOMENTS.map(({ table, column }) =>
    `SELECT count() AS n FROM ${table} WHERE ${column} > {from:DateTime64(3, '${tz}')} AND ${column} <= {to:DateTime64(3, '${tz}')}`).join(' UNION ALL ')})`,
  { from: (fromMs / 1000).toFixed(3), to: (toMs / 1000).toFixed(3) })
  return Number(row!.n)
}

async function storeCase(caseId: string, itemCode: string, events: Array<Record<string, unknown>>): Promise<void> {
  const accepted = Date.now() - HOUR
  const receipt = await ingest.ingest('case-events', asParsed([
    { event_id: `${caseId}-a`, case_id: caseId, type: 'accepted', occurred_at: toRfc3339(accepted, tz), unit_id: UNIT, item_code: itemCode, channel: 'window' },
    ...events.map((e, i) => ({ event_id: `${caseId}-${i}`, case_id: caseId, unit_id: UNIT, ...e })),
  ]), principal)
  expect(receipt.accepted).toBe(1 + events.length)
}

const item = (item_code: string, promised_days: number) => ({
  item_code, name: item_code, category: 'public_service' as const, statutory_days: promised_days, promised_days,
  owner_unit_id: null, tiers: [1, 2, 3], warning_days: null, warning_share: null,
})

/**
 * Asks as of `first`, then 90 s later with no stored moment in between: the second is asked of the
 * engine not at all and is the answer computed anew. Returns it.
 */
async function takenFromEarlier(first: number): Promise<Awaited<ReturnType<MetricsService['runMany']>>> {
  const later = first + 90_000
  expect(await momentsBetween(first, later)).toBe(0)
  const asked = await queriesOf(() => kept.runMany(IDS, question(first)))
  expect(asked.queries).toBeGreaterThan(0)
  const again = await queriesOf(() => kept.runMany(IDS, question(later)))
  expect(again.queries).toBe(0)
  expect(again.result).toEqual(await fresh(question(later)))
  // (the figures count something: the unit has stopped cases in the period)
  expect(unitRow(again.result, 'on_time_rate').denominator).toBeGreaterThan(0)
  return again.result
}

it('takes the answer as of an earlier moment of the day, and it is the one computed anew', async () => {
  const first = at(dateAfter(today, 1), '10:00:00')
  await takenFromEarlier(first)
  // a moment of the next day is asked anew
  const nextDay = await queriesOf(() => kept.runMany(IDS, question(first + DAY)))
  expect(nextDay.queries).toBeGreaterThan(0)
})

it('takes a past moment\'s answer (past_answers and the change log) from an earlier moment of that day, and asks anew once a record dated before it is stored', async () => {
  // (at night, three days ago: no demo record lies between the two moments)
  const first = at(dateAfter(today, -3), '03:00:00')
  const before = await takenFromEarlier(first)
  const receipt = await ingest.ingest('evaluations', asParsed([
    { event_id: 'across-past-rating', unit_id: UNIT, rating: 5, occurred_at: toRfc3339(first - HOUR, tz), channel: 'window_device' },
  ]), principal)
  expect(receipt.accepted).toBe(1)
  // both moments: the one kept in past_answers before the rating (the change log says a batch
  // dated up to its day ended since), and the one only kept across moments
  for (const asOfMs of [first, first + 90_000]) {
    const after = await kept.runMany(IDS, question(asOfMs))
    expect(after).toEqual(await fresh(question(asOfMs)))
    expect(unitRow(after, 'satisfaction_rate').denominator).toBe(unitRow(before, 'satisfaction_rate').denominator! + 1)
  }
})

it('asks a past moment\'s answer anew once a change reaching back to it ends, whatever it stored', async () => {
  // (a change's end is written after its rows: a question asked in between takes the answer kept
  // in past_answers, which must not be kept past the end)
  const first = at(dateAfter(today, -4), '03:00:00')
  await takenFromEarlier(first)
  await p.changes.ended('across-change-end', dateAfter(today, -10))
  const again = await queriesOf(() => kept.runMany(IDS, question(first + 120_000)))
  expect(again.queries).toBeGreaterThan(0)
  expect(again.result).toEqual(await fresh(question(first + 120_000)))
})

it('keeps a past moment\'s answer across a case of today (a change not reaching back to it), and asks it anew after a reference write', async () => {
  const first = at(dateAfter(today, -5), '03:00:00')
  await takenFromEarlier(first)
  // a case of today: stored in the tables the answer's sources read, but dated after the moment
  await storeCase('ACROSS-PAST-TODAY', [...p.reference.items.keys()][0]!, [])
  const again = await queriesOf(() => kept.runMany(IDS, question(first + 90_000)))
  expect(again.queries).toBe(0)
  expect(again.result).toEqual(await fresh(question(first + 90_000)))
  // reference data written: asked anew (past_answers and the change log read again)
  await p.reference.upsertItems([item('ACROSS-PAST-REF', 30)])
  const afterReference = await queriesOf(() => kept.runMany(IDS, question(first + 90_000)))
  expect(afterReference.queries).toBeGreaterThan(0)
  expect(afterReference.result).toEqual(await fresh(question(first + 90_000)))
})

it('asks anew once a record is stored, and counts it', async () => {
  const first = at(dateAfter(today, 1), '11:00:00')
  const asOfBefore = await kept.runMany(IDS, question(first))
  const receipt = await ingest.ingest('evaluations', asParsed([
    { event_id: 'across-rating', unit_id: UNIT, rating: 5, occurred_at: toRfc3339(Date.now() - HOUR, tz), channel: 'window_device' },
  ]), principal)
  expect(receipt.accepted).toBe(1)
  const after = await kept.runMany(IDS, question(first + 60_000))
  expect(after).toEqual(await fresh(question(first + 60_000)))
  expect(unitRow(after, 'satisfaction_rate').denominator).toBe(unitRow(asOfBefore, 'satisfaction_rate').denominator! + 1)
})

/** The SQL of the queries the engine is asked while `ask` runs (not the platform's own background reads). */
async function sqlOf(ask: () => Promise<unknown>): Promise<string[]> {
  await p.derived.settled()
  const spy = vi.spyOn(p.warehouse.client, 'query')
  try {
    await ask()
    return spy.mock.calls.map(([q]) => q as { query: string; query_id?: string })
      .filter((q) => !q.query_id?.startsWith(BACKGROUND_QUERY_PREFIX)).map((q) => q.query)
  } finally {
    spy.mockRestore()
  }
}

it('keeps an answer across a write to a table it does not read, and asks anew the answers that read it', async () => {
  const first = at(dateAfter(today, 1), '15:00:00')
  // (the item of the case stored below, first: an item added is part of the case figures' questions)
  await p.reference.upsertItems([item('ACROSS-TABLE', 30)])
  let previous = await kept.runMany(IDS, question(first))
  // the figures' queries (not the one finding the next stored moment, which reads every table
  // holding one): the case figures read the case tables, the satisfaction figures the ratings
  const figures = (sql: string[]) => sql.filter((q) => !COMPARED_MOMENTS.every(({ table }) => new RegExp(`\\b${table}\\b`).test(q)))
  const ofCases = (sql: string[]) => figures(sql).filter((q) => /\bcase_(events|state|open|daily|daily_cases|month_end)\b/.test(q)).length
  const ofRatings = (sql: string[]) => figures(sql).filter((q) => /\b(evaluations|rating_contests)\b/.test(q)).length
  const writes = [
    { store: () => ingest.ingest('evaluations', asParsed([
      { event_id: 'across-table-rating', unit_id: UNIT, rating: 1, occurred_at: toRfc3339(Date.now() - HOUR, tz), channel: 'window_device' },
    ]), principal).then((r) => expect(r.accepted).toBe(1)), asked: ofRatings, kept: ofCases, counted: 'satisfaction_rate' },
    { store: () => storeCase('across-table-case', 'ACROSS-TABLE', [{ type: 'completed', occurred_at: toRfc3339(Date.now() - HOUR / 2, tz) }]),
      asked: ofCases, kept: ofRatings, counted: 'on_time_rate' },
  ]
  for (const [i, write] of writes.entries()) {
    const asOfMs = first + (i + 1) * 60_000
    await write.store()
    const sql = await sqlOf(() => kept.runMany(IDS, question(asOfMs)))
    expect(write.asked(sql)).toBeGreaterThan(0)
    expect(write.kept(sql)).toBe(0)
    const after = await kept.runMany(IDS, question(asOfMs))
    expect(after).toEqual(await fresh(question(asOfMs)))
    expect(unitRow(after, write.counted).denominator).toBe(unitRow(previous, write.counted).denominator! + 1)
    previous = after
  }
})

it.each([
  ['between the moments asked', 30_000],
  ['at the first of them (overdue only after it: as_of > due_at)', 0],
])('asks anew once a case\'s due_at has passed, due %s, and counts it overdue', async (_when, dueAfter) => {
  await p.reference.upsertItems([item('ACROSS-LONG', 60)])
  const caseId = `across-due-${dueAfter}`
  const before = at(dateAfter(today, 2), dueAfter === 0 ? '10:00:00' : '14:00:00')
  await storeCase(caseId, 'ACROSS-LONG', [{ type: 'approved', occurred_at: toRfc3339(Date.now() - HOUR / 2, tz), due_at: toRfc3339(before + dueAfter, tz) }])
  // (no other stored moment lies at or between them)
  expect(await momentsBetween(before - 1, before + 60_000)).toBe(1)
  const asOfBefore = await kept.runMany(IDS, question(before))
  const after = await kept.runMany(IDS, question(before + 60_000))
  expect(after).toEqual(await fresh(question(before + 60_000)))
  expect(unitRow(after, 'overdue_cases').numerator).toBe(unitRow(asOfBefore, 'overdue_cases').numerator + 1)
  // the inspector's list and counts of overdue cases too, and the case (the case store keeps its reads the same way)
  const overdue = { units: [UNIT], status: 'open' as const, overdue: true }
  const listed = async (asOfMs: number) => (await p.cases.list({ ...overdue, limit: 1000 }, asOfMs)).map((c) => c.case_id)
  const counted = async (asOfMs: number) => (await p.cases.count(overdue, 'unit', asOfMs)).find((r) => r.key === UNIT)?.cases ?? 0
  expect((await p.cases.get(caseId, before))?.overdue).toBe(false)
  expect(await listed(before)).not.toContain(caseId)
  const countBefore = await counted(before)
  expect(await listed(before + 60_000)).toContain(caseId)
  expect(await counted(before + 60_000)).toBe(countBefore + 1)
  expect((await p.cases.get(caseId, before + 60_000))?.overdue).toBe(true)
})

it('asks anew once a record dated ahead comes due, and counts it', async () => {
  await p.reference.upsertItems([item('ACROSS-SHORT', 5)])
  // a moment a few hours ahead (records may be dated up to 24 hours ahead), no midnight next to it
  let stop = Date.now() + 2 * HOUR
  while (localDate(stop - 60_000, tz) !== localDate(stop + 60_000, tz)) stop += HOUR
  // (and a later one: both moments asked are before the latest stored event, as the clock's way of reading tells)
  await storeCase('across-ahead', 'ACROSS-SHORT', [{ type: 'completed', occurred_at: toRfc3339(stop, tz) }])
  await storeCase('across-ahead-later', 'ACROSS-SHORT', [{ type: 'approved', occurred_at: toRfc3339(stop + HOUR, tz) }])
  expect(await momentsBetween(stop - 30_000, stop + 30_000)).toBe(1)
  const asOfBefore = await kept.runMany(IDS, question(stop - 30_000))
  const after = await kept.runMany(IDS, question(stop + 30_000))
  expect(after).toEqual(await fresh(question(stop + 30_000)))
  expect(unitRow(after, 'on_time_rate').denominator).toBe(unitRow(asOfBefore, 'on_time_rate').denominator! + 1)
})

it('asks anew after a local midnight that makes an open case overdue, and counts it', async () => {
  // a working day X ahead whose next day is a working day too: the case's clock gains a day at
  // X's midnight, its limit the working days from today to X
  const accepted = localDate(Date.now() - HOUR, tz)
  let x = dateAfter(today, 3)
  while (!p.calendar.isWorkingDay(x) || !p.calendar.isWorkingDay(dateAfter(x, 1))) x = dateAfter(x, 1)
  let limit = 0
  for (let d = dateAfter(accepted, 1); d <= x; d = dateAfter(d, 1)) if (p.calendar.isWorkingDay(d)) limit++
  await p.reference.upsertItems([item('ACROSS-DAYS', limit)])
  await storeCase('across-midnight', 'ACROSS-DAYS', [])
  const midnight = at(dateAfter(x, 1), '00:00:00')
  // (only the midnight lies between the two moments asked: a source system's due_at is often
  // the day's last second, 23:59:59)
  expect(await momentsBetween(midnight - 500, midnight + 500)).toBe(0)
  const asOfBefore = await kept.runMany(IDS, question(midnight - 500))
  const after = await kept.runMany(IDS, question(midnight + 500))
  expect(after).toEqual(await fresh(question(midnight + 500)))
  expect(unitRow(after, 'overdue_cases').numerator).toBe(unitRow(asOfBefore, 'overdue_cases').numerator + 1)
})

/**
 * The stored moments no figure compares with the moment asked, and why: a new column holding a
 * moment goes into COMPARED_MOMENTS (warehouse/answers.ts) or here.
 */
const NOT_COMPARED: Array<[RegExp, string]> = [
  [/^(case_state|case_open|case_month_end)\.(events|f_\w+|first_at|last_at)$/, "a case's events' occurred_at and due_at, kept per case"],
  [/^queue_ticket_state\.(issued_at|called_at|abandoned_at)$/, "a ticket's events' occurred_at, kept per ticket"],
  [/^case_month_end\.month_end$/, 'the month end a copy holds the cases at: a question as of that moment reads it'],
  [/^report_publications\.as_of$/, 'the moment a published year was assessed at: its figures are frozen'],
  [/^(sessions\.expires_at|users\.locked_until)$/, 'sign-in, not figures'],
  [/\.(ingested_at|received_at|staged_at|queued_at|done_at|refreshed_at|updated_at|applied_at|computed_at|created_at|last_used_at|published_at)$|^(audit_log|data_changes)\.at$/,
    'when the platform wrote a row: never after a later question, and a write is asked anew'],
]

it('knows every stored moment as compared with the moment asked or not', async () => {
  const columns = await queryRows<{ column: string; type: string }>(p.warehouse,
    `SELECT concat(table, '.', name) AS column, type FROM system.columns WHERE database = currentDatabase() AND type LIKE '%DateTime%' ORDER BY column`)
  // (the raw records' moments are among them)
  expect(columns.map((c) => c.column)).toEqual(expect.arrayContaining(COMPARED_MOMENTS.map(({ table, column }) => `${table}.${column}`)))
  const compared = new Set(COMPARED_MOMENTS.map(({ table, column }) => `${table}.${column}`))
  const unknown = columns.filter((c) => !compared.has(c.column) && !NOT_COMPARED.some(([pattern]) => pattern.test(c.column)))
  expect(unknown).toEqual([])
})
