// The dashboard's views, timed as a browser asks for them: each view's calls issued together,
// several repetitions, median and p95 per view and per call, and the ratios to the aims (300 ms for one user, 2 s for 16 at once);
// then as on a working day, with a receipt of today's records before each opening.
import type { ServerProcess } from './server.ts'
import { fmt, percentile } from './stats.ts'

/** The unit whose leader's view is timed, where the late rating and today's cases are sent (东华门街道). */
const UNIT = 'DC-S-DHM'
/** What a view should take for one user, and with `USERS` at once. */
const AIM_MS = 300
const AIM_MANY_MS = 2000
const USERS = Number(process.env.TIERSCOPE_BENCH_USERS ?? 16)
/** Rounds of USERS at once per view (each round is USERS samples). */
const USER_ROUNDS = Number(process.env.TIERSCOPE_BENCH_USER_ROUNDS ?? 3)

interface View {
  name: string
  /** The calls, as [label, path, key]. */
  calls: Array<[string, string, Record<string, string>]>
}

const localParts = (ms: number) => {
  // the district's calendar (Asia/Shanghai, no daylight saving): UTC+8
  const d = new Date(ms + 8 * 3_600_000)
  return { y: d.getUTCFullYear(), m: d.getUTCMonth() + 1, date: d.toISOString().slice(0, 10) }
}

async function getJson<T>(server: ServerProcess, path: string, headers: Record<string, string>): Promise<T> {
  const r = await fetch(`${server.url}${path}`, { headers })
  if (!r.ok) throw new Error(`${path}: ${r.status} ${(await r.text()).slice(0, 500)}`)
  return r.json() as Promise<T>
}

async function makeKey(server: ServerProcess, name: string, role: string, units: string[]): Promise<Record<string, string>> {
  const r = await fetch(`${server.url}/api/v1/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, role, units }),
  })
  if (!r.ok) throw new Error(`keys: ${r.status} ${await r.text()}`)
  return { authorization: `Bearer ${((await r.json()) as { token: string }).token}` }
}

/**
 * The dashboard's views as its pages ask for them on opening (the calls each page's loaders send,
 * with the same parameters: dashboard/src/routes/…/+page.svelte; tests/browser-calls.test.ts
 * counts them in Chromium). Not counted: what the app reads once per visit, whatever the view
 * (the session, the units and items, health).
 */
export async function dashboardViews(server: ServerProcess, unitId = UNIT): Promise<View[]> {
  const admin = { authorization: `Bearer ${server.adminToken}` }
  const joint = await makeKey(server, 'bench joint meeting', 'joint_meeting', [])
  const inspector = await makeKey(server, 'bench inspector', 'inspector', [])
  const leader = await makeKey(server, 'bench unit leader', 'unit_leader', [unitId])
  const now = localParts(Date.now())
  const year = now.y
  const u = encodeURIComponent(unitId)
  const units = await getJson<{ rows: Array<{ case_id: string; item_code: string | null }> }>(server, `/api/v1/cases?unit_id=${u}&status=open&overdue=true&limit=100`, inspector)
  const item = units.rows.find((r) => r.item_code)?.item_code ?? null
  const someCase = units.rows[0]?.case_id ?? (await getJson<{ rows: Array<{ case_id: string }> }>(server, '/api/v1/cases?limit=1', inspector)).rows[0]!.case_id
  const tierOf = 2 // the street halls
  const views: View[] = []
  // meeting/+page.svelte, this year to date: the tier's assessment now and as of last month's end
  // (the movement), the four trends, the catalogue, the year's scheme, on_time_rate's funnel
  const lastMonth = now.m - 1
  const lastMonthEnd = lastMonth > 0
    ? `${year}-${String(lastMonth).padStart(2, '0')}-${String(new Date(Date.UTC(year, lastMonth, 0)).getUTCDate()).padStart(2, '0')}T23:59:59.999`
    : null
  const trends = ['on_time_rate', 'avg_elapsed_days', 'satisfaction_rate', 'cost_per_case']
  for (const tier of [1, 2, 3]) {
    views.push({
      name: `joint meeting, tier ${tier}`,
      calls: [
        [`assessment tier ${tier}`, `/api/v1/assessment?year=${year}&tier=${tier}`, joint],
        ...(lastMonthEnd ? [[`assessment tier ${tier} as of last month's end`, `/api/v1/assessment?year=${year}&tier=${tier}&as_of=${encodeURIComponent(lastMonthEnd)}`, joint] as [string, string, Record<string, string>]] : []),
        ...trends.map((id): [string, string, Record<string, string>] => [`${id} by month, tier ${tier}`, `/api/v1/metrics/${id}?scope=tier:${tier}&by=month&from=${year}-01-01`, joint]),
        ['catalogue', '/api/v1/metrics', joint],
        ['scheme', `/api/v1/assessment/scheme?year=${year}`, joint],
        [`on_time_rate ranked, tier ${tier} (the funnel)`, `/api/v1/rankings/on_time_rate?year=${year}&tier=${tier}`, joint],
      ],
    })
  }
  // unit/[unit_id]/+page.svelte: the unit's own lists for the year, its tier's assessment, the catalogue
  views.push({
    name: `unit leader (${unitId})`,
    calls: [
      ['targets', `/api/v1/targets?year=${year}&unit_id=${u}`, leader],
      ['trend', `/api/v1/trend?year=${year}&unit_id=${u}`, leader],
      ['overdue cases behind the points lost', `/api/v1/cases?unit_id=${u}&overdue=true&stopped_from=${year}-01-01&stopped_to=${year}-12-31&limit=50`, leader],
      ['bad ratings behind the points lost', `/api/v1/ratings?unit_id=${u}&bad=true&from=${year}-01-01&to=${year}-12-31&limit=50`, leader],
      ['complaints with their steps', `/api/v1/complaints?unit_id=${u}&from=${year}-01-01&to=${year}-12-31&limit=100`, leader],
      [`assessment tier ${tierOf} (own rows)`, `/api/v1/assessment?year=${year}&tier=${tierOf}`, leader],
      ['catalogue', '/api/v1/metrics', leader],
    ],
  })
  // inspect/+page.svelte: at each level of the drill-down, the open cases of the kind (most days
  // over first) and their counts by the level below; a case opened from the list (case/[case_id])
  const levels: Array<[string, string, string | null]> = [['district', '', 'tier'], ['tier 2', '&tier=2', 'unit'], [`unit ${unitId}`, `&unit_id=${u}`, 'item']]
  if (item) levels.push([`unit ${unitId}, item ${item}`, `&unit_id=${u}&item_code=${encodeURIComponent(item)}`, null])
  for (const [kind, title] of [['overdue', 'overdue'], ['warning', 'soon due']] as const) {
    for (const [label, q, by] of levels) {
      views.push({
        name: `inspector: ${title}, ${label}`,
        calls: [
          ...(by ? [[`counts by ${by}`, `/api/v1/cases/counts?status=open&${kind}=true${q}&by=${by}`, inspector] as [string, string, Record<string, string>]] : []),
          ['the list, first 100', `/api/v1/cases?status=open&${kind}=true${q}&order=days_over&limit=100`, inspector],
        ],
      })
    }
  }
  views.push({ name: 'inspector: one case', calls: [['the case', `/api/v1/cases/${encodeURIComponent(someCase)}`, inspector]] })
  // quality/+page.svelte
  views.push({
    name: 'data quality',
    calls: [
      ['ingest log', '/api/v1/ingest/log', admin],
      ['quarantine, first 100', '/api/v1/ingest/quarantine?limit=100', admin],
      ['ids another source owns, first 200', '/api/v1/ingest/quarantine?code=id_owned_by_other_source&limit=200', admin],
    ],
  })
  return views
}

/** One record sent as a source sends it (NDJSON, the admin key); it must be stored. */
async function sendRecord(server: ServerProcess, stream: string, record: object): Promise<void> {
  const r = await fetch(`${server.url}/api/v1/ingest/${stream}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/x-ndjson' },
    body: `${JSON.stringify(record)}\n`,
  })
  if (!r.ok) throw new Error(`${stream}: ${r.status} ${await r.text()}`)
  const receipt = (await r.json()) as { accepted: number }
  if (receipt.accepted !== 1) throw new Error(`${stream}: not stored (${JSON.stringify(receipt)})`)
}

/** One rating dated the 15th of last month, sent as a source would send a late record. */
async function sendLateRating(server: ServerProcess, unitId: string): Promise<void> {
  const now = localParts(Date.now())
  const [y, m] = now.m === 1 ? [now.y - 1, 12] : [now.y, now.m - 1]
  await sendRecord(server, 'evaluations', { event_id: `bench-late-${Date.now()}`, unit_id: unitId, rating: 5, occurred_at: `${y}-${String(m).padStart(2, '0')}-15T10:00:00+08:00`, channel: 'sms' })
}

/** One case accepted a minute ago at the unit, sent as a source sends today's records: every kept answer that reads the case tables is asked anew after it. */
async function sendTodaysCase(server: ServerProcess, unitId: string, itemCode: string): Promise<void> {
  const id = `bench-today-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`
  await sendRecord(server, 'case-events', { event_id: `${id}-a`, case_id: id, type: 'accepted', occurred_at: new Date(Date.now() - 60_000).toISOString(), unit_id: unitId, item_code: itemCode, channel: 'window' })
}

/** Opens a view once: its calls issued together, how long until all answered, and the first call that failed. */
async function openView(server: ServerProcess, view: View): Promise<{ ms: number; failed: string }> {
  let failed = ''
  const t0 = performance.now()
  await Promise.all(view.calls.map(([, path, headers]) => getJson(server, path, headers).catch((err: Error) => (failed ||= err.message.slice(0, 120)))))
  return { ms: performance.now() - t0, failed }
}

/** A table row of a view's openings: p50, p95 and the ratio of `ratioOf` to `aim`. */
function openingsRow(view: View, times: number[], failed: string, ratioOf: 'p50' | 'p95', aim: number): string {
  const s = [...times].sort((a, b) => a - b)
  const p = { p50: percentile(s, 50), p95: percentile(s, 95) }
  return `| ${view.name}${failed ? ` (a call failed: ${failed})` : ''} | ${fmt(p.p50)} | ${fmt(p.p95)} | ${fmt(p[ratioOf] / aim, 2)} |`
}

/**
 * A working day: a receipt of today's records before each opening of each view (receipts come
 * more often than a view is opened), so each opening computes anew what the receipt changed and
 * waits for the receipt's refresh; `n` openings per view, timed from the receipt's answer.
 */
async function timeAfterReceipts(server: ServerProcess, views: View[], report: (s?: string) => void, n: number): Promise<void> {
  const admin = { authorization: `Bearer ${server.adminToken}` }
  const { rows } = await getJson<{ rows: Array<{ unit_id: string; item_code: string | null }> }>(server, `/api/v1/cases?unit_id=${UNIT}&limit=20`, admin)
  const sample = rows.find((r) => r.item_code)
  if (!sample) throw new Error(`no case with an item at ${UNIT} to send another like it`)
  report('')
  report(`a working day: one case of today received before each opening (every kept answer that reads the case tables asked anew, the receipt's refresh waited for), ${n} openings per view; ratio = p50 ÷ the aim of ${AIM_MS} ms`)
  report('')
  report(`| view | p50 ms | p95 ms | ratio to ${AIM_MS} ms |`)
  report('|---|---:|---:|---:|')
  for (const view of views) {
    const times: number[] = []
    let failed = ''
    for (let i = 0; i < n; i++) {
      await sendTodaysCase(server, sample.unit_id, sample.item_code!)
      const opened = await openView(server, view)
      times.push(opened.ms)
      failed ||= opened.failed
    }
    report(openingsRow(view, times, failed, 'p50', AIM_MS))
  }
}

/** Times each view's calls issued together, `reps` times after a warm-up, and prints the figures. */
export async function timeDashboardViews(server: ServerProcess, report: (s?: string) => void, reps = Number(process.env.TIERSCOPE_BENCH_VIEW_REPS ?? 7)): Promise<void> {
  const views = await dashboardViews(server)
  report(`dashboard views: each view's calls issued together (the engine runs one query at a time), ${reps} runs after a first one;`)
  report(`first = that first run (nothing remembered yet); ratio = p50 ÷ the aim of ${AIM_MS} ms`)
  report('')
  report(`| view / call | first ms | p50 ms | p95 ms | ratio to ${AIM_MS} ms |`)
  report('|---|---:|---:|---:|---:|')
  for (const view of views) await timeView(server, view, report, reps)
  report('')
  report(`${USERS} users at once, each opening the view (its calls together), ${USER_ROUNDS} round(s); ratio = p95 ÷ the aim of ${AIM_MANY_MS} ms`)
  report('')
  report(`| view | p50 ms | p95 ms | ratio to ${AIM_MANY_MS} ms |`)
  report('|---|---:|---:|---:|')
  for (const view of views) await timeViewManyUsers(server, view, report)
  // answers about last month are kept until records dated up to then arrive: one late rating,
  // and the joint meeting's views are timed again, their comparison with last month asked anew
  await sendLateRating(server, UNIT)
  report('')
  report('after one late rating dated last month (the answers as of last month\'s end are asked anew):')
  report('')
  report(`| view / call | first ms | p50 ms | p95 ms | ratio to ${AIM_MS} ms |`)
  report('|---|---:|---:|---:|---:|')
  for (const view of views.filter((v) => v.name.startsWith('joint meeting'))) await timeView(server, view, report, reps)
  await timeAfterReceipts(server, views, report, Number(process.env.TIERSCOPE_BENCH_RECEIPT_OPENINGS ?? 5))
}

/** Times one view's calls issued together: a first run, then `reps` more (median and p95). */
async function timeView(server: ServerProcess, view: View, report: (s?: string) => void, reps: number): Promise<void> {
  const perCall = view.calls.map(() => [] as number[])
  const firstCall = view.calls.map(() => NaN)
  const failed = view.calls.map(() => '')
  const whole: number[] = []
  let first = NaN
  const once = async (record: boolean) => {
    const t0 = performance.now()
    await Promise.all(view.calls.map(async ([, path, headers], i) => {
      const t = performance.now()
      // a call that fails is reported as such, and the view is timed without it
      await getJson(server, path, headers).then(
        () => (record ? perCall[i]!.push(performance.now() - t) : (firstCall[i] = performance.now() - t)),
        (err: Error) => (failed[i] = err.message.slice(0, 120)),
      )
    }))
    if (record) whole.push(performance.now() - t0)
    else first = performance.now() - t0
  }
  await once(false)
  for (let r = 0; r < reps; r++) await once(true)
  const row = (label: string, firstMs: number, times: number[]) => {
    const s = [...times].sort((a, b) => a - b)
    const p50 = percentile(s, 50)
    report(`| ${label} | ${fmt(firstMs)} | ${fmt(p50)} | ${fmt(percentile(s, 95))} | ${fmt(p50 / AIM_MS, 2)} |`)
  }
  row(`**${view.name}** (${view.calls.length} calls together)`, first, whole)
  view.calls.forEach(([label], i) => (failed[i] ? report(`| ${label} | failed: ${failed[i]} | | | |`) : row(`  ${label}`, firstCall[i]!, perCall[i]!)))
}

/** `USERS` users opening one view at the same moment, `USER_ROUNDS` times: each user's time for the whole view. */
async function timeViewManyUsers(server: ServerProcess, view: View, report: (s?: string) => void): Promise<void> {
  const times: number[] = []
  let failed = ''
  for (let round = 0; round < USER_ROUNDS; round++) {
    await Promise.all(Array.from({ length: USERS }, async () => {
      const opened = await openView(server, view)
      times.push(opened.ms)
      failed ||= opened.failed
    }))
  }
  report(openingsRow(view, times, failed, 'p95', AIM_MANY_MS))
}
