// What every module's routes share: errors with a code and a status, and who is calling; and the
// checks app.ts runs on every request before a body is read (credentials, cross-site writes).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type {} from '@fastify/cookie'
import type { KeyStore, Principal, Role } from './access.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route takes a body from anyone: its credentials are not checked before the body (sign-in, sign-out). */
    anonymous?: boolean
  }
  interface FastifyInstance {
    /** TIERSCOPE_PUBLIC_URL's origin, when set (app.ts). */
    publicOrigin: string | undefined
  }
}

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

/** Whether the session cookie is sent only over HTTPS: the request came over it (behind a proxy: TIERSCOPE_TRUST_PROXY), or TIERSCOPE_PUBLIC_URL is https. */
export function secureCookies(request: FastifyRequest): boolean {
  return request.protocol === 'https' || (request.server.publicOrigin?.startsWith('https:') ?? false)
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

const SESSION_COOKIE_IN_HEADER = new RegExp(`(?:^|;)\\s*${SESSION_COOKIE}=`)

/** What principalOf would authenticate by: the cookie, when there is no Authorization header. */
const carriesSessionCookie = (request: FastifyRequest) =>
  !request.headers.authorization && SESSION_COOKIE_IN_HEADER.test(request.headers.cookie ?? '')

/**
 * Refuses (403) a write made with the session cookie from a page that is not the platform's own:
 * its Origin must be the platform's (the request's own scheme and Host, or TIERSCOPE_PUBLIC_URL),
 * or, without an Origin, Sec-Fetch-Site must say same-origin or none (typed or bookmarked). A
 * request with an API key (Authorization) is not a browser's ambient credential and passes.
 */
export function checkSameOrigin(request: FastifyRequest): void {
  if (!UNSAFE_METHODS.has(request.method) || !carriesSessionCookie(request)) return
  const origin = request.headers.origin
  if (origin !== undefined) {
    const own = `${request.protocol}://${request.host}`.toLowerCase()
    const given = origin.toLowerCase()
    if (given === own || given === request.server.publicOrigin?.toLowerCase()) return
    throw new HttpError(403, 'cross_site_request', `A ${request.method} with the session cookie from ${origin === 'null' ? 'an opaque origin' : origin} is refused: only the platform's own pages (${request.server.publicOrigin ?? own}) may write with it. ` +
      'Behind a TLS proxy, set TIERSCOPE_PUBLIC_URL (or TIERSCOPE_TRUST_PROXY) so the platform knows its own address; programs send an API key instead.')
  }
  const site = request.headers['sec-fetch-site']
  if (site === 'same-origin' || site === 'none') return
  throw new HttpError(403, 'cross_site_request', `A ${request.method} with the session cookie needs an Origin header of the platform's own pages (or Sec-Fetch-Site: same-origin); ${site ? `Sec-Fetch-Site is ${site}` : 'neither was sent'}. Programs send an API key instead.`)
}

/**
 * Every route that takes a body checks its caller in `onRequest`, before a byte of the body is
 * read (an unknown caller's 30 MB is never parsed), except those marked `config.anonymous`.
 * The route's handler checks the role as before; this only makes the 401 come first.
 */
export function authenticateBeforeBody(app: FastifyInstance, keys: KeyStore): void {
  app.addHook('onRoute', (route) => {
    const methods = ([] as string[]).concat(route.method)
    if (!methods.some((m) => UNSAFE_METHODS.has(m)) || route.config?.anonymous) return
    const check = async (request: FastifyRequest) => {
      if (UNSAFE_METHODS.has(request.method)) principalOf(request, keys)
    }
    const own = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest]
    route.onRequest = [check, ...own] as typeof route.onRequest
  })
}

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
