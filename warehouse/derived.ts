// The derived state (case_state and what is kept from it; queue_ticket_state) brought up to date
// off the receipt path. A body's receipt waits only for its rows to be stored; the batch is then
// handed to the refresher, which takes every batch handed over since its last round in one
// round (coalesced: a round's statements cost the engine about 0.47 s to analyse whatever they
// hold, so a lone batch waits a moment for the next unless a read waits for it; and, embedded, while
// receipts are under way, a round nobody waits for holds back for them, so a burst of bodies is
// received first and refreshed in rounds of five). Every read that
// depends on the derived state first waits for `settled()`: every batch acknowledged before the
// read began is refreshed, so an answer always counts every acknowledged row.
//
// What is refreshed is declared once (`refreshers`); how a crash is repaired: a
// batch's case ids are queued (case_refresh_queue) before its rows are stored, so start-up
// finishes what a crash interrupted (CaseStore.repair, QueueStore.repair); the change log's end
// mark is written after the refresh, so kept answers are never taken for current in between.
//
// Across processes (a ClickHouse server): after its rows are stored, a batch is marked due in
// derived_refresh_batches (after, never before: a due mark means its rows are there), and done in
// case_refresh_done after its refresh. `settled()` on a server also refreshes every batch another
// process left due, so two processes answer alike within one refresh.
import type { CaseStore } from './cases.ts'
import type { ChangeLog } from './changes.ts'
import { backgroundRows, type Warehouse } from './client.ts'
import type { QueueStore } from './queue.ts'
import type { RatingStore } from './ratings.ts'
import { nowSeconds } from './time.ts'

/**
 * What a batch's derived state is: the cases of a case-events batch, the tickets of a
 * queue-tickets batch, or the contested keys of a ratings batch (ratings.ts).
 */
export type DerivedKind = 'cases' | 'queue' | 'ratings'

/** A batch waiting for its refresh; `change` is its change-log entry, ended once refreshed. */
interface DueBatch {
  batch: string
  kind: DerivedKind
  change?: { earliest: string }
  seq: number
  /** When it was handed over (performance.now()). */
  at: number
}

/** A round failed: the reads that waited for it are answered 503 (each read waits for at most one more attempt). */
export class DerivedStateError extends Error {
  readonly code = 'derived_state_behind'
  constructor(cause: unknown) {
    super('The warehouse could not bring its derived state up to date with the latest records; nothing acknowledged is lost. Try again shortly.', { cause })
  }
}

/**
 * The settings of every write into a derived table (case_state and its copies, the daily
 * aggregate and its contributions, queue_ticket_state, rating_contests): no merge of the inserted
 * block by its key (optimize_on_insert). A key's rows are in several parts anyway (one per
 * refresh that wrote it), so every read of these tables already takes one row per key (FINAL,
 * argMax, IN); a merge on insert only repeats that for the rows of one block, and the statements
 * write nearly always one row per key. At 10M events it took 150–200 ms off the insert of a
 * body's contributions (72,000 rows).
 */
export const DERIVED_WRITE = 'SETTINGS optimize_on_insert = 0'

/**
 * Receipts wait for the refresher only when more batches than this are waiting (back-pressure);
 * while receipts go first, it is also what a burst's round holds (one more). Rounds of five cost
 * 286 ms a batch at 1M events, rounds of nine (with eight here) 390 (4 Dec).
 */
const MAX_WAITING_BATCHES = 4
/** At most this many batches in one round: the statements of a round stay of a bounded size. */
const MAX_BATCHES_PER_ROUND = 16
/**
 * A round waits for a second batch up to this long unless a read is waiting for it: a round's
 * statements cost about 0.47 s at 10M events whatever its batches hold (the engine analysing
 * them), of 1.6–2.0 s for a round of one 100,000-row body, so while bodies keep coming two to a
 * round save each about 0.24 s, a seventh of its refresh. Reads never wait for it: one waiting
 * starts the round at once.
 */
const COALESCE_MS = 1000
/**
 * After a receipt, a round nobody waits for holds back this long for the next body of a burst (a
 * 20 MB body takes about 160 ms to upload at 1 Gbit/s).
 */
const RECEIPT_GRACE_MS = 200
/** After a failed round, the next one is tried this much later. */
const RETRY_MS = 1000

export class DerivedRefresh {
  private readonly refreshers: Record<DerivedKind, (batchIds: string[]) => Promise<void>>
  private waiting: DueBatch[] = []
  private inRound = new Set<string>()
  private handedOver = 0
  private refreshed = 0
  private waiters: Array<{ seq: number; resolve: () => void; reject: (err: unknown) => void }> = []
  private round: Promise<void> | undefined
  private retry: ReturnType<typeof setTimeout> | undefined
  /** Set while a lone batch waits for a second one (COALESCE_MS), or a round for the next body of a burst (RECEIPT_GRACE_MS). */
  private coalesce: ReturnType<typeof setTimeout> | undefined
  private coalesceAt = 0
  private closed = false
  /** Receipts under way (ingest's receiving()): a round nobody waits for holds back for them. */
  private receiptsUnderWay = 0
  private lastReceiptEnd = 0

  constructor(
    private readonly warehouse: Warehouse,
    stores: { cases: Pick<CaseStore, 'refreshBatches'>; queue: Pick<QueueStore, 'refreshBatches'>; ratings: Pick<RatingStore, 'refreshBatches'> },
    private readonly changes: Pick<ChangeLog, 'ended'>,
  ) {
    // the one list of what is kept from stored rows by hand (the rest the engine keeps itself)
    this.refreshers = {
      cases: (ids) => stores.cases.refreshBatches(ids),
      queue: (ids) => stores.queue.refreshBatches(ids),
      ratings: (ids) => stores.ratings.refreshBatches(ids),
    }
  }

  /**
   * After a batch's rows are stored, before its receipt: hands it to the refresher and, on a
   * server, marks it due in the warehouse for other processes. Returns at once unless the refresher is
   * more than a few batches behind, then when it has caught up with this one.
   */
  async stored(batch: string, kind: DerivedKind, change?: { earliest: string }): Promise<void> {
    // handed over first: whatever happens to the receipt now, this process refreshes the batch
    const seq = ++this.handedOver
    this.waiting.push({ batch, kind, change, seq, at: performance.now() })
    this.kick()
    // (only another process reads the mark: a warehouse embedded in this one has none)
    if (this.warehouse.kind === 'server') await this.markDue(batch, kind)
    // (the rows are stored whatever the refresh does: a failed round is retried, not reported here)
    if (this.waiting.length > MAX_WAITING_BATCHES) await this.until(seq).catch(() => undefined)
  }

  /**
   * A body's receipt begins: until the returned function is called (once), a round that no read
   * and no receipt waits for is held back, so that the receipts of a burst of bodies go first and
   * their batches are refreshed together in fewer rounds (a round's fixed cost is about half its
   * time at 10M events). Back-pressure still bounds how many wait.
   */
  receiving(): () => void {
    this.receiptsUnderWay++
    let ended = false
    return () => {
      if (ended) return
      ended = true
      this.receiptsUnderWay--
      this.lastReceiptEnd = performance.now()
      this.kick()
    }
  }

  private async markDue(batch: string, kind: DerivedKind): Promise<void> {
    try {
      await this.warehouse.client.insert({
        table: 'derived_refresh_batches',
        values: [{ batch_id: batch, kind, queued_at: nowSeconds() }],
        format: 'JSONEachRow',
      })
    } catch (err) {
      // only other processes miss it (until this one has refreshed it, or a start-up repairs it)
      console.error(`tierscope: batch ${batch} could not be marked due for other processes`, err)
    }
  }

  /** Batches handed over since start-up (this process's, and others' it adopted). */
  get handedOverCount(): number {
    return this.handedOver
  }

  /** Batches handed over and not yet refreshed (the monitoring's backlog reads the warehouse instead). */
  get backlog(): number {
    return this.handedOver - this.refreshed
  }

  /**
   * Resolves when every batch acknowledged before this call is refreshed: in this process, and
   * on a server also those other processes marked due. Rejects with DerivedStateError when the
   * refresh fails.
   */
  async settled(): Promise<void> {
    if (this.warehouse.kind === 'server') await this.adoptOthers()
    await this.until(this.handedOver)
  }

  /** Refreshes what is waiting, then stops (before the warehouse is closed; what a failure leaves, start-up repairs). */
  async close(): Promise<void> {
    // (not past a failure: a retry waiting on its timer is start-up's to finish)
    if (!this.retry) await this.until(this.handedOver).catch(() => undefined)
    this.closed = true
    if (this.retry) clearTimeout(this.retry)
    if (this.coalesce) clearTimeout(this.coalesce)
    while (this.round) await this.round.catch(() => undefined)
  }

  /**
   * Resolves once batch `seq` is refreshed; rejects when the next round that tries it fails. After
   * a failure a read waits for the retry (RETRY_MS) rather than taking the old failure for its
   * answer: a warehouse that was unavailable for a moment fails only the reads that overlapped it.
   */
  private until(seq: number): Promise<void> {
    if (this.refreshed >= seq) return Promise.resolve()
    return new Promise((resolve, reject) => {
      this.waiters.push({ seq, resolve, reject })
      // a retry someone waits for keeps the process alive (a command waiting on settled() would
      // otherwise exit before it); unwaited, its timer does not
      this.retry?.ref()
      this.kick()
    })
  }

  /** The batches another process stored and has not refreshed yet: refreshed here too (a refresh is idempotent). */
  private async adoptOthers(): Promise<void> {
    const known = new Set([...this.waiting.map((b) => b.batch), ...this.inRound])
    const due = await backgroundRows<{ batch_id: string; kind: DerivedKind }>(this.warehouse,
      `SELECT toString(batch_id) AS batch_id, any(kind) AS kind FROM derived_refresh_batches
       WHERE batch_id NOT IN (SELECT batch_id FROM case_refresh_done) GROUP BY batch_id ORDER BY min(queued_at)`)
    for (const d of due) if (!known.has(d.batch_id)) this.waiting.push({ batch: d.batch_id, kind: d.kind, seq: ++this.handedOver, at: performance.now() })
  }

  private kick(): void {
    if (this.round || this.retry || this.closed || this.waiting.length === 0) return
    // receipts first: held while one is under way, and a moment after (the next body of a burst).
    // Embedded only: on a server another process's read would refresh the held batches itself
    // (adoptOthers), and this one again after.
    if (this.warehouse.kind === 'embedded' && this.waiters.length === 0 && this.waiting.length <= MAX_WAITING_BATCHES) {
      if (this.receiptsUnderWay > 0) return
      const held = RECEIPT_GRACE_MS - (performance.now() - this.lastReceiptEnd)
      if (held > 0) return this.kickIn(held)
    }
    // nobody waiting for it and one batch alone: give the next body a moment to join the round
    const wait = COALESCE_MS - (performance.now() - this.waiting[0]!.at)
    if (this.waiters.length === 0 && this.waiting.length < 2 && wait > 0) return this.kickIn(wait)
    if (this.coalesce) clearTimeout(this.coalesce)
    this.coalesce = undefined
    this.round = this.runRound().finally(() => {
      this.round = undefined
      this.kick()
    })
  }

  /** Kicks again in `ms` (or sooner, if a kick is due sooner already): one timer, the earliest. */
  private kickIn(ms: number): void {
    const at = performance.now() + ms
    if (this.coalesce && this.coalesceAt <= at) return
    if (this.coalesce) clearTimeout(this.coalesce)
    this.coalesceAt = at
    this.coalesce = setTimeout(() => ((this.coalesce = undefined), this.kick()), ms)
    this.coalesce.unref()
  }

  private async runRound(): Promise<void> {
    const taken = this.waiting.slice(0, MAX_BATCHES_PER_ROUND)
    for (const b of taken) this.inRound.add(b.batch)
    try {
      for (const kind of Object.keys(this.refreshers) as DerivedKind[]) {
        const ids = taken.filter((b) => b.kind === kind).map((b) => b.batch)
        if (ids.length > 0) await this.refreshers[kind](ids)
      }
      // queue and rating batches are marked done here (case batches are by their refresh, with its last write)
      const doneIds = taken.filter((b) => b.kind !== 'cases').map((b) => b.batch)
      if (doneIds.length > 0) {
        await this.warehouse.client.insert({ table: 'case_refresh_done', values: doneIds.map((batch_id) => ({ batch_id, done_at: nowSeconds() })), format: 'JSONEachRow' })
      }
      for (const b of taken) if (b.change) await this.changes.ended(b.batch, b.change.earliest)
    } catch (err) {
      for (const b of taken) this.inRound.delete(b.batch)
      console.error('tierscope: refreshing the derived state failed; retrying', err)
      const failure = new DerivedStateError(err)
      for (const w of this.waiters.splice(0)) w.reject(failure)
      this.retry = setTimeout(() => ((this.retry = undefined), this.kick()), RETRY_MS)
      this.retry.unref()
      return
    }
    this.waiting.splice(0, taken.length)
    for (const b of taken) this.inRound.delete(b.batch)
    // batches wait in the order they were numbered: everything before the first still waiting is done
    this.refreshed = this.waiting.length ? this.waiting[0]!.seq - 1 : this.handedOver
    const ready = this.waiters.filter((w) => w.seq <= this.refreshed)
    this.waiters = this.waiters.filter((w) => w.seq > this.refreshed)
    for (const w of ready) w.resolve()
  }
}
