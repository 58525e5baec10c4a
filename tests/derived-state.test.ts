// The receipt waits only for the rows to be stored; the derived state is refreshed after it, and
// every read of it waits for the batches acknowledged before the read (warehouse/derived.ts). The
// refresh is held back here by a gate in front of the real one, so what a reader sees while the
// refresh has not run yet is observable.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { applyReference, IngestService } from '../ingest/index.ts'
import { DerivedStateError, queryRows } from '../warehouse/index.ts'
import { openTestPlatform } from '../warehouse/testing.ts'
import { SMALL_DISTRICT } from './support.ts'

let p: Awaited<ReturnType<typeof openTestPlatform>>
let ingest: IngestService
const principal = { key_id: 'test', name: 'test', writableUnits: () => undefined }
const asParsed = (records: object[]) => records.map((value, i) => ({ row: i + 1, raw: '', value }))
const accepted = (caseId: string, at: string) => ({ event_id: `${caseId}-1`, case_id: caseId, type: 'accepted', occurred_at: at, unit_id: 'S1', item_code: 'I3', channel: 'window' })

/** Holds every refresh until opened; `refreshes` counts the rounds and the batches in each. */
function gateRefresh() {
  const real = p.cases.refreshBatches.bind(p.cases)
  let open!: () => void
  const gate = new Promise<void>((resolve) => (open = resolve))
  const rounds: number[] = []
  p.cases.refreshBatches = async (ids: string[]) => {
    rounds.push(ids.length)
    await gate
    return real(ids)
  }
  return { open, rounds, restore: () => (p.cases.refreshBatches = real) }
}

const pendingBatches = async () => Number((await queryRows<{ n: string }>(p.warehouse,
  'SELECT uniqExact(batch_id) AS n FROM case_refresh_queue WHERE batch_id NOT IN (SELECT batch_id FROM case_refresh_done)'))[0]!.n)

beforeAll(async () => {
  p = await openTestPlatform()
  ingest = new IngestService(p)
  for (const kind of ['units', 'items'] as const) expect((await applyReference(p, kind, asParsed(SMALL_DISTRICT[kind]))).ok).toBe(true)
})
afterAll(async () => p?.close())

describe('the derived state after a receipt', () => {
  it('answers a receipt before the refresh, and a read waits for it: the read counts the receipt\'s rows', async () => {
    const gate = gateRefresh()
    try {
      const receipt = await ingest.ingest('case-events', asParsed([accepted('GATED-1', '2025-03-03T09:00:00+08:00')]), principal)
      expect(receipt.accepted).toBe(1)
      // acknowledged, stored, and not yet refreshed: the batch is queued without its done mark
      expect(await pendingBatches()).toBe(1)
      let answered = false
      const read = p.cases.list({ limit: 10 }, Date.now()).then((rows) => ((answered = true), rows))
      await new Promise((r) => setTimeout(r, 300))
      // the read started the round at once (a lone batch waits up to a second for another only
      // while nobody is waiting for it), and waits for it
      expect(gate.rounds).toEqual([1])
      expect(answered).toBe(false)
      gate.open()
      expect((await read).map((c) => c.case_id)).toContain('GATED-1')
      expect(await pendingBatches()).toBe(0)
    } finally {
      gate.restore()
    }
  })

  it('lets the receipts of a burst go first and takes their batches in one round, and a lone batch after a second', async () => {
    const gate = gateRefresh()
    try {
      // a burst of bodies (each sent as soon as the one before is answered): no round starts
      // while a receipt is under way or a moment after one (nobody reads)
      for (let i = 1; i <= 4; i++) await ingest.ingest('case-events', asParsed([accepted(`ROUND-${i}`, '2025-03-04T09:00:00+08:00')]), principal)
      expect(gate.rounds).toEqual([])
      // a fifth is more than four waiting: its receipt waits for the refresher (back-pressure),
      // which takes all five in one round at once
      let fifthAnswered = false
      const fifth = ingest.ingest('case-events', asParsed([accepted('ROUND-5', '2025-03-04T09:00:00+08:00')]), principal).then((r) => ((fifthAnswered = true), r))
      const t1 = performance.now()
      while (gate.rounds.length === 0 && performance.now() - t1 < 10_000) await new Promise((r) => setTimeout(r, 20))
      expect(gate.rounds).toEqual([5])
      expect(fifthAnswered).toBe(false)
      gate.open()
      expect((await fifth).accepted).toBe(1)
      await p.derived.settled()
      expect(gate.rounds).toEqual([5])
      // a receipt that fails ends as well (were it still under way, no round below would start)
      await expect(ingest.ingestFile('case-events', { format: 'arrow', path: '/nonexistent/body.arrow' }, principal)).rejects.toThrow()
      // a lone body with nobody reading: refreshed a second after its receipt, not before
      const t0 = performance.now()
      await ingest.ingest('case-events', asParsed([accepted('ROUND-6', '2025-03-04T09:00:00+08:00')]), principal)
      expect(gate.rounds).toEqual([5])
      while (p.derived.backlog > 0 && performance.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50))
      expect(gate.rounds).toEqual([5, 1])
      expect(p.derived.backlog).toBe(0)
      expect(performance.now() - t0).toBeGreaterThanOrEqual(900)
      const ids = (await p.cases.list({ limit: 100 }, Date.now())).map((c) => c.case_id)
      for (let i = 1; i <= 6; i++) expect(ids).toContain(`ROUND-${i}`)
    } finally {
      gate.restore()
    }
  })

  it('starts a round at once for a read, even while a receipt is under way', async () => {
    const gate = gateRefresh()
    try {
      await ingest.ingest('case-events', asParsed([accepted('READ-1', '2025-03-05T09:00:00+08:00')]), principal)
      const underWay = p.derived.receiving()
      try {
        const read = p.cases.list({ limit: 100 }, Date.now())
        const t0 = performance.now()
        while (gate.rounds.length === 0 && performance.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 10))
        expect(gate.rounds).toEqual([1])
        // (well before a lone batch's second or a receipt's end)
        expect(performance.now() - t0).toBeLessThan(500)
        gate.open()
        expect((await read).map((c) => c.case_id)).toContain('READ-1')
      } finally {
        underWay()
      }
    } finally {
      gate.restore()
    }
  })

  it('answers 503 the reads that waited for a failed refresh, loses nothing, and a read after it waits for the retry', async () => {
    const real = p.cases.refreshBatches.bind(p.cases)
    let calls = 0
    p.cases.refreshBatches = async (ids: string[]) => {
      if (calls++ === 0) throw new Error('the engine refused')
      return real(ids)
    }
    try {
      expect((await ingest.ingest('case-events', asParsed([accepted('FAILED-1', '2025-03-05T09:00:00+08:00')]), principal)).accepted).toBe(1)
      await expect(p.derived.settled()).rejects.toBeInstanceOf(DerivedStateError)
      // the retry's timer does not keep the process alive by itself, but does while a read waits
      // for it (a command waiting on settled() would otherwise exit before the retry)
      const timer = (p.derived as unknown as { retry?: NodeJS.Timeout }).retry
      expect(timer?.hasRef()).toBe(false)
      // the next read, before the retry: answered by the retry (a second later), not by the old failure
      const waiting = p.derived.settled()
      // (on a server the read first looks for other processes' batches, and waits after that)
      if (p.warehouse.kind === 'embedded') expect(timer!.hasRef()).toBe(true)
      await waiting
      expect(calls).toBe(2)
      expect(p.derived.backlog).toBe(0)
      expect((await p.cases.list({ limit: 100 }, Date.now())).map((c) => c.case_id)).toContain('FAILED-1')
    } finally {
      p.cases.refreshBatches = real
    }
  })
})
