// What the daily aggregate's figures stand on (case_daily_basis in meta): start-up builds the
// aggregate again only when that basis does not cover the reference data and calendar in memory,
// and an earlier release's form of it (one hash) that matches is taken as it is, not rebuilt.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { legacyBasisHash } from './cases.ts'
import { queryRows } from './index.ts'
import { openTestPlatform } from './testing.ts'
import { nowSeconds } from './time.ts'

let p: Awaited<ReturnType<typeof openTestPlatform>>
const stored = async () => (await queryRows<{ value: string }>(p.warehouse, `SELECT value FROM meta FINAL WHERE key = 'case_daily_basis'`))[0]!.value
const store = (value: string) => p.warehouse.client.insert({ table: 'meta', values: [{ key: 'case_daily_basis', value, updated_at: nowSeconds() }], format: 'JSONEachRow' })

beforeAll(async () => {
  p = await openTestPlatform()
  await p.reference.upsertUnits([
    { unit_id: 'D', name: '区中心', tier: 1, kind: 'district_centre', parent_id: null, active_from: null, active_to: null },
    { unit_id: 'S', name: '街道', tier: 2, kind: 'street_hall', parent_id: 'D', active_from: null, active_to: null },
  ])
  expect(p.cases.dailyReady()).toBe(true) // (units added to the basis it was built on: covered)
}, 60_000)
afterAll(async () => p?.close())

describe('the basis of the daily aggregate', () => {
  it("takes an earlier release's hash of the same basis as it is, stores it in this release's form, and rebuilds on any other", async () => {
    const rebuild = vi.spyOn(p.cases, 'rebuildDaily')
    await p.cases.repair()
    const current = await stored()
    const basis = JSON.parse(current) as Parameters<typeof legacyBasisHash>[0]
    expect(Object.keys(basis.tiers).sort()).toEqual(['D', 'S'])
    expect(rebuild).not.toHaveBeenCalled()

    // the release before stored one hash of the same limits, tiers and calendar: no rebuild
    await store(legacyBasisHash(basis, p.calendar))
    await p.cases.repair()
    expect(rebuild).not.toHaveBeenCalled()
    expect(JSON.parse(await stored())).toEqual(basis)
    expect(p.cases.dailyReady()).toBe(true)

    // a hash of another basis (a tier since changed): built again
    await store(legacyBasisHash({ ...basis, tiers: { ...basis.tiers, S: 3 } }, p.calendar))
    await p.cases.repair()
    expect(rebuild).toHaveBeenCalledTimes(1)
    expect(JSON.parse(await stored())).toEqual(basis)
    rebuild.mockRestore()
  })
})
