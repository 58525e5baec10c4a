// ingest/demo: a deterministic demo district — Dongcheng's three tiers of government service
// with realistic cases, ratings, complaints, queues and costs — sent through the real ingest path.
import { STREAM_NAMES, type StreamName } from '../contract.ts'
import { applyReference, type ReferenceKind } from '../reference.ts'
import type { IngestService, ParsedRecord } from '../service.ts'
import type { Platform } from '../../warehouse/index.ts'
import { buildDistrict, itemRecords, targetRecords, unitRecords } from './structure.ts'
import { DEFAULT_SEED, generateStream, resolveOptions } from './streams.ts'

export interface DemoOptions {
  /** Default 20251. */
  seed?: number
  /** Number of cases to generate (≈ 4–5 case events each); default 60_000. */
  cases?: number
  /** 'YYYY-MM-DD', default '2025-01-01'. */
  from?: string
  /** 'YYYY-MM-DD', default yesterday in the district time zone (Asia/Shanghai): the last full day. */
  to?: string
}

/** Contract-shaped reference records (see REFERENCE_SPECS in ingest/reference.ts). */
export interface DemoReference {
  units: object[]
  items: object[]
  targets: object[]
}

export interface DemoSummary {
  units: number
  items: number
  streams: Record<string, { received: number; accepted: number; duplicates: number; rejected: number }>
  seconds: number
}

const LOAD_BATCH = 50_000
const PRINCIPAL = { key_id: 'demo-generator', name: 'demo district generator', writableUnits: () => undefined }

export function demoReference(seed: number = DEFAULT_SEED): DemoReference {
  const district = buildDistrict(seed >>> 0)
  return { units: unitRecords(district), items: itemRecords(district), targets: targetRecords(district) }
}

/** Yields contract-shaped records (plain JSON objects exactly as a source system would send them) of one stream, in batches of at most `batchSize`. */
export function demoStream(stream: StreamName, opts: DemoOptions, isWorkingDay: (date: string) => boolean, batchSize = 10_000): Generator<object[]> {
  return generateStream(stream, resolveOptions(opts), isWorkingDay, batchSize)
}

/** Loads reference data (applyReference) then every stream (IngestService.ingest, batches of ≤ 50_000) into the platform. */
export async function loadDemoDistrict(platform: Platform, service: IngestService, opts: DemoOptions = {}, progress?: (message: string) => void): Promise<DemoSummary> {
  const started = performance.now()
  const resolved = resolveOptions(opts)
  const reference = demoReference(resolved.seed)
  const asParsed = (records: object[]): ParsedRecord[] => records.map((value, i) => ({ row: i + 1, raw: '', value }))
  for (const kind of ['units', 'items', 'targets'] as const satisfies readonly ReferenceKind[]) {
    const result = await applyReference(platform, kind, asParsed(reference[kind]))
    if (!result.ok) {
      const first = result.errors.slice(0, 3).map((e) => e.message).join('; ')
      throw new Error(`demo: the ${kind} reference data was refused (${result.errors.length} errors): ${first}`)
    }
    progress?.(`${kind}: ${result.stored} stored`)
  }

  const isWorkingDay = (date: string) => platform.calendar.isWorkingDay(date)
  const streams: DemoSummary['streams'] = {}
  for (const stream of STREAM_NAMES) {
    const totals = { received: 0, accepted: 0, duplicates: 0, rejected: 0 }
    for (const batch of generateStream(stream, resolved, isWorkingDay, LOAD_BATCH)) {
      const receipt = await service.ingest(stream, asParsed(batch), PRINCIPAL)
      totals.received += receipt.received
      totals.accepted += receipt.accepted
      totals.duplicates += receipt.duplicates
      totals.rejected += receipt.rejected
      if (receipt.rejected > 0) progress?.(`${stream}: ${receipt.rejected} rejected, first: ${receipt.errors[0]?.message ?? '?'}`)
      progress?.(`${stream}: ${totals.received} records sent`)
    }
    streams[stream] = totals
    progress?.(`${stream}: ${totals.accepted} accepted, ${totals.duplicates} duplicates, ${totals.rejected} rejected`)
  }
  // the district is loaded once its derived state counts every record (warehouse/derived.ts)
  await platform.derived.settled()
  return { units: reference.units.length, items: reference.items.length, streams, seconds: (performance.now() - started) / 1000 }
}
