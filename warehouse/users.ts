// Dashboard users and their sessions. Passwords are hashed with scrypt (memory-hard, in node:crypto:
// no native add-on to build); a session is a random token in a signed cookie, of which only the
// SHA-256 is stored. Repeated failures lock the account for a while.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'
import type { Warehouse } from './client.ts'
import { queryRows } from './client.ts'
import { hashToken, principalFor, type KeyStore, type Principal, type Role } from './access.ts'
import type { ReferenceData } from './reference.ts'
import { epochSeconds, nowSeconds } from './time.ts'

export const USER_ROLES = ['joint_meeting', 'unit_leader', 'inspector', 'admin'] as const satisfies readonly Role[]
export type UserRole = (typeof USER_ROLES)[number]

export interface User {
  username: string
  display_name: string
  role: UserRole
  units: string[]
}

interface StoredUser extends User {
  password_hash: string
  failed_logins: number
  /** epoch ms; 0 = not locked */
  locked_until: number
  disabled: number
  created_at: number
}

interface Session {
  username: string
  expires_at: number
}

export interface SessionPolicy {
  /** How long a session lasts after sign-in. */
  ttlMs: number
  /** Failed sign-ins in a row that lock an account… */
  maxFailures: number
  /** …for this long. */
  lockMs: number
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = { ttlMs: 8 * 3600_000, maxFailures: 5, lockMs: 15 * 60_000 }

// scrypt needs 128·N·r bytes: N = 2^16, r = 8 is 64 MiB per hash, about 0.2 s on one core
const SCRYPT: ScryptOptions = { N: 2 ** 16, r: 8, p: 1, maxmem: 128 * 1024 * 1024 }
const KEY_LENGTH = 32

function scryptAsync(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, KEY_LENGTH, options, (err, key) => (err ? reject(err) : resolve(key))))
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await scryptAsync(password, salt, SCRYPT)
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$')
  if (scheme !== 'scrypt' || !salt || !key) return false
  const expected = Buffer.from(key, 'base64')
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64'), { N: Number(n), r: Number(r), p: Number(p), maxmem: SCRYPT.maxmem })
  return actual.length === expected.length && timingSafeEqual(actual, expected)
}

/** Why a sign-in was refused: the same answer for an unknown user and a wrong password. */
export class SignInError extends Error {
  constructor(
    readonly reason: 'invalid' | 'locked',
    readonly lockedUntil?: number,
  ) {
    super(reason === 'locked' ? 'This account is locked after repeated failed sign-ins.' : 'Wrong user name or password.')
  }
}

export class UserProblem extends Error {}

export class UserStore {
  private users = new Map<string, StoredUser>()
  private sessions = new Map<string, Session>()
  private lastVersion = 0
  // a hash to compare against when the user does not exist, so both cases take the same time
  private decoy: Promise<string> | undefined

  constructor(
    private readonly warehouse: Warehouse,
    private readonly reference: ReferenceData,
    keys: KeyStore,
    readonly policy: SessionPolicy = DEFAULT_SESSION_POLICY,
  ) {
    keys.sessions = (token) => this.principal(token)
  }

  /** The key that signs session cookies: TIERSCOPE_SESSION_SECRET, else one made once and kept in the warehouse. */
  secret = ''

  async load(secretFromEnv?: string): Promise<void> {
    if (secretFromEnv) this.secret = secretFromEnv
    else {
      const [row] = await queryRows<{ value: string }>(this.warehouse, `SELECT value FROM meta FINAL WHERE key = 'session_secret'`)
      this.secret = row?.value ?? randomBytes(32).toString('base64url')
      if (!row) await this.warehouse.client.insert({ table: 'meta', format: 'JSONEachRow', values: [{ key: 'session_secret', value: this.secret, updated_at: nowSeconds() }] })
    }
    const users = await queryRows<Omit<StoredUser, 'locked_until' | 'created_at'> & { locked_until: string | null; created_at: string }>(
      this.warehouse,
      `SELECT username, display_name, role, units, password_hash, failed_logins,
         toUnixTimestamp64Milli(locked_until) AS locked_until, disabled, toUnixTimestamp64Milli(created_at) AS created_at
       FROM users FINAL`,
    )
    this.users = new Map(users.map((u) => [u.username, { ...u, failed_logins: Number(u.failed_logins), locked_until: Number(u.locked_until ?? 0), disabled: Number(u.disabled), created_at: Number(u.created_at) }]))
    const sessions = await queryRows<{ token_hash: string; username: string; expires_at: string }>(
      this.warehouse,
      `SELECT token_hash, username, toUnixTimestamp64Milli(expires_at) AS expires_at FROM sessions FINAL
       WHERE revoked = 0 AND expires_at > now64(3)`,
    )
    this.sessions = new Map(sessions.map((s) => [s.token_hash, { username: s.username, expires_at: Number(s.expires_at) }]))
  }

  list(): User[] {
    return [...this.users.values()].map(publicUser).sort((a, b) => a.username.localeCompare(b.username))
  }

  get(username: string): User | undefined {
    const u = this.users.get(username)
    return u ? publicUser(u) : undefined
  }

  /** Creates a user, or replaces one's role, units and password. */
  async put(user: User & { password: string }): Promise<User> {
    if (!/^[A-Za-z0-9._@-]{1,64}$/.test(user.username)) throw new UserProblem('username: 1–64 letters, digits, ".", "_", "@" or "-"')
    if (!USER_ROLES.includes(user.role)) throw new UserProblem(`role: one of ${USER_ROLES.join(', ')}`)
    if (typeof user.password !== 'string' || user.password.length < 8) throw new UserProblem('password: at least 8 characters')
    const units = [...new Set(user.units ?? [])]
    for (const u of units) if (!this.reference.units.has(u)) throw new UserProblem(`units: ${JSON.stringify(u)} is not a known unit_id`)
    if (user.role === 'unit_leader' && units.length === 0) throw new UserProblem('units: a unit_leader needs the unit(s) they lead')
    const previous = this.users.get(user.username)
    const stored: StoredUser = {
      username: user.username, display_name: user.display_name || user.username, role: user.role, units,
      password_hash: await hashPassword(user.password), failed_logins: 0, locked_until: 0, disabled: 0,
      created_at: previous?.created_at ?? Date.now(),
    }
    await this.write(stored)
    return publicUser(stored)
  }

  /** The demo's users: created once, with the password given. */
  async ensure(user: User & { password: string }): Promise<void> {
    if (!this.users.has(user.username)) await this.put(user)
  }

  /** Checks a password; returns a new session token or throws SignInError. */
  async signIn(username: string, password: string, now = Date.now()): Promise<{ token: string; user: User; expires_at: number }> {
    const user = this.users.get(username)
    if (!user || user.disabled) {
      this.decoy ??= hashPassword(randomBytes(12).toString('hex'))
      await verifyPassword(password, await this.decoy)
      throw new SignInError('invalid')
    }
    if (user.locked_until > now) throw new SignInError('locked', user.locked_until)
    if (!(await verifyPassword(password, user.password_hash))) {
      // a lock that has run out starts a fresh count
      const failures = (user.locked_until > 0 ? 0 : user.failed_logins) + 1
      const locked = failures >= this.policy.maxFailures
      await this.write({ ...user, failed_logins: locked ? 0 : failures, locked_until: locked ? now + this.policy.lockMs : 0 })
      if (locked) throw new SignInError('locked', now + this.policy.lockMs)
      throw new SignInError('invalid')
    }
    if (user.failed_logins > 0 || user.locked_until > 0) await this.write({ ...user, failed_logins: 0, locked_until: 0 })
    const token = randomBytes(32).toString('base64url')
    const session: Session = { username, expires_at: now + this.policy.ttlMs }
    await this.writeSession(hashToken(token), session, now, 0)
    return { token, user: publicUser(user), expires_at: session.expires_at }
  }

  async signOut(token: string): Promise<void> {
    const hash = hashToken(token)
    const session = this.sessions.get(hash)
    if (!session) return
    this.sessions.delete(hash)
    await this.writeSession(hash, session, Date.now(), 1)
  }

  /** The signed-in user behind a session token, or undefined when it is unknown, ended or expired. */
  principal(token: string, now = Date.now()): (Principal & { user: User }) | undefined {
    const hash = hashToken(token)
    const session = this.sessions.get(hash)
    if (!session) return undefined
    if (session.expires_at <= now) {
      this.sessions.delete(hash) // the row stays until the table's TTL drops it
      return undefined
    }
    const user = this.users.get(session.username)
    if (!user || user.disabled) return undefined
    return { ...principalFor({ key_id: `user:${user.username}`, name: user.display_name, role: user.role, units: user.units }, this.reference), user: publicUser(user) }
  }

  private nextVersion(): number {
    this.lastVersion = Math.max(this.lastVersion + 1, Date.now() * 1000)
    return this.lastVersion
  }

  private async write(user: StoredUser): Promise<void> {
    await this.warehouse.client.insert({
      table: 'users',
      format: 'JSONEachRow',
      values: [{
        ...user, locked_until: user.locked_until ? epochSeconds(user.locked_until) : null, created_at: epochSeconds(user.created_at), version: this.nextVersion(),
      }],
    })
    this.users.set(user.username, user)
  }

  private async writeSession(hash: string, session: Session, now: number, revoked: 0 | 1): Promise<void> {
    await this.warehouse.client.insert({
      table: 'sessions',
      format: 'JSONEachRow',
      values: [{ token_hash: hash, username: session.username, created_at: epochSeconds(now), expires_at: epochSeconds(session.expires_at), revoked, version: this.nextVersion() }],
    })
    if (!revoked) this.sessions.set(hash, session)
  }
}

function publicUser(u: StoredUser): User {
  return { username: u.username, display_name: u.display_name, role: u.role, units: u.units }
}
