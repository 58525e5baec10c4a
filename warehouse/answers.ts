// Equal questions asked while one is being answered share its answer: a page the joint meeting's
// members open at once is asked of the engine once, not once per member (the embedded engine
// answers one query at a time). The answer shared is exactly the one the later question would have
// computed: shared only when nothing was stored in this process (Warehouse.writes) and no batch
// handed to the refresher (DerivedRefresh) between the two questions, each taken before it waits for
// the refresher; the moment asked is part of the question (a "now" is a whole second: routes.ts
// asOfParam). On a ClickHouse server other processes store records too: nothing is shared there.
import type { Warehouse } from './client.ts'
import type { DerivedRefresh } from './derived.ts'

export class SharedAnswers {
  private readonly asked = new Map<string, { version: string; answer: Promise<unknown> }>()

  constructor(private readonly warehouse: Warehouse, private readonly derived: Pick<DerivedRefresh, 'handedOverCount' | 'settled'>) {}

  /**
   * Waits until every batch acknowledged before this call is in the derived state, then answers
   * `question` (any JSON: what is asked and of what, the moment included) with the answer of an
   * equal question being answered, or by `compute`. Each caller gets its own copy.
   */
  async answer<T>(question: unknown, compute: () => Promise<T>): Promise<T> {
    // taken before the wait: whatever was acknowledged before this question had been stored by then
    const version = this.version()
    await this.derived.settled()
    if (version === undefined) return compute()
    const key = JSON.stringify(question)
    const asked = this.asked.get(key)
    if (asked?.version === version) return structuredClone((await asked.answer) as T)
    const answer = compute()
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
