// Settings the district tunes without a release: the warning (黄牌) threshold, and the working
// days a bad rating has to be rectified in and a complaint resolved in. Stored as key/value rows,
// kept in memory (read on every clock and indicator query).
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
}

export const DEFAULT_SETTINGS: TunableSettings = { warning_days: 1, rectification_limit_days: 15, complaint_limit_days: 15 }

export class SettingsStore {
  private values: TunableSettings = { ...DEFAULT_SETTINGS }

  constructor(private readonly warehouse: Warehouse) {}

  async load(): Promise<void> {
    const rows = await queryRows<{ key: string; value: string }>(this.warehouse, 'SELECT key, value FROM settings FINAL')
    this.values = { ...DEFAULT_SETTINGS }
    for (const r of rows) if (r.key in DEFAULT_SETTINGS) (this.values as unknown as Record<string, number>)[r.key] = Number(r.value)
  }

  get(): TunableSettings {
    return { ...this.values }
  }

  async update(changes: Partial<TunableSettings>): Promise<TunableSettings> {
    const entries = Object.entries(changes).filter(([k, v]) => k in DEFAULT_SETTINGS && typeof v === 'number')
    if (entries.length) {
      const updated_at = nowSeconds()
      await this.warehouse.client.insert({ table: 'settings', format: 'JSONEachRow', values: entries.map(([key, value]) => ({ key, value: String(value), updated_at })) })
      for (const [k, v] of entries) (this.values as unknown as Record<string, number>)[k] = v as number
    }
    return this.get()
  }
}
