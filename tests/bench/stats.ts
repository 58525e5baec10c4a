// Small helpers for printing benchmark figures.
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]!
}

/** `fn` once (`first`: a warm-up, and the one computed where answers are kept), then `n` times timed. */
export async function timeRepeated(n: number, fn: () => Promise<unknown>): Promise<{ first: number; p50: number; p95: number; max: number }> {
  const times: number[] = []
  const t0 = performance.now()
  await fn()
  const first = performance.now() - t0
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    await fn()
    times.push(performance.now() - t)
  }
  times.sort((a, b) => a - b)
  return { first, p50: percentile(times, 50), p95: percentile(times, 95), max: times[times.length - 1]! }
}

export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
