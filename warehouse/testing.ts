// For tests: a platform on a fresh embedded warehouse in a temporary directory. libchdb holds
// one data directory per process, so each test file (vitest runs files in separate forks)
// opens one of these and shares it among its tests.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SessionPolicy } from '../auth/index.ts'
import { openPlatform, type Platform } from './index.ts'

export async function openTestPlatform(timezone = 'Asia/Shanghai', sessionPolicy: Partial<SessionPolicy> = {}): Promise<Platform & { dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tierscope-test-'))
  const platform = await openPlatform({ dataDir, timezone, clickhouse: undefined }, sessionPolicy)
  return {
    ...platform,
    dataDir,
    close: async () => {
      await platform.close()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
