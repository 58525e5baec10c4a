// Start-up problems as an operator meets them: one sentence naming what to check, a non-zero
// exit, no stack trace (unless TIERSCOPE_LOG_LEVEL=debug). A ClickHouse server at a closed port,
// a data directory this user cannot write, a warehouse whose schema is from a newer release.
import { spawn } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openWarehouse, RELEASE_SCHEMA_VERSION } from '../warehouse/index.ts'
import { freePort } from './bench/server.ts'

const root = join(import.meta.dirname, '..')
const work = mkdtempSync(join(tmpdir(), 'tierscope-startup-'))
chmodSync(work, 0o755)
afterAll(() => rmSync(work, { recursive: true, force: true }))

function start(env: Record<string, string>, user?: { uid: number; gid: number }): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'main.ts')], {
      cwd: root,
      env: { ...process.env, TIERSCOPE_PORT: '0', TIERSCOPE_HOST: '127.0.0.1', TIERSCOPE_ADMIN_TOKEN: 'startup-test-admin-token-24+', TIERSCOPE_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(user ?? {}),
    })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    child.on('exit', (code) => resolve({ code, out }))
  })
}

/** Exactly one line of output, with no stack frame in it. */
function oneSentence(out: string): string {
  const lines = out.trim().split('\n')
  expect(lines, out).toHaveLength(1)
  expect(out).not.toMatch(/^\s+at /m)
  return lines[0]!
}

describe('start-up errors', () => {
  it('a ClickHouse server at a closed port', async () => {
    const port = await freePort()
    const r = await start({ CLICKHOUSE_URL: `http://127.0.0.1:${port}` })
    expect(r.code).toBe(1)
    expect(oneSentence(r.out)).toBe(`tierscope could not start: Cannot reach the ClickHouse server at http://127.0.0.1:${port} (the connection was refused): check CLICKHOUSE_URL, and that the server is running and accepts HTTP connections there.`)
    // with debug, the stack and its cause too
    const debug = await start({ CLICKHOUSE_URL: `http://127.0.0.1:${port}`, TIERSCOPE_LOG_LEVEL: 'debug' })
    expect(debug.code).toBe(1)
    expect(debug.out).toMatch(/^\s+at /m)
    expect(debug.out).toContain('caused by: Error: connect ECONNREFUSED')
  }, 60_000)

  it('a data directory this user cannot write', async () => {
    // root may write anywhere: the server runs as nobody, on a directory owned by root (0755)
    const dir = join(work, 'readonly')
    mkdirSync(dir, { mode: 0o755 })
    const asRoot = process.getuid?.() === 0
    if (!asRoot) chmodSync(dir, 0o555)
    const user = asRoot ? { uid: 65534, gid: 65534 } : undefined
    for (const dataDir of [dir, join(dir, 'data')]) {
      const r = await start({ TIERSCOPE_DATA_DIR: dataDir, HOME: work }, user)
      expect(r.code, r.out).toBe(1)
      expect(oneSentence(r.out)).toMatch(new RegExp(`^tierscope could not start: The data directory ${dataDir} cannot be written by this process \\(user id \\d+\\): give that user write permission to it \\(chown or chmod\\), or set TIERSCOPE_DATA_DIR to a directory it can write\\.$`))
    }
  }, 60_000)

  it('a warehouse whose schema is from a newer release', async () => {
    const dir = join(work, 'newer')
    const warehouse = await openWarehouse({ dataDir: dir, timezone: 'Asia/Shanghai', clickhouse: undefined })
    await warehouse.client.insert({ table: 'schema_migrations', values: [{ version: RELEASE_SCHEMA_VERSION + 5, name: 'from the future', applied_at: Math.floor(Date.now() / 1000) }], format: 'JSONEachRow' })
    await warehouse.close()
    const r = await start({ TIERSCOPE_DATA_DIR: dir })
    expect(r.code).toBe(1)
    expect(oneSentence(r.out)).toBe(`tierscope could not start: This warehouse's schema is version ${RELEASE_SCHEMA_VERSION + 5}, written by a newer release of tierscope than this one (which knows versions up to ${RELEASE_SCHEMA_VERSION}): run that release or a later one, or restore a backup made by this release into a new directory.`)
  }, 60_000)
})
