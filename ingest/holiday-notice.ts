// Reads the State Council's annual holiday notice (《国务院办公厅关于YYYY年部分节假日安排的通知》) and
// the second notices that amend a year already arranged, as published or pasted, into calendar days.
// Every numbered item must be understood in full and every stated count and weekday must agree with
// the dates: a misread notice would silently move every working-day count of its year, so anything
// doubtful is refused with the line quoted instead of guessed at.
import chineseDays from 'chinese-days'
import { arrangementYear, type CalendarDay } from '../warehouse/index.ts'

/** One holiday item of a notice. */
export type NoticeHoliday = NoticeHolidayDays | NoticeHolidayExtension

/**
 * A holiday's days off and 调休 working days. In an amending notice the item replaces whatever days the
 * year had under that name (2019's 劳动节) or adds a holiday the year did not have (2015's anniversary).
 */
export interface NoticeHolidayDays {
  kind: 'days'
  /** As the notice gives it: 元旦, 春节, 中秋节、国庆节, …纪念日. */
  name: string
  /** Every day off, in date order: ranges expanded, 补休/调休 days included. */
  daysOff: string[]
  /** The 调休 working days (…上班), in date order. */
  workingDays: string[]
  /** 1-based line of the item's dates. */
  line: number
}

/** A holiday extended to a new last day off (2020's 延长春节假期). */
export interface NoticeHolidayExtension {
  kind: 'extension'
  name: string
  /** The new last day off. */
  lastDayOff: string
  /** The day work resumes (…起正常上班), if the notice says. */
  resumesOn: string | null
  line: number
}

export interface HolidayNotice {
  /** The year the notice arranges (from its title, else its body). */
  year: number
  /** A second notice that changes a year already arranged (2015's 70th-anniversary days, 2019's 劳动节 adjustment, 2020's 延长春节假期). */
  amends: boolean
  /** The title line, if the text has one. */
  title: string | null
  holidays: NoticeHoliday[]
}

/** Raised for text that cannot be read: `line` is 1-based, `text` the line as given. */
export class NoticeReadError extends Error {
  readonly code = 'notice_unreadable'
  constructor(
    readonly line: number,
    readonly text: string,
    message: string,
  ) {
    super(message)
    this.name = 'NoticeReadError'
  }
}

/** Raised when a notice that reads well cannot be applied to the year as it stands (an extension of a holiday the year lacks). */
export class NoticeApplyError extends Error {
  readonly code = 'notice_not_applicable'
  constructor(message: string) {
    super(message)
    this.name = 'NoticeApplyError'
  }
}

const HOLIDAY_NAMES = '元旦|春节|清明节|劳动节|端午节|中秋节|国庆节'
const WEEKDAYS = '日一二三四五六'
const DAY_MS = 86_400_000

const dayNumber = (date: string) => Date.parse(date + 'T00:00:00Z') / DAY_MS
const dateOf = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10)
const weekdayOf = (date: string) => new Date(date + 'T00:00:00Z').getUTCDay()
const isWeekend = (date: string) => weekdayOf(date) === 0 || weekdayOf(date) === 6

/** Every date of `year` as an ordinary week: Monday to Friday working, Saturday and Sunday off, no name. */
export const ordinaryYear = (year: number): CalendarDay[] => arrangementYear(year, [])

interface Line {
  number: number
  /** As given, without the line end and surrounding spaces (what errors quote). */
  text: string
  /** Half-width digits and punctuation, no spaces: what is parsed. */
  plain: string
}

/** Full-width ASCII (０-９, ：，（）；…) to half-width, the half-width ideographic comma/stop to the ordinary ones, spaces removed. */
function plainOf(text: string): string {
  return text
    .replace(/[\uFF01-\uFF5E]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(/\uFF64/g, '、')
    .replace(/\uFF61/g, '。')
    .replace(/[\s\u3000\u00A0\uFEFF]+/g, '')
}

function splitLines(text: string): Line[] {
  return text
    .replace(/^\uFEFF/, '')
    .split(/\r\n|\r|\n/)
    .map((raw, i) => {
      const trimmed = raw.replace(/^[\s\u3000\u00A0\uFEFF]+|[\s\u3000\u00A0\uFEFF]+$/g, '')
      return { number: i + 1, text: trimmed, plain: plainOf(trimmed) }
    })
}

function fail(line: Line, problem: string): never {
  throw new NoticeReadError(line.number, line.text, `Line ${line.number} of the holiday notice, "${line.text}": ${problem}`)
}

/** The title, if the first non-blank lines are one (gov.cn often breaks it over two or three lines). */
function readTitle(lines: Line[]): { title: string; plain: string; lastIndex: number } | null {
  const parts: Line[] = []
  for (let i = 0; i < lines.length && parts.length < 3; i++) {
    const line = lines[i]!
    if (line.plain === '') continue
    parts.push(line)
    const plain = parts.map((p) => p.plain).join('').replace(/^《|》$/g, '')
    if (!/^国务院/.test(plain) || /[:：]$/.test(line.plain)) return null
    if (/通知$/.test(plain)) {
      if (!/^国务院(办公厅)?关于.+通知$/.test(plain)) return null
      const title = parts
        .map((p) => p.text)
        .join('')
        .replace(/^《|》$/g, '')
      return { title, plain, lastIndex: i }
    }
  }
  return null
}

function readYear(titlePlain: string | null, body: Line[]): number | null {
  const fromTitle = titlePlain && /(\d{4})年/.exec(titlePlain)
  if (fromTitle) return Number(fromTitle[1])
  // the sentence that says which year is arranged; other years in the body (修订的年份, 成文日期) do not count
  const patterns = [/现将(?:调整|延长)?(\d{4})年/, /延长(\d{4})年/, /^(\d{4})年是/, /(\d{4})年部分节假日安排/]
  for (const pattern of patterns) {
    for (const line of body) {
      const m = pattern.exec(line.plain)
      if (m) return Number(m[1])
    }
  }
  return null
}

/** Whether the notice amends a year already arranged, and the holiday it is about (for items that do not name one). */
function readSubject(titlePlain: string | null, body: Line[]): { amends: boolean; subject: string | null } {
  if (titlePlain) {
    if (/部分节假日安排/.test(titlePlain)) return { amends: false, subject: null }
    const changed = new RegExp(`关于(?:调整|延长)(?:\\d{4}年)?(${HOLIDAY_NAMES})`).exec(titlePlain)
    if (changed) return { amends: true, subject: changed[1]! }
    const memorial = /关于(.+?纪念日)(?:调休)?放假/.exec(titlePlain)
    if (memorial) return { amends: true, subject: memorial[1]! }
  }
  for (const line of body) {
    if (/现将\d{4}年/.test(line.plain)) return { amends: false, subject: null }
    const changed = new RegExp(`现将(?:调整|延长)(?:\\d{4}年)?(${HOLIDAY_NAMES})`).exec(line.plain)
    if (changed) return { amends: true, subject: changed[1]! }
    const memorial = /^\d{4}年是(.+?周年)。/.exec(line.plain)
    if (memorial && /纪念/.test(line.plain)) return { amends: true, subject: `${memorial[1]}纪念日` }
  }
  return { amends: false, subject: null }
}

const NUMBERING = /^(?:[一二三四五六七八九十]+、|\([一二三四五六七八九十]+\)|\d{1,2}[、.](?!\d))/
const HEAD = /^([^:,。()]+):(.*)$/
const HEAD_NAME = /^(?:元旦|春节|[\u4e00-\u9fff]{1,6}节|[\u4e00-\u9fff\d]{2,40}纪念日)$/
const HAS_DATE = /\d{1,2}月\d{1,2}日/
// a paragraph that leads into an arrangement without numbering (2015: "…特作如下调休：9月3日至5日…")
const LEAD_IN = /(?:如下(?:调休|安排)?|(?:调休|安排)如下):(?=(?:\d{4}年)?\d{1,2}月\d{1,2}日)/

interface ItemText {
  line: Line
  /** The holiday's name from the item's head, or null when the item does not name one. */
  name: string | null
  /** Normalised text of the arrangement. */
  body: string
}

function findItems(body: Line[], amends: boolean): ItemText[] {
  const items: ItemText[] = []
  for (let i = 0; i < body.length; i++) {
    const line = body[i]!
    if (line.plain === '') continue
    const numbered = NUMBERING.exec(line.plain)
    const rest = numbered ? line.plain.slice(numbered[0].length) : line.plain
    const head = HEAD.exec(rest)
    if (head && head[1]!.split('、').every((n) => HEAD_NAME.test(n))) {
      let bodyLine = line
      let text = head[2]!
      if (text === '') {
        // some reprints put "一、元旦：" on a line of its own and the dates on the next
        const next = body.slice(i + 1).find((l) => l.plain !== '')
        if (!next || NUMBERING.test(next.plain) || !HAS_DATE.test(next.plain)) fail(line, `expected the holiday's dates after "${head[1]}："`)
        bodyLine = next
        text = next.plain
        i = body.indexOf(next)
      }
      items.push({ line: bodyLine, name: head[1]!, body: text })
      continue
    }
    if (numbered && HAS_DATE.test(rest)) {
      // an arrangement names each holiday; an amending notice's items are about the holiday of its title
      if (!amends) fail(line, 'expected the holiday named before the dates, as in "三、清明节：4月4日至6日放假调休，共3天。"')
      items.push({ line, name: null, body: rest })
      continue
    }
    const leadIn = LEAD_IN.exec(line.plain)
    if (leadIn) items.push({ line, name: null, body: line.plain.slice(leadIn.index + leadIn[0].length) })
    // anything else is the notice's prose: addressee, 经国务院批准…, 值班…, signature, date
  }
  return items
}

interface ParsedDate {
  date: string
  end: number
}

const DATE_AT = /(?:(\d{4})年)?(\d{1,2})月(\d{1,2})日/y
const END_DATE_AT = /(?:(?:(\d{4})年)?(\d{1,2})月)?(\d{1,2})日/y
const PAREN_AT = /\(([^()]*)\)/y
const WEEKDAY_NOTE = /^(?:星期|周)([日天一二三四五六])$/
const LUNAR_NOTE = /^(?:农历[\u4e00-\u9fff]{2,6}|除夕|大年[\u4e00-\u9fff]{2,3}|正月[\u4e00-\u9fff]{2,3}|腊月[\u4e00-\u9fff]{2,3}|初[一二三四五六七八九十])$/

/** A date's lunar month and day as notices write them (腊月二十八, 正月初七), and whether it is 除夕. */
function lunarDateOf(date: string): { month: string; day: string; eve: boolean } {
  const lunar = chineseDays.getLunarDate(date)
  const next = chineseDays.getLunarDate(dateOf(dayNumber(date) + 1))
  const day = lunar.lunarDayCN.replace('廿', '二十').replace('卅', '三十').replace(/^十$/, '初十')
  return { month: lunar.lunarMonCN, day, eve: next.lunarMon === 1 && next.lunarDay === 1 && !next.isLeap }
}

/** Whether a lunar note (农历除夕, 腊月二十八, 大年初一, 初三, …) names that lunar date. */
function sameLunarDate(note: string, actual: { month: string; day: string; eve: boolean }): boolean {
  const n = note.replace(/^农历/, '').replace(/^大年三十$/, '除夕').replace(/^大年/, '正月')
  if (n === '除夕') return actual.eve
  const written = n.replace('廿', '二十')
  // a day without its month (初三) is of the first month, as the notices use it
  return written === `${actual.month}${actual.day}` || (written === actual.day && actual.month === '正月')
}

class ItemReader {
  constructor(
    private readonly line: Line,
    private readonly year: number,
  ) {}

  fail(problem: string): never {
    fail(this.line, problem)
  }

  private makeDate(year: number, month: number, day: number, written: string): string {
    const date = `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`
    if (month < 1 || month > 12 || day < 1 || Number.isNaN(dayNumber(date)) || dateOf(dayNumber(date)) !== date) {
      this.fail(`"${written}" is not a date`)
    }
    if (Math.abs(year - this.year) > 1) this.fail(`"${written}" is not in or next to ${this.year}, the year the notice arranges`)
    return date
  }

  /** The weekday and lunar date in parentheses after a date must fit it; anything else there is not understood. */
  private checkNote(date: string, written: string, note: string): void {
    for (const part of note.split(/[、,]/)) {
      const weekday = WEEKDAY_NOTE.exec(part)
      if (weekday) {
        const given = weekday[1] === '天' ? 0 : WEEKDAYS.indexOf(weekday[1]!)
        const actual = weekdayOf(date)
        if (given !== actual) {
          this.fail(`${written} (${date}) is a 星期${WEEKDAYS[actual]} (周${WEEKDAYS[actual]}), not ${part} as the text says`)
        }
        continue
      }
      if (LUNAR_NOTE.test(part)) {
        const actual = lunarDateOf(date)
        if (!sameLunarDate(part, actual)) this.fail(`${written} (${date}) is 农历${actual.month}${actual.day}${actual.eve ? '（除夕）' : ''}, not ${part} as the text says`)
        continue
      }
      this.fail(`expected a weekday (星期一/周一) or a lunar date (农历…) in the parentheses after ${written}, found "${part}"`)
    }
  }

  private noteAt(s: string, at: number, date: string, written: string): number {
    PAREN_AT.lastIndex = at
    const paren = PAREN_AT.exec(s)
    if (!paren) return at
    this.checkNote(date, written, paren[1]!)
    return PAREN_AT.lastIndex
  }

  date(s: string, at: number): ParsedDate | null {
    DATE_AT.lastIndex = at
    const m = DATE_AT.exec(s)
    if (!m) return null
    const date = this.makeDate(m[1] ? Number(m[1]) : this.year, Number(m[2]), Number(m[3]), m[0])
    return { date, end: this.noteAt(s, DATE_AT.lastIndex, date, m[0]) }
  }

  /** The end of a range: "3日", "2月4日" or "2019年1月1日", in the start's month and year unless it says otherwise. */
  endDate(s: string, at: number, start: string): ParsedDate | null {
    END_DATE_AT.lastIndex = at
    const m = END_DATE_AT.exec(s)
    if (!m) return null
    const startYear = Number(start.slice(0, 4))
    const startMonth = Number(start.slice(5, 7))
    const month = m[2] ? Number(m[2]) : startMonth
    const year = m[1] ? Number(m[1]) : month < startMonth ? startYear + 1 : startYear
    const date = this.makeDate(year, month, Number(m[3]), m[0])
    return { date, end: this.noteAt(s, END_DATE_AT.lastIndex, date, m[0]) }
  }
}

/** Splits at `separator` outside parentheses (2020's "（农历正月初九，星期日）" holds a comma). */
function splitOutside(s: string, separators: string): string[] {
  const parts: string[] = []
  let depth = 0
  let start = 0
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (c === '(') depth++
    else if (c === ')') depth = Math.max(0, depth - 1)
    else if (depth === 0 && separators.includes(c)) {
      parts.push(s.slice(start, i))
      start = i + 1
    }
  }
  parts.push(s.slice(start))
  return parts.filter((p) => p !== '')
}

function rangeDays(start: string, end: string): string[] {
  const days: string[] = []
  for (let d = dayNumber(start); d <= dayNumber(end); d++) days.push(dateOf(d))
  return days
}

const EXTENSION = new RegExp(`^将?(延长)?(?:(\\d{4})年)?(${HOLIDAY_NAMES}|[\\u4e00-\\u9fff]{1,6}节)假期(延长)?至`)

function readItem(item: ItemText, year: number, subject: string | null): NoticeHoliday {
  // typed so that reader.fail(…) narrows like a throw
  const reader: ItemReader = new ItemReader(item.line, year)
  const daysOff = new Set<string>()
  const workingDays = new Set<string>()
  let extension: { name: string; lastDayOff: string } | null = null
  let resumesOn: string | null = null

  for (const sentence of splitOutside(item.body, '。;')) {
    // a recommendation (2024: 鼓励各单位…安排职工在除夕（2月9日）休息) changes no day
    if (/^鼓励/.test(sentence)) continue
    const offInSentence = new Set<string>()
    for (const whole of splitOutside(sentence, ',')) {
      const clause = whole.replace(/^其中/, '')
      const count = /^共(\d+)天$/.exec(clause)
      if (count) {
        if (offInSentence.size === 0) reader.fail(`"${clause}" follows no days off`)
        if (Number(count[1]) !== offInSentence.size) {
          reader.fail(`the text says ${clause} but gives ${offInSentence.size} day${offInSentence.size === 1 ? '' : 's'} off (${[...offInSentence].join(', ')})`)
        }
        continue
      }
      if (/^(?:与周末连休|不调休)$/.test(clause)) continue

      const extended = EXTENSION.exec(clause)
      if (extended && (extended[1] || extended[4])) {
        const last = reader.date(clause, extended[0].length)
        if (!last || last.end !== clause.length) reader.fail(`expected the new last day off after "${extended[0]}", as in "延长2020年春节假期至2月2日（星期日）"`)
        extension = { name: extended[3]!, lastDayOff: last.date }
        continue
      }

      const first = reader.date(clause, 0)
      if (!first) reader.fail(`expected a date such as "1月1日" at "${clause}"`)
      const dates = [first.date]
      let at = first.end
      let isRange = false
      if (clause[at] === '至') {
        const end = reader.endDate(clause, at + 1, first.date)
        if (!end) reader.fail(`expected the range's last date ("3日", "2月4日") after "至", found "${clause.slice(at + 1)}"`)
        if (end.date < first.date || dayNumber(end.date) - dayNumber(first.date) > 31) {
          reader.fail(`"${clause.slice(0, end.end)}" is not a range of days (${first.date} to ${end.date})`)
        }
        dates.splice(0, 1, ...rangeDays(first.date, end.date))
        at = end.end
        isRange = true
      }
      while (!isRange && clause[at] === '、') {
        const next = reader.date(clause, at + 1)
        if (!next) reader.fail(`expected another date after "、", found "${clause.slice(at + 1)}"`)
        dates.push(next.date)
        at = next.end
      }
      const rest = clause.slice(at)
      const off = /^(?:全国)?(?:放假调休|调休放假|放假公休|放假)(?:(\d+)天)?$/.exec(rest)
      if (off || ((rest === '补休' || rest === '调休') && dates.length === 1)) {
        if (off?.[1] && Number(off[1]) !== dates.length) {
          reader.fail(`the text says 放假${off[1]}天 but "${clause.slice(0, at)}" is ${dates.length} day${dates.length === 1 ? '' : 's'}`)
        }
        for (const d of dates) {
          daysOff.add(d)
          offInSentence.add(d)
        }
      } else if (rest === '上班' && !isRange) {
        for (const d of dates) workingDays.add(d)
      } else if (rest === '起正常上班' && dates.length === 1) {
        resumesOn = first.date
      } else {
        reader.fail(`expected 放假, 放假调休, 补休 or 上班 after "${clause.slice(0, at)}", found "${rest || '(nothing)'}"`)
      }
    }
  }

  if (extension) {
    if (daysOff.size > 0 || workingDays.size > 0) reader.fail('expected an extension to give only the new last day off and the day work resumes')
    if (resumesOn !== null && resumesOn <= extension.lastDayOff) reader.fail(`work resumes on ${resumesOn}, not after the new last day off ${extension.lastDayOff}`)
    return { kind: 'extension', name: extension.name, lastDayOff: extension.lastDayOff, resumesOn, line: item.line.number }
  }
  if (resumesOn !== null) reader.fail('"…起正常上班" belongs to an extension ("延长…假期至…"), and this item has none')
  if (daysOff.size === 0 && workingDays.size === 0) reader.fail('expected the holiday’s days off, as in "1月1日至3日放假调休，共3天。"')
  for (const d of workingDays) if (daysOff.has(d)) reader.fail(`${d} is given both as a day off and as a working day`)
  const name = item.name ?? subject
  if (!name) reader.fail('expected the holiday named before the dates, as in "三、清明节：4月4日至6日放假调休，共3天。"')
  return { kind: 'days', name, daysOff: [...daysOff].sort(), workingDays: [...workingDays].sort(), line: item.line.number }
}

export function readHolidayNotice(text: string): HolidayNotice {
  const lines = splitLines(text)
  const firstLine = lines.find((l) => l.plain !== '') ?? lines[0]!
  const notNotice: (problem: string) => never = (problem) => {
    if (firstLine.plain === '') throw new NoticeReadError(firstLine.number, firstLine.text, `The holiday notice is empty: ${problem}`)
    fail(firstLine, `this is not a State Council holiday notice: ${problem}`)
  }

  const title = readTitle(lines)
  const body = title ? lines.slice(title.lastIndex + 1) : lines
  const year = readYear(title?.plain ?? null, body)
  if (year === null) notNotice('expected a year it arranges, as in "国务院办公厅关于2026年部分节假日安排的通知" or "现将2026年元旦、春节…的具体安排通知如下"')
  const { amends, subject } = readSubject(title?.plain ?? null, body)

  const holidays: NoticeHoliday[] = []
  const namedBy = new Map<string, Line>()
  for (const item of findItems(body, amends)) {
    const holiday = readItem(item, year, subject)
    const dates = holiday.kind === 'days' ? [...holiday.daysOff, ...holiday.workingDays] : [holiday.lastDayOff]
    for (const d of dates) {
      const earlier = namedBy.get(d)
      if (earlier && earlier !== item.line) fail(item.line, `${d} is already arranged on line ${earlier.number} ("${earlier.text}")`)
      namedBy.set(d, item.line)
    }
    holidays.push(holiday)
  }
  if (holidays.length === 0) notNotice('expected holiday items such as "一、元旦：1月1日至3日放假调休，共3天。"')
  return { year, amends, title: title?.title ?? null, holidays }
}

/** `current(year)` keyed by date, refused unless it is every date of that year. */
function standingYear(year: number, days: CalendarDay[]): Map<string, CalendarDay> {
  const byDate = new Map<string, CalendarDay>()
  for (const d of days) if (Number(d.date.slice(0, 4)) === year) byDate.set(d.date, { ...d })
  const expected = ordinaryYear(year)
  const missing = expected.filter((d) => !byDate.has(d.date))
  if (missing.length > 0) {
    throw new NoticeApplyError(`The calendar of ${year} as it stands lacks ${missing.length} of its dates (first ${missing[0]!.date}); a notice is applied over a whole year.`)
  }
  return new Map(expected.map((d) => [d.date, byDate.get(d.date)!]))
}

/**
 * Every date of every year the notice changes, after it: for an arrangement, its year is every date
 * of that year — the days the notice names, and everything else an ordinary week (Mon–Fri working,
 * Sat/Sun off, name ''); dates it names in another year (the 2019 notice names 2018-12-29..31, the 2023
 * notice 2022-12-31) are applied over `current(thatYear)`. An amending notice is applied over
 * `current(year)` (for an extension: the days from after the holiday's current last day off through the
 * new last day become days off with the holiday's name, including a weekend 调休 working day in between, as
 * 2020-02-01 was). `current(year)` returns that year as it now stands (every date of it).
 * Each returned year lists every one of its dates in order.
 */
export function calendarAfterNotice(notice: HolidayNotice, current: (year: number) => CalendarDay[]): Map<number, CalendarDay[]> {
  const years = new Map<number, Map<string, CalendarDay>>()
  const yearOf = (date: string) => Number(date.slice(0, 4))
  const daysOf = (year: number): Map<string, CalendarDay> => {
    let days = years.get(year)
    if (!days) {
      days =
        year === notice.year && !notice.amends
          ? new Map(ordinaryYear(year).map((d) => [d.date, d]))
          : standingYear(year, current(year))
      years.set(year, days)
    }
    return days
  }
  const set = (date: string, is_working: boolean, name: string) => daysOf(yearOf(date)).set(date, { date, is_working, name })

  daysOf(notice.year)
  for (const holiday of notice.holidays) {
    if (holiday.kind === 'days') {
      if (notice.amends) {
        // the item replaces the holiday: its old days go back to the ordinary week
        const touched = new Set([notice.year, ...holiday.daysOff.map(yearOf), ...holiday.workingDays.map(yearOf)])
        for (const y of touched) {
          for (const d of daysOf(y).values()) if (d.name === holiday.name) set(d.date, !isWeekend(d.date), '')
        }
      }
      for (const d of holiday.daysOff) set(d, false, holiday.name)
      for (const d of holiday.workingDays) set(d, true, holiday.name)
      continue
    }
    const days = daysOf(yearOf(holiday.lastDayOff))
    let currentLast: string | null = null
    for (const d of days.values()) if (d.name === holiday.name && !d.is_working && (currentLast === null || d.date > currentLast)) currentLast = d.date
    if (currentLast === null) {
      throw new NoticeApplyError(`The notice extends ${holiday.name} to ${holiday.lastDayOff}, but ${yearOf(holiday.lastDayOff)} as it stands has no ${holiday.name} days off to extend.`)
    }
    // loaded again (or already in the year as it stands): nothing to change
    if (holiday.lastDayOff === currentLast) continue
    if (holiday.lastDayOff < currentLast) {
      throw new NoticeApplyError(`The notice extends ${holiday.name} to ${holiday.lastDayOff}, but its days off already run to ${currentLast}.`)
    }
    for (const d of rangeDays(dateOf(dayNumber(currentLast) + 1), holiday.lastDayOff)) set(d, false, holiday.name)
    if (holiday.resumesOn) set(holiday.resumesOn, !isWeekend(holiday.resumesOn), holiday.name)
  }

  return new Map(
    [...years]
      .sort((a, b) => a[0] - b[0])
      .map(([year, days]) => [year, [...days.values()].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0))]),
  )
}
