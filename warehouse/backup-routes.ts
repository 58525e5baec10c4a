// The admin's backup routes: the server's own engine writes the backup (backup.ts) while it keeps
// serving; `tierscope backup --url` starts one and follows it until it is done.
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { backupWarehouse, BackupError, checkBackupTarget, lastBackupAt, type BackupManifest, type BackupProgress } from './backup.ts'
import { ADMIN_ONLY } from '../auth/index.ts'
import { HttpError } from './http.ts'
import type { Platform } from './index.ts'

interface Job {
  backup_id: string
  status: 'running' | 'done' | 'failed'
  out: string
  base: string | null
  started_at: string
  progress: BackupProgress
  manifest?: BackupManifest
  error?: { code: string; message: string }
}


/** The backups started by this process that GET /api/v1/backups/{id} still answers about: the latest. */
const KEPT_JOBS = 100

export async function backupRoutes(app: FastifyInstance, opts: { platform: Platform; backupDir?: string }): Promise<void> {
  const { platform } = opts
  const jobs = new Map<string, Job>()
  let running: Job | undefined

  app.post<{ Body: { out: string; base?: string } }>('/api/v1/backups', {
    config: { access: { roles: ADMIN_ONLY }, audit: 'backup.start' },
    schema: {
      description: 'Starts a backup of the warehouse by its engine (BACKUP … TO File) into a new or empty directory on the server\'s machine, incremental on `base` when given. Admin only. Answers at once; GET /api/v1/backups/{backup_id} follows it.',
      body: {
        type: 'object', required: ['out'], additionalProperties: false,
        properties: { out: { type: 'string', minLength: 1, maxLength: 4096 }, base: { type: 'string', minLength: 1, maxLength: 4096 } },
      },
    },
  }, async (request, reply) => {
    if (running) throw new HttpError(409, 'backup_running', `A backup is being written (${running.backup_id} to ${running.out}); wait for it to finish.`)
    if (platform.warehouse.kind !== 'embedded') {
      throw new HttpError(409, 'backup_on_server', 'The warehouse is a ClickHouse server: back it up with the server\'s own BACKUP to a disk or an object store (warehouse/README.md "Backups").')
    }
    let target: { out: string; base: string | undefined }
    try {
      target = checkBackupTarget({ out: request.body.out, base: request.body.base, backupDir: opts.backupDir })
    } catch (err) {
      if (err instanceof BackupError) throw new HttpError(err.status, err.code, err.message)
      throw err
    }
    const job: Job = {
      backup_id: randomUUID(), status: 'running', out: target.out, base: target.base ?? null, started_at: new Date().toISOString(),
      progress: { phase: 'backup', done_bytes: 0, total_bytes: 0 },
    }
    jobs.set(job.backup_id, job)
    // (the oldest finished ones go: a server that runs for years keeps a bounded list)
    for (const id of jobs.keys()) if (jobs.size > KEPT_JOBS && id !== job.backup_id) jobs.delete(id)
    running = job
    request.audit = { target: target.out, details: { backup_id: job.backup_id, base: target.base ?? null } }
    backupWarehouse(platform.warehouse, { out: target.out, base: target.base, backupDir: opts.backupDir, onProgress: (p) => (job.progress = p) }).then(
      (manifest) => {
        job.status = 'done'
        job.manifest = manifest
        request.log.info({ backup_id: job.backup_id, out: job.out, bytes: manifest.backup_bytes }, 'backup written')
      },
      (err: unknown) => {
        job.status = 'failed'
        job.error = err instanceof BackupError ? { code: err.code, message: err.message } : { code: 'backup_failed', message: (err as Error).message }
        request.log.error({ backup_id: job.backup_id, out: job.out, err }, 'backup failed')
      },
    ).finally(() => {
      if (running === job) running = undefined
    })
    return reply.code(202).send(job)
  })

  app.get<{ Params: { id: string } }>('/api/v1/backups/:id', {
    config: { access: { roles: ADMIN_ONLY } },
    schema: { description: 'A backup started by POST /api/v1/backups (one of the last 100 this server process started): running, done (with its manifest) or failed (with why). Admin only.' },
  }, async (request) => {
    const job = jobs.get(request.params.id)
    if (!job) throw new HttpError(404, 'unknown_backup', `No backup ${request.params.id} is among the last ${KEPT_JOBS} this server process started.`)
    return job
  })

  app.get('/api/v1/backups', {
    config: { access: { roles: ADMIN_ONLY } },
    schema: { description: 'When the last backup succeeded, and the one being written, if any. Admin only.' },
  }, async (request) => {
    const last = await lastBackupAt(platform.warehouse)
    return { last_backup_at: last === undefined ? null : new Date(last).toISOString(), running: running ?? null }
  })
}
