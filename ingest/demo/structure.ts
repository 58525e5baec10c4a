// The demo district's structure (units and service items, fixed: ids stay the same for every
// seed) and its seeded part: each unit's latent traits, which make rankings within a tier stable
// and meaningful, and the targets that refer to them.
import {
  BUREAUS, COMMUNITIES, ENTERPRISE_STATIONS, ITEM_SPECS, STREETS, VARIANTS, type ItemSpec,
} from './catalogue.ts'
import { cumulative, hash3, hashString, Rng } from './random.ts'

export type UnitKind = 'district_centre' | 'bureau_hall' | 'street_hall' | 'community_station' | 'enterprise_station'
export type Applicant = 'P' | 'E' | 'M'

export interface DemoItem {
  index: number
  item_code: string
  name: string
  category: 'administrative_licensing' | 'public_service' | 'other'
  statutory_days: number | null
  /** 承诺时限 in working days; 0 = 即办件, null = no limit. */
  promised_days: number | null
  owner_unit_id: string
  tiers: number[]
  applicant: Applicant
  popularity: number
}

/** How a unit performs, on a standard scale (0 typical, ±1.5 clearly strong or weak). */
export interface UnitTraits {
  standing: 'strong' | 'typical' | 'weak'
  quality: number
  timeliness: number
  /** Fewer 补正 requests and rejections. */
  thoroughness: number
  satisfaction: number
  /** Fewer complaints, fewer of them substantiated. */
  integrity: number
  /** Shorter queues. */
  queue: number
  costEfficiency: number
  /** Log-odds shift of the online (网办) share. */
  online: number
  /** The unit's source system computes and sends due_at. */
  sendsDueAt: boolean
}

export interface DemoUnit {
  index: number
  unit_id: string
  name: string
  tier: 1 | 2 | 3
  kind: UnitKind
  parent_id: string | null
  /** The unit a station's 代办 cases go up to; -1 for halls. */
  parentIndex: number
  /** Share of the district's cases that start here. */
  volume: number
  /** Handling officers (staff_id values) and service windows. */
  staff: number
  windows: number
  /** A hall with windows and a queueing system. */
  isHall: boolean
  /** Items a case starting here is for, with cumulative weights. */
  pool: { items: Int32Array; cum: Float64Array }
  /** Enterprise stations only: tier-1 enterprise items they help with and pass to the owner hall. */
  proxyPool?: { items: Int32Array; cum: Float64Array }
  traits: UnitTraits
}

export interface District {
  seed: number
  units: DemoUnit[]
  items: DemoItem[]
  unitIndex: Map<string, number>
  /** Cumulative case volume over units, for picking the unit a case starts at. */
  unitCum: Float64Array
}

export const CENTRE_ID = 'DC-CENTRE'
const CATEGORY = { XK: 'administrative_licensing', GG: 'public_service', QT: 'other' } as const
const VARIANT_CODE: Record<string, string> = { X: 'XB', B: 'BG', Y: 'YX', Z: 'ZX', H: 'BZ' }
/** Fixed seed for the parts of the structure that are invented (station sizes): ids and names never depend on the run's seed. */
const STRUCTURE_SEED = 0x0dc2025

/** Shares of all cases by where they start: halls far more than stations. */
const VOLUME_SHARE = { district_centre: 0.1, bureau_hall: 0.33, street_hall: 0.4, community_station: 0.12, enterprise_station: 0.05 }

function buildItems(): DemoItem[] {
  const items: DemoItem[] = []
  for (const [owner, specs] of Object.entries(ITEM_SPECS)) {
    const ownerId = owner === 'CENTRE' ? CENTRE_ID : `DC-B-${owner}`
    specs.forEach((spec: ItemSpec, n) => {
      const [name, cat, statutory, promised, applicant, tiers, popularity, variants] = spec
      const code = `${owner}-${cat}${String(n + 1).padStart(3, '0')}`
      const base = {
        category: CATEGORY[cat], statutory_days: statutory, owner_unit_id: ownerId,
        tiers: [...tiers].map(Number), applicant,
      }
      if (!variants) {
        items.push({ index: items.length, item_code: code, name, promised_days: promised, popularity, ...base })
        return
      }
      for (const v of variants) {
        const [vName, share, promisedOf] = VARIANTS[v]!
        items.push({
          index: items.length, item_code: `${code}-${VARIANT_CODE[v]}`, name: `${name}（${vName}）`,
          promised_days: promised === null ? null : promisedOf(promised), popularity: popularity * share, ...base,
        })
      }
    })
  }
  return items
}

function pool(items: DemoItem[], weight: (item: DemoItem) => number): { items: Int32Array; cum: Float64Array } {
  const chosen = items.filter((i) => weight(i) > 0)
  return { items: Int32Array.from(chosen.map((i) => i.index)), cum: cumulative(chosen.map(weight)) }
}

const emptyTraits = (): UnitTraits => ({
  standing: 'typical', quality: 0, timeliness: 0, thoroughness: 0, satisfaction: 0, integrity: 0, queue: 0,
  costEfficiency: 0, online: 0, sendsDueAt: false,
})

/** Units and items without traits: the same for every seed. */
function buildStructure(): { units: DemoUnit[]; items: DemoItem[] } {
  const items = buildItems()
  const rng = new Rng(STRUCTURE_SEED)
  const units: DemoUnit[] = []
  const add = (u: Omit<DemoUnit, 'index' | 'traits' | 'staff' | 'windows' | 'volume'> & { size: number }) => {
    const { size, ...rest } = u
    units.push({ ...rest, index: units.length, volume: size, staff: 0, windows: 0, traits: emptyTraits() })
  }
  const ownHall = new Set(BUREAUS.filter((b) => b[3]).map((b) => `DC-B-${b[0]}`))

  add({
    unit_id: CENTRE_ID, name: '东城区政务服务中心', tier: 1, kind: 'district_centre', parent_id: null, parentIndex: -1, isHall: true, size: 1,
    // 综合窗口 (无差别受理): every tier-1 item, least of those whose bureau runs its own busy hall
    pool: pool(items, (i) => (i.tiers.includes(1) ? i.popularity * (i.owner_unit_id === CENTRE_ID ? 2 : ownHall.has(i.owner_unit_id) ? 0.15 : 1) : 0)),
  })
  for (const [code, , hall] of BUREAUS) {
    const id = `DC-B-${code}`
    const own = pool(items, (i) => (i.owner_unit_id === id && i.tiers.includes(1) ? i.popularity : 0))
    add({ unit_id: id, name: hall, tier: 1, kind: 'bureau_hall', parent_id: CENTRE_ID, parentIndex: 0, isHall: true, size: own.cum[own.cum.length - 1] ?? 0, pool: own })
  }
  const streetPool = pool(items, (i) => (i.tiers.includes(2) ? i.popularity : 0))
  const stationPool = pool(items, (i) => (i.tiers.includes(3) ? i.popularity : 0))
  const streetIndex = new Map<string, number>()
  for (const [code, name, size] of STREETS) {
    streetIndex.set(code, units.length)
    add({ unit_id: `DC-S-${code}`, name: `${name}街道政务服务大厅`, tier: 2, kind: 'street_hall', parent_id: CENTRE_ID, parentIndex: 0, isHall: true, size, pool: streetPool })
  }
  for (const [code, name] of STREETS) {
    const parent = streetIndex.get(code)!
    COMMUNITIES[code]!.forEach((community, n) => {
      add({
        unit_id: `DC-S-${code}-C${String(n + 1).padStart(2, '0')}`, name: `${name}街道${community}社区服务站`, tier: 3, kind: 'community_station',
        parent_id: `DC-S-${code}`, parentIndex: parent, isHall: false, size: rng.uniform(0.5, 1.5), pool: stationPool,
      })
    })
  }
  const enterpriseLocal = pool(items, (i) => (i.tiers.includes(3) && i.applicant !== 'P' ? i.popularity : 0))
  const enterpriseProxy = pool(items, (i) => (i.tiers.includes(1) && i.applicant === 'E' ? i.popularity : 0))
  ENTERPRISE_STATIONS.forEach(([name, street], n) => {
    add({
      unit_id: `DC-E-${String(n + 1).padStart(2, '0')}`, name, tier: 3, kind: 'enterprise_station', parent_id: `DC-S-${street}`,
      parentIndex: streetIndex.get(street)!, isHall: false, size: rng.uniform(0.6, 1.4), pool: enterpriseLocal, proxyPool: enterpriseProxy,
    })
  })

  // Sizes become shares of all cases, kind by kind; staff and windows follow the volume.
  for (const kind of Object.keys(VOLUME_SHARE) as UnitKind[]) {
    const ofKind = units.filter((u) => u.kind === kind)
    const total = ofKind.reduce((s, u) => s + u.volume, 0)
    for (const u of ofKind) u.volume = (VOLUME_SHARE[kind] * u.volume) / total
  }
  for (const u of units) {
    u.staff =
      u.kind === 'district_centre' ? 60
      : u.kind === 'bureau_hall' ? Math.round(3 + u.volume * 450)
      : u.kind === 'street_hall' ? Math.round(12 + u.volume * 700)
      : Math.min(6, Math.max(2, Math.round(1 + u.volume * 2500)))
    u.windows = u.isHall ? Math.max(2, Math.ceil(u.staff * 0.6)) : Math.min(3, u.staff)
  }
  return { units, items }
}

let structure: { units: DemoUnit[]; items: DemoItem[] } | undefined

/** The district for a seed: the fixed structure with seeded traits. */
export function buildDistrict(seed: number): District {
  structure ??= buildStructure()
  const units = structure.units.map((u) => ({ ...u, traits: traitsFor(seed, u) }))
  markStandings(seed, units)
  return {
    seed,
    units,
    items: structure.items,
    unitIndex: new Map(units.map((u) => [u.unit_id, u.index])),
    unitCum: cumulative(units.map((u) => u.volume)),
  }
}

/** Bureaus on the city's unified approval system, whose source systems always send due_at. */
const DUE_AT_SYSTEMS = new Set(['DC-B-SCJGJ', 'DC-B-RSJ', 'DC-B-TAX', 'DC-B-GAFJ', 'DC-B-GHZRFJ'])

function traitsFor(seed: number, u: DemoUnit): UnitTraits {
  const rng = new Rng(hash3(seed, hashString(u.unit_id), 1))
  const quality = Math.max(-1.2, Math.min(1.2, rng.normal() * 0.5))
  return traitsAround(quality, rng, u, 'typical')
}

/** Every trait leans on the unit's overall quality, with some independent spread (a slow hall can still be friendly). */
function traitsAround(quality: number, rng: Rng, u: DemoUnit, standing: UnitTraits['standing']): UnitTraits {
  const lean = (w: number, spread: number) => quality * w + rng.normal() * spread
  return {
    standing,
    quality,
    timeliness: lean(0.9, 0.35),
    thoroughness: lean(0.7, 0.45),
    satisfaction: lean(0.8, 0.4),
    integrity: lean(0.7, 0.45),
    queue: lean(0.6, 0.5),
    costEfficiency: lean(0.5, 0.5),
    online: quality * 0.3 + rng.normal() * 0.5,
    sendsDueAt: DUE_AT_SYSTEMS.has(u.unit_id) || (u.tier === 1 && rng.chance(0.3)),
  }
}

/** A few clearly strong and clearly weak units per tier, chosen by the seed. */
function markStandings(seed: number, units: DemoUnit[]): void {
  const perTier: Record<number, number> = { 1: 3, 2: 2, 3: 5 }
  for (const tier of [1, 2, 3]) {
    // The centre is the district's flagship; it is never picked as a weak unit.
    const ranked = units
      .filter((u) => u.tier === tier && u.kind !== 'district_centre')
      .sort((a, b) => hash3(seed, hashString(a.unit_id), 2) - hash3(seed, hashString(b.unit_id), 2))
    const n = perTier[tier]!
    const mark = (u: DemoUnit, standing: 'strong' | 'weak', k: number) => {
      const rng = new Rng(hash3(seed, hashString(u.unit_id), 3))
      const quality = (standing === 'strong' ? 1 : -1) * (1.5 + 0.15 * k)
      u.traits = traitsAround(quality, rng, u, standing)
    }
    ranked.slice(0, n).forEach((u, k) => mark(u, 'strong', k))
    ranked.slice(-n).forEach((u, k) => mark(u, 'weak', k))
  }
}

// ---------------------------------------------------------------------------------------------
// Reference records, shaped as the contract's reference data (REFERENCE_SPECS).

export function unitRecords(d: District): object[] {
  return d.units.map((u) => {
    const r: Record<string, unknown> = { unit_id: u.unit_id, name: u.name, tier: u.tier, kind: u.kind }
    if (u.parent_id) r.parent_id = u.parent_id
    return r
  })
}

export function itemRecords(d: District): object[] {
  return d.items.map((i) => {
    const r: Record<string, unknown> = { item_code: i.item_code, name: i.name, category: i.category }
    if (i.statutory_days !== null) r.statutory_days = i.statutory_days
    if (i.promised_days !== null) r.promised_days = i.promised_days
    r.owner_unit_id = i.owner_unit_id
    r.tiers = i.tiers
    // Long procedures get their warning (黄牌) in the last fifth of the limit rather than the last day.
    if (i.promised_days !== null && i.promised_days >= 15) r.warning_share = 0.2
    return r
  })
}

/** District and tier targets (指标层层分解) for 2025 and a tighter 2026, plus unit overrides. */
export function targetRecords(d: District): object[] {
  const out: object[] = []
  const add = (year: number, metric_id: string, scope: string, value: number) => out.push({ year, metric_id, scope, value })
  for (const year of [2025, 2026]) {
    const t = year - 2025 // each year a little tighter
    add(year, 'on_time_rate', 'district', 0.98 + 0.003 * t)
    add(year, 'on_time_rate', 'tier:1', 0.98 + 0.003 * t)
    add(year, 'on_time_rate', 'tier:2', 0.985 + 0.003 * t)
    add(year, 'on_time_rate', 'tier:3', 0.98 + 0.003 * t)
    add(year, 'satisfaction_rate', 'district', 0.99)
    add(year, 'satisfaction_rate', 'tier:1', 0.985)
    add(year, 'satisfaction_rate', 'tier:3', 0.985)
    add(year, 'bad_review_rate', 'district', 0.01 - 0.001 * t)
    add(year, 'bad_review_rate', 'tier:1', 0.015 - 0.002 * t)
    add(year, 'online_rate', 'district', 0.4 + 0.05 * t)
    add(year, 'online_rate', 'tier:1', 0.6 + 0.05 * t)
    add(year, 'online_rate', 'tier:2', 0.25 + 0.05 * t)
    add(year, 'online_rate', 'tier:3', 0.05 + 0.02 * t)
    add(year, 'first_time_right_rate', 'district', 0.9 + 0.01 * t)
    add(year, 'bad_review_rectified_on_time_rate', 'district', 0.95 + 0.02 * t)
    add(year, 'on_time_rate', `unit:${CENTRE_ID}`, 0.99 + 0.003 * t)
    add(year, 'online_rate', 'unit:DC-B-TAX', 0.95)
    add(year, 'online_rate', 'unit:DC-B-SCJGJ', 0.9)
    // Police services need the person present (photos, fingerprints): a lower online target.
    add(year, 'online_rate', 'unit:DC-B-GAFJ', 0.45 + 0.05 * t)
    // The seed's best street hall is held to more; its weakest gets an interim target under its rectification plan.
    const streets = d.units.filter((u) => u.kind === 'street_hall').sort((a, b) => b.traits.timeliness - a.traits.timeliness)
    add(year, 'on_time_rate', `unit:${streets[0]!.unit_id}`, 0.99)
    add(year, 'on_time_rate', `unit:${streets[streets.length - 1]!.unit_id}`, 0.94 + 0.02 * t)
  }
  return out.map((r) => {
    const t = r as { value: number }
    t.value = Math.round(t.value * 10000) / 10000 // 0.98 + 0.005 must not become 0.9849999999
    return r
  })
}
