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
  clickhouse: { url: string; username?: string; password?: string; database: string } | undefined
}

export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): Settings {
  const timezone = env.TIERSCOPE_TIMEZONE ?? 'Asia/Shanghai'
  assertTimeZone(timezone)
  const port = Number(env.TIERSCOPE_PORT ?? 3000)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`TIERSCOPE_PORT must be a port number, got ${JSON.stringify(env.TIERSCOPE_PORT)}`)
  }
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
    clickhouse: env.CLICKHOUSE_URL
      ? {
          url: env.CLICKHOUSE_URL,
          username: env.CLICKHOUSE_USER,
          password: env.CLICKHOUSE_PASSWORD,
          database: env.CLICKHOUSE_DATABASE ?? 'tierscope',
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
