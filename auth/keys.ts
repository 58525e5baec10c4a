// API keys: roles, scopes, hashed storage (auth/schema.ts: api_keys, api_key_use). A token is shown once, when it is made; only its
// SHA-256 is stored (tokens are 32 random bytes, so a fast hash is enough: there is nothing
// to brute-force as there is with a password).
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { Warehouse } from '../warehouse/client.ts'
import { queryRows } from '../warehouse/client.ts'
import type { ReferenceData } from '../warehouse/reference.ts'
import { epochSeconds } from '../warehouse/time.ts'

export const ROLES = ['source', 'joint_meeting', 'unit_leader', 'inspector', 'admin'] as const
export type Role = (typeof ROLES)[number]

export interface ApiKey {
  key_id: string
  name: string
  role: Role
  units: string[]
}

/** Who is calling, and what they may read and write. */
export interface Principal extends ApiKey {
  /** Units whose records this key may read; undefined = every unit. */
  readableUnits(): string[] | undefined
  /** Units this key may write rows for; undefined = every unit, [] = none. */
  writableUnits(): string[] | undefined
}

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex')

/** What a key or a signed-in user may read and write: a unit leader its units and everything under them. */
export function principalFor(key: ApiKey, reference: ReferenceData): Principal {
  const scoped = () => [...new Set(key.units.flatMap((u) => reference.withDescendants(u)))]
  return {
    ...key,
    readableUnits: () => (key.role === 'unit_leader' ? scoped() : key.role === 'source' ? [] : undefined),
    writableUnits: () => (key.role === 'admin' ? undefined : key.role === 'source' ? scoped() : []),
  }
}

/** A key as an admin sees it (GET /api/v1/keys): never its token or the token's hash. */
export interface KeyListing extends ApiKey {
  /** Epoch ms. */
  created_at: number
  /** Epoch ms of the last request made with it (kept in memory, written through at most once a minute); null = never used. */
  last_used_at: number | null
  revoked: boolean
  revoked_at: number | null
}

/** Revoking this key would leave no admin key: refused (HTTP 409). */
export class LastAdminKeyError extends Error {
  readonly code = 'last_admin_key'
  constructor(readonly key_id: string) {
    super(`Key ${key_id} is the last admin key that is not revoked: make another admin key first (POST /api/v1/keys), then revoke this one.`)
  }
}

/** How often at most a key's last use is written to the warehouse. */
export const KEY_USE_WRITE_MS = 60_000

interface StoredKey extends ApiKey {
  token_hash: string
  created_ms: number
  revoked_ms: number | null
}

export class KeyStore {
  /** The keys that are not revoked, by token hash: what a request is checked against. */
  private byHash = new Map<string, ApiKey>()
  /** Every key, revoked ones too, by key_id. */
  private byId = new Map<string, StoredKey>()
  /** Last use per key_id (epoch ms), newest in memory; written through at most once a minute per key. */
  private lastUsed = new Map<string, number>()
  private lastWritten = new Map<string, number>()
  private unwritten = new Set<string>()

  constructor(
    private readonly warehouse: Warehouse,
    readonly reference: ReferenceData,
  ) {}

  async load(): Promise<void> {
    const rows = await queryRows<ApiKey & { token_hash: string; revoked: number; created_ms: string; updated_ms: string }>(
      this.warehouse,
      `SELECT key_id, name, role, units, token_hash, revoked, toUnixTimestamp64Milli(created_at) AS created_ms, toUnixTimestamp64Milli(updated_at) AS updated_ms
       FROM api_keys FINAL`,
    )
    const used = await queryRows<{ key_id: string; ms: string }>(
      this.warehouse,
      'SELECT key_id, toUnixTimestamp64Milli(max(last_used_at)) AS ms FROM api_key_use GROUP BY key_id',
    )
    this.byHash.clear()
    this.byId.clear()
    for (const r of rows) {
      const key: ApiKey = { key_id: r.key_id, name: r.name, role: r.role, units: r.units }
      const revoked = Number(r.revoked) !== 0
      this.byId.set(r.key_id, { ...key, token_hash: r.token_hash, created_ms: Number(r.created_ms), revoked_ms: revoked ? Number(r.updated_ms) : null })
      if (!revoked) this.byHash.set(r.token_hash, key)
    }
    for (const u of used) {
      const ms = Number(u.ms)
      if (ms > (this.lastUsed.get(u.key_id) ?? 0)) this.lastUsed.set(u.key_id, ms)
      this.lastWritten.set(u.key_id, ms)
    }
  }

  /**
   * Makes sure an admin key exists. With TIERSCOPE_ADMIN_TOKEN that token is the admin key
   * (unless it was revoked: a revoked key stays revoked); without it, an admin key is generated
   * when none exists yet and its token returned (once).
   */
  async bootstrapAdmin(adminToken: string | undefined): Promise<string | undefined> {
    if (adminToken) {
      if (!this.known(adminToken)) await this.store({ key_id: 'admin-from-env', name: 'TIERSCOPE_ADMIN_TOKEN', role: 'admin', units: [] }, adminToken)
      return undefined
    }
    if ([...this.byHash.values()].some((k) => k.role === 'admin')) return undefined
    return (await this.create({ name: 'first admin', role: 'admin', units: [] })).token
  }

  /** A new key with a random token: the token is returned here and never again. */
  async create(key: { name: string; role: Role; units: string[] }): Promise<{ token: string; key_id: string }> {
    const token = `ts_${randomBytes(32).toString('base64url')}`
    const key_id = randomUUID()
    await this.store({ key_id, ...key }, token)
    return { token, key_id }
  }

  authenticate(token: string): Principal | undefined {
    const key = this.byHash.get(hashToken(token))
    if (!key) return undefined
    this.noteUse(key.key_id)
    return principalFor(key, this.reference)
  }

  /** Who a signed-in dashboard session is (set by the user store; keys and sessions are one check). */
  sessions?: (cookieValue: string) => Principal | undefined

  /** Stores a key with a token chosen by the caller (the demo's well-known keys), once; a revoked one is not made again. */
  async ensureKey(key: ApiKey, token: string): Promise<void> {
    if (!this.known(token)) await this.store(key, token)
  }

  /** Every key, revoked ones too, oldest first: never a token or its hash. */
  list(): KeyListing[] {
    return [...this.byId.values()].sort((a, b) => a.created_ms - b.created_ms || a.key_id.localeCompare(b.key_id)).map((k) => this.listing(k))
  }

  get(keyId: string): KeyListing | undefined {
    const k = this.byId.get(keyId)
    return k ? this.listing(k) : undefined
  }

  /** The name of a key (for messages naming a source system); undefined for an unknown key_id. */
  nameOf(keyId: string): string | undefined {
    return this.byId.get(keyId)?.name
  }

  /**
   * Revokes a key: stored first, then refused from the next request on. Undefined for an
   * unknown key_id; a key revoked already is answered as it is. The last admin key is kept.
   */
  async revoke(keyId: string): Promise<KeyListing | undefined> {
    const k = this.byId.get(keyId)
    if (!k) return undefined
    if (k.revoked_ms !== null) return this.listing(k)
    if (k.role === 'admin' && ![...this.byId.values()].some((o) => o.key_id !== keyId && o.role === 'admin' && o.revoked_ms === null)) {
      throw new LastAdminKeyError(keyId)
    }
    // the revoking version must sort after the key's first one (ReplacingMergeTree by updated_at)
    const at = Math.max(Date.now(), k.created_ms + 1)
    await this.warehouse.client.insert({
      table: 'api_keys',
      values: [{ key_id: k.key_id, name: k.name, role: k.role, units: k.units, token_hash: k.token_hash, revoked: 1, created_at: epochSeconds(k.created_ms), updated_at: epochSeconds(at) }],
      format: 'JSONEachRow',
    })
    this.byHash.delete(k.token_hash)
    k.revoked_ms = at
    return this.listing(k)
  }

  /**
   * Keys made or revoked by other processes on the same warehouse since `sinceMs` (give a
   * lookback: their clocks may differ a little) are taken or refused here too. A revocation only
   * ever takes access away, so applying one twice, or late, is harmless; a key revoked here is
   * never taken back from an older row.
   */
  async sweep(sinceMs: number): Promise<void> {
    const changed = await queryRows<ApiKey & { token_hash: string; revoked: number; created_ms: string; ms: string }>(
      this.warehouse,
      `SELECT key_id, name, role, units, token_hash, revoked, toUnixTimestamp64Milli(created_at) AS created_ms, toUnixTimestamp64Milli(updated_at) AS ms
       FROM api_keys FINAL WHERE updated_at >= fromUnixTimestamp64Milli({since:Int64})`,
      { since: sinceMs },
    )
    for (const r of changed) {
      const k = this.byId.get(r.key_id)
      if (Number(r.revoked) !== 0) {
        this.byHash.delete(r.token_hash)
        if (k && k.token_hash === r.token_hash && k.revoked_ms === null) k.revoked_ms = Number(r.ms)
      } else if (!k) {
        // a key made by another process: known here from this sweep on (never one revoked here)
        const key: ApiKey = { key_id: r.key_id, name: r.name, role: r.role, units: r.units }
        this.byId.set(r.key_id, { ...key, token_hash: r.token_hash, created_ms: Number(r.created_ms), revoked_ms: null })
        this.byHash.set(r.token_hash, key)
      }
    }
  }

  /** Writes the last use of every key used since its last write (at close). */
  async flushUsage(): Promise<void> {
    const values = [...this.unwritten].map((key_id) => ({ key_id, last_used_at: epochSeconds(this.lastUsed.get(key_id)!) }))
    this.unwritten.clear()
    if (values.length === 0) return
    for (const v of values) this.lastWritten.set(v.key_id, Date.now())
    await this.warehouse.client.insert({ table: 'api_key_use', values, format: 'JSONEachRow' })
  }

  /** A request with the key: kept in memory; written through when the last write is a minute old. */
  private noteUse(keyId: string): void {
    const now = Date.now()
    this.lastUsed.set(keyId, now)
    if (now - (this.lastWritten.get(keyId) ?? 0) < KEY_USE_WRITE_MS) {
      this.unwritten.add(keyId)
      return
    }
    this.lastWritten.set(keyId, now)
    this.unwritten.delete(keyId)
    // the last use is advice for admins, never a reason to fail a request
    void this.warehouse.client.insert({ table: 'api_key_use', values: [{ key_id: keyId, last_used_at: epochSeconds(now) }], format: 'JSONEachRow' }).catch(() => {
      this.unwritten.add(keyId)
    })
  }

  /** A token of a key stored already, revoked or not. */
  private known(token: string): boolean {
    const hash = hashToken(token)
    return this.byHash.has(hash) || [...this.byId.values()].some((k) => k.token_hash === hash)
  }

  private listing(k: StoredKey): KeyListing {
    return {
      key_id: k.key_id, name: k.name, role: k.role, units: k.units,
      created_at: k.created_ms, last_used_at: this.lastUsed.get(k.key_id) ?? null, revoked: k.revoked_ms !== null, revoked_at: k.revoked_ms,
    }
  }

  private async store(key: ApiKey, token: string): Promise<void> {
    const now = Date.now()
    const token_hash = hashToken(token)
    // a key_id given a new token (TIERSCOPE_ADMIN_TOKEN changed): its old token stops working now
    const previous = this.byId.get(key.key_id)
    await this.warehouse.client.insert({
      table: 'api_keys',
      values: [{ ...key, token_hash, revoked: 0, created_at: epochSeconds(now), updated_at: epochSeconds(now) }],
      format: 'JSONEachRow',
    })
    if (previous && previous.token_hash !== token_hash) this.byHash.delete(previous.token_hash)
    this.byHash.set(token_hash, key)
    this.byId.set(key.key_id, { ...key, token_hash, created_ms: now, revoked_ms: null })
  }
}
