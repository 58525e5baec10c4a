// HTTP surface of auth: sign-in for the dashboard (a session in a signed, HttpOnly,
// SameSite=Strict cookie; API keys keep working beside it), the admin's users and keys, and the
// audit log. Sign-in is limited per address by @fastify/rate-limit (registered in app.ts) before
// its body is read, and throttled per account and address by the user store (users.ts).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { normalizeIP } from '@fastify/rate-limit'
import { HttpError } from '../warehouse/http.ts'
import { parseTimestamp, toRfc3339 } from '../warehouse/time.ts'
import type { Platform } from '../warehouse/index.ts'
import { ADMIN_ONLY, ANYONE, secureCookies, SESSION_COOKIE } from './access.ts'
import { AUDIT_ACTIONS, type AuditFilter } from './audit.ts'
import { hashToken, LastAdminKeyError, ROLES, type KeyListing, type Role } from './keys.ts'
import { SignInError, USER_ROLES, UserBusy, UserProblem, type User, type UserChange, type UserListing } from './users.ts'

/** The sign-in body is a name and a password: a few hundred bytes. */
const SIGN_IN_BODY_LIMIT = 4 * 1024

/** The failures of one account, over every address, at which the log says it is being guessed at. */
const ALERT_AT = new Set([20, 100, 1000, 10_000])

const userSchema = {
  type: 'object',
  properties: {
    username: { type: 'string' }, display_name: { type: 'string' }, role: { type: 'string' },
    units: { type: 'array', items: { type: 'string' } }, disabled: { type: 'boolean' }, created_at: { type: 'string' },
  },
} as const

const keySchema = {
  type: 'object',
  properties: {
    key_id: { type: 'string' }, name: { type: 'string' }, role: { type: 'string' }, units: { type: 'array', items: { type: 'string' } },
    created_at: { type: 'string' }, last_used_at: { type: ['string', 'null'] }, revoked: { type: 'boolean' }, revoked_at: { type: ['string', 'null'] },
  },
} as const

const auditEntrySchema = {
  type: 'object',
  properties: {
    audit_id: { type: 'string' }, at: { type: 'string' }, action: { type: 'string', enum: [...AUDIT_ACTIONS] }, status: { type: 'integer' },
    actor: { type: 'string', description: 'the key_id, or user:<name> for a signed-in user (for a sign-in, the name tried)' },
    actor_name: { type: 'string' }, role: { type: 'string' }, address: { type: 'string', description: 'the client address (behind a trusted proxy, the one it names)' },
    method: { type: 'string' }, path: { type: 'string' }, target: { type: 'string' },
    details: { type: 'object', additionalProperties: true, description: 'what changed; never a token or a password' },
    request_id: { type: 'string' },
  },
} as const

/** The token hash of the session a request was made with, if it was made with one. */
function sessionHashOf(request: FastifyRequest): string | undefined {
  if (request.headers.authorization) return undefined
  const cookie = request.cookies[SESSION_COOKIE]
  const unsigned = cookie ? request.unsignCookie(cookie) : undefined
  return unsigned?.valid && unsigned.value ? hashToken(unsigned.value) : undefined
}

export async function authRoutes(app: FastifyInstance, opts: { platform: Platform }): Promise<void> {
  const { platform } = opts
  const users = platform.users
  const tz = platform.warehouse.timezone

  /** The signed-in user as the dashboard needs it: who, which role, which units (with names). */
  const describe = (user: Pick<User, 'username' | 'display_name' | 'role' | 'units'>) => ({
    username: user.username, display_name: user.display_name, role: user.role, units: user.units,
    unit_names: Object.fromEntries(user.units.map((u) => [u, platform.reference.units.get(u)?.name ?? u])),
  })

  const clearCookie = (request: FastifyRequest, reply: FastifyReply) =>
    reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'strict', secure: secureCookies(request) })

  /** Unknown, wrong and throttled are one answer: 401 invalid_credentials with retry_after (seconds, 0 = now). */
  const refused = (reply: FastifyReply, err: SignInError): HttpError => {
    const seconds = Math.ceil(err.retryAfterMs / 1000)
    if (seconds > 0) reply.header('retry-after', String(seconds))
    if (err.reason === 'busy') return new HttpError(503, 'sign_in_busy', err.message, { retry_after: seconds })
    const wait = seconds > 0 ? ` The next attempt for this user name from your address is checked in ${seconds} s.` : ''
    return new HttpError(401, 'invalid_credentials', `${err.message}${wait}`, { retry_after: seconds })
  }

  app.post<{ Body: { username: string; password: string } }>('/api/v1/session', {
    bodyLimit: SIGN_IN_BODY_LIMIT,
    config: {
      access: ANYONE,
      audit: 'sign_in',
      // per client address (request.ip: behind a proxy, TIERSCOPE_TRUST_PROXY makes it the client's)
      rateLimit: { max: users.policy.signInsPerMinute, timeWindow: 60_000 },
    },
    schema: {
      tags: ['sign-in'],
      summary: 'Sign in with a user name and password: sets the session cookie',
      security: [],
      body: {
        type: 'object', required: ['username', 'password'], additionalProperties: false,
        properties: { username: { type: 'string', minLength: 1, maxLength: 64 }, password: { type: 'string', minLength: 1, maxLength: 1024 } },
      },
    },
  }, async (request, reply) => {
    const { username, password } = request.body
    // the name tried is the actor of a failed sign-in too (never the password)
    request.audit = { actor: `user:${username}`, target: username }
    try {
      const { token, user, expires_at } = await users.signIn(username, password, normalizeIP(request.ip))
      request.audit = { actor: `user:${username}`, actor_name: user.display_name, role: user.role, target: username }
      reply.setCookie(SESSION_COOKIE, token, {
        signed: true, httpOnly: true, sameSite: 'strict', path: '/', secure: secureCookies(request),
        maxAge: Math.floor(users.policy.ttlMs / 1000),
      })
      return { user: describe(user), expires_at: new Date(expires_at).toISOString() }
    } catch (err) {
      if (!(err instanceof SignInError)) throw err
      request.audit.details = { reason: err.reason }
      if (err.reason === 'invalid') {
        const failures = users.failuresOf(username)
        if (ALERT_AT.has(failures)) request.log.warn({ username, failures }, `${failures} failed sign-ins for ${JSON.stringify(username)} within ${Math.round(users.policy.lockMs / 60_000)} minutes of each other (over every address): someone may be guessing its password`)
      }
      if (err.reason === 'busy') request.log.warn({ running: users.hashing.running, queued: users.hashing.queued }, 'sign-in refused: the line of password checks is full')
      throw refused(reply, err)
    }
  })

  app.get('/api/v1/session', {
    config: { access: { roles: ROLES } },
    schema: { tags: ['sign-in'], summary: 'Who is signed in (or whose key this is)' },
  }, async (request: FastifyRequest) => {
    const principal = request.principal
    const user = (principal as { user?: User }).user
    return { user: describe(user ?? { username: principal.key_id, display_name: principal.name, role: principal.role as User['role'], units: principal.units }), via: user ? 'session' : 'key' }
  })

  app.delete('/api/v1/session', {
    // signing out of an ended session still clears its cookie: no credentials needed (no body either)
    bodyLimit: SIGN_IN_BODY_LIMIT,
    config: { access: ANYONE, audit: 'sign_out' },
    schema: { tags: ['sign-in'], summary: 'Sign out: ends the session and clears its cookie', security: [] },
  }, async (request, reply) => {
    const cookie = request.cookies[SESSION_COOKIE]
    const unsigned = cookie ? request.unsignCookie(cookie) : undefined
    if (unsigned?.valid && unsigned.value) {
      const principal = users.principal(unsigned.value)
      if (principal) request.audit = { actor: principal.key_id, actor_name: principal.name, role: principal.role, target: principal.user.username }
      await users.signOut(unsigned.value)
    }
    clearCookie(request, reply)
    return reply.code(204).send()
  })

  const userListing = (u: UserListing) => ({ ...u, created_at: toRfc3339(u.created_at, tz) })

  app.get('/api/v1/users', {
    config: { access: { roles: ADMIN_ONLY } },
    schema: { tags: ['sign-in'], summary: 'The dashboard\'s users (admin): name, role, units, disabled; never a password', response: { 200: { type: 'object', properties: { users: { type: 'array', items: userSchema } } } } },
  }, async () => ({ users: users.list().map(userListing) }))

  app.put<{ Params: { username: string }; Body: Omit<UserChange, 'username'> }>('/api/v1/users/:username', {
    config: { access: { roles: ADMIN_ONLY }, audit: 'user.change' },
    schema: {
      tags: ['sign-in'],
      summary: 'Create a user, or change one\'s role, units, password or disabled (admin)',
      description: 'A new user needs `role` and `password`; for a user that exists, the fields sent replace the stored ones. '
        + 'A new password ends the user\'s other sessions at once; `disabled: true` ends all of them and refuses their sign-ins until `disabled: false`.',
      params: { type: 'object', properties: { username: { type: 'string' } } },
      body: {
        type: 'object', additionalProperties: false, minProperties: 1,
        properties: {
          display_name: { type: 'string', maxLength: 200 }, role: { type: 'string', enum: [...USER_ROLES] },
          units: { type: 'array', items: { type: 'string' }, maxItems: 1000 }, password: { type: 'string', minLength: 8, maxLength: 1024 },
          disabled: { type: 'boolean' },
        },
      },
      response: { 200: { type: 'object', properties: { user: userSchema, sessions_ended: { type: 'integer' } } } },
    },
  }, async (request) => {
    const { username } = request.params
    // the admin's own session survives their own new password
    const keep = request.principal.key_id === `user:${username}` ? sessionHashOf(request) : undefined
    try {
      const { user, sessions_ended, changed } = await users.put({ ...request.body, username }, keep)
      const { password: _password, ...shown } = request.body
      request.audit = { target: username, details: { changed, ...shown, ...(sessions_ended ? { sessions_ended } : {}) } }
      return { user: userListing(user), sessions_ended }
    } catch (err) {
      if (err instanceof UserProblem) throw new HttpError(400, 'invalid_user', err.message)
      if (err instanceof UserBusy) throw new HttpError(503, 'busy', err.message)
      throw err
    }
  })

  app.post<{ Body: { name: string; role: Role; units?: string[] } }>('/api/v1/keys', {
    config: { access: { roles: ADMIN_ONLY }, audit: 'key.create' },
    schema: {
      tags: ['keys'],
      summary: 'Make an API key (admin); the token is shown once',
      body: {
        type: 'object',
        required: ['name', 'role'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 200 },
          role: { type: 'string', enum: [...ROLES] },
          units: { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 1000 },
        },
      },
    },
  }, async (request, reply) => {
    const { name, role } = request.body
    const units = request.body.units ?? []
    const unknown = units.filter((u) => !platform.reference.units.has(u))
    if (unknown.length) throw new HttpError(400, 'unknown_unit', `units: ${unknown.slice(0, 5).join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not a known unit_id`)
    if ((role === 'unit_leader' || role === 'source') && units.length === 0) {
      throw new HttpError(400, 'invalid_parameter', `units: a ${role} key needs at least one unit (it covers those units and the units below them)`)
    }
    const { token, key_id } = await platform.keys.create({ name, role, units })
    request.audit = { target: key_id, details: { name, role, units } }
    return reply.code(201).send({ token, key_id, name, role, units })
  })

  // keys as an admin sees them: never a token or its hash; times in the district's zone
  const keyListing = (k: KeyListing) => ({
    key_id: k.key_id, name: k.name, role: k.role, units: k.units,
    created_at: toRfc3339(k.created_at, tz), last_used_at: k.last_used_at === null ? null : toRfc3339(k.last_used_at, tz),
    revoked: k.revoked, revoked_at: k.revoked_at === null ? null : toRfc3339(k.revoked_at, tz),
  })

  app.get('/api/v1/keys', {
    config: { access: { roles: ADMIN_ONLY } },
    schema: {
      tags: ['keys'], summary: 'The API keys (admin): key_id, name, role, units, created, last used, revoked; never a token',
      response: { 200: { type: 'object', properties: { keys: { type: 'array', items: keySchema } } } },
    },
  }, async () => ({ keys: platform.keys.list().map(keyListing) }))

  app.delete<{ Params: { key_id: string } }>('/api/v1/keys/:key_id', {
    config: { access: { roles: ADMIN_ONLY }, audit: 'key.revoke' },
    schema: {
      tags: ['keys'],
      summary: 'Revoke an API key (admin): refused from its next request on; the last admin key cannot be revoked',
      params: { type: 'object', properties: { key_id: { type: 'string', minLength: 1, maxLength: 200 } } },
    },
  }, async (request) => {
    request.audit = { target: request.params.key_id }
    let revoked: KeyListing | undefined
    try {
      revoked = await platform.keys.revoke(request.params.key_id)
    } catch (err) {
      if (err instanceof LastAdminKeyError) throw new HttpError(409, err.code, err.message)
      throw err
    }
    if (!revoked) throw new HttpError(404, 'not_found', `There is no key ${JSON.stringify(request.params.key_id)}; GET /api/v1/keys lists them.`)
    request.audit.details = { name: revoked.name, role: revoked.role, units: revoked.units }
    return keyListing(revoked)
  })

  // a key's last use is kept in memory and written through at most once a minute: the rest at close
  app.addHook('onClose', async () => {
    await platform.keys.flushUsage().catch((err: unknown) => app.log.warn({ err }, 'the last use of keys could not be written'))
  })

  app.get<{ Querystring: { actor?: string; action?: string; from?: string; to?: string; limit?: number; cursor?: string } }>('/api/v1/audit', {
    config: { access: { roles: ADMIN_ONLY } },
    schema: {
      tags: ['audit'],
      summary: 'The audit log (admin), newest first: sign-ins, key, user, settings, scheme, reference data and calendar changes, publications, document downloads',
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          actor: { type: 'string', minLength: 1, maxLength: 200, description: 'a key_id or a user name' },
          action: { type: 'string', enum: [...AUDIT_ACTIONS] },
          from: { type: 'string', description: 'RFC 3339 timestamp or date (inclusive)' },
          to: { type: 'string', description: 'RFC 3339 timestamp or date (exclusive; a date: up to the end of that day)' },
          limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          cursor: { type: 'string', description: 'next_cursor of the previous page' },
        },
      },
      response: { 200: { type: 'object', properties: { rows: { type: 'array', items: auditEntrySchema }, next_cursor: { type: ['string', 'null'] } } } },
    },
  }, async (request) => {
    const q = request.query
    const limit = q.limit ?? 100
    const filter: AuditFilter = { actor: q.actor, action: q.action, from: momentOf(q.from, 'from', tz, false), to: momentOf(q.to, 'to', tz, true), limit: limit + 1 }
    if (filter.from !== undefined && filter.to !== undefined && filter.from >= filter.to) throw new HttpError(400, 'invalid_parameter', `from (${q.from}) is not before to (${q.to})`)
    if (q.cursor) filter.before = decodeAuditCursor(q.cursor)
    const rows = await platform.audit.list(filter)
    const page = rows.slice(0, limit)
    const last = page[page.length - 1]
    return {
      rows: page.map(({ at_ms: _ms, ...r }) => r),
      next_cursor: rows.length > limit && last ? Buffer.from(JSON.stringify({ at: last.at_ms, audit_id: last.audit_id })).toString('base64url') : null,
    }
  })
}

/** ?from= / ?to= as epoch ms: an RFC 3339 timestamp, or a date (its start; for `to`, the next day's start). */
function momentOf(value: string | undefined, name: string, tz: string, endOfDay: boolean): number | undefined {
  if (value === undefined || value === '') return undefined
  const isDate = /^\d{4}-\d{2}-\d{2}$/.test(value)
  const ms = parseTimestamp(isDate ? `${value}T00:00:00` : value, tz)
  if (ms === undefined) throw new HttpError(400, 'invalid_parameter', `${name}: expected an RFC 3339 timestamp such as 2026-03-01T08:00:00+08:00 or a date such as 2026-03-01, got ${JSON.stringify(value)}`)
  return isDate && endOfDay ? ms + 24 * 3600_000 : ms
}

function decodeAuditCursor(s: string): { at: number; audit_id: string } {
  try {
    const c = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as { at: unknown; audit_id: unknown }
    if (typeof c.at === 'number' && typeof c.audit_id === 'string' && /^[0-9a-f-]{36}$/.test(c.audit_id)) return { at: c.at, audit_id: c.audit_id }
  } catch {
    // fall through to the error below
  }
  throw new HttpError(400, 'invalid_parameter', 'cursor: expected the next_cursor of a previous page, unchanged')
}
