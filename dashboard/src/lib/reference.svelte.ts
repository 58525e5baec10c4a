// Names of units and items, for labels: read once from the API.
import { api } from './api.ts'

export interface UnitRef { unit_id: string; name: string; tier: number; kind: string; parent_id: string | null }
export interface ItemRef { item_code: string; name: string; category: string }

export const reference = $state<{ units: Map<string, UnitRef>; items: Map<string, ItemRef>; loaded: boolean }>({ units: new Map(), items: new Map(), loaded: false })

let loading: Promise<void> | undefined
export function loadReference(): Promise<void> {
  loading ??= Promise.all([api<{ units: UnitRef[] }>('/api/v1/units'), api<{ items: ItemRef[] }>('/api/v1/items')]).then(([u, i]) => {
    reference.units = new Map(u.units.map((x) => [x.unit_id, x]))
    reference.items = new Map(i.items.map((x) => [x.item_code, x]))
    reference.loaded = true
  }).catch((err: unknown) => {
    loading = undefined
    throw err
  })
  return loading
}

export const unitName = (id: string | null | undefined): string => (id ? (reference.units.get(id)?.name ?? id) : '—')
export const itemName = (code: string | null | undefined): string => (code ? (reference.items.get(code)?.name ?? code) : '—')
