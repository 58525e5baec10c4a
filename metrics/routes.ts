// HTTP surface of metrics: GET /api/v1/metrics (the catalogue) and /api/v1/metrics/{id}.
import type { FastifyInstance } from 'fastify'
import { READER_ROLES } from '../auth/index.ts'
import { asOfParam, calendarErrorToHttp, HttpError, localDate, toRfc3339, type Platform } from '../warehouse/index.ts'
import { INDICATORS, periodRule } from './catalog.ts'
import { GROUPINGS, type Grouping } from './compile.ts'
import { MetricsService, UnknownMetricError, UnsupportedGroupingError } from './service.ts'
import type { AssessmentService } from './assessment.ts'
import { unitTrend } from './trend.ts'
import { funnelMethodOf } from './ranking.ts'

const date = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } as const

const COMPOSITE = {
  id: 'composite_score', name: '综合得分', name_en: 'Composite score', category: 'composite', unit: 'points', direction: 'higher_is_better', tiers: [1, 2, 3],
  definition: '当年考核方案的加权得分（0–100）：各指标按单位的实际值、以方案的计分方法计分后加权；样本少于方案最小样本量或无记录的指标不计分，其权重按比例折算到本单位计分的指标。见 GET /api/v1/assessment 和 /indicators。',
  definition_en: "The weighted score of the year's assessment scheme, 0–100: each indicator scored on the unit's actual value by the scheme's method, weighted by category and indicator; an indicator with a sample below the scheme's minimum, or no records, is not scored and its weight is spread over the unit's scored indicators in proportion. See GET /api/v1/assessment and /indicators.",
  numerator: { text: '综合得分', text_en: 'the score' }, denominator: { text: '满分100', text_en: 'full marks, 100' },
  period: '考核年度至今', period_en: 'the assessment year to date',
}

export async function metricsRoutes(app: FastifyInstance, opts: { platform: Platform; metrics: MetricsService; assessment: AssessmentService }): Promise<void> {
  const { platform, metrics, assessment } = opts
  const tz = platform.warehouse.timezone

  app.get('/api/v1/metrics', { config: { access: { roles: READER_ROLES } }, schema: { tags: ['metrics'], summary: 'The indicator catalogue with definitions' } }, async () => {
    return {
      metrics: INDICATORS.map((i) => ({
        id: i.id, name: i.name.zh, name_en: i.name.en, category: i.category, unit: i.unit, direction: i.direction, tiers: i.tiers,
        definition: i.definition.zh, definition_en: i.definition.en,
        numerator: { text: i.numerator.text.zh, text_en: i.numerator.text.en, source: i.numerator.source, sql: i.numerator.sql },
        denominator: i.denominator ? { text: i.denominator.text.zh, text_en: i.denominator.text.en, source: i.denominator.source, sql: i.denominator.sql } : null,
        ...(i.scale ? { scale: i.scale } : {}),
        ...(i.complement ? { formula: '1 − numerator ÷ denominator' } : {}),
        period: periodRule(i).zh, period_en: periodRule(i).en,
        // how rankings judge its units against the tier (null: ranked without intervals or funnel)
        funnel: funnelMethodOf(i),
      })).concat([COMPOSITE as never]),
    }
  })

  app.get<{ Params: { metric_id: string }; Querystring: { from?: string; to?: string; scope?: string; by?: Grouping; as_of?: string } }>(
    '/api/v1/metrics/:metric_id',
    {
      config: { access: { roles: READER_ROLES } },
      schema: {
        tags: ['metrics'],
        summary: 'One indicator for a period, scope and grouping: rows of value, numerator, denominator',
        params: { type: 'object', properties: { metric_id: { type: 'string' } } },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            from: date, to: date,
            scope: { type: 'string', pattern: '^(district|tier:[123]|unit:.+)$' },
            by: { type: 'string', enum: [...GROUPINGS] },
            as_of: { type: 'string' },
          },
        },
      },
    },
    async (request) => {
      const principal = request.principal
      const q = request.query
      const scope = q.scope ?? 'district'
      let units: string[] | undefined
      if (scope.startsWith('tier:')) units = platform.reference.unitsOfTier(Number(scope.slice(5)))
      else if (scope.startsWith('unit:')) {
        const id = scope.slice(5)
        if (!platform.reference.units.has(id)) throw new HttpError(400, 'unknown_unit', `scope: ${JSON.stringify(id)} is not a known unit_id`)
        units = platform.reference.withDescendants(id)
      }
      const readable = principal.readableUnits()
      if (readable !== undefined) {
        const allowed = new Set(readable)
        if (units === undefined || units.some((u) => !allowed.has(u))) {
          throw new HttpError(403, 'forbidden', `This key reads only its own units; ask with scope=unit:<one of ${principal.units.join(', ')}>.`)
        }
      }
      if (q.from && q.to && q.from > q.to) throw new HttpError(400, 'invalid_parameter', `from (${q.from}) is after to (${q.to})`)
      const asOfMs = asOfParam(q.as_of, tz)
      if (request.params.metric_id === 'composite_score') {
        if (q.by && q.by !== 'unit') throw new HttpError(400, 'unsupported_grouping', 'composite_score is a score per unit: use by=unit (or leave by out).')
        const year = Number((q.to ?? localDate(asOfMs, tz)).slice(0, 4))
        const wanted = units === undefined ? undefined : new Set(units)
        const rows = []
        let provisional = false
        // (the tiers' figures asked at once: one query per source for all of them)
        const tiers = ([1, 2, 3] as const).filter((tier) => !wanted || platform.reference.unitsOfTier(tier).some((u) => wanted.has(u)))
        for (const a of await assessment.tiers(year, tiers, asOfMs).catch(calendarErrorToHttp)) {
          provisional ||= a.calendar_provisional
          for (const u of a.units) if (!wanted || wanted.has(u.unit_id)) rows.push({ key: u.unit_id, value: u.composite_score, numerator: u.composite_score ?? 0, denominator: 100 })
        }
        return { metric: 'composite_score', name: COMPOSITE.name, name_en: COMPOSITE.name_en, unit: 'points', direction: 'higher_is_better', scope, from: `${year}-01-01`, to: q.to ?? null, as_of: toRfc3339(asOfMs, tz), calendar_provisional: provisional, rows }
      }
      try {
        const result = await metrics.run(request.params.metric_id, { from: q.from, to: q.to, units, by: q.by, asOfMs })
        return { ...result, scope }
      } catch (err) {
        return metricErrorToHttp(err)
      }
    },
  )

  const trendValue = {
    type: 'object', required: ['month', 'value', 'numerator', 'denominator'],
    properties: { month: { type: 'string' }, value: { type: ['number', 'null'] }, numerator: { type: 'number' }, denominator: { type: ['number', 'null'] } },
  } as const
  app.get<{ Querystring: { unit_id: string; year?: number; as_of?: string } }>('/api/v1/trend', {
    config: { access: { roles: READER_ROLES, scope: { unit: 'query.unit_id' } } },
    schema: {
      tags: ['metrics'],
      summary: 'A unit\'s monthly trend of every indicator it has a target for: its value each month of the year to date, its tier\'s median, the target',
      description: 'Targets are resolved as in GET /api/v1/targets (unit, else tier, else district). `values` are the unit\'s own records ' +
        '(those that belong to it, as by=unit groups them: the same its targets and its score count); `below` is, per metric, the units below it ' +
        '(a street hall\'s stations) summed per month, apart, never added to `values` (null for a unit with none below it). ' +
        '`tier_median` is, per month, the median of the values of the tier\'s units (each on its own records; units without a figure that month left out).',
      querystring: {
        type: 'object', additionalProperties: false, required: ['unit_id'],
        properties: { unit_id: { type: 'string' }, year: { type: 'integer', minimum: 2000, maximum: 2100 }, as_of: { type: 'string' } },
      },
      response: {
        200: {
          type: 'object', required: ['unit_id', 'year', 'from', 'to', 'months', 'counts', 'below', 'metrics'],
          properties: {
            unit_id: { type: 'string' }, year: { type: 'integer' }, from: { type: 'string' }, to: { type: 'string' },
            months: { type: 'array', items: { type: 'string' } },
            counts: { type: 'string', enum: ['own'], description: '`values` count the unit\'s own records (by=unit)' },
            below: {
              type: ['object', 'null'], required: ['unit_ids', 'units', 'label', 'label_en'],
              description: 'the units `below` sums (null: none below the unit)',
              properties: { unit_ids: { type: 'array', items: { type: 'string' } }, units: { type: 'integer' }, label: { type: 'string' }, label_en: { type: 'string' } },
            },
            calendar_provisional: { type: 'boolean', description: 'a figure counted a day of a year on the provisional calendar' },
            metrics: {
              type: 'array',
              items: {
                type: 'object', required: ['metric', 'name', 'name_en', 'unit', 'direction', 'target', 'target_scope', 'values', 'tier_median', 'below'],
                properties: {
                  metric: { type: 'string' }, name: { type: 'string' }, name_en: { type: 'string' }, unit: { type: 'string' }, direction: { type: 'string' },
                  target: { type: 'number' }, target_scope: { type: 'string' },
                  values: { type: 'array', items: trendValue },
                  tier_median: { type: 'array', items: { type: ['number', 'null'] } },
                  below: {
                    type: ['object', 'null'], required: ['values'], description: 'the units below the unit, summed per month; not in `values`',
                    properties: { values: { type: 'array', items: trendValue } },
                  },
                },
              },
            },
          },
        },
      },
    },
  }, async (request) => {
    const q = request.query
    const asOfMs = asOfParam(q.as_of, tz)
    const year = q.year ?? Number(localDate(asOfMs, tz).slice(0, 4))
    return unitTrend(platform, metrics, assessment, year, q.unit_id, asOfMs).catch(calendarErrorToHttp)
  })
}

/** An unknown indicator is 404, a grouping it cannot have 400, a missing calendar year 422. */
export function metricErrorToHttp(err: unknown): never {
  if (err instanceof UnknownMetricError) throw new HttpError(404, err.code, err.message)
  if (err instanceof UnsupportedGroupingError) throw new HttpError(400, err.code, err.message)
  return calendarErrorToHttp(err)
}
