// A TEST HARNESS, NOT A CLICKHOUSE SERVER. It lets the platform's server path (CLICKHOUSE_URL) run
// in tests on a machine where no ClickHouse server new enough can be installed: a child process
// answers the part of ClickHouse's HTTP interface that @clickhouse/client uses, and runs every
// query on the embedded engine (chdb, the same ClickHouse engine the platform embeds) on a data
// directory of its own. The platform process under test is then a pure HTTP client, as it is in
// front of a real server: it cannot share the engine's memory, files or process.
//
// What it does (clickhouse-http-engine.ts):
// - POST / and GET /?query=…: the query in the body, in the `query` URL parameter, or both (then
//   the body follows the parameter on a line of its own); `INSERT … FORMAT x` with the data in the
//   body; gzip/deflate/br request bodies (Content-Encoding).
// - `database` (or X-ClickHouse-Database), every other URL parameter as a setting (an unknown one
//   is the engine's UNKNOWN_SETTING, as on a server), `param_<name>` as bound values in the text
//   form the server parses (set on the request's own engine session, `SET param_…`, exempt from
//   max_query_size as URL parameters are; the URL may be 1 MiB, as on a server), `default_format`
//   (TabSeparated when none), `query_id` (echoed; one already running is refused), `session_id`
//   (a session kept between requests, one request at a time), `wait_end_of_query` (always: the
//   whole result is computed before the response starts). A GET is read-only (readonly=2).
// - Each request without session_id gets a fresh engine session: its own current database and
//   settings, as an HTTP request gets its own query context on a server.
// - Responses in the requested format, gzip/deflate/br when `enable_http_compression=1` and the
//   client accepts it; headers X-ClickHouse-Query-Id, -Format, -Timezone, -Summary,
//   -Server-Display-Name.
// - Errors as a server sends them: the status ClickHouse gives the error (400 SYNTAX_ERROR, 404
//   UNKNOWN_TABLE, 403 AUTHENTICATION_FAILED, 500 otherwise…), X-ClickHouse-Exception-Code, and
//   the body `Code: N. DB::Exception: … (NAME) (version …)`, so the client raises ClickHouseError
//   with the right code and type.
// - GET /ping and GET / answer `Ok.\n`. Basic auth (or X-ClickHouse-User/-Key, or user/password
//   parameters): one user, `default` unless configured, with the configured password ('' unless
//   configured).
// - It refuses what a server's HTTP interface refuses or cannot do for a remote client: a second
//   statement in one request (Multi-statements are not allowed), and file(), INFILE and OUTFILE,
//   which would read the harness's — the test machine's — disk, where a server reads its own.
//
// What it does NOT implement (a real server does): streaming (results are buffered whole; an
// exception never arrives mid-stream, X-ClickHouse-Exception-Tag is never sent), progress headers
// (send_progress_in_http_headers is accepted and ignored), cancelling a query when the client goes
// away (it runs to its end, as an INSERT does on a server), ClickHouse's native block compression
// (compress=1/decompress=1: NOT_IMPLEMENTED), multipart bodies (external tables, multipart query
// parameters: NOT_IMPLEMENTED), binary insert formats (RowBinary, Native, Parquet…:
// NOT_IMPLEMENTED; text formats only), users, roles, grants, quotas and readonly users (one user,
// everything allowed), JWT auth, TLS, /replicas_status, /play and the other handlers, predefined
// HTTP handlers, clusters, replication and ON CLUSTER. Settings given in a session_id session's
// URL persist in that session (on a server they apply to the one query). The summary's counters
// are approximate (read_rows is the result's rows; written_rows is exact only for a plain
// `INSERT INTO t [(cols)] FORMAT <JSONEachRow|CSV|TSV…>`). The engine is chdb's build of
// ClickHouse (its version is in every error body), not a given server release: a test passing
// here says the platform's HTTP use is right for that engine version.
//
// Used by `npm run test:server` (vitest.server.config.ts starts one for the whole run and points
// CLICKHOUSE_URL at it) and by tests/clickhouse-http.test.ts (which tests the harness itself).
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')

export interface ClickHouseHttpOptions {
  /** The engine's data directory (default: a fresh temporary one, removed by stop()). */
  dataDir?: string
  /** The port (default: any free one). */
  port?: number
  /** The one user accepted (default 'default') and its password (default ''). */
  user?: string
  password?: string
  /** The server's time zone (default UTC). */
  timezone?: string
  /** One line per request on this process's stderr. */
  log?: boolean
}

export interface ClickHouseHttp {
  /** http://127.0.0.1:<port> */
  url: string
  port: number
  dataDir: string
  /** The engine's ClickHouse version. */
  version: string
  child: ChildProcess
  /** Stops the child (SIGTERM) and removes its data directory if the harness made it. */
  stop(): Promise<void>
}

export async function startClickHouseHttp(options: ClickHouseHttpOptions = {}): Promise<ClickHouseHttp> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'tierscope-clickhouse-http-'))
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'clickhouse-http-engine.ts')], {
    cwd: root,
    env: {
      ...process.env,
      CHHTTP_DATA_DIR: dataDir,
      CHHTTP_PORT: String(options.port ?? 0),
      CHHTTP_USER: options.user ?? 'default',
      CHHTTP_PASSWORD: options.password ?? '',
      CHHTTP_TIMEZONE: options.timezone ?? 'UTC',
      CHHTTP_LOG: options.log ? '1' : '0',
      // queries run on libuv's pool: room for several test files' queries at once
      UV_THREADPOOL_SIZE: '16',
    },
    stdio: ['ignore', 'pipe', options.log ? 'inherit' : 'pipe'],
  })
  let output = ''
  child.stderr?.on('data', (d) => (output = (output + d).slice(-20_000)))
  const ready = await new Promise<{ port: number; version: string }>((resolve, reject) => {
    let line = ''
    const onData = (d: Buffer) => {
      line += d
      const nl = line.indexOf('\n')
      if (nl === -1) return
      child.stdout!.off('data', onData)
      try {
        resolve(JSON.parse(line.slice(0, nl)))
      } catch {
        reject(new Error(`the ClickHouse HTTP harness said ${JSON.stringify(line.slice(0, 200))}`))
      }
    }
    child.stdout!.on('data', onData)
    child.once('exit', (code, signal) => reject(new Error(`the ClickHouse HTTP harness exited (${code ?? signal}) before it listened:\n${output}`)))
  })
  // drain its stdout from now on (nothing more is expected there)
  child.stdout!.resume()
  const ownDir = options.dataDir === undefined
  return {
    url: `http://127.0.0.1:${ready.port}`,
    port: ready.port,
    dataDir,
    version: ready.version,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r))
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
        await exited
        clearTimeout(timer)
      }
      if (ownDir) rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
