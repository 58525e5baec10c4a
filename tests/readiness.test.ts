// Liveness and readiness: /api/v1/health answers 200 as long as the process does (while it starts
// too); /api/v1/health/ready is 503 while migrations and start-up repairs run, and whenever the
// warehouse cannot take writes (here: its disk has less free space than writes need), saying why.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { buildApp } from '../app.ts'
import { readiness } from '../monitoring/index.ts'
import { openTestPlatform } from '../warehouse/testing.ts'
import { freePort } from './bench/server.ts'

const root = join(import.meta.dirname, '..')
const work = mkdtempSync(join(tmpdir(), 'tierscope-ready-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('readiness of a running app', () => {
  it('is ready when the engine answers and the data directory can be written; 503 with the reason when its disk is too full', async () => {
    const platform = await openTestPlatform()
    try {
      const { app } = await buildApp(platform)
      const ok = await app.inject({ method: 'GET', url: '/api/v1/health/ready' })
      expect(ok.statusCode, ok.body).toBe(200)
      expect(ok.json()).toEqual({ ready: true, status: 'ready', problems: [] })
      await app.close()
      const { app: full } = await buildApp(platform, { readiness: { minFreeBytes: Number.MAX_SAFE_INTEGER } })
      const r = await full.inject({ method: 'GET', url: '/api/v1/health/ready' })
      expect(r.statusCode).toBe(503)
      expect(r.json()).toMatchObject({ ready: false, status: 'not_ready', problems: [{ check: 'disk_space' }] })
      expect(r.json().problems[0].message).toContain(`The disk of ${platform.warehouse.dataDir} has`)
      // liveness stays 200: a full disk is not a reason to restart the process
      expect((await full.inject({ method: 'GET', url: '/api/v1/health' })).statusCode).toBe(200)
      await full.close()
      const after = await readiness(platform, { minFreeBytes: 1 })
      expect(after.ready).toBe(true)
    } finally {
      await platform.close()
    }
  })
})

describe('readiness while the server starts', () => {
  it('answers 503 starting during migrations and start-up repairs, then 200; liveness answers throughout', async () => {
    const port = await freePort()
    const env: NodeJS.ProcessEnv = { ...process.env, TIERSCOPE_DATA_DIR: join(work, 'data'), TIERSCOPE_PORT: String(port), TIERSCOPE_HOST: '127.0.0.1', TIERSCOPE_ADMIN_TOKEN: 'ready-test-admin-token-of-24+' }
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'main.ts')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    const seen: Array<{ ready: number; health: number; status: string }> = []
    try {
      const deadline = Date.now() + 120_000
      for (;;) {
        if (child.exitCode !== null) throw new Error(`the server exited: ${output}`)
        try {
          const ready = await fetch(`http://127.0.0.1:${port}/api/v1/health/ready`)
          await ready.text()
          const health = await fetch(`http://127.0.0.1:${port}/api/v1/health`)
          const status = ((await health.json()) as { status: string }).status
          seen.push({ ready: ready.status, health: health.status, status })
          if (ready.status === 200) break
        } catch {
          // not listening yet, or between the start-up answerer and the app
        }
        if (Date.now() > deadline) throw new Error(`never ready: ${output}`)
        await new Promise((r) => setTimeout(r, 20))
      }
      expect(seen[0]).toEqual({ ready: 503, health: 200, status: 'starting' })
      expect(seen.at(-1)).toEqual({ ready: 200, health: 200, status: 'ok' })
    } finally {
      child.kill('SIGTERM')
      await new Promise((r) => child.once('exit', r))
    }
  }, 150_000)
})

describe('liveness', () => {
  it('answers within about a second while the engine is occupied by a long statement, saying it is busy', async () => {
    const platform = await openTestPlatform()
    try {
      const { app } = await buildApp(platform)
      expect((await app.inject({ method: 'GET', url: '/api/v1/health' })).json()).toMatchObject({ status: 'ok', engine: 'ok' })
      // a statement of about 3 s (an ingest's longest, say) holds the embedded engine
      const long = platform.warehouse.client.query({ query: 'SELECT sleepEachRow(0.75) FROM numbers(4) SETTINGS max_block_size = 1', format: 'JSONEachRow' }).then((r) => r.json())
      await new Promise((r) => setTimeout(r, 100))
      const started = performance.now()
      const health = await app.inject({ method: 'GET', url: '/api/v1/health' })
      const took = performance.now() - started
      await long
      expect(health.statusCode).toBe(200)
      expect(health.json()).toMatchObject({ status: 'ok', engine: 'busy' })
      // (not a timing assertion: only that it did not wait for the statement, which took ~3 s)
      expect(took).toBeLessThan(2500)
      // and once the statement is done the engine answers again (after the busy answer's probe)
      expect((await app.inject({ method: 'GET', url: '/api/v1/health' })).json()).toMatchObject({ engine: 'ok' })
      await app.close()
    } finally {
      // (last in this file: the abandoned probe may still hold the engine's session as it closes)
      await platform.close()
    }
  })
})
