// Chinese first, English on a switch. The choice is kept in the browser (localStorage).
export type Lang = 'zh' | 'en'

const zh = {
  app: '政务服务绩效分析', signIn: '登录', signOut: '退出', username: '用户名', password: '密码', signingIn: '正在登录…',
  wrongPassword: '用户名或密码错误。', tryLater: '用户名或密码错误；尝试过多，请 {s} 秒后再试。', sessionEnded: '登录已过期，请重新登录。',
  meeting: '联席会议', unit: '本单位', inspect: '效能督查', quality: '数据质量', language: 'English',
  year: '年度', period: '截至', ytd: '年初至今', tier: '层级', category: '类别', all: '综合',
  tier1: '区级（中心及委办局）', tier2: '街道', tier3: '社区及企业服务站',
  cost: '成本', efficiency: '效率', timeliness: '时效', satisfaction: '满意度',
  rank: '排名', unitName: '单位', score: '得分', grade: '等级', sample: '样本', cases: '办件', ratings: '评价', movement: '较上期', smallSample: '样本数字为橙色：有指标样本不足，不计分，其权重按比例折算到其余计分指标',
  funnel: '漏斗图：与本层级比较', funnelHelp: '点在控制限内：与本层级的差异可归于随机波动；可能名次按 95% 区间给出', rankRange: '可能名次', interval95: '95% 区间', funnelMark: '与本层级比较', value: '数值',
  mark_within: '在控制限内', mark_above: '高于 95% 限', mark_far_above: '高于 99.8% 限', mark_below: '低于 95% 限', mark_far_below: '低于 99.8% 限',
  ranking: '同级排名', gradeSpread: '等级分布', heatmap: '单位 × 指标得分', trends: '月度趋势', unitsCount: '单位数',
  loading: '加载中…', empty: '暂无数据', error: '出错了', forbidden: '无权查看：该单位不在您的职责范围内。',
  targets: '年度目标', indicator: '指标', target: '目标', current: '当前', attainment: '完成度', projection: '年末预计', onTrack: '达标',
  yes: '是', no: '否', tierMedian: '同层级中位数', pointsLost: '失分', why: '原因', overdueCases: '超期案件', badRatings: '差评', subUnits: '下属单位',
  composite: '综合得分', exportCsv: '导出 CSV', exporting: '正在导出…', more: '加载更多', sortBy: '排序', byDaysOver: '超期最多在前', byCaseId: '按办件编号',
  overdue: '红牌（超期）', warning: '黄牌（临期）', district: '全区', item: '事项', caseId: '办件编号', status: '状态',
  acceptedAt: '受理时间', dueAt: '办理时限', deadline: '截止日期', daysOver: '超期工作日', elapsed: '已用工作日', limit: '时限（工作日）', suspended: '中止工作日',
  timeline: '办理过程', event: '环节', time: '时间', channel: '渠道', staff: '经办人',
  source: '来源系统', stream: '数据流', lastArrived: '最近到达', batches: '批次', accepted: '接收', duplicates: '重复', rejected: '拒收',
  quarantine: '隔离区', reason: '原因', row: '行', officialCalendar: '法定工作日历', calendarYears: '已加载年份', calendarMissing: '尚未加载 {year} 年国务院放假安排：{year} 年起的时限将无法计算。',
  calendarOk: '已加载到 {year} 年。', rating: '评分', comment: '评价内容', handling: '处理记录', noAccess: '您的角色不能查看此页面。',
  rows: '条', asOf: '数据截至', reports: '年度考核报告', publish: '发布本年度考核', republish: '重新发布（新版本）', publishConfirm: '发布 {year} 年度考核？发布后数字将被冻结。',
  publishedOn: '已发布于', notPublished: '本年度尚未发布。', published: '已发布', districtReport: '全区报告', unitReport: '单位报告',
  restatement: '更正说明（已发布 vs 当前）', restated: '发布后又有数据到达：以下数字与已发布的不同。已发布的报告不变。', notRestated: '发布后没有改变任何数字的数据到达。',
  followUpRating: '追评', queueTickets: '排队票', costEntries: '成本台账', casesList: '办件',
  complaints: '投诉', complaintId: '投诉编号', received: '受理', responded: '响应', resolved: '办结', complainantRating: '投诉人评价', ratingLink: '关联评价', late: '超期', overdueStep: '逾期未办',
  inServiceFrom: '起设立', inServiceTo: '后停用', inServiceNote: '年内设立或停用：只按在岗期间考核，计数类目标按在岗天数折算', fullYear: '全年',
  notRated: '未评定', notRatedHelp: '未评定：没有指标达到最低样本，不计综合得分、等级和排名', notScored: '不计分', scoredYes: '计分',
  notScored_small_sample: '样本不足，不计分', notScored_no_records: '无记录，不计分', notScored_no_target: '无目标，不计分',
  scoringTable: '综合得分的计算（按比例折算）', schemeWeight: '方案权重', spreadWeight: '折算后权重', pointsIn: '计入得分', scoringStatus: '是否计分', sampleMin: '样本 / 最低',
  scoringHelp: '各指标按本单位实际值计分；样本不足的指标不计分，其方案权重按比例折算到计分的指标：折算后权重 = 方案权重 ÷ {w}（计分指标方案权重之和）；计入得分 = 得分 × 折算后权重。',
  sumPoints: 'Σ 计入得分 = 综合得分', ownValue: '本单位', belowShort: '下属单位合计', projectionBasis: '预计依据', belowMinSample: '样本不足',
  belowTarget: '未达目标', belowPeers: '低于同层级', 
  calendar: '节假日安排', noticeTitle: '载入国务院放假安排', noticeText: '通知全文',
  noticeHint: '粘贴《国务院办公厅关于某年部分节假日安排的通知》全文，先预览，核对无误后保存。',
  noticePlaceholder: '国务院办公厅关于{year}年部分节假日安排的通知……', preview: '预览', previewing: '正在解析…', store: '保存', storing: '正在保存…',
  noticeUnreadable: '无法读取这份通知（第 {line} 行），未作任何改动：', noticeRefused: '未作任何改动：', storedLegend: '本次保存改动的日期',
  previewOf: '预览：{year} 年（尚未保存）', amends: '（调整已有安排）', storedOk: '已保存 {years} 年节假日安排（{n} 个日期有变化）。', yearsTouched: '本通知涉及年份：{years}',
  storeHint: '保存后，涉及这些日期的时限与指标按新安排计算。',
  viewYear: '已载入的安排', statusOfficial: '正式：国务院放假安排', statusProvisional: '暂定',
  provisionalExplain: '按法定节假日推算，并非国务院的放假安排；载入当年通知后以通知为准。', calSource: '来源：',
  legendHoliday: '放假（节假日）', legendWorkday: '调休上班', legendWeekend: '周末', legendWorking: '工作日', legendChanged: '与当前版本不同',
  daysOff: '休息日', holidayDays: '其中节假日', workdays: '调休上班', workingDays: '工作日', dayUnit: ' 天',
  changes: '与当前版本相比的变化', storedChanges: '本次保存的变化', noChanges: '与当前版本相同：没有日期变化。', date: '日期', before: '之前', after: '之后',
  dayOff: '休息', dayWork: '上班', notLoaded: '未载入', weekdayLetters: '一二三四五六日', weekdayNames: '周一,周二,周三,周四,周五,周六,周日',
  calendarBanner: '{years}年节假日安排尚未载入，相关数字按暂定日历计算。', calendarBannerLink: '载入节假日安排',
  calendarProvisional: '{year} 年按暂定日历计算：国务院放假安排尚未载入。',
  provisionalMark: '暂定日历', provisionalTip: '该数字计入了尚未载入国务院放假安排的年份中的日子，按暂定日历（由法定节假日推算）计算，载入安排后可能变化。',
  draft: '征求意见稿', draftNotice: '本年度尚未发布：以下为征求意见稿，按当前数据计算，数据截至打开时，随数据到达而变化，以联席会议正式发布为准。请核对本单位的得分及所依据的记录。', draftDistrict: '全区报告（征求意见稿）', draftUnit: '单位报告（征求意见稿）',
  access: '密钥与用户', audit: '审计日志', apiKeys: 'API 密钥', users: '用户', keyName: '名称', role: '角色', units: '单位', created: '创建时间', lastUsed: '最近使用',
  revoked: '已吊销', active: '有效', revoke: '吊销', revokeConfirm: '吊销密钥“{name}”？使用它的系统从下一个请求起被拒绝，无法恢复。', disabled: '已停用',
  disable: '停用', enable: '启用', disableConfirm: '停用用户“{name}”？其所有登录立即失效，且不能再登录，直到重新启用。', never: '从未', actions: '操作',
  role_source: '数据来源系统', role_joint_meeting: '联席会议', role_unit_leader: '单位负责人', role_inspector: '效能监察', role_admin: '管理员',
  auditWhen: '时间', auditActor: '操作者', auditAction: '操作', auditAddress: '来源地址', auditTarget: '对象', auditDetails: '变更内容', auditStatus: '结果',
  auditAllActions: '全部操作', auditFrom: '从', auditTo: '到', filter: '筛选',
  action_sign_in: '登录', action_sign_in_failed: '登录失败', action_sign_out: '退出', 'action_key.create': '创建密钥', 'action_key.revoke': '吊销密钥',
  'action_user.change': '用户变更', 'action_settings.change': '设置变更', 'action_scheme.change': '考核方案变更', 'action_reference.change': '基础数据变更',
  'action_calendar.change': '节假日安排变更', 'action_report.publish': '发布考核', 'action_document.download': '下载文件',
  ownedByOther: '被其他来源系统占用的编号', ownedByOtherHelp: '这些记录的编号已由另一来源系统先行存入，未被计入。请与两个系统核实：若先存入的一方有误，由其更正后，本系统重新发送这些记录。', firstStoredBy: '先存入者',
}
type Key = keyof typeof zh

const en: Record<Key, string> = {
  app: 'Government service performance', signIn: 'Sign in', signOut: 'Sign out', username: 'User name', password: 'Password', signingIn: 'Signing in…',
  wrongPassword: 'Wrong user name or password.', tryLater: 'Wrong user name or password; too many tries: wait {s} s before the next.', sessionEnded: 'Your session has ended; sign in again.',
  meeting: 'Joint meeting', unit: 'My unit', inspect: 'Inspection', quality: 'Data quality', language: '中文',
  year: 'Year', period: 'As of', ytd: 'Year to date', tier: 'Tier', category: 'Category', all: 'Composite',
  tier1: 'District (centre and bureaus)', tier2: 'Street halls', tier3: 'Community and enterprise stations',
  cost: 'Cost', efficiency: 'Efficiency', timeliness: 'Timeliness', satisfaction: 'Satisfaction',
  rank: 'Rank', unitName: 'Unit', score: 'Score', grade: 'Grade', sample: 'Sample', cases: 'cases', ratings: 'ratings', movement: 'Since last period', smallSample: 'A sample in orange: some indicators had too small a sample and were not scored (样本不足，不计分); their weight was spread over the scored ones in proportion (按比例折算)',
  funnel: 'Funnel plot: compared with the tier', funnelHelp: 'A point within the limits differs from the tier by what chance alone gives; the possible ranks follow from the 95 % intervals', rankRange: 'Possible ranks', interval95: '95 % interval', funnelMark: 'Against the tier', value: 'Value',
  mark_within: 'within the limits', mark_above: 'above the 95 % limit', mark_far_above: 'above the 99.8 % limit', mark_below: 'below the 95 % limit', mark_far_below: 'below the 99.8 % limit',
  ranking: 'Ranking within the tier', gradeSpread: 'Spread of grades', heatmap: 'Unit × indicator scores', trends: 'Monthly trends', unitsCount: 'Units',
  loading: 'Loading…', empty: 'No data', error: 'Something went wrong', forbidden: 'Not yours to see: this unit is outside your responsibility.',
  targets: 'Targets for the year', indicator: 'Indicator', target: 'Target', current: 'Now', attainment: 'Attainment', projection: 'Year-end projection', onTrack: 'On track',
  yes: 'yes', no: 'no', tierMedian: 'Tier median', pointsLost: 'Points lost', why: 'Why', overdueCases: 'Overdue cases', badRatings: 'Bad ratings', subUnits: 'Units under it',
  composite: 'Composite score', exportCsv: 'Export CSV', exporting: 'Exporting…', more: 'Load more', sortBy: 'Order', byDaysOver: 'Most overdue first', byCaseId: 'By case number',
  overdue: 'Red card (overdue)', warning: 'Yellow card (due soon)', district: 'District', item: 'Item', caseId: 'Case', status: 'Status',
  acceptedAt: 'Accepted', dueAt: 'Due', deadline: 'Deadline', daysOver: 'Working days over', elapsed: 'Working days used', limit: 'Limit (working days)', suspended: 'Suspended working days',
  timeline: 'Timeline', event: 'Event', time: 'Time', channel: 'Channel', staff: 'Staff',
  source: 'Source system', stream: 'Stream', lastArrived: 'Last arrived', batches: 'Batches', accepted: 'Accepted', duplicates: 'Duplicates', rejected: 'Rejected',
  quarantine: 'Quarantine', reason: 'Reason', row: 'Row', officialCalendar: 'Official working-day calendar', calendarYears: 'Years loaded', calendarMissing: 'The State Council arrangement for {year} is not loaded yet: deadlines from {year} on cannot be computed.',
  calendarOk: 'Loaded up to {year}.', rating: 'Rating', comment: 'Comment', handling: 'Handling', noAccess: 'Your role cannot open this page.',
  rows: 'rows', asOf: 'As of', reports: 'Annual assessment', publish: 'Publish this year', republish: 'Publish again (new version)', publishConfirm: 'Publish the {year} assessment? Its figures will be frozen.',
  publishedOn: 'Published', notPublished: 'This year is not published yet.', published: 'Published', districtReport: 'District report', unitReport: 'Unit report',
  restatement: 'Restatement (published vs current)', restated: 'Data arrived after publication: these figures differ from the published ones. The published report stays as it was.', notRestated: 'Nothing that arrived since publication changes a figure.',
  followUpRating: 'Follow-up rating (追评)', queueTickets: 'Queue tickets', costEntries: 'Cost entries', casesList: 'Cases',
  complaints: 'Complaints', complaintId: 'Complaint', received: 'Received', responded: 'Responded', resolved: 'Resolved', complainantRating: "Complainant's rating", ratingLink: 'Rating', late: 'late', overdueStep: 'overdue',
  inServiceFrom: 'opened', inServiceTo: 'closed after', inServiceNote: 'opened or closed in the year: assessed on its time in service only, count targets scaled to its days', fullYear: 'whole year',
  notRated: 'not rated', notRatedHelp: 'not rated: no indicator reached its minimum sample, so no composite, grade or rank', notScored: 'not scored', scoredYes: 'scored',
  notScored_small_sample: 'sample too small: not scored', notScored_no_records: 'no records: not scored', notScored_no_target: 'no target: not scored',
  scoringTable: 'How the composite is made (weights spread in proportion, 按比例折算)', schemeWeight: 'Scheme weight', spreadWeight: 'Weight after spreading', pointsIn: 'Points', scoringStatus: 'Scored', sampleMin: 'Sample / minimum',
  scoringHelp: 'Each indicator is scored on the unit\'s actual value; one below its minimum sample is not scored and its scheme weight is spread over the scored ones in proportion: weight = scheme weight ÷ {w} (the scored indicators\' scheme weights summed); points = score × weight.',
  sumPoints: 'Σ points = composite', ownValue: 'This unit', belowShort: 'Units below, summed', projectionBasis: 'Projection basis', belowMinSample: 'sample too small',
  belowTarget: 'below target', belowPeers: 'below its peers', 
  calendar: 'Holiday calendar', noticeTitle: 'Load the State Council arrangement', noticeText: 'Text of the notice',
  noticeHint: 'Paste the whole text of the State Council General Office notice on the arrangement of holidays for a year (国务院办公厅关于某年部分节假日安排的通知), preview it, check it, then store it.',
  noticePlaceholder: '国务院办公厅关于{year}年部分节假日安排的通知……', preview: 'Preview', previewing: 'Reading…', store: 'Store', storing: 'Storing…',
  noticeUnreadable: 'This notice cannot be read (line {line}); nothing was changed:', noticeRefused: 'Nothing was changed:', storedLegend: 'Dates this store changed',
  previewOf: 'Preview: {year} (not stored yet)', amends: ' (amends an arrangement)', storedOk: 'Stored the holiday arrangement for {years} ({n} dates changed).', yearsTouched: 'Years this notice changes: {years}',
  storeHint: 'Once stored, deadlines and figures that count these dates follow the new arrangement.',
  viewYear: 'Arrangement loaded', statusOfficial: 'official: the State Council arrangement', statusProvisional: 'provisional',
  provisionalExplain: 'Worked out from the statutory holidays, not the State Council arrangement; the notice replaces it once loaded.', calSource: 'Source: ',
  legendHoliday: 'Holiday (day off)', legendWorkday: 'Make-up working day (调休)', legendWeekend: 'Weekend', legendWorking: 'Working day', legendChanged: 'Differs from the current version',
  daysOff: 'Days off', holidayDays: 'of them holidays', workdays: 'Make-up working days', workingDays: 'Working days', dayUnit: '',
  changes: 'Changes from the current version', storedChanges: 'Changes stored', noChanges: 'The same as the current version: no date changes.', date: 'Date', before: 'Before', after: 'After',
  dayOff: 'day off', dayWork: 'working', notLoaded: 'not loaded', weekdayLetters: 'MTWTFSS', weekdayNames: 'Mon,Tue,Wed,Thu,Fri,Sat,Sun',
  calendarBanner: 'The holiday arrangement for {years} is not loaded yet: figures that count its days use a provisional calendar.', calendarBannerLink: 'Load the arrangement',
  calendarProvisional: '{year} uses a provisional calendar: the State Council arrangement is not loaded yet.',
  provisionalMark: 'provisional calendar', provisionalTip: 'This figure counts days of a year whose State Council arrangement is not loaded yet: it uses a provisional calendar worked out from the statutory holidays and may change once the arrangement is loaded.',
  draft: 'Draft for comment', draftNotice: 'This year is not published: below is the draft for comment, computed from the data as it stands when opened; it changes as data arrives, and the joint meeting\'s publication is what counts. Check your unit\'s scores and the records behind them.', draftDistrict: 'District report (draft for comment)', draftUnit: 'Unit report (draft for comment)',
  access: 'Keys and users', audit: 'Audit log', apiKeys: 'API keys', users: 'Users', keyName: 'Name', role: 'Role', units: 'Units', created: 'Created', lastUsed: 'Last used',
  revoked: 'revoked', active: 'active', revoke: 'Revoke', revokeConfirm: 'Revoke the key "{name}"? The system using it is refused from its next request on; this cannot be undone.', disabled: 'disabled',
  disable: 'Disable', enable: 'Enable', disableConfirm: 'Disable the user "{name}"? Their sessions end at once and they cannot sign in until enabled again.', never: 'never', actions: 'Actions',
  role_source: 'source system', role_joint_meeting: 'joint meeting', role_unit_leader: 'unit leader', role_inspector: 'inspector', role_admin: 'admin',
  auditWhen: 'When', auditActor: 'Who', auditAction: 'Action', auditAddress: 'From', auditTarget: 'On', auditDetails: 'What changed', auditStatus: 'Answer',
  auditAllActions: 'All actions', auditFrom: 'From', auditTo: 'To', filter: 'Filter',
  action_sign_in: 'sign-in', action_sign_in_failed: 'failed sign-in', action_sign_out: 'sign-out', 'action_key.create': 'key created', 'action_key.revoke': 'key revoked',
  'action_user.change': 'user changed', 'action_settings.change': 'settings changed', 'action_scheme.change': 'scheme changed', 'action_reference.change': 'reference data changed',
  'action_calendar.change': 'calendar changed', 'action_report.publish': 'assessment published', 'action_document.download': 'document downloaded',
  ownedByOther: 'Ids taken by another source system', ownedByOtherHelp: 'These rows carry an id another source system stored first, and were not counted. Check with both systems: if the first one was wrong, it corrects its record and this system sends the rows again.', firstStoredBy: 'First stored by',
}

function initialLang(): Lang {
  try {
    return localStorage.getItem('tierscope.lang') === 'en' ? 'en' : 'zh'
  } catch {
    return 'zh'
  }
}

export const i18n = $state<{ lang: Lang }>({ lang: initialLang() })

export function setLang(lang: Lang): void {
  i18n.lang = lang
  try {
    localStorage.setItem('tierscope.lang', lang)
  } catch {
    // private mode: the choice lasts for this page only
  }
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en'
}

/** The text of `key` in the current language, with {name} placeholders filled in. */
export function t(key: Key, vars: Record<string, string | number> = {}): string {
  const text = (i18n.lang === 'en' ? en : zh)[key]
  return text.replace(/\{(\w+)\}/g, (_, k: string) => String(vars[k] ?? ''))
}

const EVENT_NAMES: Record<string, [string, string]> = {
  submitted: ['申请', 'submitted'], accepted: ['受理', 'accepted'], supplement_requested: ['要求补正', 'supplement requested'],
  supplement_received: ['补正收到', 'supplement received'], suspended: ['中止（暂停计时）', 'suspended'], resumed: ['恢复计时', 'resumed'],
  transferred: ['转办', 'transferred'], approved: ['批准', 'approved'], rejected: ['不予受理/不予许可', 'rejected'],
  completed: ['办结', 'completed'], withdrawn: ['撤回', 'withdrawn'], open: ['在办', 'open'],
  verified: ['核实', 'verified'], rectified: ['整改', 'rectified'], revisited: ['回访', 'revisited'],
}

/** A case event type or status as people say it. */
export const eventName = (type: string): string => EVENT_NAMES[type]?.[i18n.lang === 'zh' ? 0 : 1] ?? type
