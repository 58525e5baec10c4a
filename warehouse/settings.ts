// Settings the district tunes without a release: the warning (黄牌) threshold, and the working
// days a bad rating has to be verified, rectified and revisited in and a complaint responded to
// and resolved in — the
// district's, and a tier's own where it sets one. A handling limit is versioned by the day it
// takes effect: a record is judged by the limit in effect on its own day, so a change never
// rewrites a past year. Stored as key/value rows, kept in memory (read on every clock and
// indicator query).
import type { Warehouse } from './client.ts'
import { queryRows } from './client.ts'
import { localDate, nowSeconds } from './time.ts'
import { WriteOverlap } from './reload.ts'

export interface TunableSettings {
  /** An open case is in warning when at most this many working days are left (items may set their own). */
  warning_days: number
  /** Working days a bad rating has to be verified in (差评核实: first contact with the person who rated), in effect today. */
  verification_limit_days: number
  /** Working days a bad rating has to be rectified in (差评整改期限), in effect today. */
  rectification_limit_days: number
  /** Working days a bad rating has to be revisited in (回访: the feedback to the person who rated), in effect today. */
  revisit_limit_days: number
  /** Working days a complaint has to be resolved in, in effect today. */
  complaint_limit_days: number
  /** Working days after `received` a complaint has to be responded to (first contact: 响应), in effect today. */
  complaint_response_limit_days: number
  /** A tier's own handling limits in effect today, where it has them (the district's above otherwise). */
  by_tier: Partial<Record<TierKey, TierLimits>>
}

/** The limits a tier may set for itself; each versioned by the day it takes effect. */
export const TIER_LIMITS = ['verification_limit_days', 'rectification_limit_days', 'revisit_limit_days', 'complaint_limit_days', 'complaint_response_limit_days'] as const
export type TierLimit = (typeof TIER_LIMITS)[number]
/** A tier's own limits and warning threshold (the warning is not versioned: it is about cases open now). */
export type TierLimits = Partial<Record<TierLimit | 'warning_days', number>>
export type TierKey = '1' | '2' | '3'
const TIERS: TierKey[] = ['1', '2', '3']

// (each counted in working days from the record's own day: the rating's, the complaint's receipt)
export const DEFAULT_SETTINGS: TunableSettings = {
  warning_days: 1, verification_limit_days: 1, rectification_limit_days: 15, revisit_limit_days: 20, complaint_limit_days: 15, complaint_response_limit_days: 1, by_tier: {},
}

/** A change: district settings, and per tier limits (null takes a tier's own limit away), from `effective_from` (default: today). */
export type SettingsChange = Partial<Record<'warning_days' | TierLimit, number>> & {
  by_tier?: Partial<Record<TierKey, Partial<Record<TierLimit | 'warning_days', number | null>>>>
  /** The day the limits changed here take effect (YYYY-MM-DD): records of earlier days keep the limits they had. */
  effective_from?: string
}

/** One version of a limit: the district's (scope '0') or a tier's, from a day on; null: the tier's own taken away. */
export interface LimitVersion { name: TierLimit; scope: '0' | TierKey; from: string; value: number | null }

/**
 * A limit's schedule for every tier, keyed by the tier as text ('0': units of no tier): the days
 * it changed on (`from`, ascending, the first 1970-01-01) and the working days from each
 * (`days`). What the sources bind ({name_from:Map(String, Array(Date))} and
 * {name_days:Map(String, Array(Int32))}) and read at the unit's tier and the record's day.
 */
export interface LimitSchedule { from: Record<string, string[]>; days: Record<string, number[]> }

const BEGINNING = '1970-01-01'

export function limitSchedule(versions: LimitVersion[], name: TierLimit): LimitSchedule {
  const of = versions.filter((v) => v.name === name)
  const latest = (scope: string, day: string) => of.filter((v) => v.scope === scope && v.from <= day).sort((a, b) => (a.from < b.from ? -1 : 1)).at(-1)
  const out: LimitSchedule = { from: {}, days: {} }
  for (const scope of ['0', ...TIERS]) {
    const days = [...new Set([BEGINNING, ...of.filter((v) => v.scope === '0' || v.scope === scope).map((v) => v.from)])].sort()
    out.from[scope] = days
    out.days[scope] = days.map((d) => latest(scope, d)?.value ?? latest('0', d)?.value ?? DEFAULT_SETTINGS[name])
  }
  return out
}

/** The longest a limit runs in any tier at any time (how far ahead a figure may need the calendar). */
export const longestLimit = (versions: LimitVersion[], name: TierLimit): number => Math.max(...Object.values(limitSchedule(versions, name).days).flat())

// stored rows: warning_days under its name; a limit as district:NAME@DAY or tier:N:NAME@DAY (value
// '' for a tier's own taken away); a limit under its bare name is the district's from the beginning
const VERSION_KEY = /^(?:district|tier:([123])):([a-z_]+)@(\d{4}-\d{2}-\d{2})$/
const versionKey = (v: Omit<LimitVersion, 'value'>) => `${v.scope === '0' ? 'district' : `tier:${v.scope}`}:${v.name}@${v.from}`

export class SettingsStore {
  private warningDays = DEFAULT_SETTINGS.warning_days
  private tierWarnings: Partial<Record<TierKey, number>> = {}
  private limitVersions: LimitVersion[] = []

  constructor(private readonly warehouse: Warehouse) {}

  private readonly writes = new WriteOverlap()

  /** The settings as stored (not over what a write of this process set meanwhile: reload.ts). */
  async load(): Promise<void> {
    await this.writes.load(() => queryRows<{ key: string; value: string }>(this.warehouse, 'SELECT key, value FROM settings FINAL'), (rows) => this.apply(rows))
  }

  private apply(rows: Array<{ key: string; value: string }>): void {
    this.warningDays = DEFAULT_SETTINGS.warning_days
    this.tierWarnings = {}
    const versions: LimitVersion[] = []
    const isLimit = (name: string): name is TierLimit => (TIER_LIMITS as readonly string[]).includes(name)
    for (const r of rows) {
      const versioned = VERSION_KEY.exec(r.key)
      const tierWarning = /^tier:([123]):warning_days$/.exec(r.key)
      if (r.key === 'warning_days') this.warningDays = Number(r.value)
      else if (tierWarning) {
        if (r.value !== '') this.tierWarnings[tierWarning[1] as TierKey] = Number(r.value)
      }
      else if (isLimit(r.key)) versions.push({ name: r.key, scope: '0', from: BEGINNING, value: Number(r.value) })
      else if (versioned && isLimit(versioned[2]!)) {
        const scope = (versioned[1] ?? '0') as LimitVersion['scope']
        // (a district limit cannot be taken away: an empty value there is no version)
        if (r.value !== '' || scope !== '0') versions.push({ name: versioned[2], scope, from: versioned[3]!, value: r.value === '' ? null : Number(r.value) })
      }
    }
    this.limitVersions = versions.sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0))
  }

  /**
   * The warning thresholds for the clock: the district's, and each unit's whose tier sets its own
   * (`tierOf`: the units and their tiers).
   */
  warnings(tierOf: Iterable<{ unit_id: string; tier: number }>): { days: number; units: Record<string, number> } {
    const units: Record<string, number> = {}
    for (const u of tierOf) {
      const own = this.tierWarnings[String(u.tier) as TierKey]
      if (own !== undefined) units[u.unit_id] = own
    }
    return { days: this.warningDays, units }
  }

  /** Every version of the handling limits, oldest first. */
  versions(): LimitVersion[] {
    return this.limitVersions.map((v) => ({ ...v }))
  }

  /** The settings in effect on `day` (default: today, in the district's time zone). */
  get(day = localDate(Date.now(), this.warehouse.timezone)): TunableSettings {
    const out: TunableSettings = { ...DEFAULT_SETTINGS, warning_days: this.warningDays, by_tier: {} }
    for (const [t, w] of Object.entries(this.tierWarnings) as Array<[TierKey, number]>) out.by_tier[t] = { warning_days: w }
    for (const name of TIER_LIMITS) {
      const schedule = limitSchedule(this.limitVersions, name)
      const at = (scope: string) => schedule.days[scope]![schedule.from[scope]!.filter((d) => d <= day).length - 1]!
      out[name] = at('0')
      for (const t of TIERS) {
        const own = this.limitVersions.filter((v) => v.name === name && v.scope === t && v.from <= day).at(-1)
        if (own && own.value !== null) out.by_tier[t] = { ...out.by_tier[t], [name]: at(t) }
      }
    }
    return out
  }

  async update(changes: SettingsChange): Promise<TunableSettings> {
    const from = changes.effective_from ?? localDate(Date.now(), this.warehouse.timezone)
    const rows: Array<{ key: string; value: string }> = []
    if (typeof changes.warning_days === 'number') rows.push({ key: 'warning_days', value: String(changes.warning_days) })
    for (const t of TIERS) {
      const w = changes.by_tier?.[t]?.warning_days
      if (w !== undefined) rows.push({ key: `tier:${t}:warning_days`, value: w === null ? '' : String(w) })
    }
    for (const name of TIER_LIMITS) {
      const v = changes[name]
      if (typeof v === 'number') rows.push({ key: versionKey({ name, scope: '0', from }), value: String(v) })
      for (const t of TIERS) {
        const own = changes.by_tier?.[t]?.[name]
        if (own !== undefined) rows.push({ key: versionKey({ name, scope: t, from }), value: own === null ? '' : String(own) })
      }
    }
    if (rows.length) {
      const updated_at = nowSeconds()
      await this.writes.write(() => this.warehouse.client.insert({ table: 'settings', format: 'JSONEachRow', values: rows.map((r) => ({ ...r, updated_at })) }))
      await this.load()
    }
    return this.get()
  }
}
