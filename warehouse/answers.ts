// Equal questions asked while one is being answered share its answer: a page the joint meeting's
// members open at once is asked of the engine once, not once per member (the embedded engine
// answers one query at a time). The answer shared is exactly the one the later question would have
// computed: shared only when nothing was stored in this process (Warehouse.writes) and no batch
// handed to the refresher (DerivedRefresh) between the two questions, each taken before it waits for
// the refresher; the moment asked is part of the question (a "now" is a whole second: routes.ts
// asOfParam). On a ClickHouse server other processes store records too: nothing is shared there.
// And an answer as of a moment is kept for the moments after it at which it cannot have changed
// (`acrossMoments`): the same day, nothing stored in the tables it reads, no stored moment
// compared with it in between.
import { createHash } from 'node:crypto'
import { queryRows, type Warehouse } from './client.ts'
import type { DerivedRefresh } from './derived.ts'
import { epochSeconds, nextLocalMidnight } from './time.ts'

/**
 * How a store reads through SharedAnswers (openPlatform sets it): the answer of an equal read
 * being answered, or `read`'s own. A store alone (tests, tools) reads directly: `readDirectly`.
 */
export type ShareRead = <T>(question: unknown, read: () => Promise<T>) => Promise<T>

/** The ShareRead of a store not wired to SharedAnswers: every read is its own. */
export const readDirectly: ShareRead = (_question, read) => read()

/** How a store keeps a read's answer across moments (SharedAnswers.acrossMoments; openPlatform sets it). */
export type KeepRead = <T>(question: unknown, asOfMs: number, read: () => Promise<T>) => Promise<T>

/** The KeepRead of a store not wired to SharedAnswers: every read is asked anew. */
export const readAnew: KeepRead = (_question, _asOfMs, read) => read()

/**
 * The stored moments an answer as of a moment T compares with T (`x <= T`, `T > due_at`): every
 * record's occurred_at, and the due_at a case was sent. Whatever else of T a figure uses is its
 * local date (working days, handling limits, periods, the calendar's year). A column holding a
 * moment that a figure compares with T belongs here (tests/answers-across-moments.test.ts lists
 * every other one, and why). `justAfter`: it is also compared as `T > x`, true only from the
 * millisecond after it, so an answer as of x itself changes then too.
 */
export const COMPARED_MOMENTS: ReadonlyArray<{ table: string; column: string; justAfter?: true }> = [
  { table: 'case_events', column: 'occurred_at' },
  { table: 'case_events', column: 'due_at', justAfter: true },
  { table: 'evaluations', column: 'occurred_at' },
  { table: 'evaluation_followups', column: 'occurred_at' },
  { table: 'complaints', column: 'occurred_at' },
  { table: 'queue_tickets', column: 'occurred_at' },
]

/**
 * At most this many rows (`rowsOf`) are kept across moments, the least recently used answers
 * going first: a source's rows per unit or month, a page of cases; about 100 MB at a few hundred
 * bytes a row.
 */
const MAX_KEPT_ROWS = 250_000

/** Horizons kept per version: now, last month's end, last year's end, a few more. */
const MAX_HORIZONS = 8

interface KeptAnswer {
  /** The writes to the tables it reads when it was computed (`readsVersion`). */
  version: string
  /** Every name in the question's text: the tables its SQL reads are among them. */
  reads: ReadonlySet<string>
  from: number
  until: number
  answer: unknown
  rows: number
}

/** The words of a question's JSON text (its SQL's table names among them; an escape such as \n is no part of the word after it). */
const namesIn = (text: string): Set<string> => new Set(text.replace(/\\./g, ' ').match(/[A-Za-z_][A-Za-z0-9_]*/g))
/** The words of a question kept against a version its caller gives (none read). */
const NO_NAMES: ReadonlySet<string> = new Set()

export class SharedAnswers {
  private readonly asked = new Map<string, { version: string; answer: Promise<unknown> }>()
  private readonly kept = new Map<string, KeptAnswer>()
  private keptRows = 0
  /** The horizons found under the current version (`unchangedUntil`), a few: pages ask as of now and as of past moments in turn. */
  private horizons: Array<{ version: string; after: number; next: Promise<number> }> = []

  /** Off: `acrossMoments` computes every answer (the comparison tests and the bench's timings of the queries switch it). */
  keepAcrossMoments = true

  constructor(private readonly warehouse: Warehouse, private readonly derived: Pick<DerivedRefresh, 'handedOverCount' | 'settled'>) {}

  /**
   * Waits until every batch acknowledged before this call is in the derived state, then answers
   * `question` (any JSON: what is asked and of what, the moment included) with the answer of an
   * equal question being answered, or by `compute`. Each caller gets its own copy; with `frozen`,
   * every caller gets the one answer, frozen through and through (a copy of a tier's assessment
   * of 176 stations took 10 ms, for each of sixteen members opening the page; a caller that
   * changes it fails at once, whether it shares it or not). With `derived: false` (a read of
   * tables the refresher does not keep: reference data) it does not wait for the refresher.
   */
  async answer<T>(question: unknown, compute: () => Promise<T>, options: { frozen?: boolean; derived?: boolean } = {}): Promise<T> {
    const computed = options.frozen ? () => compute().then(deepFreeze) : compute
    // taken before the wait: whatever was acknowledged before this question had been stored by then
    const version = this.version()
    if (options.derived !== false) await this.derived.settled()
    if (version === undefined) return computed()
    const key = JSON.stringify(question)
    const asked = this.asked.get(key)
    if (asked?.version === version) return options.frozen ? (asked.answer as Promise<T>) : structuredClone((await asked.answer) as T)
    const answer = computed()
    const entry = { version, answer }
    this.asked.set(key, entry)
    try {
      return await answer
    } finally {
      if (this.asked.get(key) === entry) this.asked.delete(key)
    }
  }

  /**
   * The answer to `question` (any JSON holding the SQL it sends, the moment left out) as of
   * `asOfMs`: the one computed as of an earlier moment t0 while nothing was stored since in the
   * tables the question names (`readsVersion`) and nothing it depends on
   * lies in (t0, asOfMs]: no local midnight, no stored moment of COMPARED_MOMENTS. For a question
   * whose answer depends on its moment only through comparisons with those and the moment's local
   * date (the indicators' sources and the lists of their records, metrics/; the case store's
   * reads, cases.ts), it is the answer `compute` gives as of
   * `asOfMs`; an answer as of now is then asked of the engine once a day, or when a record is
   * stored, a deadline passes or a record dated ahead comes due, instead of once a second.
   * With `version`, the answer is kept while `version()` gives what it gave before the answer was
   * computed, instead of while the tables the question names are not written (a caller that knows
   * better what the answer depends on: an answer as of a past moment, metrics/service.ts).
   */
  async acrossMoments<T>(question: unknown, asOfMs: number, compute: () => Promise<T>, options: { version?: () => string } = {}): Promise<T> {
    if (this.warehouse.kind !== 'embedded' || !this.keepAcrossMoments) return compute()
    // every batch handed over before this question is in the derived state from here on, and
    // whatever is written after the versions are read below changes them
    await this.derived.settled()
    const text = JSON.stringify(question)
    // (hashed: a question holds its SQL and the packed calendar, kilobytes each)
    const key = createHash('sha256').update(text).digest('base64')
    const kept = this.kept.get(key)
    // (`version`: what the caller knows the answer depends on, instead of the tables its question names)
    const versionNow = (reads: ReadonlySet<string>) => options.version ? options.version() : this.readsVersion(reads)
    if (kept && kept.from <= asOfMs && asOfMs < kept.until && kept.version === versionNow(kept.reads)) {
      this.kept.delete(key)
      this.kept.set(key, kept)
      return structuredClone(kept.answer as T)
    }
    const reads = options.version ? NO_NAMES : namesIn(text)
    const version = versionNow(reads)
    const until = await this.unchangedUntil(asOfMs, this.readsVersion(HORIZON_READS))
    const answer = await compute()
    this.forget(key)
    const entry = { version, reads, from: asOfMs, until, answer: structuredClone(answer), rows: rowsOf(answer) }
    this.kept.set(key, entry)
    this.keptRows += entry.rows
    for (const oldest of this.kept.keys()) {
      if (this.keptRows <= MAX_KEPT_ROWS) break
      this.forget(oldest)
    }
    return answer
  }

  /**
   * The rows of one query as of `asOfMs`, kept across moments as `acrossMoments` keeps them: the
   * question is the query's SQL and its bound values without the moment, so what the answer is
   * kept against (the writes to the tables the SQL names) is in it by construction.
   */
  rowsAcrossMoments<T>(sql: string, params: Record<string, unknown>, asOfMs: number): Promise<T[]> {
    return this.acrossMoments(['rows', sql, withoutMoment(params, asOfMs)], asOfMs, () => queryRows<T>(this.warehouse, sql, params))
  }

  private forget(key: string): void {
    const entry = this.kept.get(key)
    if (!entry) return
    this.kept.delete(key)
    this.keptRows -= entry.rows
  }

  /** The first moment after `asOfMs` at which an answer as of it may change with nothing stored: its next local midnight, or a stored moment before it. */
  private async unchangedUntil(asOfMs: number, version: string): Promise<number> {
    this.horizons = this.horizons.filter((h) => h.version === version)
    for (const known of this.horizons) {
      if (known.after > asOfMs) continue
      const next = await known.next.catch(() => -Infinity)
      if (asOfMs < next) return next
    }
    const next = nextComparedMoment(this.warehouse, asOfMs, nextLocalMidnight(asOfMs, this.warehouse.timezone))
    const entry = { version, after: asOfMs, next }
    this.horizons = [entry, ...this.horizons].slice(0, MAX_HORIZONS)
    // (a failed read is not kept: the next question asks again)
    next.catch(() => {
      this.horizons = this.horizons.filter((h) => h !== entry)
    })
    return next
  }

  private version(): string | undefined {
    return this.warehouse.kind === 'embedded' ? `${this.warehouse.writes}:${this.derived.handedOverCount}` : undefined
  }

  /**
   * The writes so far to the tables among `reads` (and those whose table is unknown, ''): equal
   * at two moments, nothing an answer reading only those tables depends on was written between.
   * A question whose text holds no SQL (no SELECT) reads, for all this knows, every table.
   */
  private readsVersion(reads: ReadonlySet<string>): string {
    if (!reads.has('SELECT') && !reads.has('select')) return `all:${this.warehouse.writes}`
    let version = ''
    for (const [table, n] of this.warehouse.writesByTable) if (table === '' || reads.has(table)) version += `${table}:${n},`
    return version
  }
}

/** The horizon of an answer depends on the stored moments it compares with: on writes to their tables. */
const HORIZON_READS: ReadonlySet<string> = new Set(['SELECT', ...COMPARED_MOMENTS.map((m) => m.table)])

/** The first moment after `afterMs` and before `beforeMs` at which a stored moment of COMPARED_MOMENTS changes an answer, or `beforeMs`. */
async function nextComparedMoment(warehouse: Warehouse, afterMs: number, beforeMs: number): Promise<number> {
  const tz = warehouse.timezone
  const moment = (name: string) => `{${name}:DateTime64(3, '${tz}')}`
  const [row] = await queryRows<{ next: string | null }>(warehouse,
    `SELECT toString(toUnixTimestamp64Milli(minOrNull(m))) AS next FROM (
      ${COMPARED_MOMENTS.map(({ table, column, justAfter }) => justAfter
        ? `SELECT minOrNull(if(${column} = ${moment('after')}, addMilliseconds(${column}, 1), ${column})) AS m FROM ${table} WHERE ${column} >= ${moment('after')} AND ${column} < ${moment('before')}`
        : `SELECT minOrNull(${column}) AS m FROM ${table} WHERE ${column} > ${moment('after')} AND ${column} < ${moment('before')}`).join('\n      UNION ALL ')})`,
    { after: epochSeconds(afterMs), before: epochSeconds(beforeMs) })
  return row?.next == null ? beforeMs : Number(row.next)
}

/**
 * A question's bound values with the moment asked left out: a value (or an element of an array)
 * equal to `asOfMs` as bound (epoch seconds) is given as 'as_of'. What keys an answer kept across
 * moments; every other value, derived from the moment or not, stays part of the question.
 */
export function withoutMoment(params: Record<string, unknown>, asOfMs: number): Record<string, unknown> {
  const moment = epochSeconds(asOfMs)
  const left = (v: unknown) => (v === moment ? 'as_of' : v)
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, Array.isArray(v) ? v.map(left) : left(v)]))
}

/** How many rows an answer holds, for the budget of kept answers: an array's (of arrays: theirs), or 1. */
function rowsOf(answer: unknown): number {
  return Array.isArray(answer) ? answer.reduce<number>((n, x) => n + (Array.isArray(x) ? x.length : 1), 0) : 1
}

/** `value` with every object and array in it frozen. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}
