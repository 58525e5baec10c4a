// API keys: roles, scopes, hashed storage. A token is shown once, when it is made; only its
// SHA-256 is stored (tokens are 32 random bytes, so a fast hash is enough: there is nothing
// to brute-force as there is with a password).
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { Warehouse } from './client.ts'
import { queryRows } from './client.ts'
import type { ReferenceData } from './reference.ts'
import { nowSeconds } from './time.ts'

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

export class KeyStore {
  private byHash = new Map<string, ApiKey>()

  constructor(
    private readonly warehouse: Warehouse,
    private readonly reference: ReferenceData,
  ) {}

  async load(): Promise<void> {
    const rows = await queryRows<ApiKey & { token_hash: string }>(
      this.warehouse,
      'SELECT key_id, name, role, units, token_hash FROM api_keys FINAL WHERE revoked = 0',
    )
    this.byHash.clear()
    for (const r of rows) this.byHash.set(r.token_hash, { key_id: r.key_id, name: r.name, role: r.role, units: r.units })
  }

  /**
   * Makes sure an admin key exists. With TIERSCOPE_ADMIN_TOKEN that token is the admin key;
   * without it, an admin key is generated when none exists yet and its token returned (once).
   */
  async bootstrapAdmin(adminToken: string | undefined): Promise<string | undefined> {
    if (adminToken) {
      if (!this.byHash.has(hashToken(adminToken))) await this.store({ key_id: 'admin-from-env', name: 'TIERSCOPE_ADMIN_TOKEN', role: 'admin', units: [] }, adminToken)
      return undefined
    }
    if ([...this.byHash.values()].some((k) => k.role === 'admin')) return undefined
    return this.create({ name: 'first admin', role: 'admin', units: [] })
  }

  async create(key: { name: string; role: Role; units: string[] }): Promise<string> {
    const token = `ts_${randomBytes(32).toString('base64url')}`
    await this.store({ key_id: randomUUID(), ...key }, token)
    return token
  }

  authenticate(token: string): Principal | undefined {
    const key = this.byHash.get(hashToken(token))
    return key ? principalFor(key, this.reference) : undefined
  }

  /** Who a signed-in dashboard session is (set by the user store; keys and sessions are one check). */
  sessions?: (cookieValue: string) => Principal | undefined

  /** Stores a key with a token chosen by the caller (the demo's well-known keys), once. */
  async ensureKey(key: ApiKey, token: string): Promise<void> {
    if (!this.byHash.has(hashToken(token))) await this.store(key, token)
  }

  private async store(key: ApiKey, token: string): Promise<void> {
    const now = nowSeconds()
    const token_hash = hashToken(token)
    await this.warehouse.client.insert({
      table: 'api_keys',
      values: [{ ...key, token_hash, revoked: 0, created_at: now, updated_at: now }],
      format: 'JSONEachRow',
    })
    this.byHash.set(token_hash, key)
  }
}
