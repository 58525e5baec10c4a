// Who may do what: each route declares it in its config (`config.access`), and one hook checks it
// for every route before the route's body is read; handlers read the caller from
// `request.principal`. Also the checks every request meets before a route sees it: writes with the
// session cookie only from the platform's own pages, and whether cookies are Secure.
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify'
import type {} from '@fastify/cookie'
import { HttpError } from '../warehouse/http.ts'
import type { KeyStore, Principal, Role } from './keys.ts'

/**
 * What a route asks of its caller.
 * - `roles`: the roles that may call it, or `'anyone'` (no credentials: sign-in, health, the contract).
 * - `scope`: a unit the request names (a query or path parameter) must be one the caller may read
 *   (400 for an unknown unit, 403 for another's); checked after the parameters are validated.
 */
export interface Access {
  roles: readonly Role[] | 'anyone'
  scope?: { unit: `query.${string}` | `params.${string}` }
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route (auth/access.ts); every /api/ and /reports/ route must say. */
    access?: Access
  }
  interface FastifyRequest {
    /** The caller, set by the access hook on every route whose roles are not 'anyone'. */
    principal: Principal
  }
  interface FastifyInstance {
    /** TIERSCOPE_PUBLIC_URL's origin, when set (app.ts). */
    publicOrigin: string | undefined
  }
}

export const READER_ROLES: readonly Role[] = ['joint_meeting', 'unit_leader', 'inspector', 'admin']
export const ADMIN_ONLY: readonly Role[] = ['admin']
/** For routes open to everyone: `config: { access: ANYONE }`. */
export const ANYONE: Access = { roles: 'anyone' }

/** The dashboard's session cookie (signed, HttpOnly, SameSite=Strict). */
export const SESSION_COOKIE = 'tierscope_session'

/** Routes under these prefixes must declare their access: a route that forgets is refused at start-up. */
const DECLARED_PREFIXES = ['/api/', '/reports/']

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/**
 * The one check of who may call what. For every route with `config.access` it adds an `onRequest`
 * hook (it runs before a byte of the body is read: a stranger's 30 MB are never parsed) that finds
 * the caller (401) and checks the role (403), and, for a declared scope, a `preHandler` that checks
 * the unit named (after validation, so a malformed parameter is a 400 first). A route under /api/
 * or /reports/ without `config.access` is an error at start-up: no route is open by oversight.
 */
export function accessControl(app: FastifyInstance, keys: KeyStore): void {
  app.decorateRequest('principal', undefined as unknown as Principal)
  app.addHook('onRoute', (route) => {
    const url = route.url ?? route.path
    const access = route.config?.access
    if (!access) {
      if (DECLARED_PREFIXES.some((p) => url.startsWith(p))) throw new Error(`${String(route.method)} ${url} declares no config.access: say which roles may call it (or ANYONE).`)
      return
    }
    if (access.roles === 'anyone') return
    const roles = access.roles
    prepend(route, 'onRequest', async (request: FastifyRequest) => {
      const principal = principalOf(request, keys)
      // known before the role is checked: a refusal of a known caller is audited (audit.ts)
      request.principal = principal
      if (!roles.includes(principal.role)) {
        throw new HttpError(403, 'forbidden', `A ${principal.role} key cannot do this; it needs one of: ${roles.join(', ')}.`)
      }
    })
    if (access.scope) {
      const [where, name] = access.scope.unit.split('.') as ['query' | 'params', string]
      prepend(route, 'preHandler', async (request: FastifyRequest) => {
        const value = (request[where] as Record<string, unknown> | undefined)?.[name]
        if (typeof value === 'string') requireReadableUnit(request.principal, keys.reference.units, value)
      })
    }
  })
}

function prepend(route: RouteOptions, hook: 'onRequest' | 'preHandler', fn: (request: FastifyRequest) => Promise<void>): void {
  const own = route[hook] === undefined ? [] : Array.isArray(route[hook]) ? route[hook] : [route[hook]]
  route[hook] = [fn, ...own] as typeof route.onRequest
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

/** A unit the caller asks about by id: one that exists (else 400) and that they may read (else 403). */
export function requireReadableUnit(principal: Principal, known: { has(unitId: string): boolean }, unitId: string): void {
  if (!known.has(unitId)) throw new HttpError(400, 'unknown_unit', `unit_id: ${JSON.stringify(unitId)} is not a known unit`)
  const readable = principal.readableUnits()
  if (readable && !readable.includes(unitId)) throw new HttpError(403, 'forbidden', 'This key reads only its own units.')
}

/** Units a reader may see, narrowed by a requested set; undefined = all. */
export function visibleUnits(principal: Principal, requested?: string[]): string[] | undefined {
  const allowed = principal.readableUnits()
  if (allowed === undefined) return requested
  if (requested === undefined) return allowed
  const set = new Set(allowed)
  return requested.filter((u) => set.has(u))
}

/** Whether the session cookie is sent only over HTTPS: the request came over it (behind a proxy: TIERSCOPE_TRUST_PROXY), or TIERSCOPE_PUBLIC_URL is https. */
export function secureCookies(request: FastifyRequest): boolean {
  return request.protocol === 'https' || (request.server.publicOrigin?.startsWith('https:') ?? false)
}

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
