// The process behind the ClickHouse HTTP test harness: an HTTP server answering the part of
// ClickHouse's HTTP interface that @clickhouse/client uses, each request run by the embedded engine
// (chdb) on this process's own data directory. Started by clickhouse-http.ts (read its comment
// first: what this is, and what it is not); configured by the environment:
//   CHHTTP_DATA_DIR  the engine's data directory (required)
//   CHHTTP_PORT      the port to listen on (0: any free one; the chosen one is printed)
//   CHHTTP_USER, CHHTTP_PASSWORD  the one user accepted ('default', '')
//   CHHTTP_TIMEZONE  the engine's server time zone (UTC)
//   CHHTTP_LOG=1     one line per request on stderr
// When listening it prints one line to stdout: {"port":N,"version":"…","timezone":"…"}.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { randomUUID } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import zlib from 'node:zlib'
import { Session } from 'chdb'
import { inspectQuery, type QueryShape } from './clickhouse-query.ts'

const dataDir = process.env.CHHTTP_DATA_DIR
if (!dataDir) throw new Error('CHHTTP_DATA_DIR is required')
const USER = process.env.CHHTTP_USER || 'default'
const PASSWORD = process.env.CHHTTP_PASSWORD ?? ''
const TIMEZONE = process.env.CHHTTP_TIMEZONE || 'UTC'
const LOG = process.env.CHHTTP_LOG === '1'

// The engine's server configuration, given when its data directory is first opened; this session
// stays open for the process's life, every request's session shares its engine (same path).
const configFile = join(dataDir, 'harness-config.xml')
writeFileSync(configFile, `<clickhouse><timezone>${TIMEZONE}</timezone></clickhouse>\n`)
const engine = new Session(dataDir, { connectionArgs: [`--config-file=${configFile}`] })

const info = await engine.queryAsync('SELECT version() AS version, timezone() AS timezone', { format: 'JSONEachRow' })
const { version, timezone } = info.json<{ version: string; timezone: string }>()
// error names to their numbers, from the engine itself (the harness's own errors use them too)
const errorCodes = new Map<string, number>(
  (await engine.queryAsync(`SELECT toUInt32(number) AS code, errorCodeToName(code) AS name FROM numbers(2000) WHERE name != ''`, { format: 'JSONEachRow' }))
    .text().trim().split('\n').map((l) => JSON.parse(l) as { code: number; name: string }).map((r) => [r.name, r.code]),
)

/** An error answered the way ClickHouse answers it: its number and name, and the HTTP status for it. */
class ClickHouseError extends Error {
  constructor(readonly type: string, message: string) {
    super(message)
  }
  get code(): number {
    return errorCodes.get(this.type) ?? 1002 // UNKNOWN_EXCEPTION
  }
}

/** The engine's error text (`Code: N. DB::Exception: … (NAME)`) as number, name and text. */
function engineError(err: unknown): { code: number; type: string; text: string } {
  if (err instanceof ClickHouseError) return { code: err.code, type: err.type, text: `Code: ${err.code}. DB::Exception: ${err.message}. (${err.type})` }
  const message = err instanceof Error ? err.message : String(err)
  const m = /Code: (\d+)\.[\s\S]*\(([A-Z0-9_]{3,})\)\s*$/.exec(message.trim())
  if (m) return { code: Number(m[1]), type: m[2]!, text: message.trim() }
  // not the engine's (a binding's own refusal): ClickHouse's catch-all for a std::exception
  const code = errorCodes.get('STD_EXCEPTION') ?? 1001
  return { code, type: 'STD_EXCEPTION', text: `Code: ${code}. DB::Exception: ${message.split('\n')[0]}. (STD_EXCEPTION)` }
}

// ClickHouse's exceptionCodeToHTTPStatus, by error name
const STATUS_BY_ERROR: Array<[number, string[]]> = [
  [401, ['REQUIRED_PASSWORD']],
  [403, ['UNKNOWN_USER', 'WRONG_PASSWORD', 'AUTHENTICATION_FAILED', 'SET_NON_GRANTED_ROLE', 'ACCESS_DENIED']],
  [400, ['BAD_ARGUMENTS', 'CANNOT_COMPILE_REGEXP', 'CANNOT_PARSE_TEXT', 'CANNOT_PARSE_ESCAPE_SEQUENCE', 'CANNOT_PARSE_QUOTED_STRING',
    'CANNOT_PARSE_DATE', 'CANNOT_PARSE_DATETIME', 'CANNOT_PARSE_NUMBER', 'CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING', 'CANNOT_PARSE_IPV4',
    'CANNOT_PARSE_IPV6', 'CANNOT_PARSE_INPUT_ASSERTION_FAILED', 'CANNOT_PARSE_UUID', 'DUPLICATE_COLUMN', 'ILLEGAL_COLUMN',
    'UNKNOWN_ELEMENT_IN_AST', 'UNKNOWN_TYPE_OF_AST_NODE', 'THERE_IS_NO_COLUMN', 'TOO_DEEP_AST', 'TOO_BIG_AST', 'UNEXPECTED_AST_STRUCTURE',
    'SYNTAX_ERROR', 'INCORRECT_DATA', 'TYPE_MISMATCH', 'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE']],
  [404, ['UNKNOWN_TABLE', 'UNKNOWN_FUNCTION', 'UNKNOWN_IDENTIFIER', 'UNKNOWN_TYPE', 'UNKNOWN_STORAGE', 'UNKNOWN_DATABASE', 'UNKNOWN_SETTING',
    'UNKNOWN_DIRECTION_OF_SORTING', 'UNKNOWN_AGGREGATE_FUNCTION', 'UNKNOWN_FORMAT', 'UNKNOWN_DATABASE_ENGINE', 'UNKNOWN_TYPE_OF_QUERY', 'UNKNOWN_ROLE']],
  [413, ['QUERY_IS_TOO_LARGE']],
  [501, ['NOT_IMPLEMENTED']],
  [503, ['SOCKET_TIMEOUT', 'CANNOT_OPEN_FILE', 'CANNOT_SCHEDULE_TASK']],
  [411, ['HTTP_LENGTH_REQUIRED']],
  [408, ['TIMEOUT_EXCEEDED']],
  [415, ['UNSUPPORTED_MEDIA_TYPE']],
]
const statusOf = (type: string) => STATUS_BY_ERROR.find(([, names]) => names.includes(type))?.[0] ?? 500

// URL parameters that are the HTTP interface's own, not settings
const HTTP_PARAMETERS = new Set(['query', 'database', 'default_format', 'user', 'password', 'quota_key', 'query_id', 'session_id',
  'session_timeout', 'session_check', 'compress', 'decompress', 'buffer_size', 'wait_end_of_query', 'role', 'stacktrace',
  'client_protocol_version', 'close_session'])

/** The formats the engine's raw insert takes as bytes (the row count it reports is the summary's). */
const RAW_INSERT_FORMATS = new Set(['JSONEachRow', 'JSONCompactEachRow', 'TSV', 'TabSeparated', 'TSVWithNames', 'TabSeparatedWithNames', 'CSV', 'CSVWithNames'])
/** Input formats the inline path can carry (the engine takes the statement and its data as text). */
const BINARY_FORMATS = /^(RowBinary|Native|Parquet|Arrow|ArrowStream|ORC|Avro|AvroConfluent|Protobuf|CapnProto|MsgPack|BSONEachRow|Npy)/i

const sqlString = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
const identifier = (s: string) => '`' + s.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`'

/** Sessions named by session_id, kept between requests (one request at a time, as ClickHouse does). */
const namedSessions = new Map<string, { session: Session; busy: boolean; timer: NodeJS.Timeout | undefined; timeoutMs: number }>()
const runningQueryIds = new Set<string>()

interface Summary { read_rows: number; read_bytes: number; written_rows: number; written_bytes: number; result_rows: number; result_bytes: number; elapsed_ns: number }

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://harness')
  const params = url.searchParams
  const queryId = params.get('query_id') || randomUUID()
  const headers: Record<string, string> = {
    'X-ClickHouse-Server-Display-Name': 'clickhouse-http-test-harness',
    'X-ClickHouse-Query-Id': queryId,
    'X-ClickHouse-Timezone': timezone,
  }
  if (url.pathname === '/ping' || (url.pathname === '/' && req.method === 'GET' && !params.has('query'))) {
    // the body is read (and dropped) so that a keep-alive socket stays usable
    for await (const _ of req) void _
    res.writeHead(200, { 'Content-Type': 'text/html; charset=UTF-8' }).end('Ok.\n')
    return
  }
  const started = process.hrtime.bigint()
  let queryText = ''
  try {
    if (url.pathname !== '/') throw new HttpOnly(404, `There is no handle ${url.pathname}\n\nUse / or /ping for health checks.\nSend queries with POST / or GET /?query=…\n`)
    if (req.method !== 'GET' && req.method !== 'POST') throw new HttpOnly(405, `The HTTP method ${req.method} is not supported by this test harness\n`)
    authenticate(req, params)
    if (params.get('compress') === '1' || params.get('decompress') === '1') {
      throw new ClickHouseError('NOT_IMPLEMENTED', 'ClickHouse\'s own block compression (compress=1, decompress=1) is not implemented by this test harness; use HTTP compression')
    }
    if ((req.headers['content-type'] ?? '').startsWith('multipart/form-data')) {
      throw new ClickHouseError('NOT_IMPLEMENTED', 'multipart/form-data bodies (external tables, multipart query parameters) are not implemented by this test harness')
    }
    const body = await readBody(req)
    // the query is the URL's query parameter followed by the body, on a line of its own
    const fromUrl = params.get('query')
    let data: Buffer | undefined
    let shape: QueryShape
    if (fromUrl !== null) {
      shape = inspectQuery(fromUrl)
      if (shape.kind === 'INSERT' && shape.dataOffset !== undefined && fromUrl.slice(shape.dataOffset).trim() === '') {
        queryText = fromUrl.slice(0, shape.dataOffset)
        data = body
      } else {
        queryText = body.length > 0 ? `${fromUrl}\n${body.toString('utf8')}` : fromUrl
        shape = inspectQuery(queryText)
      }
    } else {
      queryText = body.toString('utf8')
      shape = inspectQuery(queryText)
    }
    if (shape.problem) throw new ClickHouseError(shape.problem.type, shape.problem.message)
    if (queryText.trim() === '') throw new ClickHouseError('SYNTAX_ERROR', 'Empty query')
    if (data === undefined && shape.kind === 'INSERT' && shape.dataOffset !== undefined) {
      const offset = Buffer.byteLength(queryText.slice(0, shape.dataOffset))
      data = Buffer.from(queryText, 'utf8').subarray(offset)
      queryText = queryText.slice(0, shape.dataOffset)
    }
    if (runningQueryIds.has(queryId)) throw new ClickHouseError('QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING', `Query with id = ${queryId} is already running`)
    runningQueryIds.add(queryId)
    try {
      const format = params.get('default_format') ?? headerOf(req, 'x-clickhouse-format') ?? 'TabSeparated'
      const { output, summary } = await withSession(req, params, (session) => run(session, queryText, shape, data, format))
      const outputFormat = shape.kind === 'INSERT' ? format : shape.format ?? format
      summary.elapsed_ns = Number(process.hrtime.bigint() - started)
      headers['X-ClickHouse-Format'] = outputFormat
      headers['X-ClickHouse-Summary'] = JSON.stringify(Object.fromEntries(
        Object.entries({ ...summary, total_rows_to_read: 0 }).map(([k, v]) => [k, String(v)])))
      headers['Content-Type'] = contentTypeOf(outputFormat)
      await send(req, res, 200, headers, params, output)
    } finally {
      runningQueryIds.delete(queryId)
    }
    if (LOG) console.error(`[clickhouse-http] 200 ${params.get('database') ?? 'default'} ${oneLine(queryText)}`)
  } catch (err) {
    if (err instanceof HttpOnly) {
      res.writeHead(err.status, { ...headers, 'Content-Type': 'text/plain; charset=UTF-8' }).end(err.message)
      return
    }
    const e = engineError(err)
    const status = statusOf(e.type)
    if (LOG) console.error(`[clickhouse-http] ${status} ${params.get('database') ?? 'default'} ${oneLine(queryText)}: ${e.text.split('\n')[0]}`)
    headers['X-ClickHouse-Exception-Code'] = String(e.code)
    headers['Content-Type'] = 'text/plain; charset=UTF-8'
    await send(req, res, status, headers, params, Buffer.from(`${e.text} (version ${version})\n`))
  }
}

/** A refusal by the HTTP layer itself, before any query (no ClickHouse error code). */
class HttpOnly extends Error {
  constructor(readonly status: number, message: string) {
    super(message)
  }
}

const oneLine = (q: string) => q.replace(/\s+/g, ' ').trim().slice(0, 160)
const headerOf = (req: IncomingMessage, name: string) => {
  const v = req.headers[name]
  return Array.isArray(v) ? v[0] : v
}

function authenticate(req: IncomingMessage, params: URLSearchParams): void {
  let user = params.get('user') ?? headerOf(req, 'x-clickhouse-user')
  let password = params.get('password') ?? headerOf(req, 'x-clickhouse-key')
  const authorization = headerOf(req, 'authorization')
  if (authorization) {
    const basic = /^Basic\s+(\S+)$/i.exec(authorization)
    if (!basic) throw new ClickHouseError('AUTHENTICATION_FAILED', 'Only HTTP Basic authentication is implemented by this test harness')
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    user = colon === -1 ? decoded : decoded.slice(0, colon)
    password = colon === -1 ? '' : decoded.slice(colon + 1)
  }
  user ||= 'default'
  password ??= ''
  if (user !== USER || password !== PASSWORD) {
    throw new ClickHouseError('AUTHENTICATION_FAILED', `${user}: Authentication failed: password is incorrect, or there is no user with such name`)
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const encoding = (headerOf(req, 'content-encoding') ?? '').trim().toLowerCase()
  const decoder = encoding === '' || encoding === 'identity' ? undefined
    : encoding === 'gzip' || encoding === 'x-gzip' ? zlib.createGunzip()
    : encoding === 'deflate' ? zlib.createInflate()
    : encoding === 'br' ? zlib.createBrotliDecompress()
    : encoding === 'zstd' && 'createZstdDecompress' in zlib ? (zlib as unknown as { createZstdDecompress(): NodeJS.ReadWriteStream }).createZstdDecompress()
    : undefined
  if (encoding && encoding !== 'identity' && !decoder) {
    for await (const _ of req) void _
    throw new ClickHouseError('UNKNOWN_COMPRESSION_METHOD', `Unknown HTTP Content-Encoding: ${encoding}`)
  }
  const chunks: Buffer[] = []
  try {
    if (decoder) {
      await pipeline(req, decoder, async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) chunks.push(chunk as Buffer)
      })
    } else {
      for await (const chunk of req) chunks.push(chunk as Buffer)
    }
  } catch (err) {
    throw new ClickHouseError('CANNOT_DECOMPRESS', `Cannot decompress the request body (${encoding}): ${(err as Error).message}`)
  }
  return Buffer.concat(chunks)
}

/**
 * Runs fn on the request's engine session: a fresh one (its own settings and current database,
 * like an HTTP request's own query context), or the one session_id names. The database, the
 * settings and the bound values are set on it first; a GET is read-only, as ClickHouse makes it.
 */
async function withSession<T>(req: IncomingMessage, params: URLSearchParams, fn: (session: Session) => Promise<T>): Promise<T> {
  const sessionId = params.get('session_id')
  let named = sessionId ? namedSessions.get(sessionId) : undefined
  if (sessionId && !named) {
    if (params.get('session_check') === '1') throw new ClickHouseError('SESSION_NOT_FOUND', `Session ${sessionId} not found`)
    const timeoutMs = 1000 * Number(params.get('session_timeout') ?? 60)
    named = { session: new Session(dataDir), busy: false, timer: undefined, timeoutMs }
    namedSessions.set(sessionId, named)
  }
  if (named?.busy) throw new ClickHouseError('SESSION_IS_LOCKED', `Session ${sessionId} is locked by a concurrent client`)
  const session = named?.session ?? new Session(dataDir)
  if (named) {
    named.busy = true
    clearTimeout(named.timer)
  }
  try {
    const prelude: string[] = [`USE ${identifier(params.get('database') ?? headerOf(req, 'x-clickhouse-database') ?? 'default')}`]
    for (const [name, value] of params) {
      if (HTTP_PARAMETERS.has(name) || name === 'max_query_size') continue
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new ClickHouseError('BAD_ARGUMENTS', `Invalid URL parameter name ${JSON.stringify(name)}`)
      // param_<name>: a bound value, in the text form the server parses for its declared type
      prelude.push(`SET ${name} = ${sqlString(value)}`)
    }
    // the bound values' SETs are SQL here, but URL parameters on a server: no query size limits
    // them; the query itself is held to max_query_size (the URL's, or the default) again
    const maxQuerySize = params.get('max_query_size')
    prelude.push(maxQuerySize === null ? 'SET max_query_size = DEFAULT' : `SET max_query_size = ${sqlString(maxQuerySize)}`)
    if (req.method === 'GET' && !named) prelude.push('SET readonly = 2')
    await session.queryAsync('SET max_query_size = 1073741824')
    await session.queryAsync(prelude.join('; '))
    return await fn(session)
  } finally {
    if (named && sessionId) {
      named.busy = false
      const entry = named
      entry.timer = setTimeout(() => {
        namedSessions.delete(sessionId)
        entry.session.close()
      }, entry.timeoutMs)
      entry.timer.unref()
      if (params.get('close_session') === '1') {
        clearTimeout(entry.timer)
        namedSessions.delete(sessionId)
        entry.session.close()
      }
    } else {
      session.close()
    }
  }
}

async function run(session: Session, queryText: string, shape: QueryShape, data: Buffer | undefined, format: string): Promise<{ output: Buffer; summary: Summary }> {
  const summary: Summary = { read_rows: 0, read_bytes: 0, written_rows: 0, written_bytes: 0, result_rows: 0, result_bytes: 0, elapsed_ns: 0 }
  if (data !== undefined) {
    const simple = /^\s*INSERT\s+INTO\s+(?:TABLE\s+)?([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)?)\s*(?:\(([^()]*)\))?\s*FORMAT\s+([A-Za-z]+)\s*$/i.exec(queryText)
    const columns = simple?.[2]?.split(',').map((c) => c.trim())
    if (simple && RAW_INSERT_FORMATS.has(simple[3]!) && (!columns || columns.every((c) => /^[A-Za-z0-9_]+$/.test(c)))) {
      const r = await session.insert({ table: simple[1]!, columns, format: simple[3] as 'JSONEachRow', values: data })
      Object.assign(summary, { written_rows: r.rowsWritten, written_bytes: r.bytesWritten, read_rows: r.rowsWritten, read_bytes: r.bytesSent })
      return { output: Buffer.alloc(0), summary }
    }
    if (shape.format && BINARY_FORMATS.test(shape.format)) {
      throw new ClickHouseError('NOT_IMPLEMENTED', `Inserting ${shape.format} data is not implemented by this test harness (text formats only)`)
    }
    if (data.toString('utf8').trim() === '') return { output: Buffer.alloc(0), summary }
    queryText = `${queryText.replace(/\s+$/, '')}\n${data.toString('utf8')}`
  }
  const result = await session.queryAsync(queryText, { format })
  const bytes = result.bytes()
  Object.assign(summary, { read_rows: result.rowsRead, read_bytes: result.bytesRead, result_rows: result.rowsRead, result_bytes: result.bytesRead })
  return { output: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), summary }
}

function contentTypeOf(format: string): string {
  if (/^JSON(Compact)?(Strings)?$/i.test(format) || /^JSONColumns/i.test(format) || /^JSONObjectEachRow$/i.test(format)) return 'application/json; charset=UTF-8'
  if (/EachRow/i.test(format)) return 'application/x-ndjson; charset=UTF-8'
  if (/^(TSV|TabSeparated)/i.test(format)) return 'text/tab-separated-values; charset=UTF-8'
  if (/^CSV/i.test(format)) return 'text/csv; charset=UTF-8'
  if (BINARY_FORMATS.test(format)) return 'application/octet-stream'
  return 'text/plain; charset=UTF-8'
}

/** The response, compressed as ClickHouse compresses it: only with enable_http_compression=1 and a codec the client accepts. */
async function send(req: IncomingMessage, res: ServerResponse, status: number, headers: Record<string, string>, params: URLSearchParams, body: Buffer): Promise<void> {
  const enabled = ['1', 'true'].includes((params.get('enable_http_compression') ?? '').toLowerCase())
  const accepted = (headerOf(req, 'accept-encoding') ?? '').split(',').map((s) => s.trim().split(';')[0]!.toLowerCase())
  const level = Number(params.get('http_zlib_compression_level') ?? 3)
  const codec = enabled ? accepted.find((c) => ['gzip', 'deflate', 'br'].includes(c)) : undefined
  if (!codec) {
    res.writeHead(status, headers).end(body)
    return
  }
  const compressor = codec === 'gzip' ? zlib.createGzip({ level }) : codec === 'deflate' ? zlib.createDeflate({ level }) : zlib.createBrotliCompress()
  res.writeHead(status, { ...headers, 'Content-Encoding': codec })
  await pipeline(Readable.from([body]), compressor, res)
}

const server = createServer({ maxHeaderSize: 1 << 20, keepAliveTimeout: 10_000 }, (req, res) => {
  handle(req, res).catch((err) => {
    console.error('[clickhouse-http] request failed:', err)
    if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=UTF-8' })
    res.end(`Code: 1001. DB::Exception: ${(err as Error).message}. (STD_EXCEPTION)\n`)
  })
})
server.keepAliveTimeout = 10_000
server.listen(Number(process.env.CHHTTP_PORT ?? 0), '127.0.0.1', () => {
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  process.stdout.write(JSON.stringify({ port, version, timezone }) + '\n')
})

function shutDown(): void {
  server.close()
  server.closeAllConnections()
  for (const { session } of namedSessions.values()) session.close()
  engine.close()
  process.exit(0)
}
process.on('SIGTERM', shutDown)
process.on('SIGINT', shutDown)
