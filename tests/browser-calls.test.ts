// The API calls each dashboard view sends, counted in a real browser (Debian's Chromium through
// playwright-core, against `main.ts --demo`). The engine answers one query at a time, so a view
// asks once: on first load no call is sent twice, and changing one input (year, indicator, unit,
// filter…) sends each call that depends on it once more and nothing else. What "depends on it"
// means is not written down here but measured: the calls of a fresh load of the new address that
// a fresh load of the old one did not make. A late answer for inputs since changed is dropped.
//
// Without Chromium these tests are skipped (as in tests/browser.test.ts); TIERSCOPE_BROWSER_TESTS=required
// turns a missing browser into a failure.
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page, Request } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type ServerProcess } from './bench/server.ts'
import { BROWSER_TESTS_REQUIRED, CHROMIUM, launchChromium, newBrowserContext, settled, signInThroughForm } from './support.ts'

const AVAILABLE = existsSync(CHROMIUM)
const LEADER_UNIT = 'DC-S-DHM' // 东华门街道, the demo unit leader's hall
const THIS_YEAR = new Date().getFullYear()

if (!AVAILABLE && !BROWSER_TESTS_REQUIRED) console.warn(`\n  Browser call-count tests SKIPPED: no Chromium at ${CHROMIUM} (apt-get install -y chromium fonts-noto-cjk).\n`)

describe.runIf(BROWSER_TESTS_REQUIRED && !AVAILABLE)('browser call-count tests (required here)', () => {
  it('finds Chromium', () => {
    throw new Error(`TIERSCOPE_BROWSER_TESTS=required but there is no Chromium at ${CHROMIUM}: apt-get install -y chromium fonts-noto-cjk`)
  })
})

/** A call as the server sees it: method, path and query. */
type Call = string

/** The calls sent more than once, each with how many times. */
function repeated(calls: Call[]): Record<Call, number> {
  const counts = new Map<Call, number>()
  for (const c of calls) counts.set(c, (counts.get(c) ?? 0) + 1)
  return Object.fromEntries([...counts].filter(([, n]) => n > 1))
}

/** `calls` less one of each of `minus` (a multiset difference), sorted. */
function without(calls: Call[], minus: Call[]): Call[] {
  const left = [...minus]
  return calls.filter((c) => {
    const i = left.indexOf(c)
    if (i < 0) return true
    left.splice(i, 1)
    return false
  }).sort()
}

/** Every /api/ request a page sends, and a wait for the moment none is in flight. */
class CallLog {
  readonly calls: Call[] = []
  private inFlight = 0
  private lastActivity = Date.now()

  constructor(readonly page: Page) {
    const isApi = (r: Request) => new URL(r.url()).pathname.startsWith('/api/')
    const done = (r: Request) => {
      if (!isApi(r)) return
      this.inFlight--
      this.lastActivity = Date.now()
    }
    page.on('request', (r) => {
      if (!isApi(r)) return
      const url = new URL(r.url())
      this.calls.push(`${r.method()} ${url.pathname}${url.search}`)
      this.inFlight++
      this.lastActivity = Date.now()
    })
    page.on('requestfinished', done)
    page.on('requestfailed', done)
  }

  /** Waits until the view has answered everything it asked and asked nothing for a while, then until it is drawn. */
  async quiet(): Promise<void> {
    const deadline = Date.now() + 120_000
    while (this.inFlight > 0 || Date.now() - this.lastActivity < 1_000) {
      if (Date.now() > deadline) throw new Error(`still waiting for ${this.inFlight} API call(s) on ${this.page.url()}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    await settled(this.page)
  }

  /** The calls sent while `act` runs and the view settles after it. */
  async during(act: () => Promise<unknown>): Promise<Call[]> {
    const mark = this.calls.length
    this.lastActivity = Date.now() // what `act` starts may take a moment to ask
    await act()
    await this.quiet()
    return this.calls.slice(mark)
  }
}

describe.runIf(AVAILABLE)('the API calls a dashboard view makes', () => {
  let server: ServerProcess
  let browser: Browser
  let dataDir: string
  const pageErrors: string[] = []
  /** per view, for the record: calls on first load and on each change */
  const seen: Record<string, number> = {}

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tierscope-browser-calls-'))
    server = await startServer(dataDir, { demo: true, env: { TIERSCOPE_DEMO_CASES: '20000' } })
    browser = await launchChromium()
  }, 300_000)

  afterAll(async () => {
    console.log(`API calls seen: ${JSON.stringify(seen, null, 1)}`)
    await browser?.close()
    await server?.stop()
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  })

  /** A browser signed in as `username` through the form; its home view, opened from the sign-in page, asks each call once too. */
  async function signedIn(username: string): Promise<BrowserContext> {
    const context = await newBrowserContext(browser, { viewport: { width: 1280, height: 900 }, locale: 'zh-CN' })
    const page = await context.newPage()
    page.on('pageerror', (err) => pageErrors.push(`${page.url()}: ${err.message}`))
    const log = new CallLog(page)
    const calls = await log.during(async () => {
      await signInThroughForm(page, server.url, username)
      await page.waitForURL((url) => url.pathname !== '/login')
    })
    expect.soft(repeated(calls), `${username}: calls sent more than once on signing in and opening the home view`).toEqual({})
    seen[`${username}: signing in, home view`] = calls.length
    await page.close()
    return context
  }

  /** Opens `path` in a new tab of the context (a full page load) and returns its tab and the calls it sent. */
  async function firstLoad(context: BrowserContext, path: string): Promise<{ log: CallLog; calls: Call[] }> {
    const page = await context.newPage()
    page.on('pageerror', (err) => pageErrors.push(`${page.url()}: ${err.message}`))
    const log = new CallLog(page)
    const calls = await log.during(() => page.goto(`${server.url}${path}`))
    // soft: one run lists every view that asks too often, not just the first
    expect.soft(repeated(calls), `${path}: calls sent more than once on first load`).toEqual({})
    return { log, calls }
  }

  const addressOf = (page: Page) => {
    const url = new URL(page.url())
    return url.pathname + url.search
  }

  /**
   * Changes one input on an open view: the calls it sends are exactly those a fresh load of the new
   * address makes and a fresh load of the old one did not, each once. Returns the calls of the
   * fresh load of the new address (the baseline for the next change).
   */
  async function change(context: BrowserContext, view: { log: CallLog; calls: Call[] }, name: string, act: (page: Page) => Promise<unknown>): Promise<Call[]> {
    const before = addressOf(view.log.page)
    const sent = await view.log.during(async () => {
      await act(view.log.page)
      await view.log.page.waitForURL((url) => url.pathname + url.search !== before)
    })
    const after = addressOf(view.log.page)
    const fresh = await firstLoad(context, after)
    await fresh.log.page.close()
    const dependent = without(fresh.calls, view.calls)
    expect(dependent.length, `${name}: some call depends on the input`).toBeGreaterThan(0)
    expect.soft([...sent].sort(), `${name}: the calls sent on changing ${before} to ${after}`).toEqual(dependent)
    seen[name] = sent.length
    return fresh.calls
  }

  async function opened(context: BrowserContext, name: string, path: string) {
    const view = await firstLoad(context, path)
    seen[name] = view.calls.length
    return view
  }

  it('the sign-in page', async () => {
    const context = await newBrowserContext(browser, { locale: 'zh-CN' })
    await opened(context, 'login: first load', '/login')
    await context.close()
  })

  it('joint meeting: first load, then the year, the tier, the period and the funnel\'s indicator, one at a time', async () => {
    const context = await signedIn('meeting')
    const view = await opened(context, 'meeting: first load', '/meeting')
    view.calls = await change(context, view, 'meeting: year', (p) => p.selectOption('select[name=year]', String(THIS_YEAR - 1)))
    view.calls = await change(context, view, 'meeting: tier', (p) => p.selectOption('select[name=tier]', '1'))
    view.calls = await change(context, view, 'meeting: period', (p) => p.selectOption('select[name=period]', '06'))
    const choices = await view.log.page.locator('select[name=funnel] option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))
    const current = await view.log.page.locator('select[name=funnel]').inputValue()
    view.calls = await change(context, view, 'meeting: funnel indicator', (p) => p.selectOption('select[name=funnel]', choices.find((c) => c !== current)!))
    // the category is drawn from the answers already there: nothing to ask
    const sent = await view.log.during(async () => {
      await view.log.page.selectOption('select[name=category]', 'satisfaction')
      await view.log.page.waitForURL(/category=satisfaction/)
    })
    expect.soft(sent, 'meeting: category').toEqual([])
    seen['meeting: category'] = sent.length
    // another view through the menu, and back
    view.calls = await change(context, view, 'meeting → inspect (menu)', (p) => p.click('nav a[href="/inspect"]'))
    view.calls = await change(context, view, 'inspect → meeting (menu)', (p) => p.click('nav a[href="/meeting"]'))
    await context.close()
  }, 300_000)

  it('joint meeting: an answer for an indicator since changed does not replace the newer one', async () => {
    const context = await signedIn('meeting')
    const { log } = await opened(context, 'meeting (stale): first load', '/meeting')
    const page = log.page
    const funnel = page.locator('select[name=funnel]')
    const choices = await funnel.locator('option').evaluateAll((os) => os.map((o) => ({ id: (o as HTMLOptionElement).value, name: o.textContent!.trim() })))
    const current = await funnel.inputValue()
    const [late, latest] = choices.filter((c) => c.id !== current)
    expect(late && latest, 'two other indicators to choose').toBeTruthy()
    // the first choice's answer is held back until the second's is on screen
    const isLate = (r: Request) => new URL(r.url()).pathname === `/api/v1/rankings/${late!.id}`
    let release!: () => void
    const held = new Promise<void>((r) => (release = r))
    await page.route((url) => url.pathname === `/api/v1/rankings/${late!.id}`, async (route) => {
      await held
      // (a view that gave up on the request has aborted it: nothing left to answer)
      await route.continue().catch(() => undefined)
    })
    // answered late, or aborted by the view
    const lateOver = new Promise<void>((resolve) => {
      page.on('requestfinished', (r) => isLate(r) && resolve())
      page.on('requestfailed', (r) => isLate(r) && resolve())
    })
    const lateAsked = page.waitForRequest(isLate)
    await page.selectOption('select[name=funnel]', late!.id)
    await lateAsked
    await page.selectOption('select[name=funnel]', latest!.id)
    await page.waitForURL(new RegExp(`funnel=${latest!.id}`))
    // the funnel's table is captioned "漏斗图… · {the indicator's name}"
    const shownIndicator = async () => (await page.locator('[data-funnel] table').getAttribute('aria-label'))?.split(' · ').pop()
    await expect.poll(shownIndicator, { timeout: 60_000 }).toBe(latest!.name)
    release()
    await lateOver
    await log.quiet()
    expect(await shownIndicator()).toBe(latest!.name)
    expect(await funnel.inputValue()).toBe(latest!.id)
    await context.close()
  }, 180_000)

  it('unit leader: first load, then the year, then a station under the hall', async () => {
    const context = await signedIn('leader-dhm')
    const view = await opened(context, 'unit: first load', `/unit/${LEADER_UNIT}`)
    view.calls = await change(context, view, 'unit: year', (p) => p.selectOption('select[name=year]', String(THIS_YEAR - 1)))
    view.calls = await change(context, view, 'unit: a station', (p) => p.locator('.filters a[href^="/unit/"]').first().click())
    await context.close()
  }, 240_000)

  it('inspector: first load, then a drill-down, the order, the soon-due list, and one case from the list', async () => {
    const context = await signedIn('inspector')
    const view = await opened(context, 'inspect: first load', '/inspect')
    const drill = (p: Page) => p.locator('table[aria-label] tbody tr td a[href^="/inspect"]').first().click()
    view.calls = await change(context, view, 'inspect: a tier', drill)
    view.calls = await change(context, view, 'inspect: a unit', drill)
    view.calls = await change(context, view, 'inspect: order', (p) => p.click('[data-order-link="case_id"]'))
    view.calls = await change(context, view, 'inspect: soon due', (p) => p.click('[data-kind="warning"]'))
    await context.close()
  }, 240_000)

  it('one case: first load, and opened from the inspector\'s list', async () => {
    const context = await signedIn('inspector')
    const view = await opened(context, 'inspect (case): first load', '/inspect')
    const href = await view.log.page.locator('a[href^="/case/"]').first().getAttribute('href')
    expect(href).toBeTruthy()
    const { calls } = await opened(context, 'case: first load', href!)
    expect(calls.filter((c) => c.startsWith('GET /api/v1/cases/'))).toHaveLength(1)
    view.calls = await change(context, view, 'case: from the list', (p) => p.locator('a[href^="/case/"]').first().click())
    await context.close()
  }, 180_000)

  it('the administrator\'s views: data quality, holiday calendar (a year), keys and users, audit log (a filter), reports (a year)', async () => {
    const context = await signedIn('admin')
    await opened(context, 'quality: first load', '/quality')
    await opened(context, 'access: first load', '/access')
    const calendar = await opened(context, 'calendar: first load', '/calendar')
    const years = await calendar.log.page.locator('select[name=year] option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))
    const shownYear = await calendar.log.page.locator('select[name=year]').inputValue()
    await change(context, calendar, 'calendar: year', (p) => p.selectOption('select[name=year]', years.find((y) => y !== shownYear)!))
    const audit = await opened(context, 'audit: first load', '/audit')
    await change(context, audit, 'audit: action filter', async (p) => {
      await p.selectOption('select[name=action]', 'sign_in')
      await p.click('[data-audit-filters] button[type=submit]')
      await p.waitForURL(/action=sign_in/)
    })
    const reports = await opened(context, 'reports: first load', '/reports')
    await change(context, reports, 'reports: year', (p) => p.selectOption('select[name=year]', String(THIS_YEAR - 2)))
    await context.close()
  }, 300_000)

  it('ran without errors in the page', () => {
    expect(pageErrors).toEqual([])
  })
})
