// Seeded randomness for the demo district. Every random choice is drawn from a generator seeded
// by a hash of (seed, what is being decided), never from Math.random: the same seed gives the
// same district byte for byte, and any one case can be produced on its own, in any order.

/** The murmur3 finaliser: a fast, well-mixing 32-bit hash step. */
export function fmix32(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** Hash of up to three integers, order-sensitive. */
export function hash3(a: number, b: number, c = 0): number {
  return fmix32(fmix32(fmix32(a ^ 0x9e3779b9) ^ (b + 0x7f4a7c15)) ^ (c + 0x2545f491))
}

/** FNV-1a of a string: stable names (unit ids, stream parts) become seeds. */
export function hashString(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return h >>> 0
}

/** mulberry32: tiny, fast, good enough for simulation, and re-seedable without allocation. */
export class Rng {
  private state: number

  constructor(seed = 0) {
    this.state = seed >>> 0
  }

  reseed(seed: number): this {
    this.state = seed >>> 0
    return this
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** Whole number in [lo, hi], both included. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1))
  }

  uniform(lo: number, hi: number): number {
    return lo + this.next() * (hi - lo)
  }

  chance(p: number): boolean {
    return this.next() < p
  }

  pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.next() * list.length)]!
  }

  /** Standard normal (Box–Muller); used for latent traits, not in the hot path. */
  normal(): number {
    const u = 1 - this.next()
    const v = this.next()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean
  }

  /** Index into `cumulative` (ascending running totals) chosen in proportion to the weights. */
  weighted(cumulative: ArrayLike<number>): number {
    const total = cumulative[cumulative.length - 1]!
    const x = this.next() * total
    let lo = 0
    let hi = cumulative.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (cumulative[mid]! > x) hi = mid
      else lo = mid + 1
    }
    return lo
  }
}

/** Running totals of weights, for Rng.weighted. */
export function cumulative(weights: readonly number[]): Float64Array {
  const out = new Float64Array(weights.length)
  let sum = 0
  for (let i = 0; i < weights.length; i++) out[i] = sum += weights[i]!
  return out
}
