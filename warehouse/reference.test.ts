// The units and items kept in memory: a load of the tables that a write overlapped (on a server
// the platform loads them again every few seconds) never replaces what the write set.
import { afterAll, beforeAll, expect, it } from 'vitest'
import { openTestPlatform } from './testing.ts'

let p: Awaited<ReturnType<typeof openTestPlatform>>
beforeAll(async () => {
  p = await openTestPlatform()
}, 120_000)
afterAll(async () => p?.close())

it('keeps a unit stored while a load that began before the write was reading', async () => {
  const unit = { unit_id: 'REF-TEST-1', name: '测试中心', tier: 1 as const, kind: 'district_centre' as const, parent_id: null, active_from: null, active_to: null }
  expect(p.reference.units.has(unit.unit_id)).toBe(false)
  // the load's first read (the units, without the new one) is held back until the write has ended
  const client = p.warehouse.client
  const query = client.query
  let release!: () => void
  const held = new Promise<void>((resolve) => (release = resolve))
  let read!: () => void
  const wasRead = new Promise<void>((resolve) => (read = resolve))
  client.query = (async (...args: Parameters<typeof query>) => {
    client.query = query
    const result = await query.apply(client, args)
    read()
    await held
    return result
  }) as typeof query
  try {
    const loading = p.reference.load()
    await wasRead
    await p.reference.upsertUnits([unit])
    release()
    await loading
  } finally {
    client.query = query
    release()
  }
  expect(p.reference.units.get(unit.unit_id)?.name).toBe('测试中心')
})
