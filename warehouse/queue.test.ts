// The ticket rows kept by the queue ingest (queue_ticket_state): a ticket's events arriving in
// different batches, in any order, give the row its events say; a rebuild changes nothing; a batch
// stored without its rebuild (a crash in between) is found and rebuilt at start-up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { queryRows } from './index.ts'
import { openTestPlatform } from './testing.ts'

let p: Awaited<ReturnType<typeof openTestPlatform>>
let seq = 0
const at = (s: string) => (Date.parse(s) / 1000).toFixed(3)

/** Stores ticket events straight into the warehouse as one batch, as ingest does; its id is returned. */
async function storeBatch(events: Array<[ticket: string, type: string, time: string, unit?: string, item?: string]>): Promise<string> {
  const batch = crypto.randomUUID()
  await p.warehouse.client.insert({
    table: 'queue_tickets',
    format: 'JSONEachRow',
    values: events.map(([ticket_id, type, time, unit = 'U1', item]) => ({
      event_id: `q${++seq}`, ticket_id, type, occurred_at: at(time), unit_id: unit, window_id: null, item_code: item ?? null,
      content_hash: '0', batch_id: batch, source_key: 'test', ingested_at: at(new Date().toISOString()),
    })),
  })
  return batch
}

interface TicketRow { ticket_id: string; unit_id: string; item_code: string | null; issued_at: string | null; called_at: string | null; abandoned_at: string | null; events: string }
const rows = () => queryRows<TicketRow>(p.warehouse, `SELECT ticket_id, unit_id, item_code, toString(issued_at) AS issued_at, toString(called_at) AS called_at,
  toString(abandoned_at) AS abandoned_at, toString(events) AS events FROM queue_ticket_state FINAL ORDER BY ticket_id`)

beforeAll(async () => {
  p = await openTestPlatform()
})
afterAll(async () => p?.close())

describe('queue ticket rows', () => {
  it('are built from all of a ticket\'s events, whichever batch brought them', async () => {
    await p.queue.refreshBatches([await storeBatch([
      ['T1', 'issued', '2025-03-03T09:00:00+08:00', 'U1', 'I1'],
      ['T2', 'called', '2025-03-03T10:20:00+08:00'], // its issue arrives later
      ['T3', 'issued', '2025-03-03T11:00:00+08:00', 'U2', 'I2'],
    ])])
    await p.queue.refreshBatches([await storeBatch([
      ['T1', 'called', '2025-03-03T09:30:00+08:00'],
      ['T1', 'called', '2025-03-03T09:45:00+08:00'], // called again: the first call counts
      ['T2', 'issued', '2025-03-03T10:00:00+08:00', 'U1', 'I3'],
      ['T3', 'issued', '2025-03-03T10:30:00+08:00', 'U3', 'I4'], // an earlier issue elsewhere: the first issue gives unit and item
      ['T3', 'abandoned', '2025-03-03T11:10:00+08:00'],
      ['T4', 'served', '2025-03-03T12:00:00+08:00'], // no issue (yet)
    ])])
    expect(await rows()).toEqual([
      { ticket_id: 'T1', unit_id: 'U1', item_code: 'I1', issued_at: '2025-03-03 09:00:00.000', called_at: '2025-03-03 09:30:00.000', abandoned_at: null, events: '3' },
      { ticket_id: 'T2', unit_id: 'U1', item_code: 'I3', issued_at: '2025-03-03 10:00:00.000', called_at: '2025-03-03 10:20:00.000', abandoned_at: null, events: '2' },
      { ticket_id: 'T3', unit_id: 'U3', item_code: 'I4', issued_at: '2025-03-03 10:30:00.000', called_at: null, abandoned_at: '2025-03-03 11:10:00.000', events: '3' },
      { ticket_id: 'T4', unit_id: '', item_code: null, issued_at: null, called_at: null, abandoned_at: null, events: '1' },
    ])
  })

  it('a batch rebuilt twice, or a start-up with nothing missing, changes nothing', async () => {
    const before = await rows()
    const [{ batch_id }] = await queryRows<{ batch_id: string }>(p.warehouse, `SELECT toString(any(batch_id)) AS batch_id FROM queue_tickets WHERE ticket_id = 'T3'`) as [{ batch_id: string }]
    await p.queue.refreshBatches([batch_id])
    const stored = async () => Number((await queryRows<{ n: string }>(p.warehouse, 'SELECT count() AS n FROM queue_ticket_state'))[0]!.n)
    const storedBefore = await stored()
    await p.queue.repair()
    expect(await stored()).toBe(storedBefore) // nothing was rewritten
    expect(await rows()).toEqual(before)
  })

  it('events stored without their rebuild are found and rebuilt at start-up', async () => {
    const untouched = (await rows()).filter((r) => ['T1', 'T2', 'T3'].includes(r.ticket_id))
    await storeBatch([['T4', 'issued', '2025-03-03T11:50:00+08:00', 'U2'], ['T5', 'issued', '2025-03-04T08:00:00+08:00', 'U1']])
    expect((await rows()).map((r) => r.ticket_id)).not.toContain('T5')
    await p.queue.repair()
    const after = await rows()
    expect(after.find((r) => r.ticket_id === 'T4')).toMatchObject({ unit_id: 'U2', issued_at: '2025-03-03 11:50:00.000', events: '2' })
    expect(after.find((r) => r.ticket_id === 'T5')).toMatchObject({ unit_id: 'U1', issued_at: '2025-03-04 08:00:00.000', events: '1' })
    expect(after.filter((r) => ['T1', 'T2', 'T3'].includes(r.ticket_id))).toEqual(untouched)
  })
})
