// The bulk-load CLI's engine: files of any size sent in bodies of N records, either through the
// HTTP API of a running server or straight into a warehouse directory that no server holds.
// Safe to interrupt and rerun: every record has its id, so a rerun stores only what is missing
// and counts the rest as duplicates.
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { randomUUID } from 'node:crypto'
import { SingleBar } from 'cli-progress'
import { openPlatform, openWarehouse, type Platform, type Warehouse } from '../warehouse/index.ts'
import type { StreamName } from './contract.ts'
import { arrowChunks, csvChunks, fileFormat, ndjsonChunks, type Chunk } from './chunks.ts'
import { IngestService, type Receipt } from './service.ts'
import { spool } from './spool.ts'
import { MAX_ROWS_PER_BODY } from './sources.ts'
import type { RowError } from './validate.ts'

export type BulkTarget = { url: string; key: string } | { dataDir: string; timezone: string }

export interface BulkOptions {
  stream: StreamName
  files: string[]
  target: BulkTarget
  /** Records per body. */
  batchRows: number
  /** Draw a progress bar (on a terminal) or print a line per body. */
  progress: boolean
  /** Checked between bodies: true stops cleanly after the body in flight. */
  stopRequested?: () => boolean
}

export interface BulkSummary {
  files: number
  bodies: number
  received: number
  accepted: number
  duplicates: number
  rejected: number
  firstErrors: Array<RowError & { file: string }>
  stopped: boolean
}

const CONTENT_TYPES = { ndjson: 'application/x-ndjson', json: 'application/json', csv: 'text/csv', arrow: 'application/vnd.apache.arrow.stream' } as const

interface Sender {
  send(stream: StreamName, chunk: Chunk): Promise<Receipt>
  /** An engine for turning Parquet into Arrow (the warehouse's own, or a scratch one). */
  engine(): Promise<Warehouse>
  close(): Promise<void>
}

function httpSender(url: string, key: string): Sender {
  let scratch: { warehouse: Warehouse; dir: string } | undefined
  return {
    async send(stream, chunk) {
      // 503 and dropped connections are retried: the records' ids make that safe
      for (let attempt = 1; ; attempt++) {
        let response: Response | undefined
        try {
          response = await fetch(`${url.replace(/\/$/, '')}/api/v1/ingest/${stream}`, {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': CONTENT_TYPES[chunk.format] },
            body: chunk.body as unknown as Blob, // a Buffer is a valid fetch body; @types/node 20's BodyInit does not say so
          })
        } catch (err) {
          if (attempt >= 5) throw new Error(`cannot reach ${url}: ${(err as Error).message}`)
        }
        if (response?.ok) return (await response.json()) as Receipt
        if (response && response.status !== 503) throw new Error(`the server refused a body: ${response.status} ${await response.text()}`)
        if (attempt >= 5) throw new Error(`the server stayed unavailable (503) after ${attempt} attempts`)
        await new Promise((r) => setTimeout(r, 500 * 2 ** attempt))
      }
    },
    async engine() {
      if (!scratch) {
        const dir = mkdtempSync(join(tmpdir(), 'tierscope-cli-'))
        scratch = { warehouse: await openWarehouse({ dataDir: dir, timezone: 'UTC', clickhouse: undefined }), dir }
      }
      return scratch.warehouse
    },
    async close() {
      if (scratch) {
        await scratch.warehouse.close()
        rmSync(scratch.dir, { recursive: true, force: true })
      }
    },
  }
}

async function directSender(dataDir: string, timezone: string): Promise<Sender> {
  const platform: Platform = await openPlatform({ dataDir, timezone, clickhouse: undefined })
  const service = new IngestService(platform)
  await service.dropLeftoverStages()
  const principal = { key_id: 'bulk-cli', name: 'tierscope ingest (CLI)', writableUnits: () => undefined }
  return {
    async send(stream, chunk) {
      const spooled = await spool(chunk.body, { dir: service.spoolDir, name: `${randomUUID()}.${chunk.format}`, limit: Number.MAX_SAFE_INTEGER })
      try {
        return await service.ingestFile(stream, { format: chunk.format, path: spooled.path }, principal)
      } finally {
        spooled.remove()
      }
    },
    engine: async () => platform.warehouse,
    close: () => platform.close(),
  }
}

/** Parquet → one Arrow IPC stream file, written by the engine (memory stays flat). */
async function parquetToArrow(engine: Warehouse, path: string): Promise<string> {
  const out = join(tmpdir(), `tierscope-${randomUUID()}.arrow`)
  await engine.client.command({
    // uncompressed: apache-arrow (which cuts the stream into bodies) reads no compressed batches
    query: `INSERT INTO FUNCTION file({out:String}, 'ArrowStream') SELECT * FROM file({path:String}, 'Parquet') SETTINGS output_format_arrow_compression_method = 'none'`,
    query_params: { out, path },
  })
  return out
}

export async function bulkIngest(opts: BulkOptions): Promise<BulkSummary> {
  if (opts.batchRows > MAX_ROWS_PER_BODY) throw new Error(`--batch-rows is at most ${MAX_ROWS_PER_BODY.toLocaleString('en-US')}: a body may hold no more rows (CONTRACT.md)`)
  for (const f of opts.files) {
    if (!fileFormat(f)) throw new Error(`${f}: the format is not known from its name; use .ndjson/.jsonl, .csv (also .gz), .arrow or .parquet`)
    statSync(f) // fails clearly for a missing file, before anything is sent
  }
  const sender = 'url' in opts.target ? httpSender(opts.target.url, opts.target.key) : await directSender(opts.target.dataDir, opts.target.timezone)
  const summary: BulkSummary = { files: 0, bodies: 0, received: 0, accepted: 0, duplicates: 0, rejected: 0, firstErrors: [], stopped: false }
  const tty = opts.progress && process.stderr.isTTY
  try {
    for (const file of opts.files) {
      const { format, gzip } = fileFormat(file)!
      let source = file
      let cleanup: string | undefined
      if (format === 'parquet') source = cleanup = await parquetToArrow(await sender.engine(), file)
      const total = statSync(source).size
      const bar = tty ? new SingleBar({ format: `${basename(file)} |{bar}| {percentage}% | {rows} rows | {rate} rows/s | {rejected} rejected`, hideCursor: true }) : undefined
      bar?.start(total, 0, { rows: 0, rate: 0, rejected: 0 })
      const started = performance.now()
      let rows = 0
      let rejected = 0
      try {
        const chunks = format === 'ndjson' ? ndjsonChunks(source, gzip, opts.batchRows) : format === 'csv' ? csvChunks(source, gzip, opts.batchRows) : arrowChunks(source, opts.batchRows)
        for await (const chunk of chunks) {
          const receipt = await sender.send(opts.stream, chunk)
          summary.bodies++
          summary.received += receipt.received
          summary.accepted += receipt.accepted
          summary.duplicates += receipt.duplicates
          summary.rejected += receipt.rejected
          for (const e of receipt.errors) if (summary.firstErrors.length < 20) summary.firstErrors.push({ ...e, file })
          rows += receipt.received
          rejected += receipt.rejected
          const rate = Math.round(rows / ((performance.now() - started) / 1000))
          if (bar) bar.update(Math.min(total, chunk.bytesRead), { rows, rate, rejected })
          else if (opts.progress) console.error(`${basename(file)}: ${rows} rows, ${rate} rows/s, ${rejected} rejected`)
          if (opts.stopRequested?.()) {
            summary.stopped = true
            break
          }
        }
      } finally {
        bar?.stop()
        if (cleanup) rmSync(cleanup, { force: true })
      }
      summary.files++
      if (summary.stopped) break
    }
  } finally {
    await sender.close()
  }
  return summary
}
