// Dashboard users and their sessions. Passwords are hashed with scrypt (memory-hard, in node:crypto:
// no native add-on to build); a session is a random token in a signed cookie, of which only the
// SHA-256 is stored. Failed sign-ins are counted in memory per account and address and per
// address, and make the next attempt from there wait longer and longer (never a lock for
// everyone); at most a few hashes are computed at once, the rest wait in line. A disabled user
// or a new password ends the user's sessions at once (put).
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'
import type { Warehouse } from '../warehouse/client.ts'
import { queryRows } from '../warehouse/client.ts'
import { hashToken, principalFor, type KeyStore, type Principal, type Role } from './keys.ts'
import type { ReferenceData } from '../warehouse/reference.ts'
import { epochSeconds, nowSeconds } from '../warehouse/time.ts'

export const USER_ROLES = ['joint_meeting', 'unit_leader', 'inspector', 'admin'] as const satisfies readonly Role[]
export type UserRole = (typeof USER_ROLES)[number]

export interface User {
  username: string
  display_name: string
  role: UserRole
  units: string[]
}

/** A user as an admin sees them (GET /api/v1/users). */
export interface UserListing extends User {
  disabled: boolean
  /** epoch ms */
  created_at: number
}

/** PUT /api/v1/users/{username}: a new user gives role and password; a change gives what changes. */
export interface UserChange {
  username: string
  display_name?: string
  role?: UserRole
  units?: string[]
  password?: string
  disabled?: boolean
}

interface StoredUser extends User {
  password_hash: string
  /** Kept in the table's shape (migration 6); failures are counted in memory now (SignInThrottle), so these stay 0. */
  failed_logins: number
  /** epoch ms; 0. Kept in the table's shape, no longer read. */
  locked_until: number
  disabled: number
  created_at: number
  /** the row's version (the warehouse's ReplacingMergeTree order): a change read from another process applies only when newer */
  version?: number
}

interface Session {
  username: string
  expires_at: number
}

export interface SessionPolicy {
  /** How long a session lasts after sign-in. */
  ttlMs: number
  /** Failed sign-ins for one account from one address that are checked without waiting… */
  maxFailures: number
  /** …after which each further attempt from there waits twice as long as the one before, up to this long;
   *  and how long failures are remembered after the wait they led to has run out. */
  lockMs: number
  /** The first wait (after maxFailures), doubled with each further failure. */
  baseDelayMs: number
  /** Failed sign-ins from one address, over all accounts, before its attempts wait (a guesser trying many names). */
  addressFailures: number
  /** Password hashes computed at once; the others wait in line (scrypt is 64 MiB and ~0.2 s of a core each). */
  hashConcurrency: number
  /** Sign-ins waiting in that line beyond which new ones are turned away (503) rather than queued. */
  hashQueue: number
  /** Sign-in requests per minute from one address (@fastify/rate-limit on POST /api/v1/session). */
  signInsPerMinute: number
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = {
  ttlMs: 8 * 3600_000,
  maxFailures: 5,
  lockMs: 15 * 60_000,
  baseDelayMs: 1000,
  // a district office signs in from one NAT address: generous per address, strict per account and address
  addressFailures: 30,
  hashConcurrency: 2,
  hashQueue: 64,
  signInsPerMinute: 30,
}

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

/** The same work as checking a password of a user that exists (today's parameters), answering no. */
async function decoyCheck(password: string): Promise<false> {
  await scryptAsync(password, randomBytes(16), SCRYPT)
  return false
}

/**
 * Why a sign-in was refused. `invalid` (unknown user, wrong password) and `throttled` (not checked:
 * too many failures from this address) are answered alike, and an unknown name is counted and
 * throttled exactly like a known one, so neither tells whether the account exists.
 * `retryAfterMs`: how long until the next attempt for this account from this address is checked.
 */
export class SignInError extends Error {
  constructor(
    readonly reason: 'invalid' | 'throttled' | 'busy',
    readonly retryAfterMs = 0,
  ) {
    super(reason === 'throttled'
      ? 'Not checked: too many failed sign-ins for this user name from your address.'
      : reason === 'busy' ? 'Too many sign-ins at once; try again in a few seconds.' : 'Wrong user name or password.')
  }
}

interface FailureEntry {
  /** failures (attempts in flight count as failures until they succeed) */
  failures: number
  /** epoch ms of the last one */
  last: number
  /** epoch ms before which the next attempt is not checked */
  nextAt: number
}

/**
 * Failures per key with a growing wait: the first `free` are free, then `base`, 2·base, 4·base, …
 * up to `max`. An attempt is counted *before* its password is checked (`begin`, synchronous, so
 * JavaScript's single thread makes it atomic: a concurrent burst sees every earlier attempt of
 * the burst), and taken back if it succeeds. Entries are forgotten `max` after their wait ran
 * out; at most `capacity` are kept (the least recently failed go first).
 */
export class FailureCounter {
  private entries = new Map<string, FailureEntry>()

  constructor(
    private readonly free: number,
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly capacity = 100_000,
  ) {}

  private live(key: string, now: number): FailureEntry | undefined {
    const e = this.entries.get(key)
    if (e && now > Math.max(e.nextAt, e.last) + this.maxMs) {
      this.entries.delete(key)
      return undefined
    }
    return e
  }

  /** Milliseconds until an attempt for `key` is checked; 0 = now. */
  waitMs(key: string, now: number): number {
    const e = this.live(key, now)
    return e ? Math.max(0, e.nextAt - now) : 0
  }

  failures(key: string, now: number): number {
    return this.live(key, now)?.failures ?? 0
  }

  /** Counts an attempt as a failure now (undone by `succeeded`). */
  begin(key: string, now: number): void {
    const e = this.live(key, now) ?? { failures: 0, last: now, nextAt: 0 }
    e.failures += 1
    e.last = now
    const over = e.failures - this.free
    e.nextAt = over >= 0 ? now + Math.min(this.maxMs, this.baseMs * 2 ** Math.min(over, 40)) : 0
    this.entries.delete(key) // re-inserted last: Map order is then least recently failed first
    this.entries.set(key, e)
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!)
  }

  /** The attempt begun succeeded: it was no failure. */
  succeeded(key: string, now: number, forgetAll: boolean): void {
    const e = this.live(key, now)
    if (!e) return
    if (forgetAll || e.failures <= 1) {
      this.entries.delete(key)
      return
    }
    e.failures -= 1
    if (e.failures < this.free) e.nextAt = 0
  }
}

/** At most `limit` tasks at once; up to `queue` more wait in line, beyond that `run` refuses at once. */
export class WorkLimiter {
  private active = 0
  private waiting: Array<() => void> = []

  constructor(
    readonly limit: number,
    readonly queue: number,
  ) {}

  get running(): number {
    return this.active
  }

  get queued(): number {
    return this.waiting.length
  }

  /** undefined when the line is full */
  async run<T>(task: () => Promise<T>): Promise<T | undefined> {
    if (this.active >= this.limit) {
      if (this.waiting.length >= this.queue) return undefined
      await new Promise<void>((resolve) => this.waiting.push(resolve))
    } else this.active += 1
    try {
      return await task()
    } finally {
      const next = this.waiting.shift()
      if (next) next() // the slot passes straight to the next in line
      else this.active -= 1
    }
  }
}

/** Sign-in attempts refused before any hashing work, per account and address and per address. */
export class SignInThrottle {
  readonly byAccountAndAddress: FailureCounter
  readonly byAddress: FailureCounter
  /** every account's failures over all addresses: only for the log (a lock for everyone is what this design avoids) */
  readonly byAccount: FailureCounter

  constructor(policy: SessionPolicy) {
    this.byAccountAndAddress = new FailureCounter(policy.maxFailures, policy.baseDelayMs, policy.lockMs)
    this.byAddress = new FailureCounter(policy.addressFailures, policy.baseDelayMs, policy.lockMs)
    this.byAccount = new FailureCounter(Number.MAX_SAFE_INTEGER, policy.baseDelayMs, policy.lockMs)
  }

  static pair(username: string, address: string): string {
    return `${address}\u0000${username}`
  }

  waitMs(username: string, address: string, now: number): number {
    return Math.max(this.byAccountAndAddress.waitMs(SignInThrottle.pair(username, address), now), this.byAddress.waitMs(address, now))
  }
}

export class UserProblem extends Error {}

/** The password could not be hashed now: the line of sign-ins waiting for a hash is full. */
export class UserBusy extends Error {
  constructor() {
    super('The server is busy checking sign-ins; try again in a few seconds.')
  }
}

/** How long a session ended here is remembered: longer than any sweep's lookback (auth/index.ts, 60 s). */
const ENDED_KEPT_MS = 10 * 60_000

export class UserStore {
  private users = new Map<string, StoredUser>()
  private sessions = new Map<string, Session>()
  /**
   * Sessions this process ended (signed out, a new password, disabled), by when: a sweep whose
   * read began before the end was written must not take them back (kept for the sweep's lookback).
   */
  private endedHere = new Map<string, number>()

  /** A session ended here; those ended longer ago than any sweep reads back are forgotten (also where no sweep runs). */
  private noteEnded(hash: string, at: number): void {
    for (const [h, t] of this.endedHere) if (t < at - ENDED_KEPT_MS) this.endedHere.delete(h)
    this.endedHere.set(hash, at)
  }
  private lastVersion = 0
  /** failures per account and address, per address (in memory, this process) */
  readonly throttle: SignInThrottle
  /** every scrypt computation goes through this line */
  readonly hashing: WorkLimiter
  /** What sign-in has done since start: passwords checked (scrypt runs), attempts refused before any check. */
  readonly stats = { checked: 0, throttled: 0, busy: 0 }

  constructor(
    private readonly warehouse: Warehouse,
    private readonly reference: ReferenceData,
    keys: KeyStore,
    readonly policy: SessionPolicy = DEFAULT_SESSION_POLICY,
  ) {
    keys.sessions = (token) => this.principal(token)
    this.throttle = new SignInThrottle(policy)
    this.hashing = new WorkLimiter(policy.hashConcurrency, policy.hashQueue)
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
    this.users = new Map((await this.readUsers()).map((u) => [u.username, u]))
    const sessions = await queryRows<{ token_hash: string; username: string; expires_at: string }>(
      this.warehouse,
      `SELECT token_hash, username, toUnixTimestamp64Milli(expires_at) AS expires_at FROM sessions FINAL
       WHERE revoked = 0 AND expires_at > now64(3)`,
    )
    this.sessions = new Map(sessions.map((s) => [s.token_hash, { username: s.username, expires_at: Number(s.expires_at) }]))
  }

  /** Every user as an admin sees them: never a password or its hash. */
  private async readUsers(minVersion?: number): Promise<StoredUser[]> {
    const rows = await queryRows<Omit<StoredUser, 'locked_until' | 'created_at' | 'version'> & { locked_until: string | null; created_at: string; version: string }>(
      this.warehouse,
      `SELECT username, display_name, role, units, password_hash, failed_logins,
         toUnixTimestamp64Milli(locked_until) AS locked_until, disabled, toUnixTimestamp64Milli(created_at) AS created_at, version
       FROM users FINAL ${minVersion === undefined ? '' : 'WHERE version > {min_version:UInt64}'}`,
      minVersion === undefined ? {} : { min_version: minVersion },
    )
    return rows.map((u) => ({ ...u, failed_logins: Number(u.failed_logins), locked_until: Number(u.locked_until ?? 0), disabled: Number(u.disabled), created_at: Number(u.created_at), version: Number(u.version) }))
  }

  /**
   * What other processes on the same warehouse changed since `sinceMs` (give a lookback: their
   * clocks may differ a little): users changed there (disabled, a new password), sessions begun
   * and sessions ended there are applied here. Applying a change twice changes nothing, and a user row applies only
   * when newer than the one held, so a sweep never undoes a later change made here.
   */
  async sweep(sinceMs: number): Promise<void> {
    for (const u of await this.readUsers(sinceMs * 1000)) {
      const held = this.users.get(u.username)
      if (!held || (u.version ?? 0) > (held.version ?? 0)) this.users.set(u.username, u)
    }
    const changed = await queryRows<{ token_hash: string; username: string; expires_at: string; revoked: number }>(
      this.warehouse,
      // (an ended session's row is written when it ends: its created_at is that moment)
      `SELECT token_hash, username, toUnixTimestamp64Milli(expires_at) AS expires_at, revoked FROM sessions FINAL
       WHERE created_at >= fromUnixTimestamp64Milli({since:Int64})`,
      { since: sinceMs },
    )
    for (const [hash, at] of this.endedHere) if (at < sinceMs) this.endedHere.delete(hash)
    for (const c of changed) {
      if (Number(c.revoked) !== 0) {
        this.sessions.delete(c.token_hash)
      } else if (!this.sessions.has(c.token_hash) && !this.endedHere.has(c.token_hash) && Number(c.expires_at) > Date.now()) {
        // a sign-in on another process: its cookie is good here too from this sweep on
        this.sessions.set(c.token_hash, { username: c.username, expires_at: Number(c.expires_at) })
      }
    }
  }

  list(): UserListing[] {
    return [...this.users.values()].map(listedUser).sort((a, b) => a.username.localeCompare(b.username))
  }

  get(username: string): UserListing | undefined {
    const u = this.users.get(username)
    return u ? listedUser(u) : undefined
  }

  /**
   * Creates a user (role and password required), or changes one: the fields given replace the
   * stored ones, the others stay. A new password ends the user's sessions but `keepSession` (the
   * token hash of the session that made the change, when it is the user's own); disabling ends
   * them all. Both are stored before the answer, and refused from the next request on.
   */
  async put(change: UserChange, keepSession?: string): Promise<{ user: UserListing; sessions_ended: number; changed: string[] }> {
    if (!/^[A-Za-z0-9._@-]{1,64}$/.test(change.username)) throw new UserProblem('username: 1–64 letters, digits, ".", "_", "@" or "-"')
    const previous = this.users.get(change.username)
    const role = change.role ?? previous?.role
    if (role === undefined) throw new UserProblem(`role: a new user needs one (${USER_ROLES.join(', ')})`)
    if (!USER_ROLES.includes(role)) throw new UserProblem(`role: one of ${USER_ROLES.join(', ')}`)
    if (change.password === undefined && !previous) throw new UserProblem('password: a new user needs one (at least 8 characters)')
    if (change.password !== undefined && (typeof change.password !== 'string' || change.password.length < 8)) throw new UserProblem('password: at least 8 characters')
    const units = [...new Set(change.units ?? previous?.units ?? [])]
    for (const u of units) if (!this.reference.units.has(u)) throw new UserProblem(`units: ${JSON.stringify(u)} is not a known unit_id`)
    if (role === 'unit_leader' && units.length === 0) throw new UserProblem('units: a unit_leader needs the unit(s) they lead')
    const disabled = change.disabled === undefined ? (previous?.disabled ?? 0) : change.disabled ? 1 : 0
    const stored: StoredUser = {
      username: change.username,
      display_name: change.display_name || previous?.display_name || change.username,
      role, units,
      password_hash: change.password !== undefined ? await this.hash(change.password) : previous!.password_hash,
      failed_logins: 0, locked_until: 0, disabled,
      created_at: previous?.created_at ?? Date.now(),
    }
    const changed = previous
      ? (['display_name', 'role', 'units', 'disabled'] as const).filter((f) => JSON.stringify(previous[f]) !== JSON.stringify(stored[f]))
      : ['created']
    if (change.password !== undefined && previous) changed.push('password')
    await this.write(stored)
    let sessions_ended = 0
    if (previous && (disabled || change.password !== undefined)) sessions_ended = await this.endSessionsOf(change.username, disabled ? undefined : keepSession)
    return { user: listedUser(stored), sessions_ended, changed }
  }

  /** Ends every session of `username` but `keep` (a token hash): stored as revoked, dropped from memory. */
  private async endSessionsOf(username: string, keep?: string): Promise<number> {
    const now = Date.now()
    const ended = [...this.sessions].filter(([hash, s]) => s.username === username && hash !== keep)
    if (ended.length === 0) return 0
    await this.warehouse.client.insert({
      table: 'sessions',
      format: 'JSONEachRow',
      values: ended.map(([hash, s]) => ({ token_hash: hash, username, created_at: epochSeconds(now), expires_at: epochSeconds(s.expires_at), revoked: 1, version: this.nextVersion() })),
    })
    for (const [hash] of ended) {
      this.sessions.delete(hash)
      this.noteEnded(hash, now)
    }
    return ended.length
  }

  /** The demo's users: created once, with the password given. */
  async ensure(user: User & { password: string }): Promise<void> {
    if (!this.users.has(user.username)) await this.put(user)
  }

  /**
   * Checks a password for a sign-in from `address` (the client's, normalised); returns a new
   * session token or throws SignInError. The attempt is counted before the password is checked,
   * so concurrent guesses are throttled as they arrive; an attempt that must wait is refused
   * without hashing anything, whether the user exists or not.
   */
  async signIn(username: string, password: string, address = 'local', now = Date.now()): Promise<{ token: string; user: User; expires_at: number }> {
    const { throttle } = this
    const pair = SignInThrottle.pair(username, address)
    const wait = throttle.waitMs(username, address, now)
    if (wait > 0) {
      this.stats.throttled += 1
      throw new SignInError('throttled', wait)
    }
    throttle.byAccountAndAddress.begin(pair, now)
    throttle.byAddress.begin(address, now)
    throttle.byAccount.begin(username, now)
    const user = this.users.get(username)
    const known = user && !user.disabled ? user : undefined
    const ok = await this.hashing.run(() => {
      this.stats.checked += 1
      return known ? verifyPassword(password, known.password_hash) : decoyCheck(password)
    })
    const after = Date.now()
    if (ok === undefined) {
      // not checked (the line is full): not a failure of this account
      throttle.byAccountAndAddress.succeeded(pair, after, false)
      throttle.byAddress.succeeded(address, after, false)
      throttle.byAccount.succeeded(username, after, false)
      this.stats.busy += 1
      throw new SignInError('busy', 5000)
    }
    if (!ok || !known) throw new SignInError('invalid', throttle.waitMs(username, address, after))
    throttle.byAccountAndAddress.succeeded(pair, after, true)
    throttle.byAddress.succeeded(address, after, false)
    throttle.byAccount.succeeded(username, after, false)
    const token = randomBytes(32).toString('base64url')
    const session: Session = { username, expires_at: after + this.policy.ttlMs }
    await this.writeSession(hashToken(token), session, after, 0)
    return { token, user: publicUser(known), expires_at: session.expires_at }
  }

  /** Failed sign-ins for `username` over every address in the last while (for the log). */
  failuresOf(username: string, now = Date.now()): number {
    return this.throttle.byAccount.failures(username, now)
  }

  private async hash(password: string): Promise<string> {
    const hashed = await this.hashing.run(() => hashPassword(password))
    if (hashed === undefined) throw new UserBusy()
    return hashed
  }

  async signOut(token: string): Promise<void> {
    const hash = hashToken(token)
    const session = this.sessions.get(hash)
    if (!session) return
    this.sessions.delete(hash)
    this.noteEnded(hash, Date.now())
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
    user.version = this.nextVersion()
    await this.warehouse.client.insert({
      table: 'users',
      format: 'JSONEachRow',
      values: [{
        ...user, locked_until: user.locked_until ? epochSeconds(user.locked_until) : null, created_at: epochSeconds(user.created_at),
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

function listedUser(u: StoredUser): UserListing {
  return { ...publicUser(u), disabled: u.disabled !== 0, created_at: u.created_at }
}
