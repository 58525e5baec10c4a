// The dashboard in a real browser: Debian's Chromium driven by playwright-core against `main.ts
// --demo` (a child process on its own data directory, the generated demo district). Each role
// signs in through the form and walks its views; a unit leader is kept out of other units' pages
// and data; a wrong password, a forged cookie and an expired session are refused; an admin loads
// the State Council's holiday notice; the calendar banner shows when /api/v1/health warns. Every
// view is saved as a screenshot under tests/artifacts/screenshots/ (README.md, "Screenshots").
//
// Without Chromium these tests are skipped with a message saying how to install it; .ci/run
// installs it and sets TIERSCOPE_BROWSER_TESTS=required, which turns a missing browser into a failure.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type ServerProcess } from './bench/server.ts'
import { BROWSER_TESTS_REQUIRED as REQUIRED, CHROMIUM, DEMO_PASSWORD as PASSWORD, launchChromium, newBrowserContext, settled, signInThroughForm } from './support.ts'

const AVAILABLE = existsSync(CHROMIUM)
const SHOTS = join(dirname(fileURLToPath(import.meta.url)), 'artifacts', 'screenshots')
const LEADER_UNIT = 'DC-S-DHM' // 东华门街道, the demo unit leader's hall
const NOTICE_2026 = join(dirname(fileURLToPath(import.meta.url)), '..', 'ingest', 'fixtures', 'holiday-notices', '2026.txt')

if (!AVAILABLE && !REQUIRED) {
  console.warn(
    `\n  Browser tests SKIPPED: no Chromium at ${CHROMIUM}.\n` +
    '  Install it with `sudo apt-get install -y chromium fonts-noto-cjk` (or point TIERSCOPE_CHROMIUM at a Chromium binary) and run `npm test` again.\n',
  )
}

describe.runIf(REQUIRED && !AVAILABLE)('browser tests (required here)', () => {
  it('finds Chromium', () => {
    throw new Error(`TIERSCOPE_BROWSER_TESTS=required but there is no Chromium at ${CHROMIUM}: apt-get install -y chromium fonts-noto-cjk`)
  })
})

describe.runIf(AVAILABLE)('the dashboard in Chromium', () => {
  let server: ServerProcess
  let browser: Browser
  let dataDir: string
  const consoleErrors: string[] = []

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tierscope-browser-'))
    mkdirSync(SHOTS, { recursive: true })
    server = await startServer(dataDir, { demo: true, env: { TIERSCOPE_DEMO_CASES: '20000' } })
    browser = await launchChromium()
  }, 300_000)

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  })

  async function newPage(viewport = { width: 1280, height: 900 }): Promise<{ context: BrowserContext; page: Page }> {
    const context = await newBrowserContext(browser, { viewport, acceptDownloads: true, locale: 'zh-CN' })
    const page = await context.newPage()
    page.on('pageerror', (err) => consoleErrors.push(`${page.url()}: ${err.message}`))
    return { context, page }
  }

  const signIn = (page: Page, username: string, password = PASSWORD) => signInThroughForm(page, server.url, username, password)

  async function shot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true })
  }

  /** The Chinese text a chart drew (ECharts' SVG renderer writes real text nodes). */
  const chartText = (page: Page, label: string) => page.locator(`[data-chart="${label}"] svg`).first().textContent()

  it('joint meeting: rankings, grades, heat map (不计分 cells grey), funnel, trends, filters in the URL, English on a switch', async () => {
    const { context, page } = await newPage()
    await signIn(page, 'meeting')
    await page.waitForURL(/\/meeting/)
    await settled(page)
    const rows = page.locator('table[aria-label^="同级排名"] tbody tr')
    expect(await rows.count()).toBe(17) // Dongcheng's 17 street halls
    const first = await rows.first().locator('td').allTextContents()
    expect(first[0]).toBe('1')
    expect(Number(first[2])).toBeGreaterThan(0)
    expect(await chartText(page, '等级分布')).toMatch(/优秀|良好|合格/)
    expect(await chartText(page, 'on_time_rate')).toContain('按时办结率')
    expect(await page.locator('[data-chart="单位 × 指标得分"] svg path').count()).toBeGreaterThan(17 * 5)
    // the rule: 样本不足，不计分 and 按比例折算 — no confidence bound in the score any more
    const legend = await page.locator('[data-legend-small]').textContent()
    expect(legend).toContain('不计分')
    expect(legend).toContain('按比例折算')
    expect(legend).not.toMatch(/95|置信/)
    type Assessed = { units: Array<{ unit_id: string; composite_score: number | null; indicators: Array<{ id: string; scored: boolean; not_scored_reason: string | null }> }> }
    const tier2 = await page.evaluate(async () => (await (await fetch('/api/v1/assessment?tier=2')).json()) as Assessed)
    // every cell not scored says so (grey, 不计分), and only those: none is drawn as a 0
    const unscored = tier2.units.flatMap((u) => u.indicators.filter((i) => !i.scored)).length
    expect(unscored).toBeGreaterThan(0)
    const heat = (await chartText(page, '单位 × 指标得分')) ?? ''
    expect(heat.split('不计分').length - 1).toBe(unscored)
    // a unit whose sample is orange has an indicator not scored for a small sample
    const warned = await page.locator('table[aria-label^="同级排名"] tbody tr').evaluateAll((trs) => trs.filter((tr) => tr.querySelector('td.warn')).map((tr) => tr.querySelector('td a')!.getAttribute('href')!.split('/')[2]!.split('?')[0]!))
    expect(new Set(warned)).toEqual(new Set(tier2.units.filter((u) => u.indicators.some((i) => !i.scored && i.not_scored_reason === 'small_sample')).map((u) => u.unit_id)))
    await shot(page, 'meeting-tier2')

    // the funnel plot of one rate within the tier: its chart drawn, every unit in its table with a mark
    const funnel = page.locator('[data-funnel]')
    await funnel.scrollIntoViewIfNeeded()
    await expect.poll(() => funnel.locator('[data-chart="funnel"] svg').count()).toBe(1)
    expect(await funnel.locator('[data-chart="funnel"] svg path').count()).toBeGreaterThan(17)
    expect(await funnel.locator('table th').allTextContents()).toContain('与本层级比较')
    const marks = await funnel.locator('table tbody tr td:last-child').allTextContents()
    expect(marks.length).toBe(17)
    for (const m of marks) expect(m.trim()).toMatch(/^(在控制限内|高于 95% 限|高于 99\.8% 限|低于 95% 限|低于 99\.8% 限|—)$/)
    expect(marks.filter((m) => m.trim() !== '—').length).toBeGreaterThan(0)
    await funnel.screenshot({ path: join(SHOTS, 'meeting-funnel.png') })
    // the hotline's three rates are among the rates the joint meeting compares: the response rate's funnel
    const choices = await funnel.locator('select[name=funnel] option').allTextContents()
    expect(choices).toEqual(expect.arrayContaining(['响应率', '解决率', '满意率', '代办率']))
    await page.selectOption('select[name=funnel]', 'complaint_response_rate')
    await page.waitForURL(/funnel=complaint_response_rate/)
    await settled(page)
    await expect.poll(() => funnel.locator('[data-chart="funnel"] svg').count()).toBe(1)
    expect(await funnel.locator('table tbody tr').count()).toBe(17)
    await funnel.screenshot({ path: join(SHOTS, 'meeting-funnel-hotline.png') })

    // a filter is part of the address: changing it changes the URL, and the URL restores it
    await page.selectOption('select[name=tier]', '1')
    await page.waitForURL(/tier=1/)
    await page.selectOption('select[name=category]', 'satisfaction')
    await page.waitForURL(/category=satisfaction/)
    await settled(page)
    const shared = page.url()
    const { context: other, page: second } = await newPage()
    await signIn(second, 'meeting')
    await second.waitForURL(/\/meeting/)
    await second.goto(shared)
    await settled(second)
    expect(await second.locator('select[name=tier]').inputValue()).toBe('1')
    expect(await second.locator('select[name=category]').inputValue()).toBe('satisfaction')
    expect(await second.locator('table[aria-label^="同级排名"] th').allTextContents()).toContain('满意度')
    await shot(second, 'meeting-tier1-satisfaction')
    await other.close()

    await page.click('[data-lang-switch]')
    await expect.poll(() => page.locator('h1').textContent()).toContain('Joint meeting')
    await settled(page)
    await shot(page, 'meeting-english')
    await page.click('[data-lang-switch]')

    // a tablet: the same view in one column
    await page.setViewportSize({ width: 820, height: 1180 })
    await page.goto(`${server.url}/meeting?tier=3`)
    await settled(page)
    expect(await page.locator('table[aria-label^="同级排名"] tbody tr').count()).toBeGreaterThan(100)
    // a station with nothing scored has no composite: 未评定, after the rated ones, not a gap in the ranks
    const tier3 = await page.evaluate(async () => (await (await fetch('/api/v1/assessment?tier=3')).json()) as Assessed)
    const ranks = (await page.locator('table[aria-label^="同级排名"] tbody tr td:first-child').allTextContents()).map((x) => x.trim())
    const unrated = tier3.units.filter((u) => u.composite_score === null).length
    expect(ranks.filter((r) => r === '未评定').length).toBe(unrated)
    expect(ranks.filter((r) => r !== '未评定').every((r) => /^\d+$/.test(r))).toBe(true)
    expect(ranks.slice(ranks.length - unrated).every((r) => r === '未评定')).toBe(true)
    if (unrated > 0) expect(await page.locator('[data-legend-unrated]').textContent()).toContain('未评定')
    await shot(page, 'meeting-tier3-tablet')
    await context.close()
  })

  it('unit leader: targets (own, stations apart), projection, the composite worked out (按比例折算), trends, points lost and the cases behind them', async () => {
    const { context, page } = await newPage()
    await signIn(page, 'leader-dhm')
    await page.waitForURL(new RegExp(`/unit/${LEADER_UNIT}`))
    await settled(page)
    expect(await page.locator('h1').textContent()).toContain('东华门')
    const targets = page.locator('table[aria-label="年度目标"] tbody tr')
    expect(await targets.count()).toBeGreaterThan(3)
    expect(await targets.first().locator('td').nth(2).textContent()).not.toBe('—')
    // the unit's own value, and the stations under it in a column of their own (labelled as the API says)
    type Targets = { below: { label: string } | null; rows: Array<{ metric: string; value: number | null; below_min_sample: boolean | null; below: { value: number | null } | null }> }
    const tg = await page.evaluate(async () => (await (await fetch('/api/v1/targets?unit_id=DC-S-DHM')).json()) as Targets)
    expect(tg.below).not.toBeNull()
    const heads = (await page.locator('table[aria-label="年度目标"] th').allTextContents()).map((x) => x.trim())
    expect(heads).toContain(tg.below!.label)
    expect(heads).toContain('当前（本单位）')
    expect(heads).toContain('预计依据')
    expect(await targets.count()).toBe(tg.rows.length)
    expect(await page.locator('table[aria-label="年度目标"] tbody td.note').first().textContent()).toMatch(/按|当前|进度|存量/)
    expect(await page.locator('table[aria-label="年度目标"] tbody td', { hasText: '样本不足' }).count()).toBe(tg.rows.filter((r) => r.below_min_sample).length)
    const trendCharts = page.locator('[data-chart] svg')
    expect(await trendCharts.count()).toBeGreaterThan(3)
    const trendText = await page.locator('section').filter({ hasText: '月度趋势' }).locator('svg').first().textContent()
    expect(trendText).toMatch(/目标|同层级中位数/)
    expect(trendText).toContain('下属单位合计') // the stations' line, a series of its own
    expect(await page.locator('table[aria-label="失分"] tbody tr td').first().textContent()).not.toBe('暂无数据')
    // the unit's complaints with their steps and links, as the API lists them
    const year = new Date().getFullYear()
    const cp = await page.evaluate(async (y) => (await (await fetch(`/api/v1/complaints?unit_id=DC-S-DHM&from=${y}-01-01&to=${y}-12-31&limit=100`)).json()) as { rows: unknown[] }, year)
    const complaintRows = page.locator('[data-complaints] table tbody tr')
    const heads2 = (await page.locator('[data-complaints] th').allTextContents()).map((x) => x.trim())
    expect(heads2).toEqual(expect.arrayContaining(['响应', '办结', '投诉人评价', '关联评价']))
    // (the demo hall has only a few complaints a year: none yet this year is an answer too, shown as such)
    if (cp.rows.length === 0) expect(await page.locator('[data-complaints] td.empty').count()).toBe(1)
    else expect(await complaintRows.count()).toBe(cp.rows.length)
    await shot(page, 'unit-leader')

    // 综合得分的计算（按比例折算）: every indicator, scored or why not, and the composite is Σ points
    const scoring = page.locator('[data-scoring]')
    await scoring.scrollIntoViewIfNeeded()
    const srows = scoring.locator('table[aria-label="综合得分的计算（按比例折算）"] tbody tr')
    type Assessed = { units: Array<{ unit_id: string; composite_score: number | null; indicators: Array<{ scored: boolean; not_scored_reason: string | null }> }> }
    const mine = (await page.evaluate(async () => (await (await fetch('/api/v1/assessment?tier=2')).json()) as Assessed)).units.find((u) => u.unit_id === 'DC-S-DHM')!
    expect(await srows.count()).toBe(mine.indicators.length)
    const cells = await srows.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent!.trim())))
    const points = cells.map((c) => c[6]!).filter((p) => p !== '—').map(Number)
    expect(points.length).toBe(mine.indicators.filter((i) => i.scored).length)
    const shownComposite = Number(await page.locator('[data-composite-shown]').textContent())
    expect(shownComposite).toBeGreaterThan(0)
    expect(Math.abs(points.reduce((a, b) => a + b, 0) - shownComposite)).toBeLessThanOrEqual(0.01)
    expect(Math.abs(shownComposite - mine.composite_score!)).toBeLessThanOrEqual(0.005)
    expect(Number(await scoring.locator('[data-points-sum-shown]').textContent())).toBeCloseTo(shownComposite, 2)
    // an indicator not scored says why, with its sample against the minimum, and carries no weight after 折算
    const notScored = cells.filter((c) => c[3] !== '计分')
    expect(notScored.length).toBe(mine.indicators.filter((i) => !i.scored).length)
    for (const c of notScored) {
      expect(c[3]).toMatch(/不计分/)
      expect(c[4]).toBe('—')
    }
    if (mine.indicators.some((i) => i.not_scored_reason === 'small_sample')) expect(notScored.some((c) => /^样本不足，不计分（\d+ \/ \d+）$/.test(c[3]!))).toBe(true)
    // the weights after 折算 of the scored indicators add up to 100 %
    const weights = cells.map((c) => c[4]!).filter((w) => w !== '—').map((w) => parseFloat(w))
    expect(Math.abs(weights.reduce((a, b) => a + b, 0) - 100)).toBeLessThan(0.1 * weights.length)
    await scoring.screenshot({ path: join(SHOTS, 'unit-scoring.png') })

    // one of its community stations (a unit under it) is its to see
    const station = page.locator('.filters a[href^="/unit/"]').first()
    await station.click()
    await settled(page)
    expect(await page.locator('[data-forbidden]').count()).toBe(0)

    // another street hall is not: neither the page nor the API
    await page.goto(`${server.url}/unit/DC-S-JS`)
    await settled(page)
    expect(await page.locator('[data-forbidden]').textContent()).toContain('无权查看')
    await shot(page, 'unit-leader-other-unit-refused')
    const statuses = await page.evaluate(async () => {
      const get = async (u: string) => (await fetch(u)).status
      return {
        metric: await get('/api/v1/metrics/on_time_rate?scope=unit:DC-S-JS'),
        targets: await get('/api/v1/targets?unit_id=DC-S-JS'),
        ratings: await get('/api/v1/ratings?unit_id=DC-S-JS'),
        district: await get('/api/v1/metrics/on_time_rate'),
        own: await get('/api/v1/targets?unit_id=DC-S-DHM'),
      }
    })
    expect(statuses).toEqual({ metric: 403, targets: 403, ratings: 403, district: 403, own: 200 })
    const otherCases = await page.evaluate(async () => (await (await fetch('/api/v1/cases?unit_id=DC-S-JS&limit=5')).json()).rows.length)
    expect(otherCases).toBe(0)
    await context.close()
  })

  it('inspector: overdue and soon-due cases drilled from the district to one case, exported as CSV', async () => {
    const { context, page } = await newPage()
    await signIn(page, 'inspector')
    await page.waitForURL(/\/inspect/)
    await settled(page)
    await shot(page, 'inspector-district')
    // the red-card list: most working days over first; the other order is a link, kept in the URL
    const daysOver = async () => (await page.locator('table[aria-label^="红牌"] tbody tr td:nth-child(7)').allTextContents()).map((t) => parseInt(t, 10))
    const over = await daysOver()
    expect(over.length).toBeGreaterThan(5)
    expect(over).toEqual([...over].sort((a, b) => b - a))
    expect(new Set(over).size).toBeGreaterThan(1)
    await page.click('[data-order-link="case_id"]')
    await page.waitForURL(/[?&]order=case_id/)
    await settled(page)
    const ids = await page.locator('table[aria-label^="红牌"] tbody tr td:nth-child(1)').allTextContents()
    expect(ids).toEqual([...ids].sort())
    await page.click('[data-order-link="days_over"]')
    await page.waitForURL((url) => !url.search.includes('order='))
    await settled(page)
    // district → tier → unit → item: follow the largest count at each level
    for (const level of ['tier', 'unit', 'item']) {
      const link = page.locator('table[aria-label] tbody tr td a[href^="/inspect"]').first()
      expect(await link.count(), `a ${level} to drill into`).toBe(1)
      await link.click()
      await page.waitForURL(new RegExp(`[?&]${level}=`))
      await settled(page)
      await shot(page, `inspector-${level}`)
    }
    expect(page.url()).toMatch(/tier=\d.*unit=.*item=/)
    const caseRows = page.locator('table[aria-label^="红牌"] tbody tr')
    expect(await caseRows.count()).toBeGreaterThan(0)

    // the list as CSV: every row, with a BOM for spreadsheets
    const download = page.waitForEvent('download')
    await page.click('[data-export="overdue-cases.csv"]')
    const file = await (await download).path()
    const csv = readFileSync(file!, 'utf8')
    expect(csv.charCodeAt(0)).toBe(0xfeff)
    expect(csv.split('\r\n')[0]).toContain('办件编号')
    expect(csv.trim().split('\r\n').length - 1).toBe(await caseRows.count())

    // the single case: its clock and every event
    await caseRows.first().locator('a').click()
    await page.waitForURL(/\/case\//)
    await settled(page)
    expect(await page.locator('.kpi').count()).toBe(7)
    const events = page.locator('table[aria-label="办理过程"] tbody tr')
    expect(await events.count()).toBeGreaterThan(1)
    expect(await events.first().textContent()).toMatch(/申请|受理/)
    await shot(page, 'inspector-case')

    await page.goto(`${server.url}/inspect?kind=warning`)
    await settled(page)
    await shot(page, 'inspector-warning')
    await context.close()
  })

  it('data quality: arrivals and volumes per source, the quarantine, calendar coverage', async () => {
    const { context, page } = await newPage()
    await signIn(page, 'admin')
    await page.waitForURL(/\/quality/)
    await settled(page)
    expect(await page.locator('table[aria-label="来源系统"] tbody tr').count()).toBe(6) // the demo's six streams
    expect(await page.locator('[data-calendar]').textContent()).toMatch(/2026|放假安排/)
    await shot(page, 'quality')
    // the other roles do not see it
    const { context: c2, page: p2 } = await newPage()
    await signIn(p2, 'inspector')
    await p2.waitForURL(/\/inspect/)
    await p2.goto(`${server.url}/quality`)
    await settled(p2)
    expect(await p2.locator('.notice.error').textContent()).toContain('不能查看')
    expect(await p2.evaluate(async () => (await fetch('/api/v1/ingest/log')).status)).toBe(403)
    await c2.close()
    await context.close()
  })

  it('annual assessment: the joint meeting publishes a year; its documents open; a unit leader gets only its own', async () => {
    const year = new Date().getFullYear() - 1
    const { context, page } = await newPage()
    page.on('dialog', (d) => void d.accept())
    await signIn(page, 'meeting')
    await page.waitForURL(/\/meeting/)
    await page.goto(`${server.url}/reports?year=${year}`)
    await settled(page)
    expect(await page.locator('[data-unpublished]').count()).toBe(1)
    // before it is published the year shows its draft for comment, marked as such, in the page
    expect(await page.locator('[data-draft]').textContent()).toContain('征求意见稿')
    expect(await page.locator('[data-draft-link]').count()).toBeGreaterThan(1)
    await expect.poll(() => page.frames().some((f) => f.url().includes(`/reports/${year}/draft/`)), { timeout: 60_000 }).toBe(true)
    await settled(page)
    await shot(page, 'reports-draft')
    await page.click('[data-publish]')
    await expect.poll(() => page.locator('[data-published]').count(), { timeout: 120_000 }).toBe(1)
    await expect.poll(() => page.locator('[data-restatement]').textContent(), { timeout: 120_000 }).toContain('没有改变任何数字')
    await shot(page, 'reports-published')
    const html = await page.evaluate(async (y) => (await fetch(`/reports/${y}/district.html`)).text(), year)
    expect(html).toContain(`${year}`)
    expect(html).toContain('东城区')
    await context.close()

    const { context: c2, page: leader } = await newPage()
    await signIn(leader, 'leader-dhm')
    await leader.waitForURL(/\/unit\//)
    await leader.goto(`${server.url}/reports?year=${year}`)
    await settled(leader)
    expect(await leader.locator('select[name=unit] option').count()).toBeGreaterThan(1) // its hall and the stations under it
    expect(await leader.locator('a[href$="district.html"]').count()).toBe(0)
    const statuses = await leader.evaluate(async (y) => ({
      own: (await fetch(`/reports/${y}/units/${'DC-S-DHM'}.html`)).status,
      other: (await fetch(`/reports/${y}/units/${'DC-S-JS'}.html`)).status,
      district: (await fetch(`/reports/${y}/district.html`)).status,
    }), year)
    expect(statuses).toEqual({ own: 200, other: 403, district: 403 })
    await c2.close()
  }, 180_000)

  it('calendar banner: shown to the admin (with a link) and the joint meeting while health warns, never to an inspector', async () => {
    const health = await (await fetch(`${server.url}/api/v1/health`)).json() as { calendar: { warning: { code: string; years: number[]; message: string } | null } }
    const warning = health.calendar.warning
    for (const [user, home] of [['admin', /\/quality/], ['meeting', /\/meeting/], ['inspector', /\/inspect/]] as const) {
      const { context, page } = await newPage()
      await signIn(page, user)
      await page.waitForURL(home)
      await settled(page)
      const banner = page.locator('[data-calendar-banner]')
      const expected = warning && user !== 'inspector' ? 1 : 0
      expect(await banner.count(), `${user}: banner while health.calendar.warning is ${JSON.stringify(warning)}`).toBe(expected)
      if (expected) {
        expect(await banner.textContent()).toContain(`${warning!.years.join('、')}年节假日安排尚未载入，相关数字按暂定日历计算`)
        expect(await banner.evaluate((el) => getComputedStyle(el).backgroundColor)).toBe('rgb(254, 243, 199)') // yellow
        expect(await page.locator('[data-calendar-link]').count()).toBe(user === 'admin' ? 1 : 0)
        if (user === 'admin') {
          expect(await page.locator('[data-calendar-link]').getAttribute('href')).toBe(`/calendar?year=${warning!.years[0]}`)
          await shot(page, 'calendar-banner-admin')
        }
        // on every page, not just the first
        await page.goto(`${server.url}/inspect`)
        await settled(page)
        expect(await page.locator('[data-calendar-banner]').count()).toBe(1)
      }
      if (user === 'inspector') {
        // a soon-due case counted on a provisional year is marked beside its figure, and only such a case
        await page.goto(`${server.url}/inspect?kind=warning`)
        await settled(page)
        const rows = await page.evaluate(async () => (await (await fetch('/api/v1/cases?status=open&warning=true&limit=100')).json()).rows as Array<{ calendar_provisional?: boolean }>)
        expect(await page.locator('table[aria-label^="黄牌"] tbody [data-provisional]').count()).toBe(rows.filter((r) => r.calendar_provisional === true).length)
        expect(await page.locator('[data-calendar-banner]').count()).toBe(0)
      }
      await context.close()
    }
  })

  it('holiday calendar: the admin previews the State Council notice as twelve months, stores it; a text that is not a notice is refused, quoting its line', async () => {
    const { context, page } = await newPage({ width: 1280, height: 1000 })
    await signIn(page, 'admin')
    await page.waitForURL(/\/quality/)
    await settled(page)
    await page.click('nav a[href="/calendar"]')
    await page.waitForURL(/\/calendar/)
    await settled(page)
    expect(await page.locator('h1').textContent()).toBe('节假日安排')
    expect(await page.locator('[data-calendar-year] [data-month]').count()).toBe(12) // the year chosen, as loaded
    const viewedYear = await page.locator('[data-calendar-shown]').getAttribute('data-calendar-shown')

    // not a notice: the line it could not read, in red, and nothing else changes
    await page.fill('textarea[name=notice]', '关于报送第三季度工作总结的通知\n请各单位于10月15日前报送。')
    await page.click('[data-preview]')
    const error = page.locator('[data-calendar-error]')
    await expect.poll(() => error.count()).toBe(1)
    expect(await error.textContent()).toMatch(/关于报送第三季度工作总结的通知|请各单位于10月15日前报送/)
    expect(await error.evaluate((el) => getComputedStyle(el).color)).toBe('rgb(153, 27, 27)')
    expect(await page.locator('[data-calendar-shown]').getAttribute('data-calendar-shown')).toBe(viewedYear)
    expect(await page.locator('[data-dry-run="true"]').count()).toBe(0)
    expect(await page.locator('[data-store]').count()).toBe(0)
    await shot(page, 'calendar-unreadable')

    // the notice as published: a preview of 2026, nothing stored yet
    const year2026 = () => page.evaluate(async () => (await fetch('/api/v1/reference/calendar?year=2026')).text())
    const before = await year2026()
    await page.fill('textarea[name=notice]', readFileSync(NOTICE_2026, 'utf8'))
    await page.click('[data-preview]')
    await page.locator('[data-dry-run="true"][data-calendar-shown="2026"]').waitFor()
    expect(await error.count()).toBe(0)
    const year = page.locator('[data-calendar-year="2026"]')
    expect(await year.locator('[data-month]').count()).toBe(12)
    expect(await year.locator('[data-month="2026-02"] td[data-date]').count()).toBe(28)
    expect(await year.locator('[data-date="2026-02-15"]').getAttribute('data-kind')).toBe('holiday') // a Sunday in the Spring Festival
    expect(await year.locator('[data-date="2026-02-16"]').getAttribute('data-kind')).toBe('holiday')
    expect(await year.locator('[data-date="2026-02-14"]').getAttribute('data-kind')).toBe('workday') // the Saturday before it, worked
    expect(await year.locator('[data-date="2026-10-10"]').getAttribute('data-kind')).toBe('workday')
    expect(await year.locator('[data-date="2026-03-07"]').getAttribute('data-kind')).toBe('weekend')
    expect(await year.locator('[data-date="2026-03-09"]').getAttribute('data-kind')).toBe('working')
    expect(await year.locator('[data-date="2026-02-15"]').evaluate((el) => getComputedStyle(el).color)).toBe('rgb(185, 28, 28)') // red
    expect(await year.locator('[data-date="2026-02-14"]').evaluate((el) => getComputedStyle(el).color)).toBe('rgb(29, 78, 216)') // blue
    // six 调休 Saturdays and Sundays; 104 weekend days + 19 weekdays off − 6 worked = 117 days off
    expect(await year.locator('td[data-kind="workday"]').count()).toBe(6)
    expect(await year.locator('[data-count="workdays"] b').textContent()).toBe('6')
    expect(await year.locator('[data-count="days-off"] b').textContent()).toBe('117')
    expect(await year.locator('[data-count="holidays"] b').textContent()).toBe(String(await year.locator('td[data-kind="holiday"]').count()))
    expect(await page.locator('[data-changes]').count()).toBe(1)
    expect(await year2026()).toBe(before) // a dry run stores nothing
    await shot(page, 'calendar-preview')

    // stored: the year as the API now has it, official
    await page.click('[data-store]')
    await expect.poll(() => page.locator('[data-calendar-stored]').textContent()).toContain('已保存 2026 年节假日安排')
    await page.locator('[data-dry-run="false"][data-calendar-shown="2026"]').waitFor()
    expect(await page.locator('[data-status]').getAttribute('data-status')).toBe('official')
    expect(await page.locator('[data-date="2026-02-14"]').getAttribute('data-kind')).toBe('workday')
    const stored = await page.evaluate(async () => (await (await fetch('/api/v1/reference/calendar?year=2026')).json()) as { status: string; days: Array<{ date: string; is_working: boolean }> })
    expect(stored.status).toBe('official')
    expect(stored.days.find((d) => d.date === '2026-02-14')?.is_working).toBe(true)
    expect(stored.days.find((d) => d.date === '2026-02-15')?.is_working).toBe(false)
    await shot(page, 'calendar-stored')

    // nobody else has the page
    const { context: c2, page: p2 } = await newPage()
    await signIn(p2, 'meeting')
    await p2.waitForURL(/\/meeting/)
    expect(await p2.locator('nav a[href="/calendar"]').count()).toBe(0)
    await p2.goto(`${server.url}/calendar`)
    await settled(p2)
    expect(await p2.locator('.notice.error').textContent()).toContain('不能查看')
    await c2.close()
    await context.close()
  }, 120_000)

  it('refuses a wrong password and a forged cookie', async () => {
    const { context, page } = await newPage()
    await signIn(page, 'meeting', 'not the password')
    await expect.poll(() => page.locator('[role=alert]').textContent()).toContain('用户名或密码错误')
    expect(page.url()).toContain('/login')
    await shot(page, 'sign-in-refused')

    await context.addCookies([{ name: 'tierscope_session', value: `${'A'.repeat(43)}.forgedsignature`, url: server.url }])
    await page.goto(`${server.url}/meeting`)
    await page.waitForURL(/\/login/)
    expect(await page.evaluate(async () => (await fetch('/api/v1/session')).status)).toBe(401)
    await context.close()
  })

  it('ends a session that expired: back to the sign-in page, with a message', async () => {
    // a server of its own whose sessions last ten seconds (long enough for a page to load on a busy machine)
    const TTL_S = 10
    const dir = mkdtempSync(join(tmpdir(), 'tierscope-browser-ttl-'))
    const short = await startServer(dir, { env: { TIERSCOPE_SESSION_HOURS: String(TTL_S / 3600) } })
    const { context, page } = await newPage()
    try {
      const put = await fetch(`${short.url}/api/v1/users/brief`, {
        method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${short.adminToken}` },
        body: JSON.stringify({ role: 'inspector', password: 'a long password' }),
      })
      expect(put.status).toBe(200)
      const signIn = async () => {
        await page.fill('input[name=username]', 'brief')
        await page.fill('input[name=password]', 'a long password')
        await page.click('button[type=submit]')
      }
      await page.goto(`${short.url}/login`)
      await signIn()
      await page.waitForURL(/\/inspect/)
      const signedInAt = Date.now()
      await new Promise((r) => setTimeout(r, TTL_S * 1000 + 500 - (Date.now() - signedInAt)))
      await page.goto(`${short.url}/inspect?tier=2`)
      await page.waitForURL(/\/login/)
      await expect.poll(() => page.locator('[role=alert]').textContent(), { timeout: 15_000 }).toContain('登录已过期')
      expect(await page.evaluate(async () => (await fetch('/api/v1/session')).status)).toBe(401)
      // signing in again returns to where the visitor was
      await signIn()
      await page.waitForURL(/\/inspect\?tier=2/)
      expect(await page.evaluate(async () => (await fetch('/api/v1/session')).status)).toBe(200)
    } finally {
      await context.close()
      await short.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)

  it('signs out', async () => {
    const { context, page } = await newPage()
    await signIn(page, 'inspector')
    await page.waitForURL(/\/inspect/)
    await page.click('[data-sign-out]')
    await page.waitForURL(/\/login/)
    await page.goto(`${server.url}/inspect`)
    await page.waitForURL(/\/login/)
    await context.close()
  })

  it('ran without errors in the page', () => {
    expect(consoleErrors).toEqual([])
  })
})
