/** Fixed-memory statistics for long runs. */

/**
 * Latency histogram with log-spaced buckets (about 1 % wide) from 1 µs to ~10 min: constant memory
 * however long the run, percentiles within 1 %.
 */
export class LatencyHistogram {
  private static readonly GROWTH = 1.01
  private static readonly MIN_MS = 0.001
  private readonly buckets: Float64Array
  private total = 0
  private maxMs = 0

  constructor() {
    const size = Math.ceil(Math.log(600_000 / LatencyHistogram.MIN_MS) / Math.log(LatencyHistogram.GROWTH)) + 2
    this.buckets = new Float64Array(size)
  }

  record(ms: number): void {
    const index = ms <= LatencyHistogram.MIN_MS ? 0 : Math.ceil(Math.log(ms / LatencyHistogram.MIN_MS) / Math.log(LatencyHistogram.GROWTH))
    const bucket = Math.min(index, this.buckets.length - 1)
    this.buckets[bucket] = (this.buckets[bucket] ?? 0) + 1
    this.total++
    if (ms > this.maxMs) this.maxMs = ms
  }

  get count(): number {
    return this.total
  }

  get max(): number {
    return this.maxMs
  }

  /** The upper bound of the bucket holding the `p`-th percentile (0–100). */
  percentile(p: number): number {
    if (this.total === 0) return 0
    const rank = Math.ceil((p / 100) * this.total)
    let seen = 0
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i] ?? 0
      if (seen >= rank) return Math.min(LatencyHistogram.MIN_MS * LatencyHistogram.GROWTH ** i, this.maxMs)
    }
    return this.maxMs
  }
}

/** A counter keyed by string. */
export class Tally<K extends string = string> {
  readonly counts = new Map<K, number>()

  add(key: K, amount = 1): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + amount)
  }

  get(key: K): number {
    return this.counts.get(key) ?? 0
  }

  get total(): number {
    let total = 0
    for (const count of this.counts.values()) total += count
    return total
  }
}

/** Seeded PRNG (mulberry32): the traffic mix of a run can be replayed with --seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function formatBytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}

export function formatCount(value: number): string {
  return value.toLocaleString('en-US')
}
