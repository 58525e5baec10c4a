// The security headers in a real browser: Debian's Chromium (playwright-core) against `main.ts
// --demo` on a temporary data directory. Signed in, every dashboard view, a published report
// (in the /reports page's <iframe> and on its own) and /docs are opened, and any CSP violation
// (a `securitypolicyviolation` event in any frame, a console "Refused to …") or page error fails
// the test; the headers of an API answer, the dashboard shell and a report document are checked;
// the dashboard's own writes (sign-in, sign-out) pass the cross-site check.
//
// Without Chromium these tests are skipped with a message; TIERSCOPE_BROWSER_TESTS=required
// turns a missing browser into a failure (as in tests/browser.test.ts).
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type ServerProcess } from './bench/server.ts'
import { BROWSER_TESTS_REQUIRED as REQUIRED, CHROMIUM, launchChromium, newBrowserContext, settled, signInThroughForm } from './support.ts'

const AVAILABLE = existsSync(CHROMIUM)
const LEADER_UNIT = 'DC-S-DHM' // 东华门街道
const YEAR = new Date().getFullYear() - 1

if (!AVAILABLE && !REQUIRED) {
  console.warn(`\n  Browser security tests SKIPPED: no Chromium at ${CHROMIUM} (apt-get install -y chromium fonts-noto-cjk).\n`)
}

describe.runIf(REQUIRED && !AVAILABLE)('browser security tests (required here)', () => {
  it('finds Chromium', () => {
    throw new Error(`TIERSCOPE_BROWSER_TESTS=required but there is no Chromium at ${CHROMIUM}: apt-get install -y chromium fonts-noto-cjk`)
  })
})

describe.runIf(AVAILABLE)('the content security policy in Chromium', () => {
  let server: ServerProcess
  let browser: Browser
  let dataDir: string
  /** CSP violations and page errors, with the page they happened on */
  const problems: string[] = []

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tierscope-browser-security-'))
    server = await startServer(dataDir, { demo: true, env: { TIERSCOPE_DEMO_CASES: '20000' } })
    browser = await launchChromium()
    // a published year, so that the reports page shows a report in its <iframe>
    const r = await fetch(`${server.url}/api/v1/reports/${YEAR}/publish`, {
      method: 'POST', headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ note: 'browser security test' }),
    })
    if (!r.ok) throw new Error(`publish ${YEAR}: ${r.status} ${await r.text()}`)
  }, 300_000)

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  })

  async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await newBrowserContext(browser, { viewport: { width: 1280, height: 900 }, acceptDownloads: true, locale: 'zh-CN' })
    // in every frame, before any of the page's own scripts: report what the policy blocked
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} in ${e.documentURI}${e.sample ? ` (${e.sample})` : ''}`)
      })
    })
    const page = await context.newPage()
    page.on('pageerror', (err) => problems.push(`${page.url()}: page error: ${err.message}`))
    page.on('console', (msg) => {
      const text = msg.text()
      if (/CSP violation|Refused to|Content Security Policy/i.test(text)) problems.push(`${page.url()}: ${text}`)
    })
    return { context, page }
  }

  const signIn = (page: Page, username: string) => signInThroughForm(page, server.url, username)

  it('opens every dashboard view, a report and /docs without a CSP violation or a page error', async () => {
    const { context, page } = await newPage()
    await signIn(page, 'admin')
    await page.waitForURL((u) => !u.pathname.startsWith('/login'))
    await settled(page)
    const caseId = await page.evaluate(async () => ((await (await fetch('/api/v1/cases?limit=1')).json()) as { rows: Array<{ case_id: string }> }).rows[0]!.case_id)

    const views = [
      '/meeting?tier=2', `/unit/${LEADER_UNIT}`, '/inspect', '/inspect?kind=warning', `/case/${encodeURIComponent(caseId)}`,
      '/quality', `/reports?year=${YEAR}`, '/calendar?year=2026', '/access', '/audit', '/audit?action=sign_in',
    ]
    for (const view of views) {
      await page.goto(`${server.url}${view}`)
      await settled(page)
      expect(await page.locator('main, body').first().innerText(), view).not.toMatch(/^\s*$/)
    }

    // the charts were drawn (ECharts writes inline style attributes and SVG)
    await page.goto(`${server.url}/meeting?tier=2`)
    await settled(page)
    expect(await page.locator('[data-chart] svg').count()).toBeGreaterThan(0)

    // the published report inside the reports page (an <iframe> of the same origin) rendered, styled
    await page.goto(`${server.url}/reports?year=${YEAR}`)
    await settled(page)
    const frame = page.frameLocator('iframe').first()
    await expect.poll(() => frame.locator('body').innerText(), { timeout: 60_000 }).toContain('东城区')
    const styled = await frame.locator('h2').first().evaluate((h) => getComputedStyle(h).borderBottomStyle)
    expect(styled).toBe('solid') // the report's inline <style> applied
    expect(await frame.locator('svg').count()).toBeGreaterThan(0) // its inline SVG charts

    // the report as a document of its own
    await page.goto(`${server.url}/reports/${YEAR}/district.html`)
    await page.waitForLoadState('load')
    expect(await page.locator('svg').count()).toBeGreaterThan(0)

    // the API's documentation (swagger-ui under its staticCSP)
    await page.goto(`${server.url}/docs`)
    await page.locator('.swagger-ui .opblock').first().waitFor({ timeout: 60_000 })
    expect(await page.locator('.swagger-ui .opblock').count()).toBeGreaterThan(10)

    // the dashboard's own write with the session cookie passes the cross-site check
    await page.goto(`${server.url}/inspect`)
    await settled(page)
    await page.click('[data-sign-out]')
    await page.waitForURL(/\/login/)
    expect(await page.evaluate(async () => (await fetch('/api/v1/session')).status)).toBe(401)
    await context.close()

    expect(problems).toEqual([])
  }, 300_000)

  it('refuses a foreign page\'s write with the visitor\'s cookie', async () => {
    const { context, page } = await newPage()
    await signIn(page, 'admin')
    await page.waitForURL((u) => !u.pathname.startsWith('/login'))
    const cookie = (await context.cookies()).find((c) => c.name === 'tierscope_session')!
    const headers = { cookie: `${cookie.name}=${cookie.value}`, 'content-type': 'application/json' }
    // what a browser sends for a form or fetch from another site
    const foreign = await fetch(`${server.url}/api/v1/settings`, { method: 'PUT', headers: { ...headers, origin: 'https://evil.example' }, body: '{"warning_days":1}' })
    expect(foreign.status).toBe(403)
    const own = await fetch(`${server.url}/api/v1/settings`, { method: 'PUT', headers: { ...headers, origin: server.url }, body: '{"warning_days":1}' })
    expect(own.status).toBe(200)
    // and the browser itself sends its Origin on the dashboard's writes
    const fromPage = await page.evaluate(async () => (await fetch('/api/v1/settings', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"warning_days":1}' })).status)
    expect(fromPage).toBe(200)
    await context.close()
  }, 120_000)

  it('sends the headers on an API answer, the dashboard shell and a report document', async () => {
    const api = await fetch(`${server.url}/api/v1/health`)
    expect(api.headers.get('content-security-policy')).toMatch(/default-src 'none'/)
    expect(api.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/)
    expect(api.headers.get('x-content-type-options')).toBe('nosniff')
    expect(api.headers.get('x-frame-options')).toBe('DENY')

    const shell = await fetch(`${server.url}/meeting`)
    expect(shell.headers.get('content-type')).toMatch(/text\/html/)
    const shellCsp = shell.headers.get('content-security-policy') ?? ''
    expect(shellCsp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/]+=*'/)
    expect(shellCsp).not.toMatch(/script-src[^;]*'unsafe-inline'/)
    expect(shellCsp).toMatch(/frame-ancestors 'none'/)
    expect(shell.headers.get('x-content-type-options')).toBe('nosniff')
    expect(shell.headers.get('x-frame-options')).toBe('DENY')

    const report = await fetch(`${server.url}/reports/${YEAR}/district.html`, { headers: { authorization: `Bearer ${server.adminToken}` } })
    expect(report.status).toBe(200)
    const reportCsp = report.headers.get('content-security-policy') ?? ''
    expect(reportCsp).toMatch(/default-src 'none'/)
    expect(reportCsp).toMatch(/style-src 'unsafe-inline'/)
    expect(reportCsp).toMatch(/frame-ancestors 'self'/)
    expect(report.headers.get('x-content-type-options')).toBe('nosniff')
    expect(report.headers.get('x-frame-options')).toBe('SAMEORIGIN')
  })

  it('lets an admin revoke a key and disable and enable a user from the keys and users page, and lists it all in the audit log', async () => {
    const admin = { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' }
    const made = await (await fetch(`${server.url}/api/v1/keys`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'to be revoked', role: 'inspector' }) })).json() as { token: string; key_id: string }
    const { context, page } = await newPage()
    page.on('dialog', (d) => void d.accept()) // the confirmations
    await signIn(page, 'admin')
    await page.waitForURL((u) => !u.pathname.startsWith('/login'))
    await page.goto(`${server.url}/access`)
    await settled(page)
    const keysText = await page.locator('[data-keys]').innerText()
    expect(keysText).toContain('to be revoked')
    expect(await page.content()).not.toContain(made.token)
    await page.click(`[data-revoke="${made.key_id}"]`)
    await expect.poll(() => page.locator(`[data-key="${made.key_id}"]`).innerText()).toContain('已吊销')
    expect((await fetch(`${server.url}/api/v1/session`, { headers: { authorization: `Bearer ${made.token}` } })).status).toBe(401)

    // the inspector signed in elsewhere is signed out the moment the admin disables them
    const other = await newPage()
    await signIn(other.page, 'inspector')
    await other.page.waitForURL((u) => !u.pathname.startsWith('/login'))
    await page.click('[data-disable="inspector"]')
    await expect.poll(() => page.locator('[data-user-row="inspector"]').innerText()).toContain('已停用')
    expect(await other.page.evaluate(async () => (await fetch('/api/v1/session')).status)).toBe(401)
    await page.click('[data-enable="inspector"]')
    await expect.poll(() => page.locator('[data-user-row="inspector"]').innerText()).toContain('有效')

    await page.goto(`${server.url}/audit?action=key.revoke`)
    await settled(page)
    expect(await page.locator('[data-audit]').innerText()).toContain(made.key_id)
    await page.goto(`${server.url}/audit?action=user.change`)
    await settled(page)
    expect(await page.locator('[data-audit] tbody tr').count()).toBeGreaterThanOrEqual(2)
    await other.context.close()
    await context.close()
  }, 180_000)

  it('lists rows refused as id_owned_by_other_source on the data-quality page, with the system that stored the id first', async () => {
    const row = JSON.stringify({ event_id: 'owned-by-admin-1', case_id: 'OWNED-1', type: 'submitted', occurred_at: `${YEAR}-03-03T10:00:00+08:00`, unit_id: LEADER_UNIT }) + '\n'
    const post = (token: string) => fetch(`${server.url}/api/v1/ingest/case-events`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' }, body: row })
    expect(((await (await post(server.adminToken)).json()) as { accepted: number }).accepted).toBe(1)
    const refused = (await (await post('demo-source-dhm')).json()) as { rejected: number; errors: Array<{ code: string }> }
    expect(refused.errors.map((e) => e.code)).toEqual(['id_owned_by_other_source'])
    const { context, page } = await newPage()
    await signIn(page, 'admin')
    await page.waitForURL((u) => !u.pathname.startsWith('/login'))
    await page.goto(`${server.url}/quality`)
    await settled(page)
    const section = page.locator('[data-owned-by-other]')
    await expect.poll(() => section.innerText()).toContain('owned-by-admin-1')
    const text = await section.innerText()
    expect(text).toContain('TIERSCOPE_ADMIN_TOKEN') // the key that stored it first, by name
    expect(text).toContain('demo-source-dhm') // the system whose row was refused
    await context.close()
  }, 120_000)

  it('keeps a unit named <img src=x onerror=alert(1)> harmless in the heat map tooltip and in every served document', async () => {
    const EVIL = '<img src=x onerror=alert(1)>'
    const admin = { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' }
    // a street hall (with records, so it is in the heat map and the reports) is renamed
    const units = (await (await fetch(`${server.url}/api/v1/units`, { headers: admin })).json() as { units: Array<Record<string, unknown> & { unit_id: string; tier: number }> }).units
    const hall = units.find((u) => u.tier === 2 && u.unit_id !== LEADER_UNIT)!
    const renamed = await fetch(`${server.url}/api/v1/reference/units`, { method: 'PUT', headers: admin, body: JSON.stringify([{ ...hall, name: EVIL }]) })
    expect(renamed.status, await renamed.text()).toBe(200)
    // published again, so the published documents carry the new name too
    const published = await fetch(`${server.url}/api/v1/reports/${YEAR}/publish`, { method: 'POST', headers: admin, body: '{}' })
    expect(published.status, await published.text()).toBe(201)

    const { context, page } = await newPage()
    const dialogs: string[] = []
    page.on('dialog', (d) => {
      dialogs.push(d.message())
      void d.dismiss()
    })
    await signIn(page, 'admin')
    await page.waitForURL((u) => !u.pathname.startsWith('/login'))
    const injected = () => page.evaluate(() => document.querySelectorAll('img[src="x"], img[src$="/x"]').length)

    await page.goto(`${server.url}/meeting?tier=2&year=${YEAR}`)
    await settled(page)
    const heat = page.locator('[data-chart="单位 × 指标得分"]')
    await heat.locator('svg').waitFor()
    // the hall's row: its axis label, and the cells level with it
    const label = heat.locator('svg text', { hasText: EVIL }).first()
    const labelBox = (await label.boundingBox())!
    const heatBox = (await heat.boundingBox())!
    let shown = ''
    for (let x = labelBox.x + labelBox.width + 20; x < heatBox.x + heatBox.width - 10 && !shown.includes(EVIL); x += 25) {
      await page.mouse.move(x, labelBox.y + labelBox.height / 2)
      await page.waitForTimeout(150)
      shown = await heat.evaluate((el) => [...el.querySelectorAll('div')].map((d) => d.textContent ?? '').join(' | '))
    }
    expect(shown, 'the tooltip shows the name as text').toContain(EVIL)
    expect(await injected()).toBe(0)

    const documents = [
      `/reports/${YEAR}/district.html`, `/reports/${YEAR}/units/${hall.unit_id}.html`, `/reports/${YEAR}/restatement.html`,
      `/reports/${YEAR + 1}/draft/district.html`, `/reports/${YEAR + 1}/draft/units/${hall.unit_id}.html`,
    ]
    for (const doc of documents) {
      const source = await fetch(`${server.url}${doc}`, { headers: admin })
      expect(source.status, doc).toBe(200)
      const html = await source.text()
      expect(html, doc).not.toContain(EVIL)
      if (!doc.includes('restatement')) expect(html, doc).toContain('&lt;img src=x onerror=alert(1)&gt;')
      await page.goto(`${server.url}${doc}`)
      await page.waitForLoadState('load')
      expect(await injected(), doc).toBe(0)
    }
    expect(dialogs).toEqual([])
    await context.close()
  }, 300_000)

  it('ran without errors in the pages', () => {
    expect(problems).toEqual([])
  })
})
