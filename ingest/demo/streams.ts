// Records of one stream, batch by batch. Case-linked streams walk the cases in order and
// simulate each one afresh (nothing about earlier cases is kept), so memory stays flat however
// many cases are asked for.
import type { StreamName } from '../contract.ts'
import { CaseSimulator, type CaseTrace } from './cases.ts'
import { costRecords } from './costs.ts'
import { buildDistrict } from './structure.ts'
import { CaseSchedule, Timeline } from './timeline.ts'

export interface ResolvedOptions {
  seed: number
  cases: number
  from: string
  to: string
}

export const DEFAULT_SEED = 20251
export const DEFAULT_CASES = 60_000
export const DEFAULT_FROM = '2025-01-01'

/** Today's date in the district's time zone: the only use of the clock, for the default `to`. */
export function todayInDistrict(): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date())
}

/** The last full day: the default end, so that no generated event lies after the moment it is loaded. */
export function yesterdayInDistrict(): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(Date.now() - 86_400_000))
}

export function resolveOptions(opts: { seed?: number; cases?: number; from?: string; to?: string } = {}): ResolvedOptions {
  const cases = opts.cases ?? DEFAULT_CASES
  if (!Number.isInteger(cases) || cases < 0) throw new Error(`demo: cases must be a whole number of at least 0, got ${cases}`)
  return { seed: (opts.seed ?? DEFAULT_SEED) >>> 0, cases, from: opts.from ?? DEFAULT_FROM, to: opts.to ?? yesterdayInDistrict() }
}

export function* generateStream(stream: StreamName, opts: ResolvedOptions, isWorkingDay: (date: string) => boolean, batchSize: number): Generator<object[]> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`demo: batchSize must be a whole number of at least 1, got ${batchSize}`)
  const district = buildDistrict(opts.seed)
  if (stream === 'costs') {
    new Timeline(opts.from, opts.to, () => true) // validates from and to the same way
    let batch: object[] = []
    for (const r of costRecords(district, opts.from, opts.to)) {
      batch.push(r)
      if (batch.length === batchSize) (yield batch, (batch = []))
    }
    if (batch.length > 0) yield batch
    return
  }
  const timeline = new Timeline(opts.from, opts.to, isWorkingDay)
  if (timeline.workDaysInRange === 0) {
    if (opts.cases > 0) throw new Error(`demo: there is no working day from ${opts.from} to ${opts.to} to put cases on`)
    return
  }
  const schedule = new CaseSchedule(timeline, opts.cases, opts.seed)
  const sim = new CaseSimulator(district, timeline, schedule)
  const produce = producerOf(stream, sim)
  let batch: object[] = []
  const ofCase: object[] = []
  let k = 0
  for (let i = 0; i < opts.cases; i++) {
    while (schedule.start[k + 1]! <= i) k++
    ofCase.length = 0
    produce(sim.run(i, k), ofCase)
    if (ofCase.length === 0) continue
    // A case's records stay in one batch, so every batch holds whole cases.
    if (batch.length + ofCase.length > batchSize && batch.length > 0) (yield batch, (batch = []))
    for (const r of ofCase) {
      batch.push(r)
      if (batch.length === batchSize) (yield batch, (batch = []))
    }
  }
  if (batch.length > 0) yield batch
}

function producerOf(stream: Exclude<StreamName, 'costs'>, sim: CaseSimulator): (tr: CaseTrace, out: object[]) => void {
  switch (stream) {
    case 'case-events':
      return (tr, out) => sim.caseEventRecords(tr, out)
    case 'evaluations':
      return (tr, out) => {
        sim.ratings(tr).forEach((r, n) => {
          out.push(sim.ratingRecord(r))
          const { second } = sim.followups(tr, r, n)
          if (second) out.push(sim.ratingRecord(second))
        })
      }
    case 'evaluation-followups':
      return (tr, out) => {
        sim.ratings(tr).forEach((r, n) => {
          for (const step of sim.followups(tr, r, n).steps) out.push(sim.followupRecord(step))
        })
      }
    case 'complaints':
      return (tr, out) => sim.complaintRecords(tr, out)
    case 'queue-tickets':
      return (tr, out) => sim.queueRecords(tr, out)
  }
}
