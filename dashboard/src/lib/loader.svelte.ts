// What a view shows from the API, loaded once per change of its inputs. The engine answers one
// query at a time, so a view asks once: an effect that fetches depends on its inputs only (compared
// by value, not by identity), never on the state it writes, and an answer for inputs that have
// since changed is dropped (its request aborted), so it can never overwrite the newer one.
import { untrack } from 'svelte'

export interface Loader<Data> {
  /** The answer for the latest inputs; the previous one until it arrives; undefined before the first. */
  readonly data: Data | undefined
  /** A request for the current inputs is on its way. */
  readonly loading: boolean
  /** Why the latest load failed (null when it did not). */
  readonly error: unknown
  /** Loads again for the same inputs (after a write changed what the API answers); resolves when done. */
  reload(): Promise<void>
  /**
   * Asks for more of the current answer (the next page of a list): `more` gets the answer shown and
   * returns the new one, which replaces it unless the inputs changed meanwhile. Failures reach the caller.
   */
  update(more: (data: Data, signal: AbortSignal) => Promise<Data>): Promise<void>
}

/**
 * Loads `load(inputs)` now and again whenever `inputs()` gives different values (as JSON: plain
 * values only). `inputs()` is the only thing tracked; `null` means nothing to load (a view the
 * visitor may not open, a unit not known yet). Call it while a component initialises.
 */
export function loader<Inputs, Data>(inputs: () => Inputs | null, load: (inputs: Inputs, signal: AbortSignal) => Promise<Data>): Loader<Data> {
  // the answer is replaced whole, never changed in place: no deep proxy over a large answer
  let data = $state.raw<Data | undefined>(undefined)
  let loading = $state(true)
  let error = $state<unknown>(null)
  /** the inputs by value: a new object with the same values is not a change */
  const key = $derived(JSON.stringify(inputs()))

  /** which load is the latest: an answer from an earlier one is dropped */
  let latest = 0
  let controller: AbortController | null = null

  function start(): Promise<void> {
    controller?.abort()
    controller = null
    const run = ++latest
    const given = inputs()
    if (given === null) {
      loading = false
      error = null
      return Promise.resolve()
    }
    const own = (controller = new AbortController())
    loading = true
    error = null
    return load(given, own.signal).then(
      (answer) => { if (run === latest) data = answer },
      (err: unknown) => { if (run === latest) error = err },
    ).finally(() => { if (run === latest) loading = false })
  }

  $effect(() => {
    void key
    // what start() reads and writes is not this effect's business: only the inputs are
    untrack(start)
    return () => {
      // inputs changed or the view closed: whatever is on its way is for nobody
      latest++
      controller?.abort()
    }
  })

  return {
    get data() { return data },
    get loading() { return loading },
    get error() { return error },
    reload: () => untrack(start),
    async update(more) {
      const run = latest
      const shown = data
      if (shown === undefined || !controller) return
      let next: Data
      try {
        next = await more(shown, controller.signal)
      } catch (err) {
        if (run !== latest) return // the inputs changed meanwhile: nobody waits for this
        throw err
      }
      if (run === latest) data = next
    },
  }
}
