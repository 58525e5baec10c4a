// Starts `tsx main.ts` as a child process on its own data directory and port, for benchmarks and
// fault tests that need a real server (and a real SIGKILL). With CLICKHOUSE_URL set (npm run
// test:server) the server uses that ClickHouse server, in a database of its data directory's own
// (the same one when it is restarted on that directory) unless CLICKHOUSE_DATABASE is given.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'
import { testDatabaseFor } from '../../warehouse/testing.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

export interface ServerProcess {
  url: string
  adminToken: string
  child: ChildProcess
  /** Peak resident memory of the server process so far (VmHWM), in MiB. */
  peakRssMiB(): number
  stop(signal?: NodeJS.Signals): Promise<void>
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))))
    })
  })
}

export async function startServer(dataDir: string, opts: { port?: number; env?: Record<string, string>; demo?: boolean } = {}): Promise<ServerProcess> {
  const port = opts.port ?? (await freePort())
  const adminToken = 'bench-admin-token-of-24-characters'
  const env: NodeJS.ProcessEnv = { ...process.env, TIERSCOPE_DATA_DIR: dataDir, TIERSCOPE_PORT: String(port), TIERSCOPE_HOST: '127.0.0.1', TIERSCOPE_ADMIN_TOKEN: adminToken, ...opts.env }
  if (env.CLICKHOUSE_URL && !opts.env?.CLICKHOUSE_DATABASE) env.CLICKHOUSE_DATABASE = testDatabaseFor(dataDir)
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'main.ts'), ...(opts.demo ? ['--demo'] : [])], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (d) => (output += d))
  child.stderr!.on('data', (d) => (output += d))
  // with TIERSCOPE_TRACE_INGEST the server's step times (on its standard error) are shown as they come
  if (process.env.TIERSCOPE_TRACE_INGEST) child.stderr!.pipe(process.stderr, { end: false })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 300_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}:\n${output}`)
    try {
      // while it starts, the port answers { status: 'starting' } (monitoring/starting.ts)
      const r = await fetch(`${url}/api/v1/health`)
      if (r.ok && ((await r.json()) as { status?: string }).status === 'ok') break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the server did not come up:\n${output}`)
    await new Promise((r) => setTimeout(r, 200))
  }
  return {
    url,
    adminToken,
    child,
    peakRssMiB() {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))
        return m ? Number(m[1]) / 1024 : NaN
      } catch {
        return NaN
      }
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      child.kill(signal)
      // a server that does not finish closing in 15 s (a client holding a connection open) is killed
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(timer)
    },
  }
}
