// auth: API keys, dashboard users and sessions, the rule of who may do what (declared on each
// route, checked by one hook), and the audit log. Storage is the warehouse's connection; the SQL
// of auth's tables is here (schema.ts).
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Warehouse } from '../warehouse/client.ts'
import { applyMigrations } from '../warehouse/migrations.ts'
import type { ReferenceData } from '../warehouse/reference.ts'
import { accessControl, checkSameOrigin } from './access.ts'
import { AuditLog, auditTrail } from './audit.ts'
import { KeyStore } from './keys.ts'
import { authMigrations } from './schema.ts'
import { DEFAULT_SESSION_POLICY, UserStore, type SessionPolicy } from './users.ts'

export { ADMIN_ONLY, ANYONE, READER_ROLES, SESSION_COOKIE, principalOf, requireReadableUnit, secureCookies, visibleUnits, type Access } from './access.ts'
export { AuditLog, AUDIT_ACTIONS, type AuditAction, type AuditEntry, type AuditNote } from './audit.ts'
export { KeyStore, LastAdminKeyError, ROLES, type ApiKey, type KeyListing, type Principal, type Role } from './keys.ts'
export { DEFAULT_SESSION_POLICY, SignInError, UserProblem, USER_ROLES, UserStore, type SessionPolicy, type User, type UserListing, type UserRole } from './users.ts'
export { authRoutes } from './routes.ts'

export interface Auth {
  keys: KeyStore
  users: UserStore
  audit: AuditLog
}

/** Applies auth's migrations and loads its keys, users and sessions. */
export async function openAuth(
  warehouse: Warehouse,
  reference: ReferenceData,
  options: { sessionSecret?: string; sessionPolicy?: Partial<SessionPolicy> } = {},
): Promise<Auth> {
  await applyMigrations(warehouse, authMigrations)
  const keys = new KeyStore(warehouse, reference)
  const users = new UserStore(warehouse, reference, keys, { ...DEFAULT_SESSION_POLICY, ...options.sessionPolicy })
  await keys.load()
  await users.load(options.sessionSecret)
  return { keys, users, audit: new AuditLog(warehouse) }
}

/**
 * What every request meets before a route sees it (on the root instance, before the routes are
 * registered): a write with the session cookie from a foreign page refused (403), then, route by
 * route, its declared access (401/403 before the body is read), and after it, its audit row.
 */
export function guardRoutes(app: FastifyInstance, auth: Auth, sweepMs = SWEEP_MS): void {
  app.addHook('onRequest', async (request: FastifyRequest) => checkSameOrigin(request))
  accessControl(app, auth.keys)
  auditTrail(app, auth.audit)
  sweepWhileServing(app, auth, sweepMs)
}

/** How often a server reads what other processes on its warehouse revoked, ended or disabled. */
export const SWEEP_MS = 2000
/** How far back each sweep reads: longer than any clock difference between the processes. */
const SWEEP_LOOKBACK_MS = 60_000

/**
 * Keys and sessions are looked up in memory; a revoked key, an ended session or a disabled user
 * is refused at once by the process that made the change, and by every other process on the
 * same warehouse within `sweepMs` (each sweep is a few small reads; one at a time, never piling up).
 */
function sweepWhileServing(app: FastifyInstance, auth: Auth, sweepMs: number): void {
  let timer: NodeJS.Timeout | undefined
  let running = false
  let lastLogged = 0
  const sweep = async () => {
    if (running) return
    running = true
    const since = Date.now() - SWEEP_LOOKBACK_MS
    try {
      await auth.keys.sweep(since)
      await auth.users.sweep(since)
    } catch (err) {
      if (Date.now() - lastLogged > 60_000) {
        lastLogged = Date.now()
        app.log.warn({ err }, 'revocations made by other processes could not be read; retrying')
      }
    } finally {
      running = false
    }
  }
  app.addHook('onReady', async () => {
    if (sweepMs > 0) timer = setInterval(() => void sweep(), sweepMs).unref()
  })
  app.addHook('onClose', async () => clearInterval(timer))
}
