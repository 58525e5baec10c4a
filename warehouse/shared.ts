// What each process keeps in memory of the warehouse's small tables — units and items, the
// calendar, the settings — read again when another process on the same warehouse writes them.
// A process's own writes update its memory at once; another's are seen within `SHARED_SWEEP_MS`
// (one small read of each table's latest write time; a table is read whole only when it changed).
// Keys, users and sessions are auth's, which sweeps them the same way (auth/index.ts). On the
// embedded warehouse one process owns the data directory, so nothing is watched there.
import { backgroundRows, type Warehouse } from './client.ts'

export const SHARED_SWEEP_MS = 2000

/** A table kept in memory, and how to read it again. */
export interface SharedTable {
  table: 'units' | 'items' | 'calendar' | 'settings'
  reload: () => Promise<void>
}

export class SharedStateWatch {
  private seen = new Map<string, string>()
  private timer: NodeJS.Timeout | undefined
  private running = false
  private lastLogged = 0

  constructor(private readonly warehouse: Warehouse, private readonly tables: SharedTable[]) {}

  /** Reads each table's latest write; reloads those written since the last sweep (the first sweep only notes them). */
  async sweep(): Promise<string[]> {
    const [row] = await backgroundRows<Record<string, string>>(this.warehouse,
      `SELECT ${this.tables.map((t) => `(SELECT toString(max(updated_at)) FROM ${t.table}) AS ${t.table}`).join(', ')}`)
    const reloaded: string[] = []
    // (tables read by one reload, as units and items are, are read once however many changed)
    const reloads = new Set<() => Promise<void>>()
    for (const t of this.tables) {
      const latest = row?.[t.table] ?? ''
      const before = this.seen.get(t.table)
      this.seen.set(t.table, latest)
      if (before !== undefined && before !== latest) {
        reloads.add(t.reload)
        reloaded.push(t.table)
      }
    }
    for (const reload of reloads) await reload()
    return reloaded
  }

  start(everyMs = SHARED_SWEEP_MS): void {
    void this.run()
    this.timer = setInterval(() => void this.run(), everyMs)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  private async run(): Promise<void> {
    if (this.running) return // one at a time, never piling up
    this.running = true
    try {
      await this.sweep()
    } catch (err) {
      if (Date.now() - this.lastLogged > 60_000) {
        this.lastLogged = Date.now()
        console.error('tierscope: changes other processes made to reference data could not be read; retrying', err)
      }
    } finally {
      this.running = false
    }
  }
}
