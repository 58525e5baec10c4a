// The cost ledger: one entry per unit, month and category. Amounts are realistic yuan that do
// not depend on how many cases are generated (a small demo has the district's real cost base),
// sized by the unit's staff and scaled by its seeded cost efficiency.
import { hash3, hashString, Rng } from './random.ts'
import type { DemoUnit, District } from './structure.ts'

const CATEGORIES = ['staff', 'purchased_service', 'operations', 'it'] as const
type Category = (typeof CATEGORIES)[number]

const NOTES: Record<Category, string> = {
  staff: '在编及聘用人员薪酬、社保及公积金',
  purchased_service: '政府购买服务（窗口辅助及帮办代办人员）',
  operations: '场地物业、水电暖及办公运行',
  it: '政务服务系统、叫号及评价设备运维',
}

/** Monthly amounts in yuan before efficiency and noise; undefined where a unit has no such cost. */
function baseAmount(u: DemoUnit, category: Category, month: number, rng: Rng): number | undefined {
  const s = u.staff
  switch (category) {
    case 'staff': {
      const perHead = u.kind === 'district_centre' || u.kind === 'bureau_hall' ? 17_000 : u.kind === 'street_hall' ? 14_000 : 9_500
      return fte(u) * perHead
    }
    case 'purchased_service':
      if (u.kind === 'district_centre') return 650_000
      if (u.kind === 'bureau_hall') return s >= 6 ? 20_000 + 3_000 * s : undefined
      if (u.kind === 'street_hall') return 40_000 + 3_500 * s
      if (u.kind === 'enterprise_station') return 25_000
      // Some community stations buy a social worker's time, most do not.
      return hashString(u.unit_id) % 10 < 4 ? 12_000 : undefined
    case 'operations': {
      // Heating season (15 Nov – 15 Mar) and the year-end settlement weigh on the bill.
      const season = (month >= 11 || month <= 3 ? 1.1 : 1) * (month === 12 ? 1.4 : 1)
      const base = u.kind === 'district_centre' ? 420_000 : u.kind === 'bureau_hall' ? 15_000 + 1_500 * s : u.kind === 'street_hall' ? 30_000 + 3_000 * s : rng.uniform(6_000, 9_000)
      return base * season
    }
    case 'it': {
      // Maintenance contracts are billed at the end of each quarter.
      const quarterEnd = month % 3 === 0 ? 2.5 : 0.6
      const base = u.kind === 'district_centre' ? 280_000 : u.kind === 'bureau_hall' ? 8_000 + 800 * s : u.kind === 'street_hall' ? 20_000 : 1_500
      return base * quarterEnd
    }
  }
}

/** Full-time equivalents on the ledger: window staff plus back office. */
function fte(u: DemoUnit): number {
  const backOffice = u.kind === 'district_centre' ? 1.5 : u.kind === 'bureau_hall' ? 1.2 : u.kind === 'street_hall' ? 1.15 : 1
  return Math.round(u.staff * backOffice * 2) / 2
}

function* months(from: string, to: string): Generator<string> {
  let y = Number(from.slice(0, 4))
  let m = Number(from.slice(5, 7))
  const endY = Number(to.slice(0, 4))
  const endM = Number(to.slice(5, 7))
  while (y < endY || (y === endY && m <= endM)) {
    yield `${y}-${String(m).padStart(2, '0')}`
    if (++m > 12) (m = 1), y++
  }
}

export function* costRecords(d: District, from: string, to: string): Generator<object> {
  const rng = new Rng()
  for (const period of months(from, to)) {
    const year = Number(period.slice(0, 4))
    const month = Number(period.slice(5, 7))
    for (const u of d.units) {
      const efficiency = Math.exp(-0.15 * u.traits.costEfficiency)
      for (let c = 0; c < CATEGORIES.length; c++) {
        const category = CATEGORIES[c]!
        rng.reseed(hash3(d.seed, hashString(u.unit_id), (year * 12 + month) * 4 + c))
        const base = baseAmount(u, category, month, rng)
        if (base === undefined) continue
        // Pay rises by about 3% a year; everything else wobbles a little month to month.
        const raise = category === 'staff' ? 1 + 0.03 * (year - 2025) : 1
        const amount = base * efficiency * raise * rng.uniform(0.97, 1.03)
        const r: Record<string, unknown> = {
          entry_id: `CB-${u.unit_id}-${period}-${category}`, unit_id: u.unit_id, period, category, amount: amount.toFixed(2),
        }
        if (category === 'staff') r.staff_fte = fte(u)
        r.note = NOTES[category]
        yield r
      }
    }
  }
}
