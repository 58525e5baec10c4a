// What each derived table is worth: the query it serves, timed with it and without it (the
// switches the comparison tests use: CaseStore.useOpenCopy, useMonthEndCopy,
// MetricsService.useDaily), on a loaded warehouse directory no server holds. Kept answers
// (past_answers, and answers kept across moments) are off, so every run is computed. Part of
// `npm run bench`; alone:
//   npx tsx tests/bench/derived-worth.ts DIR
import { MetricsService } from '../../metrics/index.ts'
import { countedRatingsSql, epochSeconds, localDate, openPlatform, parseTimestamp, queryRows, type Platform } from '../../warehouse/index.ts'
import { fmt, timeRepeated } from './stats.ts'

interface Worth {
  table: string
  query: string
  run: () => Promise<unknown>
  without: (p: Platform, metrics: MetricsService, off: boolean) => void
}

export async function derivedWorth(dataDir: string, report: (s?: string) => void, reps = 5): Promise<void> {
  const p = await openPlatform({ dataDir, timezone: 'Asia/Shanghai', clickhouse: undefined })
  try {
    const metrics = new MetricsService(p)
    metrics.usePastAnswers = false
    p.answers.keepAcrossMoments = false
    const tz = p.warehouse.timezone
    const now = Date.now()
    const today = localDate(now, tz)
    const year = today.slice(0, 4)
    const monthStart = parseTimestamp(`${today.slice(0, 8)}01T00:00:00`, tz)!
    const lastMonthEnd = monthStart - 1
    const horizon = parseTimestamp(`${localDate(lastMonthEnd, tz).slice(0, 8)}01T00:00:00`, tz)!
    // case_month_end at a month end with a month of later events behind it (the end of the month
    // before last, always among the month ends held), as it is on any day but the first of a month
    const monthEndBefore = horizon - 1
    const lastYear = Number(year) - 1
    const [[counts]] = [await queryRows<Record<string, string>>(p.warehouse, `SELECT
      (SELECT count() FROM case_events) AS events, (SELECT count() FROM case_state FINAL) AS cases,
      (SELECT count() FROM case_open FINAL WHERE f_status = 'open') AS open,
      (SELECT count() FROM case_month_end FINAL) AS month_end, (SELECT count() FROM case_daily FINAL) AS daily,
      (SELECT count() FROM queue_tickets) AS ticket_events, (SELECT count() FROM queue_ticket_state FINAL) AS tickets`)]
    report(`rows: ${Object.entries(counts!).map(([k, v]) => `${k} ${fmt(Number(v))}`).join(', ')}`)
    report('')
    const byUnit = { by: 'unit' as const }
    const worth: Worth[] = [
      { table: 'case_daily', query: `on_time_rate by unit, ${year}, now`, run: () => metrics.run('on_time_rate', { ...byUnit, asOfMs: now }), without: (_p, m, off) => (m.useDaily = !off) },
      { table: 'case_daily', query: `avg_elapsed_days by month, ${year}, now`, run: () => metrics.run('avg_elapsed_days', { by: 'month', asOfMs: now }), without: (_p, m, off) => (m.useDaily = !off) },
      { table: 'case_daily', query: `proxy_rate by unit (代办, at the accepting unit), ${year}, now`, run: () => metrics.run('proxy_rate', { ...byUnit, asOfMs: now }), without: (_p, m, off) => (m.useDaily = !off) },
      { table: 'case_open', query: 'red cards now: open and overdue, first 100', run: () => p.cases.list({ status: 'open', overdue: true, limit: 100 }, Date.now()), without: (pl, _m, off) => (pl.cases.useOpenCopy = !off) },
      { table: 'case_open', query: 'overdue_open by unit, now', run: () => metrics.run('overdue_open', { ...byUnit, asOfMs: Date.now() }), without: (pl, _m, off) => (pl.cases.useOpenCopy = !off) },
      { table: 'case_month_end', query: `overdue_open by unit, as of ${localDate(monthEndBefore, tz)} (a month end with a month of later events)`, run: () => metrics.run('overdue_open', { ...byUnit, asOfMs: monthEndBefore }), without: (pl, _m, off) => (pl.cases.useMonthEndCopy = !off) },
      { table: 'case_month_end', query: `on_time_rate by unit, ${year}, as of ${localDate(monthEndBefore, tz)}`, run: () => metrics.run('on_time_rate', { ...byUnit, asOfMs: monthEndBefore }), without: (pl, _m, off) => (pl.cases.useMonthEndCopy = !off) },
      { table: 'case_month_end', query: `red cards as of ${localDate(monthEndBefore, tz)}, first 100`, run: () => p.cases.list({ status: 'open', overdue: true, limit: 100 }, monthEndBefore), without: (pl, _m, off) => (pl.cases.useMonthEndCopy = !off) },
      { table: 'case_month_end', query: `overdue_open by month, ${lastYear} (open at each month's end)`, run: () => metrics.run('overdue_open', { by: 'month', from: `${lastYear}-01-01`, to: `${lastYear}-12-31`, asOfMs: now }), without: (pl, _m, off) => (pl.cases.useMonthEndCopy = !off) },
      { table: 'case_month_end', query: `overdue_cases by unit, ${lastYear} (its open part at the year's end: last year's assessment)`, run: () => metrics.run('overdue_cases', { ...byUnit, from: `${lastYear}-01-01`, to: `${lastYear}-12-31`, asOfMs: now }), without: (pl, _m, off) => (pl.cases.useMonthEndCopy = !off) },
    ]
    report(`| derived table | the query it serves | with it, p50 ms | without it, p50 ms | without ÷ with |`)
    report('|---|---|---:|---:|---:|')
    for (const w of worth) {
      const withIt = await timeRepeated(reps, w.run)
      w.without(p, metrics, true)
      const withoutIt = await timeRepeated(reps, w.run)
      w.without(p, metrics, false)
      report(`| ${w.table} | ${w.query} | ${fmt(withIt.p50)} | ${fmt(withoutIt.p50)} | ${fmt(withoutIt.p50 / withIt.p50, 1)} |`)
    }
    // the two the clock and the queue figures are built on, against what the engine does without
    // them: every case's (ticket's) row rebuilt from the raw events by GROUP BY
    const stateRead = await timeRepeated(reps, () => queryRows(p.warehouse, `SELECT count(), sum(length(events)) FROM case_state FINAL`))
    const stateBuilt = await timeRepeated(reps, () => queryRows(p.warehouse, `SELECT count(), sum(n) FROM (
      SELECT case_id, length(groupArray((occurred_at, type, unit_id))) AS n FROM (SELECT case_id, occurred_at, type, unit_id FROM case_events LIMIT 1 BY case_id, event_id) GROUP BY case_id)`))
    report(`| case_state | every case's events in order (the clock's input), read | ${fmt(stateRead.p50)} | ${fmt(stateBuilt.p50)} (GROUP BY case_id of case_events) | ${fmt(stateBuilt.p50 / stateRead.p50, 1)} |`)
    const ticketsRead = await timeRepeated(reps, () => metrics.run('queue_wait_avg', { ...byUnit, asOfMs: Date.now() }))
    const ticketsBuilt = await timeRepeated(reps, () => queryRows(p.warehouse, `SELECT unit_id, avg(dateDiff('second', issued, called)) FROM (
      SELECT ticket_id, argMinIf(unit_id, occurred_at, type = 'issued') AS unit_id, minIf(occurred_at, type = 'issued') AS issued, minIfOrNull(occurred_at, type = 'called') AS called
      FROM queue_tickets GROUP BY ticket_id) WHERE called IS NOT NULL GROUP BY unit_id`))
    report(`| queue_ticket_state | queue_wait_avg by unit, now | ${fmt(ticketsRead.p50)} | ${fmt(ticketsBuilt.p50)} (GROUP BY ticket_id of queue_tickets) | ${fmt(ticketsBuilt.p50 / ticketsRead.p50, 1)} |`)
    // 一事一评 decided among the contested keys only, against ranking every rating of every case
    const ratingsCounted = (sql: string) => () => queryRows(p.warehouse, `SELECT unit_id, countIf(counted AND rating >= 4), countIf(counted) FROM (${sql})
      WHERE toYear(at) = {year:UInt16} GROUP BY unit_id`, { as_of: epochSeconds(now), year: Number(year) })
    const contested = await timeRepeated(reps, ratingsCounted(countedRatingsSql(tz)))
    const rankedAll = await timeRepeated(reps, ratingsCounted(`SELECT *, NOT follow_up AND row_number() OVER (PARTITION BY follow_up, ifNull(case_id, event_id) ORDER BY active DESC, at, event_id) = 1 AS counted
      FROM (SELECT event_id, toString(unit_id) AS unit_id, rating, active, follow_up, occurred_at AS at, case_id FROM evaluations WHERE occurred_at <= {as_of:DateTime64(3)} LIMIT 1 BY event_id)`))
    report(`| rating_contests | the counted ratings (一事一评) by unit, ${year}, now: satisfaction_rate's parts | ${fmt(contested.p50)} | ${fmt(rankedAll.p50)} (every rating ranked within its case) | ${fmt(rankedAll.p50 / contested.p50, 1)} |`)
  } finally {
    await p.close()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2]
  if (!dir) throw new Error('usage: npx tsx tests/bench/derived-worth.ts DATA_DIR')
  await derivedWorth(dir, (s = '') => console.log(s))
}
