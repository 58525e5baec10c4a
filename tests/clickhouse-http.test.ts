// The ClickHouse HTTP test harness (tests/support/clickhouse-http.ts) answers @clickhouse/client
// as a server would: what the platform's server path relies on — bound values of every kind, one
// database per client, inserts, errors with their code and type, credentials, settings per request
// — and the refusals that keep it honest (a second statement, the engine reading the test
// machine's files). It starts a harness of its own, on either test path.
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Readable } from 'node:stream'
import { startClickHouseHttp, type ClickHouseHttp } from './support/clickhouse-http.ts'
import { inspectQuery } from './support/clickhouse-query.ts'

const PASSWORD = 'harness-test-password'
let harness: ClickHouseHttp
const clients: ClickHouseClient[] = []
const client = (options: Parameters<typeof createClient>[0] = {}) => {
  const c = createClient({ url: harness.url, password: PASSWORD, log: { level: ClickHouseLogLevel.OFF }, ...options })
  clients.push(c)
  return c
}
const auth = { authorization: `Basic ${Buffer.from(`default:${PASSWORD}`).toString('base64')}` }
const rows = async <T>(c: ClickHouseClient, query: string, query_params: Record<string, unknown> = {}, clickhouse_settings = {}) =>
  (await c.query({ query, query_params, clickhouse_settings, format: 'JSONEachRow' })).json<T>()
const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected the query to fail') }, (err: unknown) => err as { code?: string; type?: string; message: string })

beforeAll(async () => {
  harness = await startClickHouseHttp({ password: PASSWORD })
  const admin = client()
  await admin.command({ query: 'CREATE DATABASE IF NOT EXISTS harness_a' })
  await admin.command({ query: 'CREATE DATABASE IF NOT EXISTS harness_b' })
}, 60_000)

afterAll(async () => {
  for (const c of clients) await c.close()
  await harness?.stop()
})

describe('the ClickHouse HTTP test harness', () => {
  it('answers /ping and the client\'s ping', async () => {
    const r = await fetch(`${harness.url}/ping`)
    expect([r.status, await r.text()]).toEqual([200, 'Ok.\n'])
    expect(await client().ping()).toEqual({ success: true })
    expect(await client().ping({ select: true })).toEqual({ success: true })
  })

  it('binds every kind of value the platform sends, exactly', async () => {
    const tricky = "it's a \\ back\tslash\nline 引号'"
    const at = new Date(Date.UTC(2025, 2, 3, 4, 5, 6, 789))
    const [r] = await rows<Record<string, unknown>>(client(), `SELECT {s:String} AS s, {list:Array(String)} AS list, {missing:Nullable(String)} AS missing,
        toString({at:DateTime64(3, 'UTC')}) AS at, {n:Int64} AS n, {u:UUID} AS u, {flag:Bool} AS flag, {m:Map(String, UInt8)} AS m, {x:Float64} AS x`,
      { s: tricky, list: [tricky, 'b', ''], missing: null, at, n: -42, u: '0ac4a4b8-1b1d-4b43-9a1c-12aa7f5f6a11', flag: true, m: { "k'": 1 }, x: 0.25 })
    expect(r).toEqual({ s: tricky, list: [tricky, 'b', ''], missing: null, at: '2025-03-03 04:05:06.789', n: -42, u: '0ac4a4b8-1b1d-4b43-9a1c-12aa7f5f6a11', flag: true, m: { "k'": 1 }, x: 0.25 })
  })

  it('takes bound values of any size the URL can carry, and holds the query itself to max_query_size as a server does', async () => {
    const c = client()
    const long = 'x'.repeat(400_000)
    expect(await rows(c, 'SELECT length({long:String}) AS n', { long })).toEqual([{ n: 400_000 }])
    expect(await failure(c.query({ query: `SELECT '${long}'` }))).toMatchObject({ code: '62', type: 'SYNTAX_ERROR', message: expect.stringMatching(/Max query size exceeded/) })
  })

  it('keeps each request\'s bound values its own when many run at once', async () => {
    const c = client({ max_open_connections: 20 })
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => rows<{ v: string; n: number }>(c, 'SELECT {v:String} AS v, {n:UInt32} AS n FROM numbers(1) WHERE sleepEachRow(0.01) = 0', { v: `value ${i}`, n: i })))
    expect(answers).toEqual(Array.from({ length: 40 }, (_, i) => [{ v: `value ${i}`, n: i }]))
  })

  it('gives each client its database: the same table name in two databases holds two sets of rows', async () => {
    const a = client({ database: 'harness_a' })
    const b = client({ database: 'harness_b' })
    for (const c of [a, b]) await c.command({ query: 'CREATE TABLE IF NOT EXISTS t (id UInt32, s String) ENGINE = MergeTree ORDER BY id' })
    await a.insert({ table: 't', values: [{ id: 1, s: 'a' }, { id: 2, s: 'a' }], format: 'JSONEachRow' })
    // a stream of rows, as the platform's staging inserts send them
    await b.insert({ table: 't', values: Readable.from([{ id: 7, s: 'b' }]), format: 'JSONEachRow' })
    expect(await rows(a, 'SELECT currentDatabase() AS db, count() AS n FROM t')).toEqual([{ db: 'harness_a', n: 2 }])
    expect(await rows(b, 'SELECT currentDatabase() AS db, groupArray(s) AS s FROM t')).toEqual([{ db: 'harness_b', s: ['b'] }])
    const receipt = await a.insert({ table: 't', columns: ['id', 's'], values: [{ id: 3, s: 'x' }], format: 'JSONEachRow' })
    expect(receipt.summary?.written_rows).toBe('1')
  })

  it('answers errors with ClickHouse\'s status, code header and body, so the client raises ClickHouseError', async () => {
    const err = await failure(client({ database: 'harness_a' }).query({ query: 'SELECT * FROM no_such_table' }))
    expect(err).toMatchObject({ code: '60', type: 'UNKNOWN_TABLE' })
    const r = await fetch(`${harness.url}/?database=harness_a`, { method: 'POST', headers: auth, body: 'SELECT * FROM no_such_table' })
    expect(r.status).toBe(404)
    expect(r.headers.get('x-clickhouse-exception-code')).toBe('60')
    expect(await r.text()).toMatch(/^Code: 60\. DB::Exception: .*\(UNKNOWN_TABLE\) \(version [\d.]+\)\n$/s)
    expect(await failure(client({ database: 'no_such_database' }).query({ query: 'SELECT 1' }))).toMatchObject({ code: '81', type: 'UNKNOWN_DATABASE' })
    const syntax = await fetch(harness.url, { method: 'POST', headers: auth, body: 'SELEC 1' })
    expect([syntax.status, syntax.headers.get('x-clickhouse-exception-code')]).toEqual([400, '62'])
  })

  it('checks the password', async () => {
    expect(await failure(client({ password: 'wrong' }).query({ query: 'SELECT 1' }))).toMatchObject({ code: '516', type: 'AUTHENTICATION_FAILED' })
    expect(await failure(client({ password: '' }).query({ query: 'SELECT 1' }))).toMatchObject({ code: '516', type: 'AUTHENTICATION_FAILED' })
    expect(await failure(client({ username: 'someone' }).query({ query: 'SELECT 1' }))).toMatchObject({ code: '516' })
    const r = await fetch(`${harness.url}/?query=SELECT%201`)
    expect(r.status).toBe(403)
  })

  it('applies settings to their own request only, and refuses an unknown one', async () => {
    const c = client()
    expect(await rows(c, `SELECT getSetting('date_time_output_format') AS f`, {}, { date_time_output_format: 'iso' })).toEqual([{ f: 'iso' }])
    expect(await rows(c, `SELECT getSetting('date_time_output_format') AS f`)).toEqual([{ f: 'simple' }])
    expect(await failure(c.query({ query: 'SELECT 1', clickhouse_settings: { no_such_setting: 1 } as never }))).toMatchObject({ code: '115', type: 'UNKNOWN_SETTING' })
  })

  it('takes the query from the URL, answers in TabSeparated by default or default_format, and makes a GET read-only', async () => {
    const get = await fetch(`${harness.url}/?query=${encodeURIComponent('SELECT 1 AS one, {s:String} AS s')}&param_s=${encodeURIComponent('a\\tb')}`, { headers: auth })
    expect([get.status, await get.text(), get.headers.get('x-clickhouse-format')]).toEqual([200, '1\ta\\tb\n', 'TabSeparated'])
    const json = await fetch(`${harness.url}/?default_format=JSONEachRow`, { method: 'POST', headers: auth, body: 'SELECT 2 AS two' })
    expect(await json.text()).toBe('{"two":2}\n')
    // the query parameter, then the body on a line of its own
    const both = await fetch(`${harness.url}/?query=${encodeURIComponent('SELECT number FROM numbers(3)')}`, { method: 'POST', headers: auth, body: 'WHERE number > 0' })
    expect(await both.text()).toBe('1\n2\n')
    const write = await fetch(`${harness.url}/?query=${encodeURIComponent('CREATE TABLE harness_a.ro (a UInt8) ENGINE = Memory')}`, { headers: auth })
    expect([write.status, write.headers.get('x-clickhouse-exception-code')]).toEqual([500, '164'])
    const query = await fetch(`${harness.url}/?query_id=my-query`, { method: 'POST', headers: auth, body: 'SELECT 1' })
    expect(query.headers.get('x-clickhouse-query-id')).toBe('my-query')
  })

  it('takes an INSERT with its data in the body, compressed or not, and compresses the answer when asked', async () => {
    const body = '{"id":10,"s":"from the body"}\n'
    const plain = await fetch(`${harness.url}/?database=harness_a`, { method: 'POST', headers: auth, body: `INSERT INTO t FORMAT JSONEachRow\n${body}` })
    expect(plain.status, await plain.text()).toBe(200)
    const gz = client({ database: 'harness_a', compression: { request: true, response: true } })
    await gz.insert({ table: 't', values: [{ id: 11, s: 'gzipped' }], format: 'JSONEachRow' })
    expect(await rows(gz, 'SELECT id, s FROM t WHERE id >= 10 ORDER BY id')).toEqual([{ id: 10, s: 'from the body' }, { id: 11, s: 'gzipped' }])
    const r = await fetch(`${harness.url}/?enable_http_compression=1`, { method: 'POST', headers: { ...auth, 'accept-encoding': 'gzip' }, body: 'SELECT 3' })
    expect([r.headers.get('content-encoding'), await r.text()]).toEqual(['gzip', '3\n'])
  })

  it('refuses a second statement in one request, as a server does, and allows a trailing semicolon', async () => {
    const c = client()
    expect(await failure(c.command({ query: 'SELECT 1; SELECT 2' }))).toMatchObject({ code: '62', type: 'SYNTAX_ERROR' })
    expect(await rows(c, "SELECT 'a;b' AS s -- ; not a statement\n")).toEqual([{ s: 'a;b' }])
    await c.command({ query: 'SELECT 1;' })
  })

  it('refuses to read or write the test machine\'s files (a server reads its own disk, never the client\'s)', async () => {
    const c = client()
    expect(await failure(c.query({ query: `SELECT * FROM file('/etc/hostname', 'LineAsString')` }))).toMatchObject({ type: 'DATABASE_ACCESS_DENIED' })
    expect(await failure(c.command({ query: `INSERT INTO FUNCTION file('/tmp/x.tsv', 'TSV', 'a UInt8') SELECT 1` }))).toMatchObject({ type: 'DATABASE_ACCESS_DENIED' })
    expect(await failure(c.command({ query: `SELECT 1 INTO OUTFILE '/tmp/x.tsv'` }))).toMatchObject({ type: 'DATABASE_ACCESS_DENIED' })
  })

  it('keeps a session_id\'s session between requests', async () => {
    const c = client()
    await c.command({ query: 'CREATE TEMPORARY TABLE kept (a UInt8)', session_id: 'harness-session' })
    await c.command({ query: 'INSERT INTO kept VALUES (5)', session_id: 'harness-session' })
    expect(await (await c.query({ query: 'SELECT a FROM kept', format: 'JSONEachRow', session_id: 'harness-session' })).json()).toEqual([{ a: 5 }])
    expect(await failure(c.query({ query: 'SELECT a FROM kept' }))).toMatchObject({ code: '60' })
  })
})

describe('reading a query before the engine does', () => {
  it('finds an INSERT\'s data, the FORMAT clause and a second statement outside literals, identifiers and comments', () => {
    const insert = 'INSERT INTO t (a, b) FORMAT JSONEachRow\n{"a":";"}\n'
    expect(inspectQuery(insert)).toEqual({ kind: 'INSERT', format: 'JSONEachRow', dataOffset: insert.indexOf('{') })
    expect(inspectQuery('INSERT INTO t VALUES (1, \';\'); junk').dataOffset).toBe('INSERT INTO t VALUES'.length)
    expect(inspectQuery("SELECT ';', `;`, \"x;\" /* ; /* nested ; */ */ FROM t -- ;\nFORMAT JSON")).toEqual({ kind: 'SELECT', format: 'JSON' })
    expect(inspectQuery('SELECT {p:Array(String)} FORMAT CSV;  ')).toEqual({ kind: 'SELECT', format: 'CSV' })
    expect(inspectQuery('SELECT formatDateTime(now(), \'%F\') AS format')).toEqual({ kind: 'SELECT' })
    expect(inspectQuery('SELECT 1; DROP TABLE t').problem?.type).toBe('SYNTAX_ERROR')
    expect(inspectQuery('SELECT $$;$$').problem).toBeUndefined()
    expect(inspectQuery("SELECT * FROM file('x')").problem?.type).toBe('DATABASE_ACCESS_DENIED')
    expect(inspectQuery('INSERT INTO file (a) FORMAT CSV\n1').problem).toBeUndefined()
    expect(inspectQuery('SELECT `file`(1)').problem).toBeUndefined()
  })
})
