import { readFileSync, readdirSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { CalendarDay } from '../warehouse/index.ts'
import {
  NoticeApplyError,
  NoticeReadError,
  calendarAfterNotice,
  ordinaryYear,
  readHolidayNotice,
  type HolidayNotice,
  type NoticeHoliday,
} from './holiday-notice.ts'

// Everything is read from the repository's fixtures: the notice texts, and holiday-cn's answer keys
// (github.com/NateScarlet/holiday-cn, MIT, LICENSE beside them).
const NOTICES = new URL('./fixtures/holiday-notices/', import.meta.url)
const ANSWERS = new URL('./fixtures/holiday-cn/', import.meta.url)

const noticeText = (file: string) => readFileSync(new URL(file, NOTICES), 'utf8')
const readNotice = (file: string) => readHolidayNotice(noticeText(file))

interface AnswerKey {
  year: number
  papers: string[]
  days: Array<{ name: string; date: string; isOffDay: boolean }>
}
const answerKey = (year: number): AnswerKey => JSON.parse(readFileSync(new URL(`${year}.json`, ANSWERS), 'utf8')) as AnswerKey

/** holiday-cn shortens the 2015 anniversary's name; the notice's own title says 中国人民…纪念日. */
const NOTICE_NAME_OF: Record<string, string> = {
  抗日战争暨世界反法西斯战争胜利70周年纪念日: '中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日',
}

const isWeekend = (date: string) => [0, 6].includes(new Date(date + 'T00:00:00Z').getUTCDay())

/** Reads each notice in turn, each applied over the calendar the ones before it left. */
function arrange(files: string[]): Map<number, CalendarDay[]> {
  const calendar = new Map<number, CalendarDay[]>()
  const current = (year: number) => calendar.get(year) ?? ordinaryYear(year)
  for (const file of files) {
    for (const [year, days] of calendarAfterNotice(readNotice(file), current)) calendar.set(year, days)
  }
  return calendar
}

/** Every date of `year` (and every date holiday-cn lists for it in a neighbouring year) against the answer key. */
function compareWithAnswerKey(year: number, calendar: Map<number, CalendarDay[]>): { compared: number; mismatches: string[] } {
  const key = answerKey(year)
  const listed = new Map(key.days.map((d) => [d.date, d]))
  const mismatches: string[] = []
  let compared = 0
  const check = (day: CalendarDay) => {
    const answer = listed.get(day.date)
    const want = answer
      ? { is_working: !answer.isOffDay, name: NOTICE_NAME_OF[answer.name] ?? answer.name }
      : { is_working: !isWeekend(day.date), name: '' }
    if (day.is_working !== want.is_working || day.name !== want.name) {
      mismatches.push(`${day.date}: got ${day.is_working ? 'working' : 'off'} "${day.name}", want ${want.is_working ? 'working' : 'off'} "${want.name}"`)
    }
    compared++
  }
  const days = calendar.get(year) ?? []
  if (days.length !== (year % 4 === 0 ? 366 : 365)) mismatches.push(`${year} has ${days.length} dates`)
  days.forEach(check)
  for (const answer of key.days.filter((d) => !d.date.startsWith(`${year}-`))) {
    const day = calendar.get(Number(answer.date.slice(0, 4)))?.find((d) => d.date === answer.date)
    if (day) check(day)
    else mismatches.push(`${answer.date} (listed in ${year}.json) is missing from the result`)
  }
  return { compared, mismatches }
}

interface YearCase {
  year: number
  /** The arrangement, then the notices that amend it. */
  files: string[]
}

// Where each text came from: the page its text was copied from, and (from holiday-cn's `papers`) where
// gov.cn published it. The stored copies had been folded to half-width punctuation; the fixtures have
// the published full-width ：，（） back, except 2025-halfwidth.txt, which keeps the half-width form on purpose.
const YEARS: YearCase[] = [
  // text: http://witmax.cn/2011-holidays.html — gov.cn: http://www.gov.cn/zhengce/zhengceku/2010-12/10/content_1423.htm (放假公休)
  { year: 2011, files: ['2011.txt'] },
  // text: http://54xsr.com/bbs/archiver/tid-74491.html ("一、元旦：" on a line of its own, as that reprint lays it out; 2011-12-31 上班)
  // gov.cn: http://www.gov.cn/zhengce/zhengceku/2011-12/06/content_1411.htm
  { year: 2012, files: ['2012.txt'] },
  // text: http://xinji.org/read-htm-tid-1319037.html (the forum's anti-copy noise strings removed)
  // gov.cn: http://www.gov.cn/zhengce/zhengceku/2012-12/10/content_1353.htm
  { year: 2013, files: ['2013.txt'] },
  // text: http://lishewen.com/post/the-holiday-arrangement-announced-in-2014 — gov.cn: http://www.gov.cn/zhengce/zhengceku/2014-01/02/content_1194.htm
  { year: 2014, files: ['2014.txt'] },
  // text: https://www.rmzxw.com.cn/sy/jrdt/2014/12/16/419609.shtml (no title) — gov.cn: http://www.gov.cn/zhengce/zhengceku/2014-12/16/content_9302.htm
  // anniversary: http://m.xuexila.com/news/164029.html (title over three lines) — gov.cn: http://www.gov.cn/zhengce/zhengceku/2015-05/13/content_9742.htm
  { year: 2015, files: ['2015.txt', '2015-anniversary.txt'] },
  // text: http://fg.gdychr.com/portal/index/find.html?paginate=10&effect_level=&keyword=&sort=asc&page=60&currentPage=60&listRows=10&id=282
  // (the site's own date note dropped) — gov.cn: http://www.gov.cn/zhengce/zhengceku/2015-12/10/content_10394.htm
  { year: 2016, files: ['2016.txt'] },
  // text: http://59180.com/e/action/ShowInfo.php?classid=106&id=39796 (补休; the fixture has CRLF line ends)
  // gov.cn: http://www.gov.cn/zhengce/zhengceku/2016-12/01/content_5141603.htm
  { year: 2017, files: ['2017.txt'] },
  // text: https://zh.wikisource.org/zh-hans/国务院办公厅关于2018年部分节假日安排的通知 — gov.cn: http://www.gov.cn/zhengce/zhengceku/2017-11/30/content_5243579.htm
  { year: 2018, files: ['2018.txt'] },
  // text: http://czj.gnzrmzf.gov.cn/info/1282/12573.htm (元旦 from 2018-12-30) — gov.cn: http://www.gov.cn/zhengce/zhengceku/2018-12/06/content_5346276.htm
  // 劳动节 adjustment: https://csglxh.com/wwwcsglxhcom/zhengce/wenjian/192/397/1856684/1574209/index.htm — gov.cn: http://www.gov.cn/zhengce/zhengceku/2019-03/22/content_5375877.htm
  { year: 2019, files: ['2019.txt', '2019-labour-day.txt'] },
  // text: http://kaixinit.com/news/3681.html — gov.cn: http://www.gov.cn/zhengce/zhengceku/2019-11/21/content_5454164.htm
  // extension: https://www.farmer.com.cn/2020/01/27/99847578.html (新华社) — gov.cn: http://www.gov.cn/zhengce/zhengceku/2020-01/27/content_5472352.htm
  { year: 2020, files: ['2020.txt', '2020-extension.txt'] },
  // text: http://www.cncaprc.cn/?c=i&a=lList_mod&myid=3&id=3366 — gov.cn: http://www.gov.cn/zhengce/zhengceku/2020-11/25/content_5564127.htm
  { year: 2021, files: ['2021.txt'] },
  // text: http://www.beijing.gov.cn/zhengce/zhengcefagui/202110/t20211026_2520500.html (indented, trailing spaces) — gov.cn: http://www.gov.cn/zhengce/zhengceku/2021-10/25/content_5644835.htm
  { year: 2022, files: ['2022.txt'] },
  // text: https://zh.m.wikisource.org/zh/国务院办公厅关于2023年部分节假日安排的通知 (元旦 from 2022-12-31) — gov.cn: http://www.gov.cn/zhengce/zhengceku/2022-12/08/content_5730844.htm
  { year: 2023, files: ['2023.txt'] },
  // text: https://zh.wikisource.org/wiki/国务院办公厅关于2024年部分节假日安排的通知 (鼓励……除夕休息) — gov.cn: https://www.gov.cn/zhengce/zhengceku/202310/content_6911528.htm
  { year: 2024, files: ['2024.txt'] },
  // text: https://m.gmw.cn/2024-11/12/content_1303894933.htm (新华社; the 2025 preamble, 周一 weekdays) — gov.cn: https://www.gov.cn/zhengce/zhengceku/202411/content_6986383.htm
  { year: 2025, files: ['2025.txt'] },
  // already in the repository — gov.cn: https://www.gov.cn/zhengce/zhengceku/202511/content_7047091.htm
  { year: 2026, files: ['2026.txt'] },
]

/** Read alone, without the line each item was on (for comparing the same notice laid out differently). */
const withoutLines = (notice: HolidayNotice) => notice.holidays.map(({ line: _line, ...rest }) => rest)

describe('readHolidayNotice + calendarAfterNotice against holiday-cn', () => {
  it.each(YEARS)('$year ($files)', ({ year, files }) => {
    const { compared, mismatches } = compareWithAnswerKey(year, arrange(files))
    expect(mismatches).toEqual([])
    expect(compared).toBeGreaterThanOrEqual(365)
  })

  it('compares enough years, and every fixture is used', () => {
    let years = 0
    for (const { year, files } of YEARS) {
      const { compared, mismatches } = compareWithAnswerKey(year, arrange(files))
      if (compared >= 365 && mismatches.length === 0) years++
    }
    expect(years).toBeGreaterThanOrEqual(7)
    const used = new Set([...YEARS.flatMap((c) => c.files), '2025-halfwidth.txt'])
    expect(readdirSync(NOTICES).filter((f) => f.endsWith('.txt')).sort()).toEqual([...used].sort())
  })

  it('2026 is exactly holiday-cn 2026', () => {
    const named = arrange(['2026.txt'])
      .get(2026)!
      .filter((d) => d.name !== '')
    const key = answerKey(2026).days.map((d) => ({ date: d.date, is_working: !d.isOffDay, name: d.name }))
    expect(named).toEqual(key.sort((a, b) => a.date.localeCompare(b.date)))
  })

  it('each year lists every one of its dates in order', () => {
    for (const [year, days] of arrange(['2019.txt'])) {
      const dates = days.map((d) => d.date)
      expect(dates).toEqual(ordinaryYear(year).map((d) => d.date))
    }
  })
})

describe('wordings', () => {
  it('2017: a 补休 day is a day off', () => {
    const day = arrange(['2017.txt'])
      .get(2017)!
      .find((d) => d.date === '2017-01-02')
    expect(day).toEqual({ date: '2017-01-02', is_working: false, name: '元旦' })
  })

  it('2024: 鼓励……在除夕（2月9日）休息 is a recommendation and leaves 2024-02-09 a working day', () => {
    const text = noticeText('2024.txt')
    expect(text).toContain('安排职工在除夕（2月9日）休息')
    const spring = readHolidayNotice(text).holidays.find((h) => h.name === '春节')
    expect(spring).toMatchObject({ kind: 'days', daysOff: expect.not.arrayContaining(['2024-02-09']) })
    expect(arrange(['2024.txt']).get(2024)!.find((d) => d.date === '2024-02-09')).toEqual({ date: '2024-02-09', is_working: true, name: '' })
    // the same notice without the sentence reads the same
    const without = text.replace('鼓励各单位结合带薪年休假等制度落实，安排职工在除夕（2月9日）休息。', '')
    expect(readHolidayNotice(without)).toEqual(readHolidayNotice(text))
  })

  it('2011: 放假公休 and a lunar date alone in parentheses', () => {
    const notice = readNotice('2011.txt')
    expect(notice.holidays[0]).toEqual({ kind: 'days', name: '元旦', daysOff: ['2011-01-01', '2011-01-02', '2011-01-03'], workingDays: [], line: 9 })
    expect(notice.holidays[1]).toMatchObject({ name: '春节', daysOff: ['2011-02-02', '2011-02-03', '2011-02-04', '2011-02-05', '2011-02-06', '2011-02-07', '2011-02-08'] })
  })

  it('a range across years is applied over the other year as it stands', () => {
    const notice = readNotice('2019.txt')
    expect(notice.holidays[0]).toMatchObject({ name: '元旦', daysOff: ['2018-12-30', '2018-12-31', '2019-01-01'], workingDays: ['2018-12-29'] })
    const standing2018 = arrange(['2018.txt']).get(2018)!
    const after = calendarAfterNotice(notice, (y) => (y === 2018 ? standing2018 : ordinaryYear(y)))
    expect([...after.keys()]).toEqual([2018, 2019])
    const changed = after.get(2018)!.filter((d, i) => JSON.stringify(d) !== JSON.stringify(standing2018[i]))
    expect(changed).toEqual([
      { date: '2018-12-29', is_working: true, name: '元旦' },
      { date: '2018-12-30', is_working: false, name: '元旦' },
      { date: '2018-12-31', is_working: false, name: '元旦' },
    ])
    // the rest of 2018 is as it stood: 国庆节 is still there
    expect(after.get(2018)!.find((d) => d.date === '2018-10-01')).toEqual({ date: '2018-10-01', is_working: false, name: '国庆节' })
  })

  it('combined items keep their name as written', () => {
    expect(readNotice('2017.txt').holidays.map((h) => h.name)).toContain('中秋节、国庆节')
    expect(readNotice('2025.txt').holidays.map((h) => h.name)).toContain('国庆节、中秋节')
  })

  it('half-width punctuation reads as full-width', () => {
    const half = noticeText('2025-halfwidth.txt')
    expect(half).toContain('1月28日(农历除夕、周二)至2月4日(农历正月初七、周二)放假调休,共8天')
    expect(readHolidayNotice(half)).toEqual(readNotice('2025.txt'))
  })

  it('full-width digits read as digits', () => {
    const text = noticeText('2026.txt')
    const fullWidth = text.replace(/[0-9]/g, (d) => String.fromCharCode(d.charCodeAt(0) + 0xfee0))
    expect(fullWidth).toContain('１月１日（周四）')
    // the title is given back as written; what it arranges is the same
    expect(readHolidayNotice(fullWidth)).toEqual({ ...readHolidayNotice(text), title: '国务院办公厅关于２０２６年部分节假日安排的通知' })
  })

  it('CRLF line ends read as LF ones', () => {
    const crlf = noticeText('2017.txt')
    expect(crlf).toContain('\r\n')
    expect(readHolidayNotice(crlf)).toEqual(readHolidayNotice(crlf.replace(/\r\n/g, '\n')))
  })

  it('extra blank lines and leading/trailing spaces change nothing but line numbers', () => {
    const text = noticeText('2026.txt')
    const loose = '\n\n' + text.split('\n').map((l) => (l ? `  \u3000${l}   ` : l)).join('\n\n\n') + '\n\n'
    const tidy = readHolidayNotice(text)
    const read = readHolidayNotice(loose)
    expect(read.year).toBe(2026)
    expect(read.title).toBe(tidy.title)
    expect(withoutLines(read)).toEqual(withoutLines(tidy))
  })

  it('2025: the preamble is skipped, with or without the title, addressee and signature lines', () => {
    const text = noticeText('2025.txt')
    const full = readHolidayNotice(text)
    expect(full).toMatchObject({ year: 2025, amends: false, title: '国务院办公厅关于2025年部分节假日安排的通知' })
    // the preamble names 2024 (修订) and 2025年1月1日 before the year arranged
    const bare = text
      .split('\n')
      .filter((l) => !/^(国务院办公厅|各省、|2024年11月12日)/.test(l))
      .join('\n')
    expect(bare.split('\n')[0]).toBe('')
    const read = readHolidayNotice(bare)
    expect(read).toMatchObject({ year: 2025, amends: false, title: null })
    expect(withoutLines(read)).toEqual(withoutLines(full))
  })

  it('an item whose dates are on the line after its head (2012 as reprinted)', () => {
    const notice = readNotice('2012.txt')
    const lines = noticeText('2012.txt').split('\n')
    const newYear = notice.holidays[0]!
    expect(newYear).toMatchObject({ name: '元旦', daysOff: ['2012-01-01', '2012-01-02', '2012-01-03'], workingDays: ['2011-12-31'] })
    expect(lines[newYear.line - 1]).toBe('2012年1月1日至3日放假调休，共3天。2011年12月31日（星期六）上班。')
  })
})

describe('amending notices', () => {
  const changedDates = (before: CalendarDay[], after: CalendarDay[]) =>
    after.filter((d, i) => d.is_working !== before[i]!.is_working || d.name !== before[i]!.name).map((d) => d.date)

  it('2020: 延长春节假期 read alone', () => {
    expect(readNotice('2020-extension.txt')).toEqual({
      year: 2020,
      amends: true,
      title: '国务院办公厅关于延长2020年春节假期的通知',
      holidays: [{ kind: 'extension', name: '春节', lastDayOff: '2020-02-02', resumesOn: '2020-02-03', line: 7 }],
    } satisfies HolidayNotice)
  })

  it('2020: the extension changes only the days it names, the 2月1日 调休 working day included', () => {
    const before = arrange(['2020.txt'])
    const after = calendarAfterNotice(readNotice('2020-extension.txt'), (y) => before.get(y) ?? ordinaryYear(y))
    expect([...after.keys()]).toEqual([2020])
    expect(before.get(2020)!.find((d) => d.date === '2020-02-01')).toEqual({ date: '2020-02-01', is_working: true, name: '春节' })
    expect(changedDates(before.get(2020)!, after.get(2020)!)).toEqual(['2020-01-31', '2020-02-01', '2020-02-02', '2020-02-03'])
    expect(after.get(2020)!.filter((d) => d.date >= '2020-01-31' && d.date <= '2020-02-03')).toEqual([
      { date: '2020-01-31', is_working: false, name: '春节' },
      { date: '2020-02-01', is_working: false, name: '春节' },
      { date: '2020-02-02', is_working: false, name: '春节' },
      { date: '2020-02-03', is_working: true, name: '春节' },
    ])
  })

  it('2020: the extension as "将2020年春节假期延长至2月2日…" reads the same', () => {
    const text = noticeText('2020-extension.txt')
    const other = text.replace('一、延长2020年春节假期至2月2日', '一、将2020年春节假期延长至2月2日')
    expect(other).not.toBe(text)
    expect(readHolidayNotice(other)).toEqual(readHolidayNotice(text))
  })

  it('an extension of a holiday the year does not have is refused', () => {
    expect(() => calendarAfterNotice(readNotice('2020-extension.txt'), ordinaryYear)).toThrow(NoticeApplyError)
  })

  it('2019: the 劳动节 adjustment replaces the old 劳动节 item and changes nothing else', () => {
    const notice = readNotice('2019-labour-day.txt')
    expect(notice).toMatchObject({ year: 2019, amends: true, title: '国务院办公厅关于调整2019年劳动节假期安排的通知' })
    expect(notice.holidays).toEqual([
      {
        kind: 'days',
        name: '劳动节',
        daysOff: ['2019-05-01', '2019-05-02', '2019-05-03', '2019-05-04'],
        workingDays: ['2019-04-28', '2019-05-05'],
        line: 9,
      },
    ] satisfies NoticeHoliday[])
    const before = arrange(['2019.txt'])
    const after = calendarAfterNotice(notice, (y) => before.get(y) ?? ordinaryYear(y))
    expect([...after.keys()]).toEqual([2019])
    expect(changedDates(before.get(2019)!, after.get(2019)!)).toEqual(['2019-04-28', '2019-05-02', '2019-05-03', '2019-05-04', '2019-05-05'])
  })

  it('2019: an old day of the replaced holiday goes back to the ordinary week', () => {
    // a year where 劳动节 had a day the new item no longer gives
    const standing = ordinaryYear(2019).map((d) => (d.date === '2019-04-30' ? { ...d, is_working: false, name: '劳动节' } : d))
    const after = calendarAfterNotice(readNotice('2019-labour-day.txt'), () => standing).get(2019)!
    expect(after.find((d) => d.date === '2019-04-30')).toEqual({ date: '2019-04-30', is_working: true, name: '' })
  })

  it('2015: the 70th-anniversary days, from a paragraph without numbered items', () => {
    const notice = readNotice('2015-anniversary.txt')
    const name = '中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日'
    expect(notice).toEqual({
      year: 2015,
      amends: true,
      title: `国务院关于${name}调休放假的通知`,
      holidays: [{ kind: 'days', name, daysOff: ['2015-09-03', '2015-09-04', '2015-09-05'], workingDays: ['2015-09-06'], line: 9 }],
    } satisfies HolidayNotice)
    const before = arrange(['2015.txt'])
    const after = calendarAfterNotice(notice, (y) => before.get(y) ?? ordinaryYear(y))
    expect(changedDates(before.get(2015)!, after.get(2015)!)).toEqual(['2015-09-03', '2015-09-04', '2015-09-05', '2015-09-06'])
  })

  it('a current year that is not whole is refused', () => {
    expect(() => calendarAfterNotice(readNotice('2020-extension.txt'), () => ordinaryYear(2020).slice(1))).toThrow(NoticeApplyError)
  })
})

describe('refusals', () => {
  /** The error readHolidayNotice throws for `text`. */
  const refusal = (text: string): NoticeReadError => {
    try {
      readHolidayNotice(text)
    } catch (e) {
      expect(e).toBeInstanceOf(NoticeReadError)
      return e as NoticeReadError
    }
    throw new Error('the text was read as a notice')
  }
  const lines2026 = noticeText('2026.txt').split('\n')
  const with2026Line = (prefix: string, replace: (line: string) => string) => {
    const index = lines2026.findIndex((l) => l.startsWith(prefix))
    expect(index).toBeGreaterThan(-1)
    const lines = [...lines2026]
    lines[index] = replace(lines[index]!)
    return { text: lines.join('\n'), line: index + 1, garbled: lines[index]! }
  }

  it('a paragraph of a news article', () => {
    const news =
      '新华社北京10月25日电 国务院办公厅近日发布通知，公布2024年部分节假日安排，春节放假8天，除夕不在其中。\n' +
      '记者注意到，今年劳动节与往年一样调休。'
    const error = refusal(news)
    expect(error).toMatchObject({ code: 'notice_unreadable', line: 1, text: news.split('\n')[0] })
    expect(error.message).toContain(news.split('\n')[0])
  })

  it('an empty string, or only blank lines', () => {
    expect(refusal('')).toMatchObject({ line: 1, text: '' })
    expect(refusal('\n  \n')).toMatchObject({ line: 1, text: '' })
  })

  it('a JSON document', () => {
    const json = readFileSync(new URL('2026.json', ANSWERS), 'utf8')
    const error = refusal(json)
    expect(error).toMatchObject({ line: 1, text: '{' })
    expect(error.message).toContain('"{"')
  })

  it('items without any year', () => {
    const items = lines2026.filter((l) => /^[一二三四五六七]、/.test(l)).join('\n')
    const error = refusal(items)
    expect(error).toMatchObject({ line: 1, text: lines2026.find((l) => l.startsWith('一、')) })
    expect(error.message).toMatch(/year/)
  })

  it('a garbled item line is named and quoted', () => {
    const { text, line, garbled } = with2026Line('三、清明节', () => '三、清明节：4月4日至某日放假')
    const error = refusal(text)
    expect(error).toMatchObject({ line, text: garbled })
    expect(line).toBe(11)
    expect(error.message).toContain('"三、清明节：4月4日至某日放假"')
    expect(error.message).toContain('Line 11')
  })

  it('an item line whose ending is not understood', () => {
    const { text, line } = with2026Line('五、端午节', (l) => l.replace('放假，共3天。', '放假，共3天，另行通知。'))
    expect(refusal(text)).toMatchObject({ line })
  })

  it('a numbered item that does not name its holiday', () => {
    const { text, line } = with2026Line('三、清明节', (l) => l.replace('清明节：', ''))
    expect(refusal(text).line).toBe(line)
  })

  it('a wrong weekday', () => {
    const { text, line, garbled } = with2026Line('一、元旦', (l) => l.replace('1月1日（周四）', '1月1日（周五）'))
    const error = refusal(text)
    expect(error).toMatchObject({ line, text: garbled })
    expect(error.message).toContain('周五')
    // a 调休 working day's weekday is checked too, in either form of the weekday
    const working = with2026Line('七、国庆节', (l) => l.replace('10月10日（周六）', '10月10日（星期日）'))
    expect(refusal(working.text).line).toBe(working.line)
  })

  it('a wrong lunar date', () => {
    const { text, line, garbled } = with2026Line('二、春节', (l) => l.replace('农历腊月二十八', '农历腊月二十七'))
    const error = refusal(text)
    expect(error).toMatchObject({ line, text: garbled })
    expect(error.message).toContain('农历腊月二十八')
    // 除夕 is checked against the lunar calendar too: 2026's is 16 February, not the 15th
    const eve = with2026Line('二、春节', (l) => l.replace('农历腊月二十八', '农历除夕'))
    expect(refusal(eve.text).line).toBe(eve.line)
  })

  it('a wrong day count', () => {
    const { text, line } = with2026Line('二、春节', (l) => l.replace('共9天', '共8天'))
    const error = refusal(text)
    expect(error.line).toBe(line)
    expect(error.message).toContain('共8天')
    const single = noticeText('2025.txt').replace('1月1日（周三）放假1天', '1月1日（周三）放假2天')
    expect(refusal(single).line).toBe(9)
  })

  it('an impossible date', () => {
    const { text, line } = with2026Line('五、端午节', (l) => l.replace('6月19日（周五）', '6月31日（周五）'))
    expect(refusal(text).line).toBe(line)
  })

  it('a date arranged twice', () => {
    const { text, line } = with2026Line('五、端午节', () => '五、端午节：5月5日（周二）放假，共1天。')
    expect(refusal(text).line).toBe(line)
  })
})
