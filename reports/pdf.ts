// PDF through headless Chromium (playwright-core drives the system's browser; nothing is
// downloaded). One browser is started on first use and reused for every report after it; where
// there is no Chromium, PdfUnavailableError says how to install it.
import { existsSync } from 'node:fs'
import { chromium, type Browser, type Page } from 'playwright-core'
import { esc } from './format.ts'

export const PDF_INSTALL_HINT = 'PDF needs Chromium: apt-get install -y chromium fonts-noto-cjk'

export class PdfUnavailableError extends Error {
  readonly code = 'pdf_unavailable'
  constructor(detail?: string) {
    super(detail ? `${PDF_INSTALL_HINT} (${detail})` : PDF_INSTALL_HINT)
  }
}

export const chromiumPath = () => process.env.TIERSCOPE_CHROMIUM ?? '/usr/bin/chromium'
export const pdfAvailable = () => existsSync(chromiumPath())

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']

/** A running header on every page (a draft's 征求意见稿 line), in the top margin. */
const header = (text: string) => `<div style="width:100%;font-size:8px;color:#c00;text-align:center;font-family:'Noto Sans CJK SC',sans-serif;" data-running-header>${esc(text)}</div>`

const FOOTER = `<div style="width:100%;font-size:8px;color:#555;text-align:center;font-family:'Noto Sans CJK SC',sans-serif;">第 <span class="pageNumber"></span> 页 / 共 <span class="totalPages"></span> 页</div>`

export class PdfRenderer {
  private browser: Promise<Browser> | undefined
  /** Pages kept open between reports: opening one costs more than a report's layout. */
  private idle: Page[] = []

  private launch(): Promise<Browser> {
    if (!this.browser) {
      const path = chromiumPath()
      if (!existsSync(path)) throw new PdfUnavailableError(`no Chromium at ${path}; TIERSCOPE_CHROMIUM names another`)
      this.browser = chromium.launch({ executablePath: path, args: ARGS }).then((b) => {
        b.on('disconnected', () => {
          this.browser = undefined
          this.idle = []
        })
        return b
      }, (err: unknown) => {
        this.browser = undefined
        throw new PdfUnavailableError(`Chromium at ${path} did not start: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`)
      })
    }
    return this.browser
  }

  /** An A4 PDF of a self-contained HTML document (page numbers in the footer; `header`: a line at the top of every page). */
  async render(html: string, opts: { header?: string } = {}): Promise<Buffer> {
    const browser = await this.launch()
    const page = this.idle.pop() ?? (await browser.newPage())
    let reusable = false
    try {
      await page.setContent(html, { waitUntil: 'load' })
      await page.evaluate(() => document.fonts.ready.then(() => undefined))
      const pdf = await page.pdf({
        format: 'A4', printBackground: true, displayHeaderFooter: true, headerTemplate: opts.header ? header(opts.header) : '<span></span>', footerTemplate: FOOTER,
        margin: { top: '18mm', bottom: '18mm', left: '16mm', right: '16mm' },
      })
      reusable = true
      return pdf
    } finally {
      if (reusable && this.idle.length < 4 && !page.isClosed()) this.idle.push(page)
      else await page.close().catch(() => undefined)
    }
  }

  async close(): Promise<void> {
    const b = this.browser
    this.browser = undefined
    this.idle = []
    if (b) await (await b.catch(() => undefined))?.close()
  }
}
