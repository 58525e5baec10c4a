// Backup and restore as an operator runs them: `tierscope backup` through a running server (its
// engine writes the backup while it serves), an incremental backup on top, `tierscope restore`
// into new directories, servers started on them answering exactly what the original answered —
// every record, every figure, the published report byte for byte. Restoring into a directory that
// holds data is refused; a backup of an older schema is migrated; one of a newer release refused.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { IngestService } from '../ingest/index.ts'
import { loadDemoDistrict } from '../ingest/demo/index.ts'
import { AssessmentService, MetricsService } from '../metrics/index.ts'
import { ReportService } from '../reports/index.ts'
import { openPlatform, RELEASE_SCHEMA_VERSION } from '../warehouse/index.ts'
import { startServer, type ServerProcess } from './bench/server.ts'

const root = join(import.meta.dirname, '..')
const work = mkdtempSync(join(tmpdir(), 'tierscope-backup-test-'))
const original = join(work, 'original')
const AS_OF = '2026-03-31T12:00:00+08:00'

/** The tables that hold what was sent and published (derived state is compared by its answers). */
const RECORD_TABLES = ['case_events', 'evaluations', 'evaluation_followups', 'complaints', 'queue_tickets', 'costs', 'quarantine', 'ingest_batches',
  'report_publications', 'report_units', 'report_indicators', 'units', 'items', 'calendar', 'targets', 'assessment_schemes']

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin', 'tierscope.js'), ...args], { cwd: root, env: { ...process.env, ...env } })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    child.on('exit', (code) => resolve({ code, out }))
  })
}

/** Runs code against a warehouse directory in a process of its own (libchdb: one directory per process). */
function inChild(dataDir: string, body: string): Promise<string> {
  const module = join(root, 'warehouse', 'index.ts')
  const code = `
    const { openWarehouse, queryRows } = await import(${JSON.stringify(module)})
    const wh = await openWarehouse({ dataDir: process.env.INSPECT_DIR, timezone: 'Asia/Shanghai', clickhouse: undefined }, { migrate: false })
    try { ${body} } finally { await wh.close() }`
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: root, env: { ...process.env, INSPECT_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.once('exit', (c) => (c === 0 ? resolve(out) : reject(new Error(`child failed (${c}): ${err}`))))
  })
}

/** Per record table: its rows and a hash of their contents (independent of order). */
async function fingerprint(dataDir: string): Promise<Record<string, { n: string; x: string }>> {
  const out = await inChild(dataDir, `
    const result = {}
    for (const t of ${JSON.stringify(RECORD_TABLES)}) {
      const [r] = await queryRows(wh, 'SELECT toString(count()) AS n, toString(groupBitXor(cityHash64(*))) AS x FROM ' + t)
      result[t] = r
    }
    process.stdout.write(JSON.stringify(result))`)
  return JSON.parse(out)
}

/** What a reader sees: every indicator by unit, every case, the ratings of a unit, the published reports. */
async function answers(server: ServerProcess): Promise<Record<string, string>> {
  const get = async (path: string) => {
    const r = await fetch(server.url + path, { headers: { authorization: `Bearer ${server.adminToken}` } })
    const body = await r.text()
    if (r.status !== 200) throw new Error(`${path}: ${r.status} ${body}`)
    return body
  }
  const out: Record<string, string> = {}
  const catalogue = JSON.parse(await get('/api/v1/metrics')) as { metrics: Array<{ id: string }> }
  for (const { id } of catalogue.metrics) {
    if (id === 'composite_score') continue
    out[`metric ${id}`] = await get(`/api/v1/metrics/${id}?from=2025-01-01&to=2026-03-31&by=unit&as_of=${encodeURIComponent(AS_OF)}`)
  }
  for (const tier of [1, 2, 3]) out[`assessment ${tier}`] = await get(`/api/v1/assessment?year=2025&tier=${tier}&as_of=${encodeURIComponent(AS_OF)}`)
  let cursor: string | null = null
  let page = 0
  do {
    const body: string = await get(`/api/v1/cases?limit=1000&as_of=${encodeURIComponent(AS_OF)}${cursor ? `&cursor=${cursor}` : ''}`)
    out[`cases ${page++}`] = body
    cursor = (JSON.parse(body) as { next_cursor: string | null }).next_cursor
  } while (cursor)
  out.ratings = await get(`/api/v1/ratings?unit_id=DC-S-DHM&as_of=${encodeURIComponent(AS_OF)}&limit=1000`)
  out.units = await get('/api/v1/units')
  out.report = await get('/reports/2025/district.html')
  out['unit report'] = await get('/reports/2025/units/DC-S-DHM.html')
  return out
}

const lateRatings = Array.from({ length: 40 }, (_, i) => ({
  event_id: `late-${i}`, unit_id: 'DC-S-DHM', rating: 1 + (i % 5), occurred_at: `2026-02-${String(2 + (i % 20)).padStart(2, '0')}T10:${String(i).padStart(2, '0')}:00+08:00`, channel: 'window_device',
}))

let first: Record<string, string>
let later: Record<string, string>
let printsBefore: Record<string, { n: string; x: string }>
let printsAfter: Record<string, { n: string; x: string }>
const b1 = join(work, 'backups', 'full')
const b2 = join(work, 'backups', 'incr')

beforeAll(async () => {
  const platform = await openPlatform({ dataDir: original, timezone: 'Asia/Shanghai', clickhouse: undefined })
  try {
    await loadDemoDistrict(platform, new IngestService(platform), { cases: 1000, from: '2025-01-01', to: '2026-01-31' })
    const reports = new ReportService(platform, new AssessmentService(platform, new MetricsService(platform)))
    await reports.publish(2025, 'test')
    await reports.close()
  } finally {
    await platform.close()
  }
  printsBefore = await fingerprint(original)
  const server = await startServer(original)
  try {
    first = await answers(server)
    // admins only
    const anonymous = await fetch(`${server.url}/api/v1/backups`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ out: b1 }) })
    expect(anonymous.status).toBe(401)
    const full = await run(['backup', '--url', server.url, '--key', server.adminToken, '--out', b1])
    expect(full.code, full.out).toBe(0)
    expect(full.out).toContain(`Backup written to ${b1}: schema version ${RELEASE_SCHEMA_VERSION}, full`)
    // late data for a published year, a rating that is refused, and the backup on top of the first
    const r = await fetch(`${server.url}/api/v1/ingest/evaluations`, {
      method: 'POST', headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/x-ndjson' },
      body: [...lateRatings, { event_id: 'late-bad', unit_id: 'DC-S-DHM', rating: 9, occurred_at: '2026-02-03T10:00:00+08:00', channel: 'sms' }].map((x) => JSON.stringify(x)).join('\n'),
    })
    expect(await r.json()).toMatchObject({ accepted: 40, rejected: 1 })
    later = await answers(server)
    const incr = await run(['backup', '--url', server.url, '--key', server.adminToken, '--out', b2, '--base', b1])
    expect(incr.code, incr.out).toBe(0)
    expect(incr.out).toContain(`incremental on ${b1}`)
  } finally {
    await server.stop()
  }
  printsAfter = await fingerprint(original)
}, 600_000)

afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('backup through a running server, restore into a new directory', () => {
  it('restores every record, every figure and the published report byte for byte', async () => {
    expect(printsBefore.case_events!.n).not.toBe('0')
    expect(printsBefore.report_publications!.n).not.toBe('0')
    const restored = join(work, 'restored-full')
    const r = await run(['restore', '--from', b1, '--data-dir', restored])
    expect(r.code, r.out).toBe(0)
    expect(r.out).toContain(`Restored ${b1} into ${restored} (schema version ${RELEASE_SCHEMA_VERSION}`)
    expect(await fingerprint(restored)).toEqual(printsBefore)
    const server = await startServer(restored)
    try {
      const again = await answers(server)
      expect(Object.keys(again)).toEqual(Object.keys(first))
      for (const k of Object.keys(first)) expect(again[k], k).toBe(first[k])
    } finally {
      await server.stop()
    }
  }, 300_000)

  it('restores an incremental backup to the later state', async () => {
    // the late ratings changed what is answered: the comparison below can tell the two states apart
    expect(later['metric satisfaction_rate']).not.toBe(first['metric satisfaction_rate'])
    expect(later.report).toBe(first.report)
    expect(Number(printsAfter.evaluations!.n)).toBe(Number(printsBefore.evaluations!.n) + 40)
    const restored = join(work, 'restored-incr')
    const r = await run(['restore', '--from', b2, '--data-dir', restored, '--no-progress'])
    expect(r.code, r.out).toBe(0)
    expect(await fingerprint(restored)).toEqual(printsAfter)
    const server = await startServer(restored)
    try {
      const again = await answers(server)
      for (const k of Object.keys(later)) expect(again[k], k).toBe(later[k])
    } finally {
      await server.stop()
    }
    // the incremental backup holds only what changed
    const manifest = (dir: string) => JSON.parse(readFileSync(join(dir, 'tierscope-backup.json'), 'utf8'))
    expect(manifest(b2).backup_bytes).toBeLessThan(manifest(b1).backup_bytes / 2)
  }, 300_000)

  it('refuses to restore into a directory that holds data, and leaves it as it was', async () => {
    const full = join(work, 'restored-full')
    const before = readdirSync(full).sort()
    const r = await run(['restore', '--from', b2, '--data-dir', full])
    expect(r.code).toBe(1)
    expect(r.out).toContain(`${full} is not empty; a backup is restored only into a new or empty directory`)
    expect(readdirSync(full).sort()).toEqual(before)
    expect(await fingerprint(full)).toEqual(printsBefore)
    // and a backup into a directory that holds something
    const busy = join(work, 'busy')
    mkdirSync(busy)
    writeFileSync(join(busy, 'x'), 'x')
    const b = await run(['backup', '--data-dir', original, '--out', busy])
    expect(b.code).toBe(1)
    expect(b.out).toContain(`${busy} is not empty`)
  }, 120_000)
})

describe('backup of a warehouse directory, older and newer schemas', () => {
  it('backs up a directory no server holds; a backup of an older schema is migrated on restore; a newer one is refused', async () => {
    // an older release's warehouse: the last migration not applied yet
    const older = join(work, 'older')
    const r0 = await run(['restore', '--from', b2, '--data-dir', older, '--no-progress'])
    expect(r0.code, r0.out).toBe(0)
    // (before migration 22, which made case_daily_cases, there was no such table: the later ones
    // run again on restore)
    const olderVersion = 21
    await inChild(older, `
      await wh.client.command({ query: 'DROP TABLE case_daily_cases' })
      await wh.client.command({ query: 'DELETE FROM schema_migrations WHERE version > ${olderVersion}' })`)
    const bOld = join(work, 'backups', 'older')
    const b = await run(['backup', '--data-dir', older, '--out', bOld, '--no-progress'])
    expect(b.code, b.out).toBe(0)
    expect(b.out).toContain(`schema version ${olderVersion}, full`)
    const restored = join(work, 'restored-older')
    const r = await run(['restore', '--from', bOld, '--data-dir', restored, '--no-progress'])
    expect(r.code, r.out).toBe(0)
    expect(r.out).toContain(`schema version ${olderVersion}, migrated to ${RELEASE_SCHEMA_VERSION}`)
    // (migration 22 makes the table again; the platform fills it at start-up)
    const tables = await inChild(restored, `process.stdout.write(JSON.stringify(await queryRows(wh, "SELECT name FROM system.tables WHERE database = currentDatabase() AND name = 'case_daily_cases'")))`)
    expect(JSON.parse(tables)).toEqual([{ name: 'case_daily_cases' }])
    expect(await fingerprint(restored)).toEqual(printsAfter)

    const manifestFile = join(bOld, 'tierscope-backup.json')
    writeFileSync(manifestFile, JSON.stringify({ ...JSON.parse(readFileSync(manifestFile, 'utf8')), schema_version: RELEASE_SCHEMA_VERSION + 1 }))
    const newer = await run(['restore', '--from', bOld, '--data-dir', join(work, 'restored-newer')])
    expect(newer.code).toBe(1)
    expect(newer.out).toContain(`schema version ${RELEASE_SCHEMA_VERSION + 1}, made by a newer release of tierscope`)
  }, 300_000)
})
