// Instants travel as epoch milliseconds inside the platform and as epoch seconds with three
// decimals to ClickHouse (unambiguous in any time zone); people see RFC 3339 in the district's zone.

const offsetFormatters = new Map<string, Intl.DateTimeFormat>()

/** Offset of `tz` from UTC at the instant `ms`, in minutes (e.g. +480 for Asia/Shanghai). */
export function offsetMinutes(ms: number, tz: string): number {
  let fmt = offsetFormatters.get(tz)
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric',
    })
    offsetFormatters.set(tz, fmt)
  }
  const p: Record<string, number> = {}
  for (const part of fmt.formatToParts(ms)) if (part.type !== 'literal') p[part.type] = Number(part.value)
  const asUtc = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!)
  return Math.round((asUtc - (ms - (ms % 1000 + 1000) % 1000)) / 60000)
}

/** The instant at which the wall-clock time (in `tz`) given as UTC-fields-ms occurs. */
export function wallClockToInstant(wallMs: number, tz: string): number {
  // Two passes settle the offset also next to a DST change.
  let guess = wallMs - offsetMinutes(wallMs, tz) * 60000
  guess = wallMs - offsetMinutes(guess, tz) * 60000
  return guess
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0')

/** RFC 3339 with the district's offset, e.g. 2024-03-05T09:12:00.000+08:00. */
export function toRfc3339(ms: number, tz: string): string {
  const off = offsetMinutes(ms, tz)
  const d = new Date(ms + off * 60000)
  const sign = off >= 0 ? '+' : '-'
  const a = Math.abs(off)
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`
}

/** The calendar date (YYYY-MM-DD) of an instant in `tz`. */
export function localDate(ms: number, tz: string): string {
  return toRfc3339(ms, tz).slice(0, 10)
}

/** The first instant of the local date after the one `ms` falls on, in `tz`. */
export function nextLocalMidnight(ms: number, tz: string): number {
  const next = new Date(Date.parse(`${localDate(ms, tz)}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10)
  return parseTimestamp(`${next}T00:00:00`, tz)!
}

export function epochSeconds(ms: number): string {
  return (ms / 1000).toFixed(3)
}

export function nowSeconds(): string {
  return epochSeconds(Date.now())
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|[+-]\d{2}:?\d{2})?$/

/** Parses RFC 3339 (a space for T is tolerated); a timestamp without offset is read in `tz`. Returns epoch ms or undefined. */
export function parseTimestamp(s: string, tz: string): number | undefined {
  const m = RFC3339.exec(s)
  if (!m) return undefined
  const [y, mo, d, h, mi, sec] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number) as [number, number, number, number, number, number]
  const ms = m[7] ? Math.floor(Number('0.' + m[7]) * 1000) : 0
  if (mo < 1 || mo > 12 || h > 23 || mi > 59 || sec > 59) return undefined
  const wall = Date.UTC(y, mo - 1, d, h, mi, sec, ms)
  if (new Date(wall).getUTCDate() !== d) return undefined // 2024-02-30 and the like
  const zone = m[8]
  if (!zone) return wallClockToInstant(wall, tz)
  if (zone === 'Z' || zone === 'z') return wall
  const sign = zone[0] === '-' ? -1 : 1
  const digits = zone.slice(1).replace(':', '')
  const oh = Number(digits.slice(0, 2))
  const om = Number(digits.slice(2))
  if (oh > 23 || om > 59) return undefined
  return wall - sign * (oh * 60 + om) * 60000
}
