// Every indicator of the catalogue asked by unit for this year as of now, on a loaded warehouse
// directory no server holds, kept answers off: where the time of an assessment goes. Part of
// `npm run bench`; alone:
//   npx tsx tests/bench/indicators.ts DIR [indicator,indicator,…]
import { INDICATORS, MetricsService } from '../../metrics/index.ts'
import { openPlatform } from '../../warehouse/index.ts'
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
  } finally {
    await p.close()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2]
  if (!dir) throw new Error('usage: npx tsx tests/bench/indicators.ts DATA_DIR [indicator,…]')
  await indicatorTimes(dir, (s = '') => console.log(s), process.argv[3]?.split(','))
}
