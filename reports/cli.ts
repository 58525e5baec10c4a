// `tierscope report`: a published year's documents written to a directory, either through a
// running server's API (--url/--key) or from a warehouse directory no server holds (--data-dir).
// Without --unit: the district report and, for HTML and PDF, every unit's report, with a progress
// bar; the score table (CSV, XLSX) is one file for the district, or one unit's rows with --unit.
import { mkdirSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { parse as parseDisposition } from 'content-disposition'
import { SingleBar } from 'cli-progress'
import { AssessmentService, MetricsService } from '../metrics/index.ts'
import { openPlatform, settingsFromEnv, type Platform } from '../warehouse/index.ts'
import { PDF_INSTALL_HINT, pdfAvailable } from './pdf.ts'
import { NotPublishedError } from './publication.ts'
import { FORMATS, ReportService, type ReportFormat } from './service.ts'

export interface ReportCommandOptions {
  year: number
  unit?: string
  format: ReportFormat
  out: string
  version?: number
  target: { url: string; key: string } | { dataDir: string; timezone: string }
  progress: boolean
  log?: (line: string) => void
}

interface Source {
  units(): Promise<Array<{ unit_id: string; name: string }>>
  document(unitId: string | undefined): Promise<{ filename: string; body: Buffer | string }>
  close(): Promise<void>
}

/** Documents through a running server: GET /reports/{year}/…, the key in the Authorization header. */
function httpSource(o: ReportCommandOptions, url: string, key: string): Source {
  const base = url.replace(/\/+$/, '')
  const headers = { authorization: `Bearer ${key}` }
  const v = o.version === undefined ? '' : `?version=${o.version}`
  const fail = async (r: Response) => {
    const text = await r.text()
    let message = text
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text
    } catch {
      // not JSON: the text as it is
    }
    return new Error(`${r.status}: ${message}`)
  }
  return {
    async units() {
      const r = await fetch(`${base}/api/v1/reports/${o.year}${v}`, { headers })
      if (!r.ok) throw await fail(r)
      const status = (await r.json()) as { published: boolean; units: Array<{ unit_id: string; name: string }> }
      if (!status.published) throw new NotPublishedError(o.year, o.version)
      return status.units
    },
    async document(unitId) {
      const path = unitId === undefined ? `/reports/${o.year}/district.${o.format}` : `/reports/${o.year}/units/${encodeURIComponent(unitId)}.${o.format}`
      const r = await fetch(`${base}${path}${v}`, { headers })
      if (!r.ok) throw await fail(r)
      const header = r.headers.get('content-disposition')
      const filename = (header ? parseDisposition(header).parameters.filename : undefined) ?? path.split('/').pop()!
      return { filename, body: Buffer.from(await r.arrayBuffer()) }
    },
    async close() {},
  }
}

/** Documents from a warehouse directory opened in this process. */
async function localSource(o: ReportCommandOptions, dataDir: string, timezone: string): Promise<Source> {
  if (o.format === 'pdf' && !pdfAvailable()) throw new Error(PDF_INSTALL_HINT)
  const platform: Platform = await openPlatform({ dataDir, timezone, clickhouse: undefined })
  const service = new ReportService(platform, new AssessmentService(platform, new MetricsService(platform)))
  return {
    async units() {
      return (await service.frozen(o.year, o.version)).units
    },
    async document(unitId) {
      const doc = await service.document(o.year, o.format, { unitId, version: o.version })
      return { filename: doc.filename, body: doc.body }
    },
    async close() {
      await service.close()
      await platform.close()
    },
  }
}

export async function reportCommand(o: ReportCommandOptions): Promise<{ files: string[]; seconds: number }> {
  const log = o.log ?? ((line: string) => console.log(line))
  const started = performance.now()
  const source = 'url' in o.target ? httpSource(o, o.target.url, o.target.key) : await localSource(o, o.target.dataDir, o.target.timezone)
  const files: string[] = []
  const save = (doc: { filename: string; body: Buffer | string }) => {
    // only a name: a file name from a server never leaves --out
    const file = join(o.out, basename(doc.filename))
    writeFileSync(file, doc.body)
    files.push(file)
    return file
  }
  try {
    mkdirSync(o.out, { recursive: true })
    if (o.unit !== undefined) {
      log(`wrote ${save(await source.document(o.unit))}`)
      return { files, seconds: (performance.now() - started) / 1000 }
    }
    const units = await source.units()
    log(`wrote ${save(await source.document(undefined))}`)
    if (o.format === 'csv' || o.format === 'xlsx') return { files, seconds: (performance.now() - started) / 1000 }

    const tty = o.progress && process.stderr.isTTY
    const bar = tty ? new SingleBar({ format: `${o.year} unit reports (${o.format}) |{bar}| {value}/{total} | {unit}`, hideCursor: true }) : undefined
    bar?.start(units.length, 0, { unit: '' })
    let done = 0
    try {
      for (const u of units) {
        save(await source.document(u.unit_id))
        done++
        if (bar) bar.update(done, { unit: u.name })
        else if (o.progress && (done % 25 === 0 || done === units.length)) log(`  ${done}/${units.length} unit reports`)
      }
    } finally {
      bar?.stop() // the terminal gets its cursor back, also after an error
    }
    const seconds = (performance.now() - started) / 1000
    log(`wrote the district report and ${units.length} unit reports (${o.format}) to ${o.out} in ${seconds.toFixed(1)} s`)
    return { files, seconds }
  } finally {
    await source.close()
  }
}

export const REPORT_USAGE = `  tierscope report --year YYYY --format <${FORMATS.join('|')}> --out DIR [--unit ID] [--version N]
      [--url http://host:3000 --key <joint meeting, inspector or admin key>]   from a running server
      [--data-dir DIR]                                                         or from a warehouse no server holds
      [--no-progress]
  Writes the published year's district report and every unit's report (html, pdf), or the score
  table (csv, xlsx); --unit ID writes that unit's only. The year must have been published
  (POST /api/v1/reports/YYYY/publish).`

/** Parses `report`'s arguments (node:util parseArgs values) into options, or throws with what is wrong. */
export function reportOptions(values: Record<string, string | boolean | undefined>): ReportCommandOptions {
  const year = Number(values.year)
  if (!Number.isInteger(year) || year < 2000 || year > 2100) throw new Error('--year must be a year such as 2025')
  const format = String(values.format ?? '')
  if (!(FORMATS as readonly string[]).includes(format)) throw new Error(`--format must be one of ${FORMATS.join(', ')}`)
  if (!values.out) throw new Error('--out DIR says where to write the documents')
  if (values.url && !values.key) throw new Error('--url needs --key (a joint meeting, inspector or admin key)')
  const version = values.version === undefined ? undefined : Number(values.version)
  if (version !== undefined && (!Number.isInteger(version) || version < 1)) throw new Error('--version must be a positive whole number')
  if (values.unit !== undefined && typeof values.unit !== 'string') throw new Error('--unit needs a unit id')
  const settings = settingsFromEnv()
  return {
    year, format: format as ReportFormat, out: String(values.out), version, unit: values.unit as string | undefined,
    target: values.url ? { url: String(values.url), key: String(values.key) } : { dataDir: String(values['data-dir'] ?? settings.dataDir), timezone: settings.timezone },
    progress: !values['no-progress'],
  }
}
