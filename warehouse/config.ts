// Settings come from the environment (CONTRACT.md "Running"); one parsed object is passed around.

export interface Settings {
  dataDir: string
  host: string
  port: number
  timezone: string
  adminToken: string | undefined
  /** Signs session cookies; without it a secret is generated once and kept in the warehouse. */
  sessionSecret: string | undefined
  /** How long a dashboard session lasts. */
  sessionHours: number
  /** cluster: CLICKHOUSE_CLUSTER, the cluster the schema was made for (warehouse/CLUSTER.md): queries run with CLUSTER_SETTINGS. */
  clickhouse: { url: string; username?: string; password?: string; database: string; cluster?: string } | undefined
  /** Where people reach the platform (TIERSCOPE_PUBLIC_URL), as an origin: its own for cross-site checks, and https makes cookies Secure. */
  publicUrl: string | undefined
  /** Which proxies' X-Forwarded-For/-Proto/-Host to believe (TIERSCOPE_TRUST_PROXY), as fastify's `trustProxy` takes it. */
  trustProxy: boolean | number | string[]
  /** TIERSCOPE_BACKUP_DIR: the only directory (and below) the embedded engine may write backups to and restore from; unset: any. */
  backupDir?: string | undefined
  /** TIERSCOPE_METRICS_ADDR: host:port of a separate listener serving GET /metrics without a key. */
  metricsAddr?: string | undefined
}

/** The shortest TIERSCOPE_ADMIN_TOKEN accepted at start-up. */
export const MIN_ADMIN_TOKEN_LENGTH = 24

export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): Settings {
  const timezone = env.TIERSCOPE_TIMEZONE ?? 'Asia/Shanghai'
  assertTimeZone(timezone)
  const port = Number(env.TIERSCOPE_PORT ?? 3000)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`TIERSCOPE_PORT must be a port number, got ${JSON.stringify(env.TIERSCOPE_PORT)}`)
  }
  if (env.CLICKHOUSE_CLUSTER && !env.CLICKHOUSE_URL) throw new Error('CLICKHOUSE_CLUSTER names the cluster of a ClickHouse server: set CLICKHOUSE_URL to one of its nodes too')
  const sessionHours = Number(env.TIERSCOPE_SESSION_HOURS ?? 8)
  if (!(sessionHours > 0)) throw new Error(`TIERSCOPE_SESSION_HOURS must be a positive number of hours, got ${JSON.stringify(env.TIERSCOPE_SESSION_HOURS)}`)
  return {
    dataDir: env.TIERSCOPE_DATA_DIR ?? './data',
    host: env.TIERSCOPE_HOST ?? '127.0.0.1',
    port,
    timezone,
    adminToken: env.TIERSCOPE_ADMIN_TOKEN || undefined,
    sessionSecret: env.TIERSCOPE_SESSION_SECRET || undefined,
    sessionHours,
    publicUrl: publicUrlOf(env.TIERSCOPE_PUBLIC_URL),
    trustProxy: trustProxyOf(env.TIERSCOPE_TRUST_PROXY),
    backupDir: env.TIERSCOPE_BACKUP_DIR || undefined,
    metricsAddr: env.TIERSCOPE_METRICS_ADDR || undefined,
    clickhouse: env.CLICKHOUSE_URL
      ? {
          url: env.CLICKHOUSE_URL,
          username: env.CLICKHOUSE_USER,
          password: env.CLICKHOUSE_PASSWORD,
          database: env.CLICKHOUSE_DATABASE ?? 'tierscope',
          cluster: env.CLICKHOUSE_CLUSTER || undefined,
        }
      : undefined,
  }
}

/** The time zone ends up in column types (DDL cannot bind it), so only IANA names pass. */
export function assertTimeZone(tz: string): void {
  if (!/^[A-Za-z_]+(?:\/[A-Za-z0-9_+-]+)*$/.test(tz) || !Intl.supportedValuesOf('timeZone').concat('UTC').includes(tz)) {
    throw new Error(`TIERSCOPE_TIMEZONE must be an IANA time zone such as Asia/Shanghai, got ${JSON.stringify(tz)}`)
  }
}

/**
 * Why an admin token given in TIERSCOPE_ADMIN_TOKEN must be refused, or undefined when it is fine
 * (or not given: one is generated). The token is the admin key itself, checked with one SHA-256
 * and no throttle, so it has to be long enough that guessing it is hopeless.
 */
export function adminTokenProblem(token: string | undefined): string | undefined {
  if (token === undefined) return undefined
  if (token.length < MIN_ADMIN_TOKEN_LENGTH) {
    return `TIERSCOPE_ADMIN_TOKEN is ${token.length} characters long; it must be at least ${MIN_ADMIN_TOKEN_LENGTH}. ` +
      'It is the admin key itself, so anyone who guesses it can do everything; keys are checked fast and are not throttled. ' +
      'Use a random one (e.g. `openssl rand -base64 32`), or leave the variable unset and one is generated and printed once.'
  }
  if (/^\s|\s$/.test(token)) return 'TIERSCOPE_ADMIN_TOKEN starts or ends with white space; a key is sent as "Authorization: Bearer <key>", which cannot carry it.'
  return undefined
}

/** TIERSCOPE_PUBLIC_URL: an http(s) URL; only its origin counts (scheme, host, port). */
export function publicUrlOf(value: string | undefined): string | undefined {
  if (!value) return undefined
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new Error(`TIERSCOPE_PUBLIC_URL must be the URL people open, such as https://tierscope.example.gov.cn, got ${JSON.stringify(value)}`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`TIERSCOPE_PUBLIC_URL must be an http or https URL, got ${JSON.stringify(value)}`)
  return url.origin
}

/**
 * TIERSCOPE_TRUST_PROXY: unset or "false" trusts no proxy (the peer's address is the client's);
 * "true" trusts every hop; a number trusts that many hops; otherwise a comma-separated list of
 * addresses or CIDR ranges of the proxies (e.g. "127.0.0.1,10.0.0.0/8").
 */
export function trustProxyOf(value: string | undefined): boolean | number | string[] {
  const v = (value ?? '').trim()
  if (v === '' || v === 'false' || v === '0') return false
  if (v === 'true') return true
  if (/^\d+$/.test(v)) return Number(v)
  const list = v.split(',').map((s) => s.trim()).filter(Boolean)
  for (const entry of list) {
    if (!/^[0-9A-Fa-f:.]+(\/\d{1,3})?$/.test(entry) && !['loopback', 'linklocal', 'uniquelocal'].includes(entry)) {
      throw new Error(`TIERSCOPE_TRUST_PROXY must be true, false, a number of hops, or a comma-separated list of proxy addresses/CIDR ranges; ${JSON.stringify(entry)} is none of these`)
    }
  }
  return list
}
