// Whether size decides the grade: for a year's assessment, the grade distribution per tier and the
// correlation between units' case counts and their composite scores (Pearson, and Spearman on
// ranks). Part of `npm run bench`; alone, `npx tsx tests/bench/grades.ts` loads the demo district
// (TIERSCOPE_DEMO_CASES cases, 60,000 by default) into a server of its own and prints the same.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startServer, type ServerProcess } from './server.ts'
import { fmt } from './stats.ts'

interface AssessedRow {
  unit_id: string
  composite_score: number | null
  grade: string | null
  indicators: Array<{ id: string; denominator: number | null }>
}

const pearson = (xs: number[], ys: number[]) => {
  const n = xs.length
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let sxy = 0, sxx = 0, syy = 0
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my)
    sxx += (xs[i]! - mx) ** 2
    syy += (ys[i]! - my) ** 2
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN
}
/** Ranks with ties given their mean rank. */
const ranks = (xs: number[]) => {
  const order = xs.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0])
  const out = new Array<number>(xs.length)
  for (let i = 0; i < order.length; ) {
    let j = i
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++
    for (let k = i; k <= j; k++) out[order[k]![1]] = (i + j) / 2 + 1
    i = j + 1
  }
  return out
}

export async function gradeSpread(server: ServerProcess, year: number, report: (line: string) => void): Promise<void> {
  report(`grades of the ${year} assessment, and whether size decides them (case count: the unit's stopped cases with an on-time verdict):`)
  for (const tier of [1, 2, 3]) {
    const r = await fetch(`${server.url}/api/v1/assessment?year=${year}&tier=${tier}`, { headers: { authorization: `Bearer ${server.adminToken}` } })
    if (!r.ok) throw new Error(`assessment of tier ${tier}: ${r.status} ${await r.text()}`)
    const units = ((await r.json()) as { units: AssessedRow[] }).units
    const grades = new Map<string, number>()
    for (const u of units) grades.set(u.grade ?? '未评定', (grades.get(u.grade ?? '未评定') ?? 0) + 1)
    const scored = units.filter((u) => u.composite_score !== null)
    const cases = scored.map((u) => u.indicators.find((i) => i.id === 'on_time_rate')?.denominator ?? 0)
    const scores = scored.map((u) => u.composite_score!)
    report(`  tier ${tier}: ${units.length} units — ${[...grades].map(([g, n]) => `${g} ${n}`).join(', ')}; ` +
      `correlation of case count with composite: Pearson ${fmt(pearson(cases, scores), 2)}, Spearman ${fmt(pearson(ranks(cases), ranks(scores)), 2)}`)
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = mkdtempSync(join(tmpdir(), 'tierscope-grades-'))
  const server = await startServer(dir, { demo: true })
  try {
    await gradeSpread(server, new Date().getFullYear() - 1, console.log)
  } finally {
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
