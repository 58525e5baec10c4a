// HTTP surface of the assessment: the tier assessment, rankings within a tier, a unit's targets,
// and the indicator catalogue as a readable document.
import type { FastifyInstance } from 'fastify'
import { ADMIN_ONLY, ANYONE, READER_ROLES } from '../auth/index.ts'
import { asOfParam, calendarErrorToHttp, countedRatingsSql, epochSeconds, HttpError, localDate, toRfc3339, type Platform } from '../warehouse/index.ts'
import { AssessmentService, judgeSample, scoreValue, spreadWeights } from './assessment.ts'
import { metricErrorToHttp } from './routes.ts'
import { INDICATOR_BY_ID, INDICATORS, periodRule } from './catalog.ts'
import { gradeOf, schemeEntries, type Scheme } from './scheme.ts'
import { sampleOf } from './samples.ts'
import { funnelMethodOf } from './ranking.ts'

/**
 * The JSON text of an answer that cannot change (frozen: the tier assessment everyone asking at
 * once shares), written once: a station tier's is 1 MB, 8–10 ms of the server's one thread each
 * time, for each of sixteen members opening the page.
 */
const writtenOnce = new WeakMap<object, string>()
function jsonOf(answer: object): object | string {
  if (!Object.isFrozen(answer)) return answer
  let text = writtenOnce.get(answer)
  if (text === undefined) writtenOnce.set(answer, (text = JSON.stringify(answer)))
  return text
}

const yearSchema = { type: 'integer', minimum: 2000, maximum: 2100 } as const
const tierSchema = { type: 'integer', minimum: 1, maximum: 3 } as const

export async function assessmentRoutes(app: FastifyInstance, opts: { platform: Platform; assessment: AssessmentService }): Promise<void> {
  const { platform, assessment } = opts
  const tz = platform.warehouse.timezone
  // the district's year, not UTC's: at midnight on 1 January in Beijing, UTC is still in the old year
  const thisYear = () => Number(localDate(Date.now(), tz).slice(0, 4))

  app.get<{ Querystring: { year?: number; tier: 1 | 2 | 3; as_of?: string } }>('/api/v1/assessment', {
    config: { access: { roles: READER_ROLES } },
    schema: {
      tags: ['assessment'],
      summary: 'The year\'s assessment of every unit of a tier: composite score, grade, rank, points lost per indicator',
      description: 'Every indicator is scored on the unit\'s actual value. An indicator whose sample is below the scheme\'s minimum for it is not scored ' +
        '(`scored: false`, `not_scored_reason: small_sample`, with `sample` and `min_sample`; `no_records` when there is nothing to count, `no_target` for ' +
        'the target method without a target); its `scheme_weight` is spread over the unit\'s scored indicators in proportion: `weight` = scheme_weight ÷ ' +
        '`scored_scheme_weight`, `points` = score × weight, and the composite is the sum of the points.',
      querystring: { type: 'object', additionalProperties: false, required: ['tier'], properties: { year: yearSchema, tier: tierSchema, as_of: { type: 'string' } } },
    },
  }, async (request, reply) => {
    const principal = request.principal
    const q = request.query
    const result = await assessment.tier(q.year ?? thisYear(), q.tier, asOfParam(q.as_of, tz)).catch(calendarErrorToHttp)
    const readable = principal.readableUnits()
    // a unit leader sees its own units' rows (with their rank), not the others'
    if (readable) return { ...result, units: result.units.filter((u) => readable.includes(u.unit_id)) }
    reply.type('application/json; charset=utf-8')
    return jsonOf(result)
  })

  app.get<{ Params: { metric_id: string }; Querystring: { year?: number; tier: 1 | 2 | 3; as_of?: string } }>('/api/v1/rankings/:metric_id', {
    config: { access: { roles: ['joint_meeting', 'inspector', 'admin'] } },
    schema: {
      tags: ['assessment'],
      summary: 'One indicator ranked within a tier (同级比较) on its values, with sample sizes, 95 % intervals, rank ranges and the funnel plot\'s limits and marks',
      params: { type: 'object', properties: { metric_id: { type: 'string' } } },
      querystring: { type: 'object', additionalProperties: false, required: ['tier'], properties: { year: yearSchema, tier: tierSchema, as_of: { type: 'string' } } },
    },
  }, async (request) => {
    const q = request.query
    return assessment.ranking(request.params.metric_id, q.year ?? thisYear(), q.tier, asOfParam(q.as_of, tz)).catch(metricErrorToHttp)
  })

  app.get<{ Querystring: { year?: number; unit_id: string; as_of?: string } }>('/api/v1/targets', {
    config: { access: { roles: READER_ROLES, scope: { unit: 'query.unit_id' } } },
    schema: {
      tags: ['assessment'],
      summary: 'A unit\'s targets (cascaded district → tier → unit), where it stands, and the year-end projection at the current pace',
      description: 'The figures are the unit\'s own records (those that belong to it, as by=unit groups them): the same numerator and denominator its ' +
        'assessment scores. The units below it (a street hall\'s stations) are in each row\'s `below`, summed, never added to the unit\'s own (`below` ' +
        'at the top lists them; null for a unit with none). `projection_basis` says how the year-end projection is made: `as_is` (a rate or an average ' +
        'stands where it is), `pace` (a count scaled by the days gone by), `stock` (open overdue cases: the current stock as it is, not scaled), ' +
        '`pace_and_stock`. `sample` and `min_sample`: the indicator\'s sample for the unit and the scheme\'s minimum (below it the indicator is not scored).',
      querystring: { type: 'object', additionalProperties: false, required: ['unit_id'], properties: { year: yearSchema, unit_id: { type: 'string' }, as_of: { type: 'string' } } },
    },
  }, async (request) => {
    const q = request.query
    return assessment.targets(q.year ?? thisYear(), q.unit_id, asOfParam(q.as_of, tz)).catch(calendarErrorToHttp)
  })

  app.get<{ Querystring: { unit_id: string; bad?: string; from?: string; to?: string; as_of?: string; limit?: number } }>('/api/v1/ratings', {
    config: { access: { roles: READER_ROLES, scope: { unit: 'query.unit_id' } } },
    schema: {
      tags: ['assessment'],
      summary: 'The ratings behind a satisfaction figure: one unit\'s ratings (bad=true: the 1–2 star ones) with their handling',
      querystring: {
        type: 'object', additionalProperties: false, required: ['unit_id'],
        properties: {
          unit_id: { type: 'string' }, bad: { type: 'string', enum: ['true', 'false'] },
          from: { type: 'string', format: 'date' }, to: { type: 'string', format: 'date' }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          as_of: { type: 'string', description: 'the ratings and their handling as they stood then (default now)' },
        },
      },
    },
  }, async (request) => {
    const q = request.query
    // the ratings as the indicators count them (一事一评: `counted`; bad=true: the counted bad
    // ratings, as the 差评 figures count them), each first rating with the case's 追评 beside it
    const asOfMs = asOfParam(q.as_of, tz)
    const params = { unit_id: q.unit_id, bad: q.bad === 'true' ? 1 : 0, from: q.from ?? null, to: q.to ?? null, limit: q.limit ?? 100, as_of: epochSeconds(asOfMs) }
    // (after the refresher: 一事一评 is derived state; an equal list asked at once shares the
    // answer; it reads the moment only in comparisons with occurred_at, so the list as of an
    // earlier moment of the day is kept while nothing came in between: warehouse/answers.ts)
    const sql = `
      SELECT e.event_id AS event_id, e.unit_id AS unit_id, e.rating AS rating, e.active AS active, e.channel AS channel,
        toUnixTimestamp64Milli(e.at) AS occurred_ms, e.case_id AS case_id, e.comment AS comment, e.follow_up AS follow_up, e.counted AS counted,
        arraySort(x -> x.2, groupArrayIf((f.type, toUnixTimestamp64Milli(f.occurred_at), f.note), f.event_id != '')) AS handling,
        any(z.rating) AS follow_up_rating, any(z.ms) AS follow_up_ms
      FROM (${countedRatingsSql(tz)}) AS e
      LEFT JOIN (SELECT * FROM evaluation_followups WHERE occurred_at <= {as_of:DateTime64(3)}) AS f ON f.evaluation_id = e.event_id
      LEFT JOIN (
        SELECT assumeNotNull(case_id) AS case_id, argMax(rating, at) AS rating, toUnixTimestamp64Milli(max(at)) AS ms
        FROM (${countedRatingsSql(tz)}) WHERE follow_up AND case_id IS NOT NULL GROUP BY case_id
      ) AS z ON z.case_id = ifNull(e.case_id, '') AND e.counted
      WHERE e.unit_id = {unit_id:String}
        AND ({bad:UInt8} = 0 OR (e.counted AND e.active AND e.rating <= 2))
        AND ({from:Nullable(Date)} IS NULL OR toDate(e.at) >= {from:Nullable(Date)})
        AND ({to:Nullable(Date)} IS NULL OR toDate(e.at) <= {to:Nullable(Date)})
      GROUP BY event_id, unit_id, rating, active, channel, occurred_ms, case_id, comment, follow_up, counted
      ORDER BY occurred_ms DESC LIMIT {limit:UInt32}
      SETTINGS join_use_nulls = 1`
    const rows = await platform.answers.answer(['ratings', params], () => platform.answers.rowsAcrossMoments<Record<string, unknown>>(sql, params, asOfMs))
    return {
      rows: rows.map((r) => ({
        event_id: r.event_id, unit_id: r.unit_id, rating: r.rating, active: Boolean(r.active), channel: r.channel, case_id: r.case_id, comment: r.comment,
        occurred_at: toRfc3339(Number(r.occurred_ms), tz),
        // a 追评 is the citizen's verdict on the handling, not a second rating (counted: false)
        follow_up: Boolean(r.follow_up), counted: Boolean(r.counted),
        follow_up_rating: r.follow_up_rating === null ? null : { rating: Number(r.follow_up_rating), occurred_at: toRfc3339(Number(r.follow_up_ms), tz) },
        handling: (r.handling as Array<[string, number, string | null]>).map(([type, ms, note]) => ({ type, occurred_at: toRfc3339(Number(ms), tz), note })),
      })),
    }
  })

  // (the year checked: only 2000–2100 can be asked, so the schemes kept for it stay few)
  app.get<{ Querystring: { year?: number } }>('/indicators', {
    config: { access: ANYONE },
    schema: { hide: true, querystring: { type: 'object', additionalProperties: false, properties: { year: yearSchema } } },
  }, async (request, reply) => {
    const year = request.query.year ?? thisYear()
    return reply.type('text/html; charset=utf-8').send(indicatorDocument((await assessment.scheme(year)).scheme))
  })

  app.get<{ Querystring: { year?: number } }>('/api/v1/assessment/scheme', {
    config: { access: { roles: READER_ROLES } },
    schema: {
      tags: ['assessment'],
      summary: 'The year\'s assessment scheme (考核方案): weights, scoring methods, grade bands; stored, or the default',
      querystring: { type: 'object', additionalProperties: false, properties: { year: yearSchema } },
    },
  }, async (request) => {
    const { scheme, stored } = await assessment.scheme(request.query.year ?? thisYear())
    return { ...scheme, source: stored ? 'stored' : 'default' }
  })

  app.put<{ Body: unknown }>('/api/v1/assessment/scheme', {
    config: { access: { roles: ADMIN_ONLY }, audit: 'scheme.change' },
    schema: { tags: ['assessment'], summary: 'Store a year\'s assessment scheme (admin); it replaces that year\'s scheme, checked first' },
  }, async (request) => {
    const problems = await assessment.storeScheme(request.body)
    const body = request.body as { year: number; version: string }
    request.audit = { target: String(body?.year ?? ''), details: problems.length ? { problems: problems.length, first: problems[0] } : { year: body.year, version: body.version, scheme: body } }
    if (problems.length) throw new HttpError(400, 'invalid_scheme', `Nothing was stored: ${problems[0]}`, { problems })
    return { stored: true, year: body.year, version: body.version }
  })
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!)
const CATEGORY_ZH = { timeliness: '时效', efficiency: '效率', satisfaction: '满意度', cost: '成本' } as const

/** Values a worked example uses for an indicator: the unit's value and sample, its target, the tier's worst and best. */
interface ExampleFigure { value: number; sample: number; target?: number; tier?: [number, number] }

/** The worked example's street hall (what its figures could be in a year); indicators not listed get a plain figure of their kind. */
const EXAMPLE: Record<string, ExampleFigure> = {
  on_time_rate: { value: 0.985, sample: 412, target: 0.985 },
  overdue_open: { value: 1, sample: 430 },
  avg_overdue_days: { value: 2.5, sample: 412, tier: [6, 0] },
  first_time_right_rate: { value: 0.96, sample: 412, tier: [0.9, 0.98] },
  queue_wait_avg: { value: 12, sample: 2300, tier: [20, 8] },
  online_rate: { value: 0.3, sample: 420, target: 0.25 },
  satisfaction_rate: { value: 0.992, sample: 260, target: 0.99 },
  bad_review_rectified_on_time_rate: { value: 1, sample: 2, target: 0.95 },
  complaints_per_10k: { value: 48.5, sample: 412, tier: [97, 0] },
  cost_per_case: { value: 310, sample: 412, tier: [520, 180] },
}

function exampleFigure(id: string): ExampleFigure {
  const known = EXAMPLE[id]
  if (known) return known
  const ind = INDICATOR_BY_ID.get(id)!
  const higher = ind.direction === 'higher_is_better'
  if (ind.unit === 'ratio') return higher ? { value: 0.9, sample: 300, tier: [0.8, 0.95] } : { value: 0.05, sample: 300, tier: [0.1, 0.02] }
  return { value: 5, sample: 300, tier: higher ? [2, 8] : [8, 2] }
}

const pct = (w: number) => `${(Math.round(w * 10000) / 100).toFixed(2)}%`
const fig = (v: number, unit: string) => (unit === 'ratio' ? pct(v) : String(Math.round(v * 100) / 100))
const pts = (v: number) => (Math.round(v * 100) / 100).toFixed(2)
const REASON_ZH: Record<string, string> = { small_sample: '样本不足', no_records: '无记录', no_target: '无目标值' }

/**
 * The scoring rule worked through for a street hall under the year's scheme, computed by the
 * assessment's own functions (scoreValue, spreadWeights): its indicators, one not scored for a
 * small sample, the weights spread in proportion, the composite.
 */
export function workedExample(scheme: Scheme, tier: 1 | 2 | 3 = 2): string {
  const entries = schemeEntries(scheme, tier)
  if (entries.length === 0) return ''
  // the one not scored: the rectification rate where the tier has it (a hall with two bad ratings), else the last indicator
  const skipped = entries.find((e) => e.id === 'bad_review_rectified_on_time_rate') ?? entries[entries.length - 1]!
  const rows = entries.map((e) => {
    const ind = INDICATOR_BY_ID.get(e.id)!
    const f = exampleFigure(e.id)
    const sample = e === skipped ? Math.min(f.sample, e.min_sample - 1) : Math.max(f.sample, e.min_sample)
    const judged = judgeSample(ind, sampleOf(ind), { key: 'example', value: f.value, numerator: sample, denominator: sample }, { key: 'example', value: sample, numerator: sample, denominator: null }, e.min_sample)
    const tierValues = f.tier ? [...f.tier, f.value] : [f.value]
    const target = f.target ?? (e.method.kind === 'target' ? f.value : null)
    const sc = judged.reason === null ? scoreValue(e.method, ind.direction === 'higher_is_better', judged.value, { target, tierValues }) : null
    return { e, ind, f, sample, target, reason: judged.reason, score: sc, scheme_weight: e.scheme_weight, weight: 0, points: 0, points_lost: 0 }
  })
  const { scored_scheme_weight, composite } = spreadWeights(rows)
  const how = (r: (typeof rows)[number]) => {
    const u = r.ind.unit
    if (r.score === null) return r.reason === 'small_sample' ? `样本 ${r.sample} 少于最小样本量 ${r.e.min_sample}：不计分` : `${REASON_ZH[r.reason ?? 'no_records']}：不计分`
    const meets = r.target !== null && (r.ind.direction === 'higher_is_better' ? r.f.value >= r.target : r.f.value <= r.target)
    if (meets) return `达到目标 ${fig(r.target!, u)}：100 分`
    switch (r.e.method.kind) {
      case 'minmax': return `同级最差 ${fig(r.f.tier![0], u)}、最好 ${fig(r.f.tier![1], u)}，按比例`
      case 'deduction': return `${r.f.value} 件 × 每件 ${r.e.method.per} 分：扣 ${r.f.value * r.e.method.per} 分`
      case 'stepped': return '按分档'
      case 'target': return `目标 ${fig(r.target!, u)}，完成度`
    }
  }
  const table = rows.map((r) => `<tr><td>${esc(r.ind.name.zh)}</td><td>${METHOD_ZH[r.e.method.kind]}</td><td>${fig(r.f.value, r.ind.unit)}</td><td>${r.sample} / ${r.e.min_sample}</td>
<td>${esc(how(r))}</td><td>${r.score === null ? '不计分' : pts(r.score)}</td><td>${pct(r.scheme_weight)}</td><td>${r.score === null ? '0（折给其他指标）' : `${pct(r.scheme_weight)} ÷ ${pct(scored_scheme_weight)} = ${pct(r.weight)}`}</td><td>${r.score === null ? '—' : pts(r.points)}</td></tr>`).join('\n')
  const sum = rows.filter((r) => r.score !== null).map((r) => `${pts(r.score!)} × ${pct(r.weight)}`).join(' + ')
  return `<h2 id="rule">计分规则（${scheme.year}年）</h2>
<ol>
<li><b>按实际值计分。</b>每项指标按单位的实际值、以方案规定的方法计分（目标完成度、同级比较、分档、按件扣分）。达到本单位目标值（单位、层级或全区目标，逐级继承）或方案最高档的，得 100 分；满分记录不失分；实际值相同的两个单位，不论规模大小，该项得分相同。同级比较以同级计分单位中最好者（本单位有目标且目标低于最好者时，以目标）为 100 分、最差者为 0 分。</li>
<li><b>样本不足，不计分。</b>每项指标有最小样本量（方案中逐项规定，未规定的取 ${scheme.min_sample}）。样本是该指标所依据的记录数：比率为其分母（办件、评价、差评、投诉、排队票），计数和平均值为其所依据的记录（见上表“样本”列）。样本少于最小样本量的，该指标对本单位不计分（样本不足）；没有记录的同样不计分（无记录）；按目标计分而本单位没有目标值的，不计分（无目标值）。</li>
<li><b>按比例折算。</b>不计分指标的权重按比例分给本单位计分的指标：折算权重 = 方案权重 ÷ 本单位计分指标的方案权重之和；一类指标全部不计分的，该类权重同样折算。综合得分 = Σ 得分 × 折算权重，各项得分点之和即综合得分。</li>
<li><b>小样本的不确定性只在排名中说明，不扣分。</b>得分不因样本小而降低。</li>
<li><b>部分年度在岗的单位</b>（年内设立或撤销，按单位的启用、停用日期）只按其在岗期间考核：期间外的记录不予接收；月均人员等按在岗月份计；计数类目标（如全年超期件数）按在岗天数占全年天数的比例折算，比率和平均值类目标不变；年末推算到其停用日为止。全年不在岗的单位不参加考核和排名。</li>
</ol>
<h3 id="ranking">同级排名与随机波动</h3>
<p>同级排名（GET /api/v1/rankings）按实际值排序，并给出每个单位的 95% 区间、区间允许的名次范围（区间互相重叠的单位，名次先后并不确定），以及在本层级漏斗图（Spiegelhalter 2005，英格兰医院绩效比较所用方法）中的位置：以本层级合计值为中心线，画出随样本量收窄的 95% 和 99.8% 控制限，单位落在控制限之内的，其与本层级的差异可归于随机波动；落在之外的标为“高于”或“低于”（99.8% 之外为“明显”）。各类指标的方法：</p>
<table><tr><th>指标类型</th><th>单位的 95% 区间</th><th>漏斗图控制限及标记</th><th>适用指标</th></tr>
<tr><td>比率（分母为记录数）</td><td>Wilson 得分区间</td><td>二项分布精确分位数，按论文附录 A.1.1 插值；标记按精确尾概率</td><td>${INDICATORS.filter((i) => funnelMethodOf(i) === 'binomial').map((i) => esc(i.name.zh)).join('、')}</td></tr>
<tr><td>每万件计数</td><td>泊松精确区间（Garwood）</td><td>泊松分布精确分位数，插值同上；标记按精确尾概率</td><td>${INDICATORS.filter((i) => funnelMethodOf(i) === 'poisson').map((i) => esc(i.name.zh)).join('、')}</td></tr>
<tr><td>记录的平均值</td><td>t 区间：均值 ± t<sub>0.975, n−1</sub> × s ÷ √n（s 为本单位记录的标准差）</td><td>正态限：本层级均值 ± z × σ ÷ √n（σ 为本层级全部记录的标准差，z = 1.96 和 3.09）；标记按 z 值</td><td>${INDICATORS.filter((i) => funnelMethodOf(i) === 'normal').map((i) => esc(i.name.zh)).join('、')}</td></tr>
<tr><td>总量之比、分位数</td><td colspan="2">不是记录的比率或平均值（天数、金额或人员之比；分位数），没有记录层面的分布可据：只按值排序，不给区间和漏斗图</td><td>${INDICATORS.filter((i) => funnelMethodOf(i) === null).map((i) => esc(i.name.zh)).join('、')}</td></tr>
</table>
<h3 id="example">示例：某街道政务服务大厅（${scheme.year}年方案，${TIER_NAME[tier]}）</h3>
<p>该大厅全年的 ${rows.length} 项指标如下；其中“${esc(INDICATOR_BY_ID.get(skipped.id)!.name.zh)}”${rows.find((r) => r.e === skipped)!.sample > 0 ? '样本少于最小样本量' : '没有记录'}，不计分，其方案权重 ${pct(skipped.scheme_weight)} 按比例折算给其余 ${rows.filter((r) => r.score !== null).length} 项。</p>
<table><tr><th>指标</th><th>计分方法</th><th>实际值</th><th>样本 / 最小样本量</th><th>计分</th><th>得分</th><th>方案权重</th><th>折算权重</th><th>得分点</th></tr>
${table}
<tr><td colspan="6"><b>合计</b></td><td>${pct(rows.reduce((s, r) => s + r.scheme_weight, 0))}（计分的 ${pct(scored_scheme_weight)}）</td><td>${pct(rows.reduce((s, r) => s + r.weight, 0))}</td><td><b>${composite === null ? '—' : pts(composite)}</b></td></tr></table>
<p>综合得分 = ${sum} = <b>${composite === null ? '—' : pts(composite)}</b> 分${composite === null ? '' : `，等级 ${esc(gradeOf(scheme, composite).grade)}`}。</p>`
}

const TIER_NAME: Record<number, string> = { 1: '区级', 2: '街道', 3: '社区（站）' }
const METHOD_ZH: Record<string, string> = { target: '目标完成度', minmax: '同级比较', stepped: '分档', deduction: '按件扣分' }

/** The catalogue as a published indicator-definitions volume, with the year's scheme weights, minimum samples and the scoring rule worked through. */
export function indicatorDocument(scheme: Scheme): string {
  const year = scheme.year
  const weight = (id: string, tier: '1' | '2' | '3') => {
    const e = schemeEntries(scheme, Number(tier)).find((x) => x.id === id)
    return e ? `${(e.scheme_weight * 100).toFixed(1)}%（${e.method.kind}）<br><small>最小样本 ${e.min_sample}</small>` : '—'
  }
  const rows = INDICATORS.map((i) => `<tr><td><code>${i.id}</code></td><td>${esc(i.name.zh)}<br><small>${esc(i.name.en)}</small></td><td>${CATEGORY_ZH[i.category]}</td>
    <td>${i.direction === 'higher_is_better' ? '越高越好' : '越低越好'}</td><td>${esc(i.definition.zh)}<br><small>${esc(i.definition.en)}</small></td>
    <td>${i.complement ? '1 − ' : ''}${esc(i.numerator.text.zh)}${i.denominator ? ` ÷ ${esc(i.denominator.text.zh)}` : ''}${i.scale ? ` × ${i.scale}` : ''}</td>
    <td>${esc(sampleOf(i).text.zh)}</td><td>${esc(periodRule(i).zh)}</td><td>${weight(i.id, '1')}</td><td>${weight(i.id, '2')}</td><td>${weight(i.id, '3')}</td></tr>`).join('\n')
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>指标定义 · ${year}</title>
<style>body{font-family:"Noto Sans CJK SC","PingFang SC",sans-serif;margin:32px;color:#1f2933}table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid #cbd2d9;padding:6px;vertical-align:top}th{background:#f0f4f8}small{color:#616e7c}</style></head><body>
<h1>东城区政务服务三级体系 · 绩效指标定义（${year}年）</h1>
<p>每项比率为分子之和 ÷ 分母之和；每个数值都附分子和分母，可逐项核对。权重取自《${esc(scheme.name)}》（版本 ${esc(scheme.version)}）；等级：${scheme.grades.map((g) => `${esc(g.grade)} ≥ ${esc(String(g.min))}`).join('，')}。计分规则和示例见<a href="#rule">表后</a>。</p>
<table><tr><th>编号</th><th>指标</th><th>类别</th><th>方向</th><th>定义</th><th>公式</th><th>样本（与最小样本量比较）</th><th>计入期间</th><th>区级权重</th><th>街道权重</th><th>社区权重</th></tr>
${rows}</table>
${workedExample(scheme)}
</body></html>`
}
