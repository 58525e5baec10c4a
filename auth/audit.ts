// The audit log (安全审计, GB/T 22239-2019 level 3): who did what, when, from which address and
// what changed, for every audited route. A route declares its action in its config
// (`config: { audit: 'settings.change' }`); its handler may add what changed (`request.audit`);
// one hook writes the row to the warehouse before the answer leaves, so an answered request is
// recorded. The table is append-only and is the only record: each process writes its own rows
// straight to it, and every reader reads it, so nothing depends on a single node.
import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Warehouse } from '../warehouse/client.ts'
import { queryRows } from '../warehouse/client.ts'
import { epochSeconds, toRfc3339 } from '../warehouse/time.ts'

/** The kinds of action recorded. `sign_in` with an answer of 400 or more is recorded as `sign_in_failed`. */
export const AUDIT_ACTIONS = [
  'sign_in', 'sign_in_failed', 'sign_out',
  'key.create', 'key.revoke', 'user.change',
  'settings.change', 'scheme.change', 'reference.change', 'calendar.change',
  'report.publish', 'document.download', 'backup.start',
] as const
export type AuditAction = (typeof AUDIT_ACTIONS)[number]

/** What a handler adds to its request's audit row. Never a token or a password. */
export interface AuditNote {
  /** what was acted on: a key_id, a user name, a reference kind, a year */
  target?: string
  /** what changed, as JSON */
  details?: Record<string, unknown>
  /** who, when the caller has no credentials yet (sign-in: user:<the name tried>), with their name and role when known */
  actor?: string
  actor_name?: string
  role?: string
  /** the action, when one route does more than one kind (reference data or the calendar) */
  action?: AuditAction
  /** nothing was changed (a dry run): no row */
  skip?: boolean
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The action this route's requests are recorded as in the audit log (auth/audit.ts). */
    audit?: AuditAction
  }
  interface FastifyRequest {
    /** What the handler adds to the audit row (target, what changed). */
    audit: AuditNote | null
  }
}

export interface AuditEntry {
  audit_id: string
  at: string
  action: string
  status: number
  actor: string
  actor_name: string
  role: string
  address: string
  method: string
  path: string
  target: string
  details: Record<string, unknown>
  request_id: string
}

export interface AuditFilter {
  actor?: string
  action?: string
  /** epoch ms, inclusive */
  from?: number
  /** epoch ms, exclusive */
  to?: number
  /** the last row of the previous page */
  before?: { at: number; audit_id: string }
  limit: number
}

export class AuditLog {
  constructor(private readonly warehouse: Warehouse) {}

  async record(entry: Omit<AuditEntry, 'audit_id' | 'at'>, at = Date.now()): Promise<void> {
    await this.warehouse.client.insert({
      table: 'audit_log',
      format: 'JSONEachRow',
      values: [{ ...entry, audit_id: randomUUID(), at: epochSeconds(at), details: JSON.stringify(entry.details) }],
    })
  }

  /** Newest first; every value a bound parameter. */
  async list(filter: AuditFilter): Promise<Array<AuditEntry & { at_ms: number }>> {
    const where: string[] = []
    const params: Record<string, unknown> = { limit: filter.limit }
    if (filter.actor !== undefined) {
      // a key's id, or a user's name (their rows say user:<name>)
      where.push(`actor IN ({actor:String}, concat('user:', {actor:String}))`)
      params.actor = filter.actor
    }
    if (filter.action !== undefined) {
      where.push('action = {action:String}')
      params.action = filter.action
    }
    if (filter.from !== undefined) {
      where.push('at >= fromUnixTimestamp64Milli({from:Int64})')
      params.from = filter.from
    }
    if (filter.to !== undefined) {
      where.push('at < fromUnixTimestamp64Milli({to:Int64})')
      params.to = filter.to
    }
    if (filter.before) {
      where.push('(at, audit_id) < (fromUnixTimestamp64Milli({before_at:Int64}), toUUID({before_id:String}))')
      params.before_at = filter.before.at
      params.before_id = filter.before.audit_id
    }
    const rows = await queryRows<Omit<AuditEntry, 'details' | 'at' | 'status' | 'audit_id'> & { id: string; details: string; at_ms: string; status: number | string }>(
      this.warehouse,
      `SELECT toString(audit_id) AS id, toUnixTimestamp64Milli(at) AS at_ms, action, status, actor, actor_name, role, address, method, path, target, details, request_id
       FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY at DESC, audit_id DESC LIMIT {limit:UInt32}`,
      params,
    )
    const tz = this.warehouse.timezone
    return rows.map(({ id, ...r }) => ({ ...r, audit_id: id, status: Number(r.status), at_ms: Number(r.at_ms), at: toRfc3339(Number(r.at_ms), tz), details: parseDetails(r.details) }))
  }
}

function parseDetails(s: string): Record<string, unknown> {
  try {
    return JSON.parse(s) as Record<string, unknown>
  } catch {
    return {}
  }
}

/** Recorded without a known caller: sign-in and sign-out. Elsewhere a request refused before its caller was known (401) is not (a stranger's flood is the rate limits' and the log's). */
const SIGN_IN_ACTIONS = new Set<AuditAction>(['sign_in', 'sign_out'])

/**
 * Writes a row for every request of a route with `config.audit`, in `onSend` (before the answer
 * leaves: a client that saw the answer can find the row). A row that cannot be written is logged
 * as an error with the request id; the request's answer stands.
 */
export function auditTrail(app: FastifyInstance, log: AuditLog): void {
  app.decorateRequest('audit', null)
  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload) => {
    const declared = request.routeOptions.config.audit
    if (!declared) return payload
    const principal = request.principal as FastifyRequest['principal'] | undefined
    if (!principal && !SIGN_IN_ACTIONS.has(declared)) return payload
    // refused by the per-address rate limit before anything was read: the limit's log line says so,
    // and a flood of them costs no warehouse write each
    if (reply.statusCode === 429) return payload
    const note = request.audit ?? {}
    if (note.skip) return payload
    const action = declared === 'sign_in' && reply.statusCode >= 400 ? 'sign_in_failed' : (note.action ?? declared)
    try {
      await log.record({
        action, status: reply.statusCode,
        actor: principal?.key_id ?? note.actor ?? '', actor_name: principal?.name ?? note.actor_name ?? '', role: principal?.role ?? note.role ?? '',
        address: request.ip, method: request.method, path: request.url.split('?')[0]!,
        target: note.target ?? '', details: note.details ?? {}, request_id: String(request.id),
      })
    } catch (err) {
      request.log.error({ err, action }, `the audit row of ${action} could not be written`)
    }
    return payload
  })
}
