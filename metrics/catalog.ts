// The indicator catalogue: each indicator declared once. A value is Σ numerator ÷ Σ denominator
// (times `scale`; `1 − ratio` where `complement`), and both parts travel with every figure. The
// compiler (compile.ts) turns a declaration plus (period, scope, by, as_of) into parameterised SQL.
import { DAILY_MEASURE_SQL, type DailyMeasure } from '../warehouse/index.ts'
import { SOURCES, type SourceId } from './sources.ts'

export type Category = 'cost' | 'efficiency' | 'timeliness' | 'satisfaction'
export type Direction = 'higher_is_better' | 'lower_is_better'
export type Unit = 'ratio' | 'cases' | 'working_days' | 'minutes' | 'yuan' | 'per_10k_cases' | 'cases_per_fte' | 'points'

/** An aggregate over one source's rows in the period. */
export interface Part {
  source: SourceId
  sql: string
  /** What it counts, in words. */
  text: { zh: string; en: string }
  /**
   * The same aggregate over the daily aggregate of cases (case_daily: stopped or accepted cases
   * per day and unit), where the source has one. Must give exactly `sql`'s figure.
   */
  daily?: string
}

export interface Indicator {
  id: string
  name: { zh: string; en: string }
  category: Category
  unit: Unit
  direction: Direction
  tiers: number[]
  numerator: Part
  /** null for a count: the value is the numerator. */
  denominator: Part | null
  scale?: number
  /** value = 1 − numerator ÷ denominator (a speed-up against a limit). */
  complement?: boolean
  /** A value that is no ratio (a quantile): computed by this aggregate; numerator = value, denominator = count. */
  quantile?: Part
  /**
   * For a mean of records (value = Σ x ÷ count): Σ x² over the same records, on the numerator's
   * scale. Rankings take the records' spread from it (a t interval per unit, the funnel's normal
   * limits); never part of a figure.
   */
  spread?: Part
  /** Added to the numerator: open cases meeting a condition at the end of each period. */
  plusOpenAtEnd?: Part
  definition: { zh: string; en: string }
}

const part = (source: SourceId, sql: string, zh: string, en: string, daily?: string): Part => ({ source, sql, text: { zh, en }, ...(daily ? { daily } : {}) })
/**
 * A sum over cases that the daily aggregate keeps: its expression over the clock's rows is the
 * warehouse's declaration of the measure (DAILY_MEASURE_SQL), written from the declaration that
 * fills case_daily with each case's value, so the two ways to the figure can never say different
 * things (metrics/daily.test.ts compares them).
 */
const caseSum = (source: keyof typeof DAILY_MEASURE_SQL, measure: DailyMeasure, zh: string, en: string): Part =>
  part(source, DAILY_MEASURE_SQL[source][measure], zh, en, `sum(${measure})`)

const stoppedWithVerdict = caseSum('stopped_cases', 'n_verdict', '有时限判定的办结件数', 'stopped cases with an on-time verdict')
const completed = caseSum('stopped_cases', 'n_completed', '办结件数', 'completed cases')
const stopped = caseSum('stopped_cases', 'n', '办结（含不予许可）件数', 'stopped cases (completed or rejected)')
// 一事一评: `counted` is one rating per rated case or visit, never a 追评 (sources.ts)
const activeRatings = part('evaluations', 'countIf(active AND counted)', '主动评价数（一事一评，不含追评）', 'active ratings, one per case or visit (a 追评 is not a second rating)')
const complaintsReceived = part('complaints', 'count()', '受理投诉数', 'complaints received')
const withStatutory = 'isNotNull(statutory_days) AND statutory_days > 0'
const waitP90 = part('queue_tickets', 'quantileExactIf(0.9)(wait_minutes, called_at IS NOT NULL)', '等候分钟的90分位数', 'the 90th percentile of minutes waited')

export const INDICATORS: Indicator[] = [
  // ── timeliness
  {
    id: 'on_time_rate', name: { zh: '按时办结率', en: 'On-time completion rate' }, category: 'timeliness', unit: 'ratio', direction: 'higher_is_better', tiers: [1, 2, 3],
    numerator: caseSum('stopped_cases', 'n_on_time', '按时办结件数', 'stopped cases on time'),
    denominator: stoppedWithVerdict,
    definition: { zh: '办结件中按时的件数 ÷ 有时限判定的办结件数；撤回件不计。', en: 'Stopped cases on time ÷ stopped cases with an on-time verdict; withdrawn cases are left out.' },
  },
  {
    id: 'overdue_cases', name: { zh: '超期件数', en: 'Overdue cases' }, category: 'timeliness', unit: 'cases', direction: 'lower_is_better', tiers: [1, 2, 3],
    numerator: caseSum('stopped_cases', 'n_late', '超期办结件数', 'stopped cases that were late'),
    denominator: null,
    plusOpenAtEnd: part('open_cases', 'countIf(overdue)', '期末在办且超期的件数', 'cases open and overdue at the end of the period'),
    definition: { zh: '期间内办结但超期的件数，加上期末仍在办且已超期的件数（按期末时点判定）。', en: 'Cases stopped in the period that were late, plus cases still open and overdue at the end of the period (judged at that moment).' },
  },
  {
    id: 'overdue_open', name: { zh: '在办超期件', en: 'Open overdue cases' }, category: 'timeliness', unit: 'cases', direction: 'lower_is_better', tiers: [1, 2, 3],
    numerator: part('open_cases', 'countIf(overdue)', '期末在办且超期的件数', 'cases open and overdue at the end of the period'),
    denominator: null,
    definition: { zh: '期末（或查询时点）仍在办且已超过时限的件数（红牌）。', en: 'Cases still open and past their limit at the end of the period or the moment asked (red cards).' },
  },
  {
    id: 'avg_overdue_days', name: { zh: '平均超期工作日', en: 'Average working days overdue' }, category: 'timeliness', unit: 'working_days', direction: 'lower_is_better', tiers: [1, 2, 3],
    numerator: caseSum('stopped_cases', 'late_days_over', '超期办结件的超期工作日合计', 'working days over the limit, summed over late stopped cases'),
    denominator: caseSum('stopped_cases', 'n_late', '超期办结件数', 'stopped cases that were late'),
    spread: caseSum('stopped_cases', 'late_days_over_sq', '超期办结件超期工作日的平方和', 'squares of the working days over, summed over late stopped cases'),
    definition: { zh: '超期办结件超出时限的工作日之和 ÷ 超期办结件数。', en: 'Working days over the limit of late stopped cases ÷ late stopped cases.' },
  },
  {
    id: 'complaint_resolved_on_time_rate', name: { zh: '投诉按期办结率', en: 'Complaints resolved on time' }, category: 'timeliness', unit: 'ratio', direction: 'higher_is_better', tiers: [1, 2, 3],
    numerator: part('complaints', 'countIf(limit_passed AND resolved_in_time)', '期限已过且按期办结的投诉数', 'complaints whose limit has passed that were resolved within it'),
    denominator: part('complaints', 'countIf(limit_passed)', '办理期限已过的投诉数', 'complaints whose limit has passed'),
    definition: { zh: '受理后办理期限（工作日，按层级设置，默认15个）已过的投诉中，在期限内办结的比例。', en: 'Of complaints whose handling limit (working days, a setting per tier, default 15) has passed, the share resolved within it.' },
  },
  // ── efficiency
  {
    id: 'avg_elapsed_days', name: { zh: '平均办理用时', en: 'Average working days to complete' }, category: 'efficiency', unit: 'working_days', direction: 'lower_is_better', tiers: [1, 2, 3],
    numerator: caseSum('stopped_cases', 'elapsed_sum', '办结件用时（工作日）合计', 'elapsed working days, summed over stopped cases'),
    denominator: caseSum('stopped_cases', 'elapsed_n', '办结件数', 'stopped cases'),
    spread: caseSum('stopped_cases', 'elapsed_sq', '办结件用时的平方和', 'squares of the elapsed working days, summed over stopped cases'),
    definition: { zh: '办结件的办理用时（受理次日起算的工作日，扣除补正和特别程序）之和 ÷ 办结件数。', en: 'Elapsed working days of stopped cases (from the day after acceptance, without suspensions) ÷ stopped cases.' },
  },
  {
    id: 'first_time_right_rate', name: { zh: '一次办结率', en: 'Completed without a supplement' }, category: 'efficiency', unit: 'ratio', direction: 'higher_is_better', tiers: [1, 2, 3],
    numerator: caseSum('stopped_cases', 'n_no_supplement', '未经补正的办结件数', 'stopped cases that never had a supplement request'),
    denominator: stopped,
    definition: { zh: '从未补正告知的办结件数 ÷ 办结件数。', en: 'Stopped cases that never had supplement_requested ÷ stopped cases.' },
  },
  {
    id: 'online_rate', name: { zh: '网办率', en: 'Online share' }, category: 'efficiency', unit: 'ratio', direction: 'higher_is_better', tiers: [1, 2, 3],
    numerator: caseSum('accepted_cases', 'n_online', '网上或掌上受理件数', 'cases accepted online or on mobile'),
    denominator: caseSum('accepted_cases', 'n', '受理件数', 'accepted cases'),
    definition: { zh: '受理渠道为网办或掌上办的件数 ÷ 受理件数。', en: 'Cases whose accepted channel is online or mobile ÷ accepted cases.' },
  },
  {
    id: 'instant_rate', name: { zh: '即办件占比', en: 'Share of on-the-spot items' }, category: 'efficiency', unit: 'ratio', direction: 'higher_is_better', tiers: [1, 2, 3],
    numerator: caseSum('stopped_cases', 'n_instant', '即办件（承诺时限0）办结件数', 'stopped cases of items with a promised limit of 0'),
    denominator: stopped,
    definition: { zh: '承诺时限为0（即办件）的办结件数 ÷ 办结件数。', en: 'Stopped cases of items promised on the spot (0 days) ÷ stopped cases.' },
  },
  {
    id: 'promise_compression_rate', name: { zh: '承诺时限压缩率', en: 'Promised-limit compression' }, category: 'efficiency', unit: 'ratio', direction: 'higher_is_better', tiers: [1, 2, 3],
    numerator: caseSum('stopped_cases', 'promise_cut_sum', '（法定时限 − 承诺时限）合计', 'statutory minus promised working days, summed'),
    denominator: caseSum('stopped_cases', 'promise_statutory_sum', '法定时限合计', 'statutory working days, summed'),
    definition: { zh: '办结件（法定时限 − 承诺时限）之和 ÷ 法定时限之和（有法定和承诺时限的事项）。', en: 'Σ (statutory − promised limit) ÷ Σ statutory limit over stopped cases of items that have both.' },
  },
  {
    id: 'actual_speedup_rate', name: { zh: '实际提速率', en: 'Actual speed-up' }, category: 'efficiency', unit: 'ratio', direction: 'higher_is_better', tiers: [1, 2, 3],
    numerator: caseSum('stopped_cases', 'statutory_elapsed_sum', '实际用时（工作日）合计', 'elapsed working days, summed'),
    denominator: caseSum('stopped_cases', 'statutory_sum', '法定时限合计', 'statutory working days, summed'),
    complement: true,
    definition: { zh: '1 − 办结件实际用时之和 ÷ 法定时限之和（有法定时限的事项）。', en: '1 − Σ elapsed working days ÷ Σ statutory limit, over stopped cases of items with a statutory limit.' },
  },
  {
    id: 'queue_wait_avg', name: { zh: '平均排队等候', en: 'Average queue wait' }, category: 'efficiency', unit: 'minutes', direction: 'lower_is_better', tiers: [1, 2],
    // whole seconds add up exactly whatever order the engine's threads add them in; minutes are one division at the end
    numerator: part('queue_tickets', 'sumIf(wait_seconds, called_at IS NOT NULL) / 60', '已叫号票等候分钟合计', 'minutes from issue to call, summed over called tickets'),
    denominator: part('queue_tickets', 'countIf(called_at IS NOT NULL)', '已叫号票数', 'called tickets'),
    spread: part('queue_tickets', 'sumIf(wait_seconds * wait_seconds, called_at IS NOT NULL) / 3600', '已叫号票等候分钟的平方和', 'squares of the minutes waited, summed over called tickets'),
    definition: { zh: '取号到叫号的等候分钟之和 ÷ 已叫号票数。', en: 'Minutes from issue to call ÷ called tickets.' },
  },
  {
    id: 'queue_wait_p90', name: { zh: '排队等候（90分位）', en: 'Queue wait, 90th percentile' }, category: 'efficiency', unit: 'minutes', direction: 'lower_is_better', tiers: [1, 2],
    numerator: waitP90,
    denominator: part('queue_tickets', 'countIf(called_at IS NOT NULL)', '已叫号票数', 'called tickets'),
    quantile: waitP90,
    definition: { zh: '已叫号票取号到叫号等候分钟的90分位数（分子即该值，分母为票数）。', en: 'The 90th percentile of minutes from issue to call (the numerator is that value, the denominator the tickets).' },
  },
  {
    id: 'cases_per_staff', name: { zh: '人均办件量', en: 'Cases per staff' }, category: 'efficiency', unit: 'cases_per_fte', direction: 'higher_is_better', tiers: [1, 2, 3],
    numerator: completed,
    denominator: part('costs', "sumIf(staff_fte, category = 'staff') / {months:Float64}", '月均在岗人员（全时当量）', 'staff FTE per month, averaged over the period'),
    definition: { zh: '办结件数 ÷ 期间月均人员全时当量（人员经费台账的 staff_fte）。', en: 'Completed cases ÷ average monthly staff FTE of the period (staff_fte of staff cost entries).' },
  },
  // ── 代办 (下沉): items a station accepts on a hall's behalf and transfers to it
  {
    id: 'proxy_rate', name: { zh: '代办率', en: 'Share handled on behalf of a hall (代办)' }, category: 'efficiency', unit: 'ratio', direction: 'higher_is_better', tiers: [3],
    numerator: caseSum('proxy_cases', 'n_to_hall', '受理后转交上级大厅办理的件数（代办件）', 'cases accepted here and transferred to a hall'),
    denominator: caseSum('proxy_cases', 'n', '本单位受理件数', 'cases accepted here'),
    definition: { zh: '本单位（社区、政务服务站）受理后转交街道或区级大厅办理的件数 ÷ 本单位受理件数；按受理单位计，不论办件现属哪个单位。', en: 'Cases a station accepted and transferred to a street or district hall ÷ cases it accepted; counted at the accepting unit, wherever the case is now.' },
  },
  {
    id: 'proxy_on_time_rate', name: { zh: '代办按时办结率', en: 'Cases handled on behalf of a hall, on time' }, category: 'timeliness', unit: 'ratio', direction: 'higher_is_better', tiers: [3],
    numerator: caseSum('proxy_cases', 'n_to_hall_on_time', '按时办结的代办件数', 'cases handled on behalf of a hall, on time'),
    denominator: caseSum('proxy_cases', 'n_to_hall_verdict', '有时限判定的代办件数', 'cases handled on behalf of a hall with an on-time verdict'),
    definition: { zh: '代办件中按时办结的比例，时限自本单位受理起算（转交不重新起算）；按受理日期计入期间。', en: 'Of the cases handled on behalf of a hall, the share completed on time, the clock running from the station\'s acceptance (a transfer does not restart it); placed by the acceptance date.' },
  },
  // ── cost
  {
    id: 'cost_per_case', name: { zh: '件均成本', en: 'Cost per case' }, category: 'cost', unit: 'yuan', direction: 'lower_is_better', tiers: [1, 2, 3],
    numerator: part('costs', 'sum(amount)', '期间成本（元）', 'cost in the period, yuan'),
    denominator: completed,
    definition: { zh: '期间成本台账金额之和 ÷ 期间办结件数。', en: 'Cost ledger amounts of the period ÷ cases completed in the period.' },
  },
  {
    id: 'purchased_service_share', name: { zh: '购买服务占比', en: 'Purchased-service share' }, category: 'cost', unit: 'ratio', direction: 'lower_is_better', tiers: [1, 2, 3],
    numerator: part('costs', "sumIf(amount, category = 'purchased_service')", '政府购买服务金额', 'purchased services, yuan'),
    denominator: part('costs', 'sum(amount)', '成本合计', 'all costs, yuan'),
    definition: { zh: '政府购买服务金额 ÷ 成本合计。', en: 'Purchased services ÷ all costs.' },
  },
  // ── satisfaction
  {
    id: 'satisfaction_rate', name: { zh: '好评率', en: 'Satisfaction rate' }, category: 'satisfaction', unit: 'ratio', direction: 'higher_is_better', tiers: [1, 2, 3],
    numerator: part('evaluations', 'countIf(active AND counted AND rating >= 3)', '主动评价中3–5星数', 'active ratings of 3–5 stars'),
    denominator: activeRatings,
    definition: { zh: '主动评价中基本满意及以上（3–5）的数量 ÷ 主动评价数；一事一评：每个办件（或每次无办件的服务）只计第一次评价，追评不是第二次评价。', en: 'Active ratings of 3–5 ÷ active ratings; one rating per case (or per visit without a case): the first, never a 追评.' },
  },
  {
    id: 'bad_review_rate', name: { zh: '差评率', en: 'Bad-rating rate' }, category: 'satisfaction', unit: 'ratio', direction: 'lower_is_better', tiers: [1, 2, 3],
    numerator: part('evaluations', 'countIf(active AND counted AND rating <= 2)', '主动评价中1–2星数', 'active ratings of 1–2 stars'),
    denominator: activeRatings,
    definition: { zh: '主动评价中不满意及以下（1–2）的数量 ÷ 主动评价数（一事一评，不含追评）；可按评价渠道（by=channel）分列。', en: 'Active ratings of 1–2 ÷ active ratings (one per case or visit, no 追评); by=channel gives it per rating channel.' },
  },
  {
    id: 'evaluation_rate', name: { zh: '主动评价率', en: 'Active rating rate' }, category: 'satisfaction', unit: 'ratio', direction: 'higher_is_better', tiers: [1, 2, 3],
    numerator: activeRatings,
    denominator: part('evaluations', 'countIf(counted)', '全部评价数（含默认评价，一事一评）', 'all ratings, default ones included, one per case or visit'),
    definition: { zh: '主动评价数 ÷ 全部评价数（含未主动评价时系统默认的评价）。', en: 'Active ratings ÷ all ratings, including the defaults given when a person did not rate.' },
  },
  {
    id: 'bad_review_rectified_on_time_rate', name: { zh: '差评按期整改率', en: 'Bad ratings rectified on time' }, category: 'satisfaction', unit: 'ratio', direction: 'higher_is_better', tiers: [1, 2, 3],
    numerator: part('bad_reviews', 'countIf(NOT dismissed AND limit_passed AND rectified_in_time)', '整改期限已过且按期整改的差评数', 'bad ratings past their limit that were rectified within it'),
    denominator: part('bad_reviews', 'countIf(NOT dismissed AND limit_passed)', '整改期限已过的差评数', 'bad ratings whose rectification limit has passed'),
    definition: { zh: '整改期限（工作日，设置项，默认15个）已过的差评中，在期限内整改的比例；核实为非服务问题（dismissed）的不计。', en: 'Of bad ratings whose rectification limit (working days, a setting, default 15) has passed, the share rectified within it; ratings dismissed as not about the service are left out.' },
  },
  {
    id: 'bad_review_verified_on_time_rate', name: { zh: '差评核实及时率', en: 'Bad ratings verified in time' }, category: 'satisfaction', unit: 'ratio', direction: 'higher_is_better', tiers: [1, 2, 3],
    numerator: part('bad_reviews', 'countIf(verify_limit_passed AND verified_in_time)', '核实期限已过且按期核实的差评数', 'bad ratings past their verification limit that were verified within it'),
    denominator: part('bad_reviews', 'countIf(verify_limit_passed)', '核实期限已过的差评数', 'bad ratings whose verification limit has passed'),
    definition: { zh: '核实期限（工作日，按层级设置，默认1个）已过的差评中，在期限内核实（verified，或核实为非服务问题 dismissed）的比例。', en: 'Of bad ratings whose verification limit (working days, a setting per tier, default 1) has passed, the share verified (or dismissed, which takes a verification) within it.' },
  },
  {
    id: 'revisit_on_time_rate', name: { zh: '差评回访及时率', en: 'Bad ratings revisited in time' }, category: 'satisfaction', unit: 'ratio', direction: 'higher_is_better', tiers: [1, 2, 3],
    numerator: part('bad_reviews', 'countIf(NOT dismissed AND revisit_limit_passed AND revisited_in_time)', '回访期限已过且按期回访的差评数', 'bad ratings past their revisit limit that were revisited within it'),
    denominator: part('bad_reviews', 'countIf(NOT dismissed AND revisit_limit_passed)', '回访期限已过的差评数', 'bad ratings whose revisit limit has passed'),
    definition: { zh: '回访期限（工作日，按层级设置，默认20个；回访即向评价人反馈整改结果）已过的差评中，在期限内回访的比例；核实为非服务问题的不计。', en: 'Of bad ratings whose revisit limit (working days, a setting per tier, default 20; the revisit is the feedback to the person who rated) has passed, the share revisited within it; dismissed ones left out.' },
  },
  {
    id: 'real_name_revisit_rate', name: { zh: '实名差评回访率', en: 'Named bad ratings revisited' }, category: 'satisfaction', unit: 'ratio', direction: 'higher_is_better', tiers: [1, 2, 3],
    numerator: part('bad_reviews', 'countIf(NOT dismissed AND real_name AND revisited)', '已回访的实名差评数', 'named bad ratings revisited'),
    denominator: part('bad_reviews', 'countIf(NOT dismissed AND real_name)', '实名差评数', 'named (实名) bad ratings'),
    definition: { zh: '实名差评中已回访的比例（国家好差评制度要求实名差评回访率100%）；核实为非服务问题的不计。', en: 'Of named (实名) bad ratings, the share revisited (the national rules expect 100 %); dismissed ones left out.' },
  },
  {
    id: 'bad_review_dismissed_share', name: { zh: '差评核实为非服务问题占比', en: 'Bad ratings dismissed' }, category: 'satisfaction', unit: 'ratio', direction: 'lower_is_better', tiers: [1, 2, 3],
    numerator: part('bad_reviews', 'countIf(dismissed)', '核实为非服务问题的差评数', 'bad ratings dismissed as not about the service'),
    denominator: part('bad_reviews', 'count()', '差评数', 'bad ratings'),
    definition: { zh: '差评中核实为非服务问题（dismissed）而不计入整改的比例，供联席会议监督有无滥用。', en: 'Of bad ratings, the share dismissed as not about the service (and so left out of rectification): the joint meeting watches it for abuse.' },
  },
  {
    id: 'revisit_rate', name: { zh: '差评回访率', en: 'Bad ratings revisited' }, category: 'satisfaction', unit: 'ratio', direction: 'higher_is_better', tiers: [1, 2, 3],
    numerator: part('bad_reviews', 'countIf(NOT dismissed AND revisited)', '已回访的差评数', 'bad ratings revisited'),
    denominator: part('bad_reviews', 'countIf(NOT dismissed)', '差评数（不含核实为非服务问题的）', 'bad ratings, dismissed ones left out'),
    definition: { zh: '已回访的差评数 ÷ 差评数（不含核实为非服务问题的）。', en: 'Bad ratings revisited ÷ bad ratings not dismissed.' },
  },
  {
    id: 'complaints_per_10k', name: { zh: '每万件投诉量', en: 'Complaints per 10,000 cases' }, category: 'satisfaction', unit: 'per_10k_cases', direction: 'lower_is_better', tiers: [1, 2, 3],
    numerator: complaintsReceived,
    denominator: completed,
    scale: 10_000,
    definition: { zh: '期间受理的投诉数 ÷ 期间办结件数 × 10000。', en: 'Complaints received in the period ÷ cases completed in the period × 10,000.' },
  },
  {
    id: 'follow_up_satisfaction_rate', name: { zh: '追评满意率', en: 'Follow-up ratings satisfied' }, category: 'satisfaction', unit: 'ratio', direction: 'higher_is_better', tiers: [1, 2, 3],
    numerator: part('evaluations', 'countIf(follow_up AND active AND rating >= 3)', '3–5星的追评数', 'follow-up ratings of 3–5 stars'),
    denominator: part('evaluations', 'countIf(follow_up AND active)', '追评数', 'follow-up ratings (追评)'),
    definition: { zh: '追评（同一办件的第二次评价，群众对整改的评价）中基本满意及以上（3–5）的比例。', en: 'Of follow-up ratings (追评: the citizen\'s verdict on the rectification), the share of 3–5.' },
  },
  // ── the reporting hotline's three rates (12345: 响应率, 解决率, 满意率)
  {
    id: 'complaint_response_rate', name: { zh: '响应率', en: 'Complaints responded to in time' }, category: 'satisfaction', unit: 'ratio', direction: 'higher_is_better', tiers: [1, 2, 3],
    numerator: part('complaints', 'countIf(response_limit_passed AND responded_in_time)', '响应期限已过且按期响应的投诉数', 'complaints past their response limit that were responded to within it'),
    denominator: part('complaints', 'countIf(response_limit_passed)', '响应期限已过的投诉数', 'complaints whose response limit has passed'),
    definition: { zh: '受理后响应期限（工作日，按层级设置，默认1个）已过的投诉中，在期限内首次联系投诉人（responded）的比例。', en: 'Of complaints whose response limit (working days after received, a setting per tier, default 1) has passed, the share responded to (first contact) within it.' },
  },
  {
    id: 'complaint_resolution_rate', name: { zh: '解决率', en: 'Complaints resolved' }, category: 'satisfaction', unit: 'ratio', direction: 'higher_is_better', tiers: [1, 2, 3],
    numerator: part('complaints', 'countIf(resolved_at IS NOT NULL)', '已办结的投诉数', 'complaints resolved'),
    denominator: complaintsReceived,
    definition: { zh: '期间受理的投诉中已办结（resolved）的数量 ÷ 受理投诉数。', en: 'Complaints received in the period that were resolved ÷ complaints received.' },
  },
  {
    id: 'complaint_satisfaction_rate', name: { zh: '满意率', en: 'Complainants satisfied' }, category: 'satisfaction', unit: 'ratio', direction: 'higher_is_better', tiers: [1, 2, 3],
    numerator: part('complaints', 'countIf(rating >= 3)', '投诉人评价3–5星的投诉数', 'complaints the complainant rated 3–5'),
    denominator: part('complaints', 'countIf(rating IS NOT NULL)', '投诉人已评价的投诉数', 'complaints the complainant rated'),
    definition: { zh: '投诉人对办理结果评价（rated）为基本满意及以上（3–5）的投诉数 ÷ 已评价的投诉数（以最后一次评价为准）。', en: 'Complaints the complainant rated 3–5 ÷ complaints rated (the latest rating counts).' },
  },
  {
    id: 'complaint_substantiated_share', name: { zh: '投诉属实率', en: 'Complaints substantiated' }, category: 'satisfaction', unit: 'ratio', direction: 'lower_is_better', tiers: [1, 2, 3],
    numerator: part('complaints', 'countIf(resolved_at IS NOT NULL AND substantiated)', '经办结认定属实的投诉数', 'resolved complaints found substantiated'),
    denominator: part('complaints', 'countIf(resolved_at IS NOT NULL)', '已办结的投诉数', 'complaints resolved'),
    definition: { zh: '已办结的投诉中认定属实（substantiated）的比例，与三项热线指标并列。', en: 'Of resolved complaints, the share found substantiated; shown beside the hotline\'s three rates.' },
  },
]

export const INDICATOR_BY_ID = new Map(INDICATORS.map((i) => [i.id, i]))

/** The date that places each part's rows in a period, for the definitions page. */
export function periodRule(i: Indicator): { zh: string; en: string } {
  const n = SOURCES[i.numerator.source].date
  const d = i.denominator ? SOURCES[i.denominator.source].date : undefined
  if (!d || d.en === n.en) return n
  return { zh: `分子按${n.zh}，分母按${d.zh}`, en: `numerator by ${n.en}, denominator by ${d.en}` }
}
