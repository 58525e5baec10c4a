// npm start: serve the API and the dashboard. npm run demo: the same, with the generated demo
// district loaded first (on an empty warehouse only).
import { buildApp } from './app.ts'
import { loadDemoDistrict } from './ingest/demo/index.ts'
import { openPlatform, queryRows, settingsFromEnv } from './warehouse/index.ts'

const demo = process.argv.includes('--demo')

async function main(): Promise<void> {
  const settings = settingsFromEnv()
  const platform = await openPlatform(settings)
  const { app, ingest } = await buildApp(platform, { logLevel: (process.env.TIERSCOPE_LOG_LEVEL as 'info' | undefined) ?? 'warn' })

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
  }

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

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err)
  process.exit(1)
})
