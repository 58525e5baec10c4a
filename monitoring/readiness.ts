// Readiness, as a load balancer or an orchestrator asks it: can this process serve and store now?
// Liveness (GET /api/v1/health) only says the process and its engine answer; readiness is 503
// while start-up migrations and repairs run (starting.ts answers then) and whenever the
// warehouse cannot take writes: the engine does not answer, the embedded data directory cannot
// be written or its disk is nearly full, or a server's user is read-only.
import { randomBytes } from 'node:crypto'
import { statfsSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { queryRows, type Platform } from '../warehouse/index.ts'

export interface ReadinessOptions {
  /** Below this many free bytes on the data directory's disk the warehouse is not ready for writes. */
  minFreeBytes: number
}

export const DEFAULT_READINESS: ReadinessOptions = { minFreeBytes: 512 * 1024 * 1024 }

export interface Readiness {
  ready: boolean
  /** Why not, in one sentence each. */
  problems: Array<{ check: string; message: string }>
}

export async function readiness(platform: Platform, options: ReadinessOptions = DEFAULT_READINESS): Promise<Readiness> {
  const problems: Readiness['problems'] = []
  const { warehouse } = platform
  try {
    const [row] = await queryRows<{ readonly: string }>(warehouse, `SELECT getSetting('readonly') AS readonly`)
    if (Number(row?.readonly ?? 0) !== 0) problems.push({ check: 'engine_readonly', message: 'The ClickHouse user of CLICKHOUSE_USER is read-only (readonly setting); give it a profile that may write.' })
  } catch (err) {
    problems.push({ check: 'engine', message: `The engine does not answer: ${(err as Error).message.split('\n')[0]}` })
  }
  if (warehouse.dataDir) {
    const probe = join(warehouse.dataDir, `.ready-${randomBytes(4).toString('hex')}`)
    try {
      writeFileSync(probe, '')
      unlinkSync(probe)
    } catch (err) {
      problems.push({ check: 'data_dir_writable', message: `The data directory ${warehouse.dataDir} cannot be written (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).` })
    }
    try {
      const fs = statfsSync(warehouse.dataDir)
      const free = Number(fs.bavail) * Number(fs.bsize)
      if (free < options.minFreeBytes) problems.push({ check: 'disk_space', message: `The disk of ${warehouse.dataDir} has ${Math.round(free / 1048576)} MiB free, under the ${Math.round(options.minFreeBytes / 1048576)} MiB writes need.` })
    } catch {
      // statfs not available: the write probe above still says whether it can be written
    }
  }
  return { ready: problems.length === 0, problems }
}
