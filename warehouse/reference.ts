// Reference data (units, items, targets) with an in-memory copy: it is small (hundreds of rows),
// read on every request for scope checks, and only this process writes it.
import type { Warehouse } from './client.ts'
import { queryRows } from './client.ts'
import { nowSeconds } from './time.ts'
import { readDirectly, type ShareRead } from './answers.ts'
import { WriteOverlap } from './reload.ts'

export const UNIT_KINDS = ['district_centre', 'bureau_hall', 'street_hall', 'community_station', 'enterprise_station'] as const
export const ITEM_CATEGORIES = ['administrative_licensing', 'public_service', 'other'] as const

export interface Unit {
  unit_id: string
  name: string
  tier: number
  kind: (typeof UNIT_KINDS)[number]
  parent_id: string | null
  active_from: string | null
  active_to: string | null
}

export interface Item {
  item_code: string
  name: string
  category: (typeof ITEM_CATEGORIES)[number]
  statutory_days: number | null
  promised_days: number | null
  owner_unit_id: string | null
  tiers: number[]
  warning_days: number | null
  warning_share: number | null
}

export interface Target {
  year: number
  metric_id: string
  scope: string
  value: number
}

export class ReferenceData {
  readonly units = new Map<string, Unit>()
  readonly items = new Map<string, Item>()
  /** Raised whenever the items change: what is derived from them can tell it is stale. */
  itemsVersion = 0
  /** Raised whenever the units change (the daily aggregate's 代办 rows depend on their tiers). */
  unitsVersion = 0
  private children = new Map<string, string[]>()

  constructor(private readonly warehouse: Warehouse) {}

  private readonly writes = new WriteOverlap()

  /** The units and items as stored (not over what a write of this process set meanwhile: reload.ts). */
  async load(): Promise<void> {
    await this.writes.load(async () => [
      await queryRows<Unit>(
        this.warehouse,
        `SELECT unit_id, name, tier, kind, parent_id, toString(active_from) AS active_from, toString(active_to) AS active_to FROM units FINAL`,
      ),
      await queryRows<Item>(
        this.warehouse,
        `SELECT item_code, name, category, statutory_days, promised_days, owner_unit_id, tiers, warning_days, warning_share FROM items FINAL`,
      ),
    ] as const, ([units, items]) => this.apply(units, items))
  }

  private apply(units: readonly Unit[], items: readonly Item[]): void {
    this.units.clear()
    for (const u of units) this.units.set(u.unit_id, { ...u, tier: Number(u.tier) })
    this.items.clear()
    for (const i of items) this.items.set(i.item_code, { ...i, tiers: i.tiers.map(Number) })
    this.itemsVersion++
    this.unitsVersion++
    this.rebuildTree()
  }

  async upsertUnits(units: Unit[]): Promise<void> {
    await this.insert('units', units)
    for (const u of units) this.units.set(u.unit_id, u)
    this.unitsVersion++
    this.rebuildTree()
  }

  async upsertItems(items: Item[]): Promise<void> {
    await this.insert('items', items)
    for (const i of items) this.items.set(i.item_code, i)
    this.itemsVersion++
  }

  async upsertTargets(targets: Target[]): Promise<void> {
    await this.insert('targets', targets)
  }

  /**
   * Equal reads at once share one answer (openPlatform sets it: answers.ts): several of a unit
   * leader's calls read the year's targets, and so do many leaders opening the page at once.
   */
  shareRead: ShareRead = readDirectly

  targets(year?: number): Promise<Target[]> {
    return this.shareRead(['targets', year ?? null], () => queryRows<Target>(
      this.warehouse,
      `SELECT year, metric_id, scope, value FROM targets FINAL WHERE {year:Nullable(UInt16)} IS NULL OR year = {year:Nullable(UInt16)} ORDER BY year, metric_id, scope`,
      { year: year ?? null },
    ))
  }

  /** The unit and every unit below it (street hall → its stations). */
  withDescendants(unitId: string): string[] {
    const out: string[] = []
    const stack = [unitId]
    const seen = new Set<string>()
    while (stack.length > 0) {
      const id = stack.pop()!
      if (seen.has(id)) continue // a parent loop in bad reference data must not hang us
      seen.add(id)
      out.push(id)
      stack.push(...(this.children.get(id) ?? []))
    }
    return out
  }

  unitsOfTier(tier: number): string[] {
    return [...this.units.values()].filter((u) => u.tier === tier).map((u) => u.unit_id)
  }

  private rebuildTree(): void {
    this.children.clear()
    for (const u of this.units.values()) {
      if (!u.parent_id) continue
      if (!this.children.has(u.parent_id)) this.children.set(u.parent_id, [])
      this.children.get(u.parent_id)!.push(u.unit_id)
    }
  }

  private async insert(table: string, rows: object[]): Promise<void> {
    if (rows.length === 0) return
    const updated_at = nowSeconds()
    await this.writes.write(() => this.warehouse.client.insert({ table, values: rows.map((r) => ({ ...r, updated_at })), format: 'JSONEachRow' }))
  }
}
