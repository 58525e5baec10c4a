// Settings the district tunes without a release: the warning (黄牌) threshold, and the working
// days a bad rating has to be rectified in and a complaint responded to and resolved in — the
// district's, and a tier's own where it sets one. Stored as key/value rows, kept in memory (read
// on every clock and indicator query).
import type { Warehouse } from './client.ts'
import { queryRows } from './client.ts'
import { nowSeconds } from './time.ts'

export interface TunableSettings {
  /** An open case is in warning when at most this many working days are left (items may set their own). */
  warning_days: number
  /** Working days a bad rating has to be rectified in (差评整改期限). */
  rectification_limit_days: number
  /** Working days a complaint has to be resolved in. */
  complaint_limit_days: number
  /** Working days after `received` a complaint has to be responded to (first contact: 响应). */
  complaint_response_limit_days: number
  /** A tier's own handling limits, where it has them (the district's above otherwise). */
  by_tier: Partial<Record<TierKey, TierLimits>>
}

/** The limits a tier may set for itself. */
export const TIER_LIMITS = ['rectification_limit_days', 'complaint_limit_days', 'complaint_response_limit_days'] as const
export type TierLimit = (typeof TIER_LIMITS)[number]
export type TierLimits = Partial<Record<TierLimit, number>>
export type TierKey = '1' | '2' | '3'
const TIERS: TierKey[] = ['1', '2', '3']

type DistrictSetting = Exclude<keyof TunableSettings, 'by_tier'>
export const DEFAULT_SETTINGS: TunableSettings = { warning_days: 1, rectification_limit_days: 15, complaint_limit_days: 15, complaint_response_limit_days: 1, by_tier: {} }
const DISTRICT_KEYS = Object.keys(DEFAULT_SETTINGS).filter((k) => k !== 'by_tier') as DistrictSetting[]

/** A change: district settings, and per tier limits (null takes a tier's own limit away). */
export type SettingsChange = Partial<Record<DistrictSetting, number>> & { by_tier?: Partial<Record<TierKey, Partial<Record<TierLimit, number | null>>>> }

/**
 * A handling limit for every tier, keyed by the tier as text ('0': units of no tier): what the
 * sources bind as {name:Map(String, Int32)} and read at the unit's tier.
 */
export function limitByTier(settings: Pick<TunableSettings, TierLimit | 'by_tier'>, name: TierLimit): Record<string, number> {
  const out: Record<string, number> = { 0: settings[name] }
  for (const t of TIERS) out[t] = settings.by_tier?.[t]?.[name] ?? settings[name]
  return out
}

/** The longest a limit runs in any tier (how far ahead a figure may need the calendar). */
export const longestLimit = (settings: TunableSettings, name: TierLimit): number => Math.max(...Object.values(limitByTier(settings, name)))

// stored rows: a district setting under its name, a tier's limit as tier:N:name
const tierKey = (tier: TierKey, name: TierLimit) => `tier:${tier}:${name}`

export class SettingsStore {
  private values: TunableSettings = { ...DEFAULT_SETTINGS }

  constructor(private readonly warehouse: Warehouse) {}

  async load(): Promise<void> {
    const rows = await queryRows<{ key: string; value: string }>(this.warehouse, 'SELECT key, value FROM settings FINAL')
    const values: TunableSettings = { ...DEFAULT_SETTINGS, by_tier: {} }
    for (const r of rows) {
      const tier = /^tier:([123]):(.+)$/.exec(r.key)
      if (tier) {
        const [, t, name] = tier as unknown as [string, TierKey, TierLimit]
        // an empty value is a tier's limit taken away
        if ((TIER_LIMITS as readonly string[]).includes(name) && r.value !== '') values.by_tier[t] = { ...values.by_tier[t], [name]: Number(r.value) }
      } else if ((DISTRICT_KEYS as string[]).includes(r.key)) {
        values[r.key as DistrictSetting] = Number(r.value)
      }
    }
    this.values = values
  }

  get(): TunableSettings {
    return { ...this.values, by_tier: Object.fromEntries(Object.entries(this.values.by_tier).map(([t, l]) => [t, { ...l }])) }
  }

  async update(changes: SettingsChange): Promise<TunableSettings> {
    const rows: Array<{ key: string; value: string }> = []
    for (const k of DISTRICT_KEYS) if (typeof changes[k] === 'number') rows.push({ key: k, value: String(changes[k]) })
    for (const t of TIERS) {
      for (const name of TIER_LIMITS) {
        const v = changes.by_tier?.[t]?.[name]
        if (v === undefined) continue
        rows.push({ key: tierKey(t, name), value: v === null ? '' : String(v) })
      }
    }
    if (rows.length) {
      const updated_at = nowSeconds()
      await this.warehouse.client.insert({ table: 'settings', format: 'JSONEachRow', values: rows.map((r) => ({ ...r, updated_at })) })
      await this.load()
    }
    return this.get()
  }
}
