// Shared by the cross-module tests: an app on a fresh warehouse with a small district (embedded,
// or a database of its own on CLICKHOUSE_URL's server: warehouse/testing.ts), and helpers to write
// records in each body format.
import { Bool, Float64, Int32, Table, tableToIPC, Utf8, vectorFromArray, type DataType, type Vector } from 'apache-arrow'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { chromium, type Browser, type BrowserContext, type Page, type Request } from 'playwright-core'
import { buildApp } from '../app.ts'
import { STREAMS, type StreamName } from '../ingest/index.ts'
import { openTestPlatform } from '../warehouse/testing.ts'
import type { SessionPolicy } from '../auth/index.ts'

export const ADMIN = 'admin-test-token'
export const auth = (token: string) => ({ authorization: `Bearer ${token}` })

export async function openTestApp(opts: { bodyLimit?: number; sessionPolicy?: Partial<SessionPolicy> } = {}) {
  const platform = await openTestPlatform('Asia/Shanghai', opts.sessionPolicy)
  // (no shedding on event-loop delay: tests run many apps side by side on two cores, where a
  // second's delay is the test machine's, not the app's; shedding has tests of its own, security.test.ts)
  const { app } = await buildApp(platform, { bodyLimit: opts.bodyLimit, pressure: { maxEventLoopDelay: 0 } })
  await platform.keys.bootstrapAdmin(ADMIN)
  return { platform, app, close: async () => (await app.close(), await platform.close()) }
}

/** Where a server process spools request bodies (ingest/service.ts): in its data directory on the embedded engine, else in the system's temporary directory. */
export const spoolDirOf = (dataDir: string | undefined, pid: number) => (dataDir ? join(dataDir, 'ingest-spool') : join(tmpdir(), `tierscope-spool-${pid}`))

/** A centre, two street halls (S1 with a station), and three items. */
export const SMALL_DISTRICT = {
  units: [
    { unit_id: 'CENTRE', name: '区政务服务中心', tier: 1, kind: 'district_centre' },
    { unit_id: 'S1', name: '东华门街道政务服务大厅', tier: 2, kind: 'street_hall', parent_id: 'CENTRE' },
    { unit_id: 'S2', name: '景山街道政务服务大厅', tier: 2, kind: 'street_hall', parent_id: 'CENTRE' },
    { unit_id: 'S1-C1', name: '多福巷社区服务站', tier: 3, kind: 'community_station', parent_id: 'S1' },
  ],
  items: [
    { item_code: 'I3', name: '居住证办理', category: 'public_service', statutory_days: 10, promised_days: 3, tiers: [2, 3] },
    { item_code: 'I0', name: '证明开具', category: 'public_service', promised_days: 0, tiers: [2] },
    { item_code: 'NL', name: '咨询', category: 'other', tiers: [2] },
  ],
}

export async function loadSmallDistrict(app: FastifyInstance): Promise<void> {
  const { units, items } = SMALL_DISTRICT
  for (const [kind, rows] of [['units', units], ['items', items]] as const) {
    const r = await app.inject({ method: 'PUT', url: `/api/v1/reference/${kind}`, headers: { 'content-type': 'application/json', ...auth(ADMIN) }, payload: rows })
    if (r.statusCode !== 200) throw new Error(`reference ${kind}: ${r.body}`)
  }
}

export async function makeKey(app: FastifyInstance, role: string, units: string[] = []): Promise<string> {
  const r = await app.inject({ method: 'POST', url: '/api/v1/keys', headers: auth(ADMIN), payload: { name: `${role} ${units.join(',')}`, role, units } })
  if (r.statusCode !== 201) throw new Error(`key: ${r.body}`)
  return r.json().token
}

export const toNdjson = (records: unknown[]) => records.map((r) => JSON.stringify(r)).join('\n') + '\n'

/** CSV with a header of every field used; objects as JSON text, as the contract says. */
export function toCsv(records: Array<Record<string, unknown>>): string {
  const header = [...new Set(records.flatMap((r) => Object.keys(r)))]
  const cell = (v: unknown) => {
    if (v === undefined || v === null) return ''
    const s = typeof v === 'object' ? JSON.stringify(v) : String(v)
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
  }
  return [header.join(','), ...records.map((r) => header.map((h) => cell(r[h])).join(','))].join('\r\n') + '\r\n'
}

/** An Arrow IPC stream with the column types the contract's field types call for. */
export function toArrow(stream: StreamName, records: Array<Record<string, unknown>>, override: Record<string, DataType> = {}): Uint8Array {
  const spec = STREAMS[stream]
  const used = spec.fields.filter((f) => records.some((r) => r[f.name] !== undefined))
  const columns: Record<string, Vector> = {}
  for (const f of used) {
    const type: DataType = override[f.name] ?? (f.type.kind === 'boolean' ? new Bool() : f.type.kind === 'integer' ? new Int32() : f.type.kind === 'number' ? new Float64() : new Utf8())
    const values = records.map((r) => {
      const v = r[f.name]
      if (v === undefined || v === null) return null
      if (type instanceof Utf8) return typeof v === 'object' ? JSON.stringify(v) : String(v)
      return v
    })
    columns[f.name] = vectorFromArray(values as never[], type) as Vector
  }
  return tableToIPC(new Table(columns), 'stream')
}

/** Debian's Chromium, which renders the PDFs and drives the browser tests. */
export const CHROMIUM = process.env.TIERSCOPE_CHROMIUM ?? '/usr/bin/chromium'

/** Whether PDFs can be made and turned into PNG pages here (Chromium and poppler's pdftoppm). */
export function pdfToolsAvailable(): boolean {
  try {
    execFileSync('pdftoppm', ['-v'], { stdio: 'ignore' })
  } catch {
    return false
  }
  return existsSync(CHROMIUM)
}

// ---- the dashboard in a browser (tests/browser*.test.ts) ----

/** `.ci/run` sets TIERSCOPE_BROWSER_TESTS=required: a missing Chromium fails instead of skipping. */
export const BROWSER_TESTS_REQUIRED = process.env.TIERSCOPE_BROWSER_TESTS === 'required'

/** The demo users' password (README.md). */
export const DEMO_PASSWORD = 'tierscope-demo'

/** Headless, and nothing of Chromium's own on the network (updates, sync), so a page's requests are its own. */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
}

/** Signs in through the dashboard's form (the page goes on to the user's home view). */
export async function signInThroughForm(page: Page, baseUrl: string, username: string, password = DEMO_PASSWORD): Promise<void> {
  await page.goto(`${baseUrl}/login`)
  await page.fill('input[name=username]', username)
  await page.fill('input[name=password]', password)
  await page.click('button[type=submit]')
}

/** Per context from `newBrowserContext`: the requests of its pages (every frame) not answered yet, and when one last began or ended. */
const requestsOf = new WeakMap<BrowserContext, { inFlight: Set<Request>; lastChange: number }>()

/**
 * A context whose requests `settled` follows. (Playwright's own `networkidle` is not used: it
 * never came after an <iframe> of the reports page loaded a new report quickly, with every frame
 * loaded and no request in flight, microsoft/playwright#42598, and Playwright discourages it.)
 */
export async function newBrowserContext(browser: Browser, options: Parameters<Browser['newContext']>[0] = {}): Promise<BrowserContext> {
  const context = await browser.newContext(options)
  const requests = { inFlight: new Set<Request>(), lastChange: Date.now() }
  requestsOf.set(context, requests)
  context.on('request', (r) => {
    // (a stream that stays open is no request waiting for its answer; Playwright leaves it out too)
    if (r.resourceType() === 'eventsource') return
    requests.inFlight.add(r)
    requests.lastChange = Date.now()
  })
  const ended = (r: Request) => {
    if (requests.inFlight.delete(r)) requests.lastChange = Date.now()
  }
  context.on('requestfinished', ended)
  context.on('requestfailed', ended)
  return context
}

/**
 * Waits until the requests of the page's context (from `newBrowserContext`) are answered and none
 * began or ended for half a second since this call, then until the view's charts are drawn.
 */
export async function settled(page: Page): Promise<void> {
  const requests = requestsOf.get(page.context())
  if (!requests) throw new Error('settled() follows the requests of a context opened by newBrowserContext()')
  await page.waitForLoadState('load')
  const since = Date.now()
  const deadline = since + 60_000
  while (requests.inFlight.size > 0 || Date.now() - Math.max(requests.lastChange, since) < 500) {
    if (Date.now() > deadline) {
      const open = [...requests.inFlight].slice(0, 5).map((r) => r.url())
      throw new Error(`${page.url()}: requests still coming or unanswered after 60 s (${requests.inFlight.size} in flight${open.length ? `: ${open.join(', ')}` : ''})`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  await page.waitForFunction(() => !document.querySelector('[aria-busy="true"]') && !document.body.innerText.includes('加载中…'), undefined, { timeout: 60_000 })
}
