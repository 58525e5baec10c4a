// Sign-in for the dashboard: a session in a signed, HttpOnly, SameSite=Strict cookie; and the
// admin's list of users. API keys keep working beside it (Authorization: Bearer …).
// Sign-in is limited per address by @fastify/rate-limit (registered in app.ts) before its body
// is read, and throttled per account and address by the user store (users.ts).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { normalizeIP } from '@fastify/rate-limit'
import { HttpError, principalOf, requireRole, secureCookies, SESSION_COOKIE } from './http.ts'
import type { Platform } from './index.ts'
import { SignInError, USER_ROLES, UserBusy, UserProblem, type User } from './users.ts'

/** The sign-in body is a name and a password: a few hundred bytes. */
const SIGN_IN_BODY_LIMIT = 4 * 1024

/** The failures of one account, over every address, at which the log says it is being guessed at. */
const ALERT_AT = new Set([20, 100, 1000, 10_000])

const userSchema = {
  type: 'object',
  properties: {
    username: { type: 'string' }, display_name: { type: 'string' }, role: { type: 'string' },
    units: { type: 'array', items: { type: 'string' } },
  },
} as const

export async function sessionRoutes(app: FastifyInstance, opts: { platform: Platform }): Promise<void> {
  const { platform } = opts
  const users = platform.users

  /** The signed-in user as the dashboard needs it: who, which role, which units (with names). */
  const describe = (user: Pick<User, 'username' | 'display_name' | 'role' | 'units'>) => ({
    ...user,
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
      anonymous: true,
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
    try {
      const { token, user, expires_at } = await users.signIn(username, password, normalizeIP(request.ip))
      reply.setCookie(SESSION_COOKIE, token, {
        signed: true, httpOnly: true, sameSite: 'strict', path: '/', secure: secureCookies(request),
        maxAge: Math.floor(users.policy.ttlMs / 1000),
      })
      return { user: describe(user), expires_at: new Date(expires_at).toISOString() }
    } catch (err) {
      if (!(err instanceof SignInError)) throw err
      if (err.reason === 'invalid') {
        const failures = users.failuresOf(username)
        if (ALERT_AT.has(failures)) request.log.warn({ username, failures }, `${failures} failed sign-ins for ${JSON.stringify(username)} within ${Math.round(users.policy.lockMs / 60_000)} minutes of each other (over every address): someone may be guessing its password`)
      }
      if (err.reason === 'busy') request.log.warn({ running: users.hashing.running, queued: users.hashing.queued }, 'sign-in refused: the line of password checks is full')
      throw refused(reply, err)
    }
  })

  app.get('/api/v1/session', {
    schema: { tags: ['sign-in'], summary: 'Who is signed in (or whose key this is)' },
  }, async (request: FastifyRequest) => {
    const principal = principalOf(request, platform.keys)
    const user = (principal as { user?: User }).user
    return { user: describe(user ?? { username: principal.key_id, display_name: principal.name, role: principal.role as User['role'], units: principal.units }), via: user ? 'session' : 'key' }
  })

  app.delete('/api/v1/session', {
    // signing out of an ended session still clears its cookie: no credentials needed (no body either)
    bodyLimit: SIGN_IN_BODY_LIMIT,
    config: { anonymous: true },
    schema: { tags: ['sign-in'], summary: 'Sign out: ends the session and clears its cookie', security: [] },
  }, async (request, reply) => {
    const cookie = request.cookies[SESSION_COOKIE]
    const unsigned = cookie ? request.unsignCookie(cookie) : undefined
    if (unsigned?.valid && unsigned.value) await users.signOut(unsigned.value)
    clearCookie(request, reply)
    return reply.code(204).send()
  })

  app.get('/api/v1/users', {
    schema: { tags: ['sign-in'], summary: 'The dashboard\'s users (admin)', response: { 200: { type: 'object', properties: { users: { type: 'array', items: userSchema } } } } },
  }, async (request) => {
    requireRole(request, platform.keys, ['admin'])
    return { users: users.list() }
  })

  app.put<{ Params: { username: string }; Body: { display_name?: string; role: User['role']; units?: string[]; password: string } }>('/api/v1/users/:username', {
    schema: {
      tags: ['sign-in'],
      summary: 'Create a user or replace one\'s role, units and password (admin)',
      params: { type: 'object', properties: { username: { type: 'string' } } },
      body: {
        type: 'object', required: ['role', 'password'], additionalProperties: false,
        properties: {
          display_name: { type: 'string', maxLength: 200 }, role: { type: 'string', enum: [...USER_ROLES] },
          units: { type: 'array', items: { type: 'string' }, maxItems: 1000 }, password: { type: 'string', minLength: 8, maxLength: 1024 },
        },
      },
    },
  }, async (request) => {
    requireRole(request, platform.keys, ['admin'])
    try {
      return { user: await users.put({ username: request.params.username, display_name: request.body.display_name ?? '', role: request.body.role, units: request.body.units ?? [], password: request.body.password }) }
    } catch (err) {
      if (err instanceof UserProblem) throw new HttpError(400, 'invalid_user', err.message)
      if (err instanceof UserBusy) throw new HttpError(503, 'busy', err.message)
      throw err
    }
  })
}
