// Bodies are spooled to a file before the engine reads them: memory does not grow with the body,
// and an embedded engine parses the file itself (file() table function) at its own speed.
import { createWriteStream, mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'

export class BodyTooLargeError extends Error {
  readonly code = 'body_too_large'
  constructor(readonly limit: number) {
    super(`The body is larger than ${limit} bytes (after decompression); split it into smaller batches.`)
  }
}

export class UnreadableBodyError extends Error {
  readonly code = 'unreadable_body'
}

export interface SpoolOptions {
  dir: string
  name: string
  /** Largest size, in bytes, of the (decompressed) body. */
  limit: number
  gzip?: boolean
}

export interface Spooled {
  path: string
  bytes: number
  remove(): void
}

/** Writes a request body (optionally gzip) to `dir/name`, refusing more than `limit` bytes. */
export async function spool(body: Readable | Buffer, opts: SpoolOptions): Promise<Spooled> {
  mkdirSync(opts.dir, { recursive: true })
  const path = join(opts.dir, opts.name)
  let bytes = 0
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length
      if (bytes > opts.limit) done(new BodyTooLargeError(opts.limit))
      else done(null, chunk)
    },
  })
  const source = Buffer.isBuffer(body) ? (await import('node:stream')).Readable.from([body]) : body
  const out = createWriteStream(path)
  try {
    const stages = opts.gzip ? [source, createGunzip(), counter, out] : [source, counter, out]
    await (pipeline as (...s: unknown[]) => Promise<void>)(...stages)
  } catch (err) {
    // the file is opened asynchronously: a body refused at once would otherwise be created after its removal
    if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()))
    rmSync(path, { force: true })
    if (err instanceof BodyTooLargeError) throw err
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR' || /unexpected end|incorrect header/i.test((err as Error).message)) {
      throw new UnreadableBodyError(`The gzip body cannot be decompressed (${(err as Error).message}).`)
    }
    throw err
  }
  return { path, bytes, remove: () => rmSync(path, { force: true }) }
}
