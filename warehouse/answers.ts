// Equal questions asked while one is being answered share its answer: a page the joint meeting's
// members open at once is asked of the engine once, not once per member (the embedded engine
// answers one query at a time). The answer shared is exactly the one the later question would have
// computed: shared only when nothing was stored in this process (Warehouse.writes) and no batch
// handed to the refresher (DerivedRefresh) between the two questions, each taken before it waits for
// the refresher; the moment asked is part of the question (a "now" is a whole second: routes.ts
// asOfParam). On a ClickHouse server other processes store records too: nothing is shared there.
import type { Warehouse } from './client.ts'
import type { DerivedRefresh } from './derived.ts'

/**
 * How a store reads through SharedAnswers (openPlatform sets it): the answer of an equal read
 * being answered, or `read`'s own. A store alone (tests, tools) reads directly: `readDirectly`.
 */
export type ShareRead = <T>(question: unknown, read: () => Promise<T>) => Promise<T>

/** The ShareRead of a store not wired to SharedAnswers: every read is its own. */
export const readDirectly: ShareRead = (_question, read) => read()

export class SharedAnswers {
  private readonly asked = new Map<string, { version: string; answer: Promise<unknown> }>()

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

  private version(): string | undefined {
    return this.warehouse.kind === 'embedded' ? `${this.warehouse.writes}:${this.derived.handedOverCount}` : undefined
  }
}

/** `value` with every object and array in it frozen. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}
