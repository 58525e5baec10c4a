// Every indicator of the catalogue asked by unit for this year as of now, on a loaded warehouse
// directory no server holds, kept answers off: where the time of an assessment goes; and the
// whole assessment of last year (every unit of the three tiers) computed the same way. Part of
// `npm run bench`; alone:
//   npx tsx tests/bench/indicators.ts DIR [indicator,indicator,…]
import { AssessmentService, INDICATORS, MetricsService } from '../../metrics/index.ts'
import { localDate, openPlatform } from '../../warehouse/index.ts'
import { fmt, timeRepeated } from './stats.ts'

export async function indicatorTimes(dataDir: string, report: (s?: string) => void, only?: string[], reps = 3): Promise<void> {
  const p = await openPlatform({ dataDir, timezone: 'Asia/Shanghai', clickhouse: undefined })
  try {
    const metrics = new MetricsService(p)
    metrics.usePastAnswers = false
    p.answers.keepAcrossMoments = false
    const now = Date.now()
    const times: Array<[string, number]> = []
    for (const indicator of INDICATORS) {
      if (only && !only.includes(indicator.id)) continue
      times.push([indicator.id, (await timeRepeated(reps, () => metrics.run(indicator.id, { by: 'unit', asOfMs: now }))).p50])
    }
    times.sort((a, b) => b[1] - a[1])
    report(`every indicator by unit, this year, now (kept answers off), p50 of ${reps}, slowest first: ${fmt(times.reduce((s, t) => s + t[1], 0))} ms in all`)
    report('')
    report('| indicator | p50 ms |')
    report('|---|---:|')
    for (const [id, ms] of times) report(`| ${id} | ${fmt(ms)} |`)
    if (!only) {
      // (what GET /api/v1/metrics/composite_score?by=unit asks, nothing kept: the server's figure
      // in the bench's query table may take the answers its earlier questions kept)
      const year = Number(localDate(now, p.warehouse.timezone).slice(0, 4)) - 1
      const assessment = new AssessmentService(p, metrics)
      const whole = await timeRepeated(reps, () => assessment.tiers(year, [1, 2, 3], Date.now()))
      report('')
      report(`the whole ${year} assessment of every unit, computed (kept answers off, past_answers not read), p50 of ${reps}: ${fmt(whole.p50 / 1000, 2)} s (first ${fmt(whole.first / 1000, 2)} s)`)
    }
  } finally {
    await p.close()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2]
  if (!dir) throw new Error('usage: npx tsx tests/bench/indicators.ts DATA_DIR [indicator,…]')
  await indicatorTimes(dir, (s = '') => console.log(s), process.argv[3]?.split(','))
}
