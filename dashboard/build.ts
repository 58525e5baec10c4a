// The dashboard is built (vite + SvelteKit, to static files in dashboard/build) when its sources
// changed since the last build: `npm start`, `npm run demo` and the browser tests call this, so a
// fresh clone needs no separate build step. A hash of the sources decides, not file times.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const DASHBOARD_DIR = dirname(fileURLToPath(import.meta.url))
export const BUILD_DIR = join(DASHBOARD_DIR, 'build')
const STAMP = join(BUILD_DIR, '.source-hash')

function sourcesHash(): string {
  const hash = createHash('sha256')
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path)
      else if (!name.endsWith('.test.ts')) hash.update(path.slice(DASHBOARD_DIR.length)).update(readFileSync(path))
    }
  }
  walk(join(DASHBOARD_DIR, 'src'))
  if (existsSync(join(DASHBOARD_DIR, 'static'))) walk(join(DASHBOARD_DIR, 'static'))
  for (const f of ['svelte.config.js', 'vite.config.ts', '../package-lock.json']) hash.update(readFileSync(join(DASHBOARD_DIR, f)))
  return hash.digest('hex')
}

export function dashboardIsBuilt(): boolean {
  return existsSync(STAMP) && readFileSync(STAMP, 'utf8') === sourcesHash()
}

const LOCK = join(DASHBOARD_DIR, '.build-lock')

/** One build at a time per checkout (a server and a test run may start together). */
async function withBuildLock<T>(run: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 10 * 60_000
  for (;;) {
    try {
      mkdirSync(LOCK)
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      // a lock older than any build is left over from a killed process
      const held = statSync(LOCK, { throwIfNoEntry: false })
      if (held && Date.now() - held.mtimeMs > 5 * 60_000) rmSync(LOCK, { recursive: true, force: true })
      if (Date.now() > deadline) throw new Error(`Another build of the dashboard holds ${LOCK}; remove it if no build is running.`)
      await new Promise((r) => setTimeout(r, 250))
    }
  }
  try {
    return await run()
  } finally {
    rmSync(LOCK, { recursive: true, force: true })
  }
}

/** Builds the dashboard unless the build is up to date; resolves to the build directory. */
export async function ensureDashboardBuilt(log: (line: string) => void = () => {}): Promise<string> {
  if (dashboardIsBuilt()) return BUILD_DIR
  return withBuildLock(() => build(log))
}

async function build(log: (line: string) => void): Promise<string> {
  if (dashboardIsBuilt()) return BUILD_DIR // built by whoever held the lock before
  const hash = sourcesHash()
  log('Building the dashboard (SvelteKit)…')
  const vite = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js')
  const output: string[] = []
  const code = await new Promise<number | null>((resolve, reject) => {
    // SvelteKit reads svelte.config.js from the working directory
    const child = spawn(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: DASHBOARD_DIR, stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout.on('data', (d: Buffer) => output.push(d.toString()))
    child.stderr.on('data', (d: Buffer) => output.push(d.toString()))
    child.on('error', reject)
    child.on('close', resolve)
  })
  if (code !== 0) throw new Error(`The dashboard did not build (vite exited with ${code}):\n${output.join('')}`)
  writeFileSync(STAMP, hash)
  return BUILD_DIR
}

// `tsx dashboard/build.ts`: build now (npm run build)
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  ensureDashboardBuilt(console.log).then((dir) => console.log(`Dashboard built in ${dir}`), (err: unknown) => {
    console.error(err instanceof Error ? err.message : err)
    process.exit(1)
  })
}
