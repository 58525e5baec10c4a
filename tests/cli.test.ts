// The bulk-load CLI as a user runs it: a child process, files on disk, a warehouse directory or a
// running server's API; rerun safety; the lock that keeps two engines off one directory.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPlatform, queryRows } from '../warehouse/index.ts'
import { applyReference } from '../ingest/index.ts'
import { startServer, type ServerProcess } from './bench/server.ts'
import { toArrow, toCsv, toNdjson } from './support.ts'

const root = join(import.meta.dirname, '..')
const work = mkdtempSync(join(tmpdir(), 'tierscope-cli-test-'))
const dataDir = join(work, 'warehouse')

const units = [
  { unit_id: 'CENTRE', name: '区政务服务中心', tier: 1, kind: 'district_centre' },
  { unit_id: 'S1', name: '东华门街道政务服务大厅', tier: 2, kind: 'street_hall', parent_id: 'CENTRE' },
]
const items = [{ item_code: 'I3', name: '居住证办理', category: 'public_service', statutory_days: 10, promised_days: 3, tiers: [2] }]
const events = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    event_id: `${prefix}-${i}`, case_id: `${prefix}-C${Math.floor(i / 2)}`, type: i % 2 === 0 ? 'accepted' : 'completed',
    occurred_at: `2025-03-${String(3 + (i % 2)).padStart(2, '0')}T10:00:00+08:00`, unit_id: 'S1', ...(i % 2 === 0 ? { item_code: 'I3' } : {}),
  }))

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin', 'tierscope.js'), ...args], { cwd: root, env: { ...process.env, ...env } })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    child.on('exit', (code) => resolve({ code, out }))
  })
}

const reference = (value: object[]) => value.map((v, i) => ({ row: i + 1, raw: '', value: v }))

beforeAll(async () => {
  const p = await openPlatform({ dataDir, timezone: 'Asia/Shanghai', clickhouse: undefined })
  await applyReference(p, 'units', reference(units))
  await applyReference(p, 'items', reference(items))
  writeFileSync(join(work, 'a.ndjson'), toNdjson(events('nd', 500)))
  writeFileSync(join(work, 'b.csv.gz'), gzipSync(toCsv(events('cs', 300))))
  writeFileSync(join(work, 'c.arrow'), toArrow('case-events', events('ar', 300)))
  writeFileSync(join(work, 'src.ndjson'), toNdjson(events('pq', 200)))
  // a Parquet file, written by the engine
  await p.warehouse.client.command({
    query: `INSERT INTO FUNCTION file({out:String}, 'Parquet') SELECT * FROM file({src:String}, 'JSONEachRow',
      'event_id String, case_id String, type String, occurred_at String, unit_id String, item_code Nullable(String)')`,
    query_params: { out: join(work, 'd.parquet'), src: join(work, 'src.ndjson') },
  })
  await p.close()
}, 120_000)

afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('tierscope ingest into a warehouse directory', () => {
  it('loads NDJSON, gzip CSV, Arrow and Parquet in bodies, and a rerun stores nothing twice', async () => {
    const files = ['a.ndjson', 'b.csv.gz', 'c.arrow', 'd.parquet'].map((f) => join(work, f))
    const first = await cli(['ingest', '--stream', 'case-events', '--data-dir', dataDir, '--batch-rows', '120', '--no-progress', ...files])
    expect(first.out).toContain('1300 rows')
    expect(first.out).toContain('1300 accepted, 0 duplicates, 0 rejected')
    expect(first.code, first.out).toBe(0)
    const again = await cli(['ingest', '--stream', 'case-events', '--data-dir', dataDir, '--no-progress', ...files])
    expect(again.out).toContain('0 accepted, 1300 duplicates, 0 rejected')
    const p = await openPlatform({ dataDir, timezone: 'Asia/Shanghai', clickhouse: undefined })
    try {
      const [c] = await queryRows<Record<string, string | number>>(p.warehouse, 'SELECT count() AS n, uniqExact(event_id) AS ids, (SELECT count() FROM case_state FINAL) AS cases FROM case_events')
      expect(Object.fromEntries(Object.entries(c!).map(([k, v]) => [k, Number(v)]))).toEqual({ n: 1300, ids: 1300, cases: 650 })
      const done = await p.cases.get('pq-C3', Date.parse('2025-12-31T00:00:00Z'))
      expect(done).toMatchObject({ status: 'completed', elapsed_days: 1, on_time: true })
    } finally {
      await p.close()
    }
  })

  it('says which file it cannot read, and refuses unknown formats before sending anything', async () => {
    const r = await cli(['ingest', '--stream', 'case-events', '--data-dir', dataDir, join(work, 'missing.ndjson')])
    expect(r.code).toBe(1)
    expect(r.out).toMatch(/missing\.ndjson/)
    const x = await cli(['ingest', '--stream', 'case-events', '--data-dir', dataDir, join(work, 'a.xlsx')])
    expect(x.out).toMatch(/format is not known/)
  })
})

describe('tierscope ingest through a running server', () => {
  let server: ServerProcess
  let key: string
  beforeAll(async () => {
    server = await startServer(join(work, 'server'))
    const admin = { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' }
    for (const [kind, rows] of [['units', units], ['items', items]] as const) {
      await fetch(`${server.url}/api/v1/reference/${kind}`, { method: 'PUT', headers: admin, body: JSON.stringify(rows) })
    }
    key = ((await (await fetch(`${server.url}/api/v1/keys`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'cli', role: 'source', units: ['S1'] }) })).json()) as { token: string }).token
  }, 300_000)
  afterAll(async () => server?.stop())

  it('sends the files through the API and reports rejected rows', async () => {
    writeFileSync(join(work, 'bad.ndjson'), toNdjson([...events('h', 10), { ...events('x', 1)[0], unit_id: 'NOWHERE' }]))
    const r = await cli(['ingest', '--stream', 'case-events', '--url', server.url, '--key', key, '--no-progress', join(work, 'a.ndjson'), join(work, 'bad.ndjson')])
    expect(r.out).toContain('510 accepted, 0 duplicates, 1 rejected')
    expect(r.out).toMatch(/row 11, field unit_id/)
    expect(r.code).toBe(2)
  })

  it('will not open a warehouse directory that a running server holds', async () => {
    const r = await cli(['ingest', '--stream', 'case-events', '--data-dir', join(work, 'server'), join(work, 'a.ndjson')])
    expect(r.code).toBe(1)
    expect(r.out).toMatch(/in use by process \d+/)
  })
})

describe('tierscope calendar', () => {
  const notice = join(root, 'ingest', 'fixtures', 'holiday-notices', '2020.txt')
  const extension = join(root, 'ingest', 'fixtures', 'holiday-notices', '2020-extension.txt')

  it('previews a notice into a warehouse directory without storing it, then stores it', async () => {
    const dry = await cli(['calendar', 'load', notice, '--dry-run', '--data-dir', dataDir])
    expect(dry.code, dry.out).toBe(0)
    expect(dry.out).toMatch(/Would store 2020: \d+ holidays, 7 调休 working days/)
    expect(dry.out).toContain('Nothing was stored (--dry-run).')
    // the first notice alone: the package's 2020 has the extension of a later notice, which it drops
    const first = await cli(['calendar', 'load', notice, '--data-dir', dataDir])
    expect(first.code, first.out).toBe(0)
    expect(first.out).toMatch(/2020-02-01 {2}休息 春节 → 上班 春节/)
    // the amending notice (延长春节假期), stored over the year as it stands; again, it changes nothing
    const stored = await cli(['calendar', 'load', extension, '--data-dir', dataDir])
    expect(stored.code, stored.out).toBe(0)
    expect(stored.out).toContain('Stored 2020 (amending notice)')
    expect(stored.out).toMatch(/2020-02-01 {2}上班 春节 → 休息 春节/)
    const again = await cli(['calendar', 'load', extension, '--data-dir', dataDir])
    expect(again.out).toMatch(/Stored 2020 \(amending notice\): .* 0 date\(s\) change/)
    const shown = await cli(['calendar', 'show', '2020', '--data-dir', dataDir])
    expect(shown.out).toMatch(/2020: official \(.*notice.*\)/)
    expect(shown.out).toMatch(/2020-02-02 {2}放假 {2}春节/)
  })

  it('refuses text it cannot read, quoting the line, through a running server too', async () => {
    writeFileSync(join(work, 'not-a-notice.txt'), '关于做好春节期间安全生产工作的通知\n请各单位认真落实。\n')
    const r = await cli(['calendar', 'load', join(work, 'not-a-notice.txt'), '--data-dir', dataDir])
    expect(r.code).toBe(1)
    expect(r.out).toContain('关于做好春节期间安全生产工作的通知')
    const server = await startServer(join(work, 'calendar-server'))
    try {
      const http = await cli(['calendar', 'load', notice, '--dry-run', '--url', server.url, '--key', server.adminToken])
      expect(http.code, http.out).toBe(0)
      expect(http.out).toMatch(/Would store 2020/)
      const refused = await cli(['calendar', 'load', join(work, 'not-a-notice.txt'), '--url', server.url, '--key', server.adminToken])
      expect(refused.code).toBe(1)
      expect(refused.out).toMatch(/400: .*关于做好春节期间安全生产工作的通知/)
    } finally {
      await server.stop()
    }
  })
})
