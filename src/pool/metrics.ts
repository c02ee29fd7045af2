/**
 * Pool metrics with bounded memory: a latency {@link Histogram} (fixed logarithmic buckets, O(1)
 * `record`) and a busy-time {@link Utilization} meter driven by busy/idle edges and an injected clock.
 * @module
 */

/** Smallest value with its own bucket: 1 µs. Anything below shares the bottom bucket. */
const MIN_MS = 0.001
/** Largest value with its own bucket: 1 h. Anything above is counted in the top bucket. */
const MAX_MS = 3_600_000
/**
 * Relative error of a bucket's representative value. Half of the advertised 2 %, so that a value
 * landing one bucket off by floating-point rounding at a bucket edge still stays within 2 %.
 */
const ALPHA = 0.01
/** Ratio between consecutive bucket edges; the representative 2γL/(γ+1) of [L, γL) is within ALPHA of both edges. */
const GAMMA = (1 + ALPHA) / (1 - ALPHA)
const LOG_GAMMA = Math.log(GAMMA)
/** Bucket 0 holds [0, MIN_MS); bucket i ≥ 1 holds [MIN_MS·γ^(i-1), MIN_MS·γ^i). About 1,100 buckets in all. */
const TOP = Math.floor(Math.log(MAX_MS / MIN_MS) / LOG_GAMMA) + 1

const bucketOf = (ms: number): number =>
  ms < MIN_MS ? 0 : Math.min(TOP, Math.floor(Math.log(ms / MIN_MS) / LOG_GAMMA) + 1)

const representative = (bucket: number): number =>
  bucket === 0 ? 0 : (2 * MIN_MS * GAMMA ** bucket) / (GAMMA + 1)

/**
 * What {@link Histogram.summary} returns (milliseconds; all 0 when empty).
 *
 * @example
 * ```ts
 * const s: HistogramSummary = { count: 3, p50: 2, p90: 3, p99: 3, max: 3, mean: 2 }
 * ```
 */
export interface HistogramSummary {
  count: number
  p50: number
  p90: number
  p99: number
  max: number
  mean: number
}

/**
 * A latency histogram in milliseconds. Memory is fixed (≈1,100 counters) whatever the number of
 * samples; `record` is O(1). Percentiles are nearest-rank and within 2 % (relative) of the exact
 * value for samples from 0.001 ms to 1 h; samples below 0.001 ms are reported as below 0.001 ms,
 * samples above 1 h as at least 1 h. `count`, `max` and `mean` are exact.
 *
 * @example
 * ```ts
 * const h = new Histogram()
 * for (const ms of [1, 2, 3, 4, 100]) h.record(ms)
 * h.percentile(0.5) // ≈ 3
 * h.summary() // { count: 5, p50: ≈3, p90: 100, p99: 100, max: 100, mean: 22 }
 * ```
 */
export class Histogram {
  // Float64 rather than Uint32: counts stay exact up to 2^53 instead of wrapping at 2^32.
  readonly #buckets = new Float64Array(TOP + 1)
  #count = 0
  #sum = 0
  #min = Number.POSITIVE_INFINITY
  #max = 0

  /**
   * Records one sample (milliseconds).
   *
   * @example
   * ```ts
   * h.record(performance.now() - startedAt)
   * h.record(-1) // throws RangeError: Histogram.record: expected a finite duration >= 0 ms, got -1
   * ```
   */
  record(ms: number): void {
    // NaN would silently poison the mean, and a negative duration means the caller's clock is wrong.
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`Histogram.record: expected a finite duration >= 0 ms, got ${String(ms)}`)
    }
    this.#buckets[bucketOf(ms)]! += 1
    this.#count += 1
    this.#sum += ms
    if (ms < this.#min) this.#min = ms
    if (ms > this.#max) this.#max = ms
  }

  /**
   * The nearest-rank percentile for a quantile `q` in [0, 1] (0.99, not 99); 0 when empty.
   * `percentile(0)` is the exact minimum and `percentile(1)` the exact maximum.
   *
   * @example
   * ```ts
   * h.percentile(0.99)
   * h.percentile(99) // throws RangeError: Histogram.percentile: expected a quantile in [0, 1], got 99
   * ```
   */
  percentile(q: number): number {
    if (!(q >= 0 && q <= 1)) throw new RangeError(`Histogram.percentile: expected a quantile in [0, 1], got ${String(q)}`)
    if (this.#count === 0) return 0
    // Nearest rank is ceil(q·n); the tiny relative slack keeps 0.9·10 = 9.000000000000002 at rank 9.
    const rank = Math.min(this.#count, Math.max(1, Math.ceil(q * this.#count * (1 - 1e-12))))
    // The extreme ranks are known exactly: no need to approximate them by a bucket.
    if (rank === 1) return this.#min
    if (rank === this.#count) return this.#max
    let seen = 0
    let bucket = 0
    for (; bucket < TOP; bucket += 1) {
      seen += this.#buckets[bucket]!
      if (seen >= rank) break
    }
    // The exact sample lies in this bucket and in [min, max]: clamping only moves the answer closer.
    return Math.min(this.#max, Math.max(this.#min, representative(bucket)))
  }

  /**
   * Number of samples recorded.
   *
   * @example
   * ```ts
   * new Histogram().count // 0
   * ```
   */
  get count(): number {
    return this.#count
  }

  /**
   * Largest sample (exact); 0 when empty.
   *
   * @example
   * ```ts
   * h.max
   * ```
   */
  get max(): number {
    return this.#max
  }

  /**
   * Arithmetic mean of the samples (exact up to floating-point summation); 0 when empty.
   *
   * @example
   * ```ts
   * h.mean
   * ```
   */
  get mean(): number {
    return this.#count === 0 ? 0 : this.#sum / this.#count
  }

  /**
   * Forgets every sample.
   *
   * @example
   * ```ts
   * h.reset() // h.count === 0
   * ```
   */
  reset(): void {
    this.#buckets.fill(0)
    this.#count = 0
    this.#sum = 0
    this.#min = Number.POSITIVE_INFINITY
    this.#max = 0
  }

  /**
   * Count, p50/p90/p99, max and mean, in milliseconds.
   *
   * @example
   * ```ts
   * pool.stats().callDurationMs // h.summary()
   * ```
   */
  summary(): HistogramSummary {
    return {
      count: this.count, p50: this.percentile(0.5), p90: this.percentile(0.9), p99: this.percentile(0.99),
      max: this.max, mean: this.mean
    }
  }
}

/**
 * Fraction of worker-time spent busy since creation (or the last `reset`), from busy/idle edges.
 * Repeated edges are ignored (`busy` on a busy worker keeps its first start). The clock is injected
 * so that tests need no sleeps; any monotonic millisecond clock works.
 *
 * @example
 * ```ts
 * const u = new Utilization(() => performance.now())
 * u.busy("w1") // a call was dispatched to w1
 * u.idle("w1") // its result came back
 * u.ratio(4) // busy time / (4 workers × elapsed time), in [0, 1]
 * ```
 */
export class Utilization {
  readonly #now: () => number
  /** Worker (any key: an id, or the worker itself) → when its current busy period started. */
  readonly #busySince = new Map<unknown, number>()
  #startedAt: number
  /** Busy time of finished busy periods since `#startedAt`. */
  #busyMs = 0

  /**
   * @example
   * ```ts
   * let t = 0
   * const u = new Utilization(() => t)
   * ```
   */
  constructor(now: () => number) {
    this.#now = now
    this.#startedAt = now()
  }

  /**
   * A worker started serving a call.
   *
   * @example
   * ```ts
   * u.busy("w1")
   * ```
   */
  busy(workerId: unknown): void {
    if (!this.#busySince.has(workerId)) this.#busySince.set(workerId, this.#now())
  }

  /**
   * A worker stopped serving (its call settled, or it died while busy).
   *
   * @example
   * ```ts
   * u.idle("w1")
   * ```
   */
  idle(workerId: unknown): void {
    const since = this.#busySince.get(workerId)
    if (since === undefined) return
    this.#busySince.delete(workerId)
    this.#busyMs += this.#now() - since
  }

  /**
   * Busy time ÷ (`workers` × elapsed time), clamped to [0, 1] (the worker count can change over time,
   * e.g. with overflow workers, so the raw quotient may exceed 1). 0 before any time has elapsed.
   *
   * @example
   * ```ts
   * u.ratio(pool.size) // 0.75: three quarters of the worker-time was spent serving calls
   * ```
   */
  ratio(workers: number): number {
    if (!(workers >= 0)) throw new RangeError(`Utilization.ratio: expected a worker count >= 0, got ${String(workers)}`)
    const now = this.#now()
    const elapsed = now - this.#startedAt
    if (workers === 0 || elapsed <= 0) return 0
    let busy = this.#busyMs
    for (const since of this.#busySince.values()) busy += now - since
    return Math.min(1, Math.max(0, busy / (workers * elapsed)))
  }

  /**
   * Starts a new measurement window now; workers busy right now count as busy from now on.
   *
   * @example
   * ```ts
   * u.reset()
   * ```
   */
  reset(): void {
    const now = this.#now()
    this.#startedAt = now
    this.#busyMs = 0
    for (const id of this.#busySince.keys()) this.#busySince.set(id, now)
  }
}
