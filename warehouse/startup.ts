// Why the warehouse cannot be opened, in one sentence that names what to check: the server
// unreachable, credentials refused, the database missing, a directory that cannot be written, a
// schema from a newer release. main.ts and the CLI print the sentence and exit non-zero; the
// stack only with TIERSCOPE_LOG_LEVEL=debug.

/** A start-up problem the operator can fix; `message` is the one sentence to print. */
export class StartupError extends Error {
  constructor(readonly code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'the connection was refused',
  ENOTFOUND: 'the host name is not known',
  EAI_AGAIN: 'the host name could not be looked up',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  ECONNRESET: 'the connection was reset',
}

function causeCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && NETWORK_CODES[code]) return code
  }
  return undefined
}

/** A ClickHouse server's answer turned into what to do about it (or undefined: not one we know). */
export function serverProblem(err: unknown, server: { url: string; username?: string; database: string }): StartupError | undefined {
  const net = causeCode(err)
  if (net) {
    return new StartupError('clickhouse_unreachable', `Cannot reach the ClickHouse server at ${server.url} (${NETWORK_CODES[net]}): check CLICKHOUSE_URL, and that the server is running and accepts HTTP connections there.`, { cause: err })
  }
  const type = String((err as { type?: unknown }).type ?? '')
  const code = String((err as { code?: unknown }).code ?? '')
  const message = String((err as Error).message ?? '')
  if (type === 'AUTHENTICATION_FAILED' || code === '516' || /Authentication failed|password is incorrect/i.test(message)) {
    return new StartupError('clickhouse_credentials', `The ClickHouse server at ${server.url} refused user ${JSON.stringify(server.username ?? 'default')}: check CLICKHOUSE_USER and CLICKHOUSE_PASSWORD.`, { cause: err })
  }
  if (type === 'UNKNOWN_DATABASE' || code === '81') {
    return new StartupError('clickhouse_database_missing', `The database ${JSON.stringify(server.database)} does not exist on the ClickHouse server at ${server.url}: create it (CREATE DATABASE ${server.database}), or set CLICKHOUSE_DATABASE to the one to use.`, { cause: err })
  }
  if (type === 'ACCESS_DENIED' || code === '497') {
    return new StartupError('clickhouse_access_denied', `User ${JSON.stringify(server.username ?? 'default')} may not use the database ${JSON.stringify(server.database)} on the ClickHouse server at ${server.url} (${message.split('\n')[0]}): grant it, or create the database first.`, { cause: err })
  }
  if (/^(?:Unexpected|Cannot decode|.*<html)/i.test(message)) {
    return new StartupError('clickhouse_not_clickhouse', `What answers at ${server.url} is not a ClickHouse server's HTTP interface (${message.split('\n')[0]!.slice(0, 120)}): check CLICKHOUSE_URL (its HTTP port, 8123 by default).`, { cause: err })
  }
  return undefined
}

/** A file-system refusal of the data directory turned into what to do about it. */
export function dataDirProblem(err: unknown, dataDir: string): StartupError | undefined {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    const who = typeof process.getuid === 'function' ? ` (user id ${process.getuid()})` : ''
    const why = code === 'EROFS' ? 'is on a read-only file system' : `cannot be written by this process${who}`
    return new StartupError('data_dir_not_writable', `The data directory ${dataDir} ${why}: give that user write permission to it (chown or chmod), or set TIERSCOPE_DATA_DIR to a directory it can write.`, { cause: err })
  }
  if (code === 'ENOSPC') return new StartupError('data_dir_full', `The disk of the data directory ${dataDir} is full: free space there, or set TIERSCOPE_DATA_DIR to a directory on another disk.`, { cause: err })
  if (code === 'ENOTDIR' || code === 'EEXIST') return new StartupError('data_dir_not_a_directory', `TIERSCOPE_DATA_DIR ${dataDir} is not a directory: point it at a directory (it is made when missing).`, { cause: err })
  return undefined
}

/** What main.ts and the CLI print for an error that stops them: one sentence, or the stack with debug. */
export function startupMessage(err: unknown, debug = process.env.TIERSCOPE_LOG_LEVEL === 'debug'): string {
  if (debug) {
    const parts: string[] = []
    for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
      parts.push(depth === 0 ? String((e as Error).stack ?? e) : `caused by: ${String((e as Error).stack ?? e)}`)
    }
    return parts.join('\n')
  }
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!
}
