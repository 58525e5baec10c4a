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
export function guardRoutes(app: FastifyInstance, auth: Auth): void {
  app.addHook('onRequest', async (request: FastifyRequest) => checkSameOrigin(request))
  accessControl(app, auth.keys)
  auditTrail(app, auth.audit)
}
