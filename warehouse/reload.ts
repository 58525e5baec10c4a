// Small tables kept in memory (units and items, settings) are loaded again from the warehouse: on a
// server every few seconds (shared.ts), to see what other processes wrote. A load that a write of
// this process overlapped may hold the rows from before the write, and must not replace what the
// write set in memory: it reads again.

/** Marks this process's writes of a store, so its loads can tell when one overlapped them. */
export class WriteOverlap {
  /** Raised as a write begins and as it ends. */
  private marks = 0

  async write<T>(write: () => Promise<T>): Promise<T> {
    this.marks++
    try {
      return await write()
    } finally {
      this.marks++
    }
  }

  /**
   * `read`, then `apply` what it read unless a write overlapped it; read again then, and after
   * three tries leave memory as the writes set it, for the next load.
   */
  async load<T>(read: () => Promise<T>, apply: (read: T) => void): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const marks = this.marks
      const rows = await read()
      if (marks !== this.marks) continue
      apply(rows)
      return
    }
  }
}
