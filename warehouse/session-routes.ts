// Sign-in for the dashboard: a session in a signed, HttpOnly, SameSite=Strict cookie; and the
// admin's list of users. API keys keep working beside it (Authorization: Bearer …).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { HttpError, principalOf, requireRole, SESSION_COOKIE } from './http.ts'
import type { Platform } from './index.ts'
import { SignInError, USER_ROLES, UserProblem, type User } from './users.ts'

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

  const clearCookie = (reply: FastifyReply) => reply.clearCookie(SESSION_COOKIE, { path: '/' })

  app.post<{ Body: { username: string; password: string } }>('/api/v1/session', {
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
    try {
      const { token, user, expires_at } = await users.signIn(request.body.username, request.body.password)
      reply.setCookie(SESSION_COOKIE, token, {
        signed: true, httpOnly: true, sameSite: 'strict', path: '/', secure: request.protocol === 'https',
        maxAge: Math.floor(users.policy.ttlMs / 1000),
      })
      return { user: describe(user), expires_at: new Date(expires_at).toISOString() }
    } catch (err) {
      if (!(err instanceof SignInError)) throw err
      if (err.reason === 'locked') {
        const seconds = Math.max(1, Math.ceil((err.lockedUntil! - Date.now()) / 1000))
        reply.header('retry-after', String(seconds))
        throw new HttpError(423, 'account_locked', `${err.message} Try again in ${Math.ceil(seconds / 60)} minute(s), or ask an administrator.`, { locked_until: new Date(err.lockedUntil!).toISOString() })
      }
      throw new HttpError(401, 'invalid_credentials', err.message)
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
    schema: { tags: ['sign-in'], summary: 'Sign out: ends the session and clears its cookie', security: [] },
  }, async (request, reply) => {
    const cookie = request.cookies[SESSION_COOKIE]
    const unsigned = cookie ? request.unsignCookie(cookie) : undefined
    if (unsigned?.valid && unsigned.value) await users.signOut(unsigned.value)
    clearCookie(reply)
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
      throw err
    }
  })
}
