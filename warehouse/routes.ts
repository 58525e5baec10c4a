// HTTP surface of the warehouse: health, units, items, settings and the case read API of
// CONTRACT.md. Who may call each route is in its config.access (auth/access.ts checks it).
import type { FastifyInstance } from 'fastify'
import { ADMIN_ONLY, ANYONE, READER_ROLES, visibleUnits, type Principal } from '../auth/index.ts'
import { CASE_STATUSES, type CaseFilter, type CaseStatus } from './cases.ts'
import { CalendarMissingError } from './calendar.ts'
import { HttpError } from './http.ts'
import type { Platform } from './index.ts'
import type { SettingsChange } from './settings.ts'
import { localDate, parseTimestamp, toRfc3339 } from './time.ts'
import { deadlineOf } from './deadline.ts'

/** ?as_of= as epoch ms (now when absent), or a 400 that says what was expected. */
export function asOfParam(value: string | undefined, tz: string): number {
  // now, to the next whole second: questions asked within one second are one question (metrics
  // shares one answer among them), and never a moment before the request, so every record
  // acknowledged before it and dated up to then is counted
  if (value === undefined || value === '') return Math.ceil(Date.now() / 1000) * 1000
  const ms = parseTimestamp(value, tz)
  if (ms === undefined) throw new HttpError(400, 'invalid_parameter', `as_of: expected an RFC 3339 timestamp such as 2025-06-30T23:59:59+08:00, got ${JSON.stringify(value)}`)
  return ms
}

export function calendarErrorToHttp(err: unknown): never {
  if (err instanceof CalendarMissingError) throw new HttpError(422, err.code, err.message, { years: err.years })
  throw err
}

interface CursorState {
  after: string
  as_of: number
  /** With order=days_over: the last row's days over (−1 for none). */
  over?: number
}

const encodeCursor = (c: CursorState) => Buffer.from(JSON.stringify(c)).toString('base64url')
function decodeCursor(s: string): CursorState {
  try {
    const c = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as CursorState
    if (typeof c.after === 'string' && typeof c.as_of === 'number') return c
  } catch {
    // fall through to the error below
  }
  throw new HttpError(400, 'invalid_parameter', 'cursor: expected the next_cursor of a previous page, unchanged')
}

const bool = { type: 'string', enum: ['true', 'false'] } as const

interface CaseQuery { unit_id?: string; tier?: number; item_code?: string; status?: CaseStatus; overdue?: string; warning?: string; stopped_from?: string; stopped_to?: string; as_of?: string }

/** The filters a case list and its counts share. */
const caseFilterProperties = {
  unit_id: { type: 'string', minLength: 1 },
  tier: { type: 'integer', minimum: 1, maximum: 3 },
  item_code: { type: 'string', minLength: 1 },
  status: { type: 'string', enum: [...CASE_STATUSES] },
  overdue: bool,
  warning: bool,
  // stopped cases only if stopped within these days (open and withdrawn cases are not narrowed):
  // the cases behind a year's points lost are those stopped late in it and those overdue still
  stopped_from: { type: 'string', format: 'date' },
  stopped_to: { type: 'string', format: 'date' },
  as_of: { type: 'string' },
} as const

/** How long liveness waits for the engine before answering that it is busy. */
const HEALTH_PROBE_MS = 1000

export async function warehouseRoutes(app: FastifyInstance, opts: { platform: Platform }): Promise<void> {
  const { platform } = opts
  const tz = platform.warehouse.timezone

  // a year counted on the provisional calendar is said in the log at start and once a day after,
  // where an operator's log watch sees it
  let calendarWatch: NodeJS.Timeout | undefined
  const logCalendar = () => {
    const warning = platform.calendar.warning()
    if (warning) app.log.warn({ calendar: warning }, warning.message)
  }
  app.addHook('onReady', async () => {
    logCalendar()
    calendarWatch = setInterval(logCalendar, 24 * 3600_000).unref()
  })
  app.addHook('onClose', async () => clearInterval(calendarWatch))

  app.get('/api/v1/health', { config: { access: ANYONE }, schema: { tags: ['system'], summary: 'Engine, time zone, calendar coverage and whether a year is counted on the provisional calendar', security: [] } }, async () => {
    const years = platform.calendar.loadedYears()
    // liveness stays cheap: the embedded engine runs one query at a time, so behind a long ingest
    // statement `SELECT 1` waits; after a second the answer is `engine: busy` (alive, occupied),
    // not a stalled probe. An engine that fails is still an error; readiness (/health/ready) looks deeper.
    const probe = platform.warehouse.client.query({ query: 'SELECT 1', format: 'JSONEachRow' }).then((r) => r.json()).then(() => 'ok' as const)
    let timer: NodeJS.Timeout | undefined
    const engine = await Promise.race([probe, new Promise<'busy'>((resolve) => (timer = setTimeout(() => resolve('busy'), HEALTH_PROBE_MS)))])
    clearTimeout(timer)
    if (engine === 'busy') probe.catch(() => undefined)
    return {
      status: 'ok',
      engine,
      warehouse: platform.warehouse.kind,
      timezone: tz,
      // years: the official arrangements loaded; provisional_years: those counted (from the first
      // year with data through next year) on the provisional calendar; warning: people must act
      calendar: {
        first_year: years[0] ?? null, last_year: years[years.length - 1] ?? null, years,
        provisional_years: platform.calendar.workingDayIndex().provisional, warning: platform.calendar.warning(),
      },
      units: platform.reference.units.size,
      items: platform.reference.items.size,
    }
  })

  // the district's structure and items, for names and drill-downs; a unit leader sees its own units
  app.get('/api/v1/units', { config: { access: { roles: READER_ROLES } }, schema: { tags: ['reference'], summary: 'The units (a unit leader: its own and those under them)' } }, async (request) => {
    const readable = request.principal.readableUnits()
    const units = [...platform.reference.units.values()].filter((u) => !readable || readable.includes(u.unit_id))
    return { units: units.sort((a, b) => a.tier - b.tier || a.unit_id.localeCompare(b.unit_id)) }
  })

  app.get('/api/v1/items', { config: { access: { roles: READER_ROLES } }, schema: { tags: ['reference'], summary: 'The service items with their time limits' } }, async (request) => {
    return { items: [...platform.reference.items.values()].sort((a, b) => a.item_code.localeCompare(b.item_code)) }
  })

  // working days, 1–120 (a limit of 0 or less would make every record late on arrival)
  const LIMIT_SCHEMAS = {
    verification_limit_days: { type: 'integer', minimum: 1, maximum: 120 },
    rectification_limit_days: { type: 'integer', minimum: 1, maximum: 120 },
    revisit_limit_days: { type: 'integer', minimum: 1, maximum: 120 },
    complaint_limit_days: { type: 'integer', minimum: 1, maximum: 120 },
    complaint_response_limit_days: { type: 'integer', minimum: 1, maximum: 120 },
  }

  app.get('/api/v1/settings', { config: { access: { roles: READER_ROLES } }, schema: { tags: ['system'], summary: 'The district\'s tunable settings: warning thresholds and handling limits, by tier, with every version of the limits' } }, async () => {
    // what is in effect today, and every version of the handling limits with the day it took effect
    return { ...platform.settings.get(), limit_versions: platform.settings.versions() }
  })

  app.put<{ Body: SettingsChange }>('/api/v1/settings', {
    config: { access: { roles: ADMIN_ONLY }, audit: 'settings.change' },
    schema: {
      tags: ['system'],
      summary: 'Change settings (admin)',
      body: {
        type: 'object',
        additionalProperties: false,
        minProperties: 1,
        properties: {
          warning_days: { type: 'number', minimum: 0, maximum: 30 },
          ...LIMIT_SCHEMAS,
          effective_from: {
            type: 'string', format: 'date',
            description: 'The day the limits changed here take effect (default: today). Records of earlier days keep the limits in effect on their day: a change never rewrites a past year.',
          },
          by_tier: {
            type: 'object',
            description: 'A tier\'s own handling limits, by tier (1, 2, 3); null takes one away (the district\'s applies again)',
            // (propertyNames, not additionalProperties: the server's validator drops unknown properties silently)
            propertyNames: { enum: ['1', '2', '3'] },
            additionalProperties: {
              type: 'object',
              propertyNames: { enum: [...Object.keys(LIMIT_SCHEMAS), 'warning_days'] },
              properties: {
                ...Object.fromEntries(Object.entries(LIMIT_SCHEMAS).map(([k, v]) => [k, { ...v, type: ['integer', 'null'] }])),
                // a tier's own warning (黄牌) threshold: not versioned, it is about the cases open now
                warning_days: { type: ['number', 'null'], minimum: 0, maximum: 30 },
              },
            },
          },
        },
      },
    },
  }, async (request) => {
    const current = platform.settings.get()
    const before = Object.fromEntries(Object.keys(request.body).map((k) => [k, (current as unknown as Record<string, unknown>)[k]]))
    const after = await platform.settings.update(request.body)
    request.audit = { details: { before, after: request.body } }
    return { ...after, limit_versions: platform.settings.versions() }
  })

  app.get<{ Params: { case_id: string }; Querystring: { as_of?: string } }>('/api/v1/cases/:case_id', {
    config: { access: { roles: READER_ROLES } },
    schema: { tags: ['cases'], summary: 'One case with its clock and timeline, as of a moment', params: { type: 'object', properties: { case_id: { type: 'string' } } }, querystring: { type: 'object', properties: { as_of: { type: 'string' } } } },
  }, async (request) => {
    const principal = request.principal
    const asOf = asOfParam(request.query.as_of, tz)
    const found = await platform.cases.get(request.params.case_id, asOf).catch(calendarErrorToHttp)
    const allowed = visibleUnits(principal)
    // A case outside the reader's units is answered exactly like a case that does not exist.
    if (!found || (allowed !== undefined && !allowed.includes(found.unit_id))) {
      throw new HttpError(404, 'not_found', `No case ${JSON.stringify(request.params.case_id)} is visible to this key as of ${new Date(asOf).toISOString()}.`)
    }
    // the deadline as a date, for people: from the limit, or the due_at the case was sent
    let deadline: string | null = found.due_at ? found.due_at.slice(0, 10) : null
    if (!deadline && found.limit_days !== null && found.elapsed_days !== null) {
      const reference = found.stopped_at ? found.stopped_at.slice(0, 10) : localDate(asOf, tz)
      try {
        deadline = deadlineOf((d) => platform.calendar.isWorkingDay(d), reference, found.limit_days, found.elapsed_days)
      } catch (err) {
        if (!(err instanceof CalendarMissingError)) throw err
      }
    }
    // a deadline counted on days of a provisional year is provisional too
    const provisional = found.calendar_provisional || (deadline !== null && platform.calendar.provisionalThrough(deadline))
    return { ...found, deadline, calendar_provisional: provisional }
  })

  /** The list filters of /api/v1/cases, narrowed to what the caller may read. */
  const caseFilterOf = (q: CaseQuery, principal: Principal): Omit<CaseFilter, 'after' | 'limit'> => {
    let requested: string[] | undefined
    if (q.unit_id !== undefined) requested = [q.unit_id]
    if (q.tier !== undefined) {
      const ofTier = new Set(platform.reference.unitsOfTier(q.tier))
      requested = (requested ?? [...ofTier]).filter((u) => ofTier.has(u))
    }
    return {
      units: visibleUnits(principal, requested),
      item_code: q.item_code,
      status: q.status,
      overdue: q.overdue === undefined ? undefined : q.overdue === 'true',
      warning: q.warning === undefined ? undefined : q.warning === 'true',
      stopped: q.stopped_from === undefined && q.stopped_to === undefined ? undefined : stoppedWindow(q.stopped_from, q.stopped_to),
    }
  }

  const stoppedWindow = (from = '1970-01-01', to = '2299-12-31') => {
    if (from > to) throw new HttpError(400, 'invalid_parameter', `stopped_from (${from}) is after stopped_to (${to})`)
    return { from, to }
  }

  app.get<{ Querystring: CaseQuery & { by: 'tier' | 'unit' | 'item' } }>('/api/v1/cases/counts', {
    config: { access: { roles: READER_ROLES } },
    schema: {
      tags: ['cases'],
      summary: 'How many cases match the list filters, per tier, unit or item (the drill-down of red and yellow cards)',
      querystring: {
        type: 'object',
        additionalProperties: false,
        required: ['by'],
        properties: { ...caseFilterProperties, by: { type: 'string', enum: ['tier', 'unit', 'item'] } },
      },
    },
  }, async (request) => {
    const principal = request.principal
    const q = request.query
    const asOf = asOfParam(q.as_of, tz)
    const counted = await platform.cases.count(caseFilterOf(q, principal), q.by === 'item' ? 'item' : 'unit', asOf).catch(calendarErrorToHttp)
    if (q.by !== 'tier') return { by: q.by, as_of: toRfc3339(asOf, tz), rows: counted }
    const byTier = new Map<number, number>()
    for (const r of counted) {
      const tier = platform.reference.units.get(r.key)?.tier
      if (tier !== undefined) byTier.set(tier, (byTier.get(tier) ?? 0) + r.cases)
    }
    return { by: q.by, as_of: toRfc3339(asOf, tz), rows: [...byTier].sort((a, b) => a[0] - b[0]).map(([tier, cases]) => ({ key: tier, cases })) }
  })

  app.get<{ Querystring: CaseQuery & { limit?: number; cursor?: string; order?: 'case_id' | 'days_over' } }>('/api/v1/cases', {
    config: { access: { roles: READER_ROLES } },
    schema: {
      tags: ['cases'],
      summary: 'Cases with the clock: filters of the contract, cursor paging',
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          ...caseFilterProperties,
          limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          cursor: { type: 'string' },
          order: { type: 'string', enum: ['case_id', 'days_over'], description: 'case_id (default), or days_over: most working days over first (then case_id)' },
        },
      },
    },
  }, async (request) => {
    const principal = request.principal
    const q = request.query
    const cursor = q.cursor ? decodeCursor(q.cursor) : undefined
    const asOf = cursor?.as_of ?? asOfParam(q.as_of, tz)
    const limit = q.limit ?? 100
    const order = q.order ?? 'case_id'
    if (cursor && (cursor.over !== undefined) !== (order === 'days_over')) throw new HttpError(400, 'invalid_parameter', 'cursor: it belongs to a list in another order; keep the order of the first page')
    const filter: CaseFilter = { ...caseFilterOf(q, principal), after: cursor?.after, afterDaysOver: cursor?.over, order, limit: limit + 1 }
    const rows = await platform.cases.list(filter, asOf).catch(calendarErrorToHttp)
    const page = rows.slice(0, limit)
    const last = page[page.length - 1]
    const next = rows.length > limit && last ? encodeCursor({ after: last.case_id, as_of: asOf, ...(order === 'days_over' ? { over: last.days_over ?? -1 } : {}) }) : null
    return { rows: page, next_cursor: next }
  })
}
