// npm start: serve the API and the dashboard. npm run demo: the same, with the generated demo
// district loaded first (on an empty warehouse only).
import { buildApp } from './app.ts'
import { loadDemoDistrict } from './ingest/demo/index.ts'
import { ensureDashboardBuilt } from './dashboard/index.ts'
import type { Role, UserRole } from './auth/index.ts'
import { openPlatform, queryRows, settingsFromEnv, startupMessage, type Platform } from './warehouse/index.ts'
import { adminTokenProblem } from './warehouse/config.ts'
import { startingServer } from './monitoring/index.ts'

const demo = process.argv.includes('--demo')

async function main(): Promise<void> {
  const settings = settingsFromEnv()
  // start-up checks: refused before anything is opened, with the reason
  const tokenProblem = adminTokenProblem(settings.adminToken)
  if (tokenProblem) throw new Error(tokenProblem)
  // until the app listens, the port answers liveness 200 and readiness 503 (monitoring/starting.ts)
  const starting = await startingServer(settings.host, settings.port)
  starting.phase = 'building the dashboard'
  await ensureDashboardBuilt(console.log)
  starting.phase = 'migrations and start-up repairs'
  const platform = await openPlatform(settings)
  const { app, ingest } = await buildApp(platform, {
    logLevel: (process.env.TIERSCOPE_LOG_LEVEL as 'info' | undefined) ?? 'info',
    publicUrl: settings.publicUrl,
    trustProxy: settings.trustProxy,
    backupDir: settings.backupDir,
    metricsAddr: settings.metricsAddr,
  })
  // what a crash left half-done: the case state is repaired by openPlatform, the ingest working tables here
  await ingest.dropLeftoverStages()

  const generated = await platform.keys.bootstrapAdmin(settings.adminToken)
  if (generated) {
    console.log(`\nAn admin key was generated (shown only this once; set TIERSCOPE_ADMIN_TOKEN to choose your own):\n\n  ${generated}\n`)
  }

  if (demo) {
    const [row] = await queryRows<{ n: string }>(platform.warehouse, 'SELECT count() AS n FROM case_events')
    const n = Number(row?.n ?? 0)
    if (n === 0) {
      const cases = Number(process.env.TIERSCOPE_DEMO_CASES ?? 60_000)
      console.log(`Generating the demo district (${cases} cases) through the ingest path…`)
      const summary = await loadDemoDistrict(platform, ingest, { cases }, (m: string) => console.log(`  ${m}`))
      console.log(`Demo district loaded in ${summary.seconds.toFixed(1)} s.`)
    } else {
      console.log(`The warehouse already holds ${n} case events; the demo district is not generated again.`)
    }
    await ensureDemoKeys(platform)
  }

  await starting.close()
  await app.listen({ host: settings.host, port: settings.port })
  console.log(`tierscope is serving on http://${settings.host === '0.0.0.0' ? 'localhost' : settings.host}:${settings.port} (warehouse: ${platform.warehouse.kind}${platform.warehouse.dataDir ? ` in ${platform.warehouse.dataDir}` : ''})`)

  let closing = false
  const shutdown = async (signal: string) => {
    if (closing) return
    closing = true
    console.log(`${signal}: closing…`)
    await app.close()
    await platform.close()
    process.exit(0)
  }
  process.on('SIGINT', () => void shutdown('SIGINT'))
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
}

/** Well-known keys for trying the demo (README.md); created only with --demo. */
async function ensureDemoKeys(platform: Platform): Promise<void> {
  const hall = [...platform.reference.units.values()].find((u) => u.kind === 'street_hall' && u.name.includes('东华门'))
  const keys: Array<[token: string, role: Role, units: string[]]> = [
    ['demo-joint-meeting', 'joint_meeting', []],
    ['demo-inspector', 'inspector', []],
  ]
  if (hall) keys.push(['demo-leader-dhm', 'unit_leader', [hall.unit_id]], ['demo-source-dhm', 'source', [hall.unit_id]])
  for (const [token, role, units] of keys) await platform.keys.ensureKey({ key_id: token, name: token, role, units }, token)
  console.log(`Demo keys: ${keys.map(([t]) => t).join(', ')} (see README.md)`)
  const users: Array<[username: string, display_name: string, role: UserRole, units: string[]]> = [
    ['meeting', '联席会议成员', 'joint_meeting', []],
    ['inspector', '效能监察员', 'inspector', []],
    ['admin', '系统管理员', 'admin', []],
  ]
  if (hall) users.push(['leader-dhm', `${hall.name}负责人`, 'unit_leader', [hall.unit_id]])
  for (const [username, display_name, role, units] of users) await platform.users.ensure({ username, display_name, role, units, password: DEMO_PASSWORD })
  console.log(`Demo users (password ${DEMO_PASSWORD}): ${users.map(([u]) => u).join(', ')}`)
}

/** The demo users' password (README.md); only with --demo. */
const DEMO_PASSWORD = 'tierscope-demo'

main().catch((err: unknown) => {
  // one sentence saying what to check (warehouse/startup.ts); the stack with TIERSCOPE_LOG_LEVEL=debug
  console.error(`tierscope could not start: ${startupMessage(err)}`)
  process.exit(1)
})
