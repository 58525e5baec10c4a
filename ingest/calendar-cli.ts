// `tierscope calendar load FILE [--dry-run]`: the State Council's notice (or date rows) loaded into
// the calendar, through a running server's API (--url/--key) or into a warehouse directory no
// server holds (--data-dir), the same way either way (ingest/calendar.ts does the reading).
import { readFileSync } from 'node:fs'
import { extname } from 'node:path'
import { openPlatform, type CalendarChange } from '../warehouse/index.ts'
import { calendarInputOf, loadCalendar, type CalendarAnswer } from './calendar.ts'

export const CALENDAR_USAGE = `  tierscope calendar load FILE [--dry-run]
      FILE: the text of 《国务院办公厅关于YYYY年部分节假日安排的通知》 as published (.txt), or every
      date of a year as rows (.json, .ndjson, .csv with date, is_working, name)
      [--url http://host:3000 --key <admin key>]   through a running server's API
      [--data-dir DIR]                              or into a warehouse no server holds
  tierscope calendar show YEAR [--url … --key … | --data-dir DIR]`

export interface CalendarCommandOptions {
  action: 'load' | 'show'
  file?: string
  year?: number
  dryRun: boolean
  target: { url: string; key: string } | { dataDir: string; timezone: string }
  log?: (line: string) => void
}

const MEDIA: Record<string, string> = { '.txt': 'text/plain', '.json': 'application/json', '.ndjson': 'application/x-ndjson', '.jsonl': 'application/x-ndjson', '.csv': 'text/csv' }

export async function calendarCommand(o: CalendarCommandOptions): Promise<number> {
  const log = o.log ?? console.log
  const answer = 'url' in o.target ? await overHttp(o, o.target) : await inDirectory(o, o.target)
  if (o.action === 'show') {
    log(`${answer.year}: ${answer.status} (${answer.source})`)
    for (const d of answer.days) if (d.name) log(`  ${d.date}  ${d.is_working ? '上班（调休）' : '放假'}  ${d.name}`)
    return 0
  }
  const a = answer as CalendarAnswer
  const off = a.days.filter((d) => !d.is_working && d.name).length
  // 调休: a Saturday or Sunday made a working day
  const workdays = a.days.filter((d) => d.is_working && [0, 6].includes(new Date(`${d.date}T00:00:00Z`).getUTCDay())).length
  log(`${a.dry_run ? 'Would store' : 'Stored'} ${a.years.join(', ')}${a.notice?.amends ? ' (amending notice)' : ''}: ${off} holidays, ${workdays} 调休 working days; ${a.changes.length} date(s) change:`)
  for (const c of a.changes) log(`  ${describe(c)}`)
  if (a.dry_run) log('Nothing was stored (--dry-run).')
  return 0
}

const describe = (c: CalendarChange) =>
  `${c.date}  ${c.before.is_working ? '上班' : '休息'}${c.before.name ? ` ${c.before.name}` : ''}${c.before.status === 'provisional' ? '（暂定）' : ''} → ${c.after.is_working ? '上班' : '休息'}${c.after.name ? ` ${c.after.name}` : ''}`

async function overHttp(o: CalendarCommandOptions, t: { url: string; key: string }): Promise<CalendarAnswer | Omit<CalendarAnswer, 'dry_run' | 'years' | 'changes'>> {
  const base = t.url.replace(/\/+$/, '')
  const headers: Record<string, string> = { authorization: `Bearer ${t.key}` }
  const r = o.action === 'show'
    ? await fetch(`${base}/api/v1/reference/calendar?year=${o.year}`, { headers })
    : await fetch(`${base}/api/v1/reference/calendar${o.dryRun ? '?dry_run=true' : ''}`, {
      method: 'PUT', headers: { ...headers, 'content-type': mediaOf(o.file!) }, body: readFileSync(o.file!),
    })
  const text = await r.text()
  if (!r.ok) {
    let message = text
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text
    } catch {
      // not JSON: the text as it is
    }
    throw new Error(`${r.status}: ${message}`)
  }
  return JSON.parse(text) as CalendarAnswer
}

async function inDirectory(o: CalendarCommandOptions, t: { dataDir: string; timezone: string }) {
  const platform = await openPlatform({ dataDir: t.dataDir, timezone: t.timezone, clickhouse: undefined })
  try {
    if (o.action === 'show') return platform.calendar.year(o.year!)
    const input = calendarInputOf(platform, mediaOf(o.file!), readFileSync(o.file!))
    if (!input.ok) throw new Error(`Nothing was stored: ${input.errors.length} problem(s), the first: ${input.errors[0]!.message}`)
    return await loadCalendar(platform, input.input, o.dryRun)
  } finally {
    await platform.close()
  }
}

function mediaOf(file: string): string {
  const media = MEDIA[extname(file).toLowerCase()]
  if (!media) throw new Error(`${file}: expected a .txt notice or .json/.ndjson/.csv date rows`)
  return media
}
