// HTTP surface of the assessment: the tier assessment, rankings within a tier, a unit's targets,
// and the indicator catalogue as a readable document.
import type { FastifyInstance } from 'fastify'
import { asOfParam, calendarErrorToHttp, HttpError, localDate, queryRows, READER_ROLES, requireRole, requireReadableUnit, toRfc3339, type Platform } from '../warehouse/index.ts'
import { AssessmentService } from './assessment.ts'
import { metricErrorToHttp } from './routes.ts'
import { INDICATOR_BY_ID, INDICATORS, periodRule } from './catalog.ts'
import type { Scheme } from './scheme.ts'

const yearSchema = { type: 'integer', minimum: 2000, maximum: 2100 } as const
const tierSchema = { type: 'integer', minimum: 1, maximum: 3 } as const

export async function assessmentRoutes(app: FastifyInstance, opts: { platform: Platform; assessment: AssessmentService }): Promise<void> {
  const { platform, assessment } = opts
  const tz = platform.warehouse.timezone
  // the district's year, not UTC's: at midnight on 1 January in Beijing, UTC is still in the old year
  const thisYear = () => Number(localDate(Date.now(), tz).slice(0, 4))

  app.get<{ Querystring: { year?: number; tier: 1 | 2 | 3; as_of?: string } }>('/api/v1/assessment', {
    schema: {
      tags: ['assessment'],
      summary: 'The year\'s assessment of every unit of a tier: composite score, grade, rank, points lost per indicator',
      querystring: { type: 'object', additionalProperties: false, required: ['tier'], properties: { year: yearSchema, tier: tierSchema, as_of: { type: 'string' } } },
    },
  }, async (request) => {
    const principal = requireRole(request, platform.keys, READER_ROLES)
    const q = request.query
    const result = await assessment.tier(q.year ?? thisYear(), q.tier, asOfParam(q.as_of, tz)).catch(calendarErrorToHttp)
    const readable = principal.readableUnits()
    // a unit leader sees its own units' rows (with their rank), not the others'
    if (readable) result.units = result.units.filter((u) => readable.includes(u.unit_id))
    return result
  })

  app.get<{ Params: { metric_id: string }; Querystring: { year?: number; tier: 1 | 2 | 3; as_of?: string } }>('/api/v1/rankings/:metric_id', {
    schema: {
      tags: ['assessment'],
      summary: 'One indicator ranked within a tier (同级比较), with sample sizes; small samples ranked at their conservative bound',
      params: { type: 'object', properties: { metric_id: { type: 'string' } } },
      querystring: { type: 'object', additionalProperties: false, required: ['tier'], properties: { year: yearSchema, tier: tierSchema, as_of: { type: 'string' } } },
    },
  }, async (request) => {
    requireRole(request, platform.keys, ['joint_meeting', 'inspector', 'admin'])
    const q = request.query
    return assessment.ranking(request.params.metric_id, q.year ?? thisYear(), q.tier, asOfParam(q.as_of, tz)).catch(metricErrorToHttp)
  })

  app.get<{ Querystring: { year?: number; unit_id: string; as_of?: string } }>('/api/v1/targets', {
    schema: {
      tags: ['assessment'],
      summary: 'A unit\'s targets (cascaded district → tier → unit), where it stands, and the year-end projection at the current pace',
      querystring: { type: 'object', additionalProperties: false, required: ['unit_id'], properties: { year: yearSchema, unit_id: { type: 'string' }, as_of: { type: 'string' } } },
    },
  }, async (request) => {
    const principal = requireRole(request, platform.keys, READER_ROLES)
    const q = request.query
    requireReadableUnit(principal, platform.reference.units, q.unit_id)
    return assessment.targets(q.year ?? thisYear(), q.unit_id, asOfParam(q.as_of, tz)).catch(calendarErrorToHttp)
  })

  app.get<{ Querystring: { unit_id: string; bad?: string; from?: string; to?: string; limit?: number } }>('/api/v1/ratings', {
    schema: {
      tags: ['assessment'],
      summary: 'The ratings behind a satisfaction figure: one unit\'s ratings (bad=true: the 1–2 star ones) with their handling',
      querystring: {
        type: 'object', additionalProperties: false, required: ['unit_id'],
        properties: {
          unit_id: { type: 'string' }, bad: { type: 'string', enum: ['true', 'false'] },
          from: { type: 'string', format: 'date' }, to: { type: 'string', format: 'date' }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
        },
      },
    },
  }, async (request) => {
    const principal = requireRole(request, platform.keys, READER_ROLES)
    const q = request.query
    const readable = principal.readableUnits()
    if (readable && !readable.includes(q.unit_id)) throw new HttpError(403, 'forbidden', 'This key reads only its own units.')
    const rows = await queryRows<Record<string, unknown>>(platform.warehouse, `
      SELECT e.event_id AS event_id, toString(e.unit_id) AS unit_id, e.rating AS rating, e.active AS active, toString(e.channel) AS channel,
        toUnixTimestamp64Milli(e.occurred_at) AS occurred_ms, e.case_id AS case_id, e.comment AS comment,
        arraySort(x -> x.2, groupArrayIf((f.type, toUnixTimestamp64Milli(f.occurred_at), f.note), f.event_id != '')) AS handling
      FROM evaluations AS e LEFT JOIN evaluation_followups AS f ON f.evaluation_id = e.event_id
      WHERE e.unit_id = {unit_id:String}
        AND ({bad:UInt8} = 0 OR (e.active AND e.rating <= 2))
        AND ({from:Nullable(Date)} IS NULL OR toDate(e.occurred_at) >= {from:Nullable(Date)})
        AND ({to:Nullable(Date)} IS NULL OR toDate(e.occurred_at) <= {to:Nullable(Date)})
      GROUP BY event_id, unit_id, rating, active, channel, occurred_ms, case_id, comment
      ORDER BY occurred_ms DESC LIMIT {limit:UInt32}`,
    { unit_id: q.unit_id, bad: q.bad === 'true' ? 1 : 0, from: q.from ?? null, to: q.to ?? null, limit: q.limit ?? 100 })
    return {
      rows: rows.map((r) => ({
        event_id: r.event_id, unit_id: r.unit_id, rating: r.rating, active: Boolean(r.active), channel: r.channel, case_id: r.case_id, comment: r.comment,
        occurred_at: toRfc3339(Number(r.occurred_ms), tz),
        handling: (r.handling as Array<[string, number, string | null]>).map(([type, ms, note]) => ({ type, occurred_at: toRfc3339(Number(ms), tz), note })),
      })),
    }
  })

  app.get<{ Querystring: { year?: number } }>('/indicators', { schema: { hide: true } }, async (request, reply) => {
    const year = Number((request.query as { year?: string }).year) || thisYear()
    return reply.type('text/html; charset=utf-8').send(indicatorDocument((await assessment.scheme(year)).scheme))
  })

  app.get<{ Querystring: { year?: number } }>('/api/v1/assessment/scheme', {
    schema: {
      tags: ['assessment'],
      summary: 'The year\'s assessment scheme (考核方案): weights, scoring methods, grade bands; stored, or the default',
      querystring: { type: 'object', additionalProperties: false, properties: { year: yearSchema } },
    },
  }, async (request) => {
    requireRole(request, platform.keys, READER_ROLES)
    const { scheme, stored } = await assessment.scheme(request.query.year ?? thisYear())
    return { ...scheme, source: stored ? 'stored' : 'default' }
  })

  app.put<{ Body: unknown }>('/api/v1/assessment/scheme', {
    schema: { tags: ['assessment'], summary: 'Store a year\'s assessment scheme (admin); it replaces that year\'s scheme, checked first' },
  }, async (request) => {
    requireRole(request, platform.keys, ['admin'])
    const problems = await assessment.storeScheme(request.body)
    if (problems.length) throw new HttpError(400, 'invalid_scheme', `Nothing was stored: ${problems[0]}`, { problems })
    const body = request.body as { year: number; version: string }
    return { stored: true, year: body.year, version: body.version }
  })
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!)
const CATEGORY_ZH = { timeliness: '时效', efficiency: '效率', satisfaction: '满意度', cost: '成本' } as const

/** The catalogue as a published indicator-definitions volume, with the year's scheme weights. */
export function indicatorDocument(scheme: Scheme): string {
  const year = scheme.year
  const weight = (id: string, tier: '1' | '2' | '3') => {
    for (const [, c] of Object.entries(scheme.tiers[tier])) {
      const i = c.indicators.find((x) => x.id === id)
      if (i) return `${(c.weight * i.weight * 100).toFixed(1)}%（${i.method.kind}）`
    }
    return '—'
  }
  const rows = INDICATORS.map((i) => `<tr><td><code>${i.id}</code></td><td>${esc(i.name.zh)}<br><small>${esc(i.name.en)}</small></td><td>${CATEGORY_ZH[i.category]}</td>
    <td>${i.direction === 'higher_is_better' ? '越高越好' : '越低越好'}</td><td>${esc(i.definition.zh)}<br><small>${esc(i.definition.en)}</small></td>
    <td>${i.complement ? '1 − ' : ''}${esc(i.numerator.text.zh)}${i.denominator ? ` ÷ ${esc(i.denominator.text.zh)}` : ''}${i.scale ? ` × ${i.scale}` : ''}</td>
    <td>${esc(periodRule(i).zh)}</td><td>${weight(i.id, '1')}</td><td>${weight(i.id, '2')}</td><td>${weight(i.id, '3')}</td></tr>`).join('\n')
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>指标定义 · ${year}</title>
<style>body{font-family:"Noto Sans CJK SC","PingFang SC",sans-serif;margin:32px;color:#1f2933}table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid #cbd2d9;padding:6px;vertical-align:top}th{background:#f0f4f8}small{color:#616e7c}</style></head><body>
<h1>东城区政务服务三级体系 · 绩效指标定义（${year}年）</h1>
<p>每项比率为分子之和 ÷ 分母之和；每个数值都附分子和分母，可逐项核对。权重取自《${esc(scheme.name)}》（版本 ${esc(scheme.version)}）；等级：${scheme.grades.map((g) => `${g.grade} ≥ ${g.min}`).join('，')}。</p>
<table><tr><th>编号</th><th>指标</th><th>类别</th><th>方向</th><th>定义</th><th>公式</th><th>计入期间</th><th>区级权重</th><th>街道权重</th><th>社区权重</th></tr>
${rows}</table></body></html>`
}
