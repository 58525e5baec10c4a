// The records behind an indicator's figure, one list per source that has no list of its own yet:
// complaints, queue tickets, cost entries. Each reads the indicator's own source (sources.ts), so
// a list and the figure it explains count the same records by the same rule, as of the same
// moment, with the filters, paging and scopes of GET /api/v1/cases.
import type { FastifyInstance } from 'fastify'
import { READER_ROLES, visibleUnits } from '../auth/index.ts'
import {
  asOfParam, CALENDAR_WITH, calendarErrorToHttp, calendarParams, epochSeconds, HttpError, localDate,
  toRfc3339, type Platform,
} from '../warehouse/index.ts'
import { limitParams, SOURCES, type SourceId } from './sources.ts'

interface RecordList {
  path: string
  source: SourceId
  summary: string
  /** The record's id column in the source's rows: the list's tie-breaker and its cursor. */
  id: string
  /** The columns listed, as SQL over the source's rows; times as epoch ms (`*_ms`) to be written in RFC 3339. */
  columns: string
}

const LISTS: RecordList[] = [
  {
    path: '/api/v1/complaints', source: 'complaints', id: 'complaint_id',
    summary: 'The complaints behind a complaint figure: received in the period, with each step (response, resolution, the complainant\'s rating), their limits and links, as of a moment',
    columns: `complaint_id, unit_id, channel AS source, category, toUnixTimestamp64Milli(at) AS received_ms,
      toUnixTimestamp64Milli(responded_at) AS responded_ms, toString(response_deadline) AS response_deadline, response_limit_passed, responded_in_time,
      toUnixTimestamp64Milli(resolved_at) AS resolved_ms, substantiated, toString(deadline) AS deadline, limit_passed, resolved_in_time,
      rating, case_id, evaluation_id`,
  },
  {
    path: '/api/v1/queue-tickets', source: 'queue_tickets', id: 'ticket_id',
    summary: 'The queue tickets behind a waiting-time figure: issued in the period, with their call and wait, as of a moment',
    columns: `ticket_id, unit_id, item_code, toUnixTimestamp64Milli(at) AS issued_ms, toUnixTimestamp64Milli(called_at) AS called_ms,
      if(isNull(called_at), NULL, round(wait_seconds / 60, 1)) AS wait_minutes, abandoned`,
  },
  {
    path: '/api/v1/cost-entries', source: 'costs', id: 'entry_id',
    summary: 'The cost ledger entries behind a cost figure: of the months in the period, as of a moment',
    columns: `entry_id, unit_id, toString(at) AS period, category, amount, staff_fte, note`,
  },
]

interface ListQuery { unit_id?: string; tier?: number; from?: string; to?: string; as_of?: string; limit?: number; cursor?: string }

const encode = (c: { at: number; id: string; as_of: number }) => Buffer.from(JSON.stringify(c)).toString('base64url')
function decode(s: string): { at: number; id: string; as_of: number } {
  try {
    const c = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as { at: number; id: string; as_of: number }
    if (typeof c.at === 'number' && typeof c.id === 'string' && typeof c.as_of === 'number') return c
  } catch {
    // fall through
  }
  throw new HttpError(400, 'invalid_parameter', 'cursor: expected the next_cursor of a previous page, unchanged')
}

export async function recordRoutes(app: FastifyInstance, opts: { platform: Platform }): Promise<void> {
  const { platform } = opts
  const tz = platform.warehouse.timezone
  for (const list of LISTS) {
    const source = SOURCES[list.source]
    app.get<{ Querystring: ListQuery }>(list.path, {
      config: { access: { roles: READER_ROLES } },
      schema: {
        tags: ['records'],
        summary: list.summary,
        querystring: {
          type: 'object', additionalProperties: false,
          properties: {
            unit_id: { type: 'string', minLength: 1 }, tier: { type: 'integer', minimum: 1, maximum: 3 },
            from: { type: 'string', format: 'date' }, to: { type: 'string', format: 'date' }, as_of: { type: 'string' },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 }, cursor: { type: 'string' },
          },
        },
      },
    }, async (request) => {
      const principal = request.principal
      const q = request.query
      const cursor = q.cursor ? decode(q.cursor) : undefined
      const asOfMs = cursor?.as_of ?? asOfParam(q.as_of, tz)
      let requested = q.unit_id === undefined ? undefined : [q.unit_id]
      if (q.tier !== undefined) {
        const ofTier = new Set(platform.reference.unitsOfTier(q.tier))
        requested = (requested ?? [...ofTier]).filter((u) => ofTier.has(u))
      }
      const units = visibleUnits(principal, requested)
      // the year of the moment asked, unless a period is given
      const to = q.to ?? localDate(asOfMs, tz)
      const from = q.from ?? `${to.slice(0, 4)}-01-01`
      if (from > to) throw new HttpError(400, 'invalid_parameter', `from (${from}) is after to (${to})`)
      const limit = q.limit ?? 100
      const where = [
        'toDate(at) BETWEEN {from:Date} AND {to:Date}',
        ...(units ? ['unit_id IN {units:Array(String)}'] : []),
        ...(cursor ? [`(toUnixTimestamp64Milli(toDateTime64(at, 3)) > {after_at:Int64} OR (toUnixTimestamp64Milli(toDateTime64(at, 3)) = {after_at:Int64} AND ${list.id} > {after_id:String}))`] : []),
      ]
      const params = {
        from, to, units, limit: limit + 1, as_of: epochSeconds(asOfMs), after_at: cursor?.at, after_id: cursor?.id,
        ...(source.calendar ? calendarParams(platform.calendar, asOfMs, tz) : {}),
        ...limitParams(platform),
      }
      // (after the refresher: the ratings' 一事一评 is derived state; an equal list asked at once
      // shares the answer; the indicators' sources read the moment as the figures do, so the list
      // as of an earlier moment of the day is kept while nothing came in between: warehouse/answers.ts)
      const sql = `${source.calendar ? CALENDAR_WITH : ''}
        SELECT ${list.columns}, toUnixTimestamp64Milli(toDateTime64(at, 3)) AS at_ms, ${list.id} AS record_id
        FROM (${source.sql(tz, '')})
        WHERE ${where.join(' AND ')}
        ORDER BY at_ms, record_id LIMIT {limit:UInt32}`
      const rows = await platform.answers.answer(['records', list.path, params],
        () => platform.answers.rowsAcrossMoments<Record<string, unknown>>(sql, params, asOfMs)).catch(calendarErrorToHttp)
      const page = rows.slice(0, limit)
      const last = page[page.length - 1]
      return {
        from, to, as_of: toRfc3339(asOfMs, tz),
        rows: page.map(({ at_ms: _at, record_id: _id, ...r }) => written(r)),
        next_cursor: rows.length > limit && last ? encode({ at: Number(last.at_ms), id: String(last.record_id), as_of: asOfMs }) : null,
      }
    })
  }

  /** A row as answered: `*_ms` columns as RFC 3339 `*_at`, flags as booleans, numbers as numbers. */
  function written(r: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(r)) {
      if (k.endsWith('_ms')) out[`${k.slice(0, -3)}_at`] = v === null ? null : toRfc3339(Number(v), tz)
      else if (['limit_passed', 'resolved_in_time', 'abandoned', 'substantiated'].includes(k)) out[k] = v === null ? null : Boolean(Number(v))
      else if (['amount', 'staff_fte', 'wait_minutes'].includes(k)) out[k] = v === null ? null : Number(v)
      else out[k] = v
    }
    return out
  }
}
