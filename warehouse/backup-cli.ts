// `tierscope backup` and `tierscope restore`: a backup through a running server's API (its engine
// writes it while it serves) or of a warehouse directory no server holds; a restore into a new,
// empty directory. A progress bar on a terminal, a line per phase otherwise.
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { SingleBar } from 'cli-progress'
import { backupWarehouse, restoreWarehouse, type BackupManifest, type BackupProgress } from './backup.ts'
import { DataDirLockedError, openWarehouse } from './client.ts'
import { settingsFromEnv } from './config.ts'

export const BACKUP_USAGE = `  tierscope backup --out DIR [--base DIR]
      [--url http://host:3000 --key <admin key>]   the running server's engine writes the backup (DIR is on its machine)
      [--data-dir DIR]                              or back up a warehouse directory no server holds
      [--no-progress]
      --base: an earlier backup; only what changed since it is written (an incremental backup, restored with its base in place)
  tierscope restore --from DIR --data-dir NEW [--no-progress]
      restores a backup into NEW, a new or empty directory, and runs this release's migrations; then start the server on it`

function progressReporter(enabled: boolean): { update(p: BackupProgress): void; stop(): void } {
  const tty = enabled && process.stderr.isTTY
  let bar: SingleBar | undefined
  let phase: string | undefined
  const mib = (b: number) => (b / 1048576).toFixed(1)
  return {
    update(p) {
      if (p.phase !== phase) {
        bar?.stop()
        bar = undefined
        phase = p.phase
        const label = p.phase === 'backup' ? 'writing the backup' : p.phase === 'restore' ? 'restoring' : 'running the migrations'
        if (tty && p.phase !== 'migrate') {
          bar = new SingleBar({ format: `${label} |{bar}| {percentage}% | {done} of {size} MiB`, hideCursor: true, stream: process.stderr })
          bar.start(Math.max(1, p.total_bytes), 0, { done: '0.0', size: mib(p.total_bytes) })
        } else if (enabled) {
          console.error(`${label}…`)
        }
      }
      bar?.setTotal(Math.max(1, p.total_bytes))
      bar?.update(Math.min(p.done_bytes, Math.max(1, p.total_bytes)), { done: mib(p.done_bytes), size: mib(p.total_bytes) })
    },
    stop() {
      bar?.stop()
    },
  }
}

function describe(m: BackupManifest, out: string): string {
  const rows = Object.entries(m.tables).filter(([t]) => ['case_events', 'evaluations', 'complaints', 'report_publications'].includes(t)).map(([t, n]) => `${t} ${n}`).join(', ')
  return `Backup written to ${out}: schema version ${m.schema_version}, ${m.base ? `incremental on ${m.base}` : 'full'}, ${(m.backup_bytes / 1048576).toFixed(1)} MiB (${rows}).`
}

export async function backupCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string' }, base: { type: 'string' }, url: { type: 'string' }, key: { type: 'string' },
      'data-dir': { type: 'string' }, 'no-progress': { type: 'boolean', default: false },
    },
  })
  if (!values.out) throw new Error(`backup: --out DIR is required\n${BACKUP_USAGE}`)
  const out = resolve(values.out)
  const base = values.base ? resolve(values.base) : undefined
  const progress = progressReporter(!values['no-progress'])
  if (values.url) {
    if (!values.key) throw new Error('--url needs --key (an admin key)')
    const manifest = await backupThroughServer(values.url, values.key, out, base, (p) => progress.update(p))
    progress.stop()
    console.log(describe(manifest, out))
    return 0
  }
  const settings = settingsFromEnv()
  let warehouse
  try {
    warehouse = await openWarehouse({ dataDir: values['data-dir'] ?? settings.dataDir, timezone: settings.timezone, clickhouse: settings.clickhouse, backupDir: settings.backupDir }, { migrate: false })
  } catch (err) {
    if (err instanceof DataDirLockedError) throw new Error(`The warehouse in ${err.dataDir} is held by process ${err.pid} (a running tierscope server?): back it up through it, \`tierscope backup --url http://host:port --key <admin key> --out ${out}\`.`)
    throw err
  }
  try {
    const manifest = await backupWarehouse(warehouse, { out, base, backupDir: settings.backupDir, onProgress: (p) => progress.update(p) })
    progress.stop()
    console.log(describe(manifest, out))
    return 0
  } finally {
    progress.stop()
    await warehouse.close()
  }
}

async function backupThroughServer(url: string, key: string, out: string, base: string | undefined, onProgress: (p: BackupProgress) => void): Promise<BackupManifest> {
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' }
  const api = new URL('/api/v1/backups', url).toString()
  const started = await fetch(api, { method: 'POST', headers, body: JSON.stringify(base ? { out, base } : { out }) }).catch((err: unknown) => {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause
    throw new Error(`cannot reach the server at ${url} (${cause?.code ?? cause?.message ?? (err as Error).message}): check --url${url.startsWith('https:') ? ', and that Node trusts its certificate (NODE_EXTRA_CA_CERTS=ca.pem for a private CA)' : ''}.`)
  })
  const job = (await started.json()) as { backup_id: string; message?: string }
  if (started.status !== 202) throw new Error(`the server refused the backup (${started.status}): ${job.message ?? JSON.stringify(job)}`)
  for (;;) {
    await new Promise((r) => setTimeout(r, 300))
    const r = await fetch(`${api}/${encodeURIComponent(job.backup_id)}`, { headers })
    const state = (await r.json()) as { status: string; progress: BackupProgress; manifest?: BackupManifest; error?: { message: string }; message?: string }
    if (!r.ok) throw new Error(`the server lost track of the backup (${r.status}): ${state.message ?? ''}`)
    onProgress(state.progress)
    if (state.status === 'done') return state.manifest!
    if (state.status === 'failed') throw new Error(`the backup failed: ${state.error?.message ?? 'no reason given'}`)
  }
}

export async function restoreCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { from: { type: 'string' }, 'data-dir': { type: 'string' }, 'no-progress': { type: 'boolean', default: false } },
  })
  if (!values.from || !values['data-dir']) throw new Error(`restore: --from DIR and --data-dir NEW are required\n${BACKUP_USAGE}`)
  const progress = progressReporter(!values['no-progress'])
  const timezone = process.env.TIERSCOPE_TIMEZONE
  try {
    const result = await restoreWarehouse({ from: values.from, dataDir: values['data-dir'], timezone, onProgress: (p) => progress.update(p) })
    progress.stop()
    const migrated = result.schema_version === result.manifest.schema_version ? `schema version ${result.schema_version}` : `schema version ${result.manifest.schema_version}, migrated to ${result.schema_version}`
    console.log(`Restored ${resolve(values.from)} into ${resolve(values['data-dir'])} (${migrated}; case_events ${result.tables.case_events ?? 0}, evaluations ${result.tables.evaluations ?? 0}). ` +
      `Start the server on it: TIERSCOPE_DATA_DIR=${resolve(values['data-dir'])} TIERSCOPE_TIMEZONE=${result.manifest.timezone} npm start`)
    return 0
  } finally {
    progress.stop()
  }
}
