// What every module's routes share: errors with a code and a status, and who is calling.
import type { FastifyReply, FastifyRequest } from 'fastify'
import type {} from '@fastify/cookie'
import type { KeyStore, Principal, Role } from './access.ts'

/** An error that becomes an HTTP answer `{ error: code, message }`. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message)
  }
}

/** The dashboard's session cookie (signed, HttpOnly, SameSite=Strict). */
export const SESSION_COOKIE = 'tierscope_session'

/** The caller: an API key in the Authorization header, else a signed-in session's cookie; or 401. */
export function principalOf(request: FastifyRequest, keys: KeyStore): Principal {
  const header = request.headers.authorization
  const cookie = request.cookies?.[SESSION_COOKIE]
  if (!header && cookie) {
    const unsigned = request.unsignCookie(cookie)
    const principal = unsigned.valid && unsigned.value ? keys.sessions?.(unsigned.value) : undefined
    if (!principal) throw new HttpError(401, 'session_ended', 'Your session has ended or is not valid: sign in again.')
    return principal
  }
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null
  if (!match) throw new HttpError(401, 'unauthorized', 'Sign in, or send your key as "Authorization: Bearer <key>".')
  const principal = keys.authenticate(match[1]!)
  if (!principal) throw new HttpError(401, 'unauthorized', 'This key is not known (or was revoked).')
  return principal
}

/** The caller's key if it has one of `roles`, otherwise 401/403. */
export function requireRole(request: FastifyRequest, keys: KeyStore, roles: readonly Role[]): Principal {
  const principal = principalOf(request, keys)
  if (!roles.includes(principal.role)) {
    throw new HttpError(403, 'forbidden', `A ${principal.role} key cannot do this; it needs one of: ${roles.join(', ')}.`)
  }
  return principal
}

/** A unit the caller asks about by id: one that exists (else 400) and that they may read (else 403). */
export function requireReadableUnit(principal: Principal, known: { has(unitId: string): boolean }, unitId: string): void {
  if (!known.has(unitId)) throw new HttpError(400, 'unknown_unit', `unit_id: ${JSON.stringify(unitId)} is not a known unit`)
  const readable = principal.readableUnits()
  if (readable && !readable.includes(unitId)) throw new HttpError(403, 'forbidden', 'This key reads only its own units.')
}

export function sendError(reply: FastifyReply, err: HttpError): FastifyReply {
  return reply.code(err.statusCode).send({ error: err.code, message: err.message, ...err.details })
}
