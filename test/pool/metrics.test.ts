import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Histogram, Utilization } from "../../src/pool/metrics.ts"

const HOUR_MS = 3_600_000
const filled = (samples: Iterable<number>): Histogram => {
  const h = new Histogram()
  for (const ms of samples) h.record(ms)
  return h
}

/** Exact nearest-rank percentile for q = k/1000, in integer arithmetic so that the reference has no rounding. */
const exactPercentile = (sorted: ReadonlyArray<number>, k: number): number => {
  const rank = Math.max(1, Math.floor((k * sorted.length + 999) / 1000))
  return sorted[rank - 1]!
}

const withinTwoPercent = (reported: number, exact: number): boolean =>
  (exact < 0.001 && reported < 0.001) || Math.abs(reported - exact) <= 0.02 * exact

/** Durations spread over every magnitude from 1 ns to 1 h, plus fast-check's own (edge-biased) doubles. */
const duration = fc.oneof(
  fc.double({ min: -9, max: Math.log10(HOUR_MS), noNaN: true }).map((e) => Math.min(HOUR_MS, 10 ** e)),
  fc.double({ min: 0, max: HOUR_MS, noNaN: true }),
  fc.constantFrom(0, 0.001, 1, 10, 100, HOUR_MS)
)

describe("Histogram", () => {
  it("is empty at first: percentiles, count, max and mean are 0", () => {
    const h = new Histogram()
    expect([h.percentile(0), h.percentile(0.5), h.percentile(1), h.count, h.max, h.mean]).toEqual([0, 0, 0, 0, 0, 0])
    expect(h.summary()).toEqual({ count: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 })
  })

  it("property: every percentile is within 2 % of the exact nearest-rank percentile", () => {
    fc.assert(
      fc.property(fc.array(duration, { minLength: 1, maxLength: 300 }), fc.array(fc.integer({ min: 0, max: 1000 })), (samples, ks) => {
        const h = filled(samples)
        const sorted = [...samples].sort((a, b) => a - b)
        for (const k of [0, 500, 900, 990, 1000, ...ks]) {
          const reported = h.percentile(k / 1000)
          const exact = exactPercentile(sorted, k)
          if (!withinTwoPercent(reported, exact)) return false
        }
        const s = h.summary()
        return (
          withinTwoPercent(s.p50, exactPercentile(sorted, 500)) &&
          withinTwoPercent(s.p90, exactPercentile(sorted, 900)) &&
          withinTwoPercent(s.p99, exactPercentile(sorted, 990)) &&
          s.count === samples.length &&
          s.max === sorted.at(-1) &&
          h.percentile(0) === sorted[0] &&
          h.percentile(1) === sorted.at(-1)
        )
      }),
      { numRuns: 500 }
    )
  })

  it("count, max and mean are exact", () => {
    const h = filled([1, 2, 3, 4, 100])
    expect([h.count, h.max, h.mean]).toEqual([5, 100, 22])
    expect(h.summary()).toMatchObject({ count: 5, p90: 100, p99: 100, max: 100, mean: 22 })
    expect(h.summary().p50).toBeCloseTo(3, 1)
  })

  it("uses nearest rank without floating-point drift (0.9 × 10 is rank 9)", () => {
    const h = filled([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect(h.percentile(0.9)).toBeCloseTo(9, 0)
    expect(h.percentile(0.9)).toBeLessThan(9.5)
  })

  it("clamps out-of-range values into the edge buckets, keeping max and mean exact", () => {
    const h = filled([1e-7, 5e-4, 10 * HOUR_MS, 20 * HOUR_MS])
    expect(h.percentile(0.25)).toBeLessThan(0.001)
    expect(h.percentile(0.5)).toBeLessThan(0.001)
    expect(h.percentile(0.75)).toBeGreaterThanOrEqual(HOUR_MS)
    expect(h.percentile(1)).toBe(20 * HOUR_MS)
    expect(h.max).toBe(20 * HOUR_MS)
    expect(h.mean).toBeCloseTo((1e-7 + 5e-4 + 30 * HOUR_MS) / 4)
  })

  it.each([-1, -0.0001, Number.NaN, Number.POSITIVE_INFINITY])("record(%s) throws a RangeError naming the value", (ms) => {
    const h = new Histogram()
    expect(() => h.record(ms)).toThrow(RangeError)
    expect(() => h.record(ms)).toThrow(String(ms))
    expect(h.count).toBe(0)
  })

  it.each([-0.1, 1.5, 99, Number.NaN])("percentile(%s) throws a RangeError", (q) => {
    expect(() => filled([1]).percentile(q)).toThrow(RangeError)
  })

  it("has bounded memory and reset forgets everything", () => {
    const h = new Histogram()
    for (let i = 0; i < 200_000; i += 1) h.record((i % 1000) + 0.5)
    expect(h.count).toBe(200_000)
    expect(h.percentile(0.5)).toBeGreaterThan(499.5 * 0.98)
    expect(h.percentile(0.5)).toBeLessThan(499.5 * 1.02)
    h.reset()
    expect(h.summary()).toEqual({ count: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 })
    h.record(7)
    expect(h.summary()).toEqual({ count: 1, p50: 7, p90: 7, p99: 7, max: 7, mean: 7 })
  })
})

describe("Utilization", () => {
  const clock = () => {
    const c = { t: 1000, now: () => c.t }
    return c
  }

  it("is 0 before any time passes and with no busy edge", () => {
    const c = clock()
    const u = new Utilization(c.now)
    expect(u.ratio(2)).toBe(0)
    c.t += 100
    expect(u.ratio(2)).toBe(0)
  })

  it("is busy worker-time over workers × elapsed, counting open busy periods up to now", () => {
    const c = clock()
    const u = new Utilization(c.now)
    u.busy("w1")
    c.t += 50
    u.idle("w1") // w1: 50 ms busy
    u.busy("w2")
    c.t += 50 // w2 still busy: 50 ms so far
    expect(u.ratio(2)).toBeCloseTo(100 / (2 * 100))
    expect(u.ratio(1)).toBe(1)
    c.t += 100
    expect(u.ratio(2)).toBeCloseTo(200 / (2 * 200))
    expect(u.ratio(4)).toBeCloseTo(200 / (4 * 200))
  })

  it("ignores repeated edges and idle without busy", () => {
    const c = clock()
    const u = new Utilization(c.now)
    u.idle("w1")
    u.busy("w1")
    c.t += 10
    u.busy("w1") // keeps the first start
    c.t += 10
    u.idle("w1")
    u.idle("w1")
    c.t += 20
    expect(u.ratio(1)).toBeCloseTo(20 / 40)
  })

  it("clamps to 1 when more workers were busy than counted", () => {
    const c = clock()
    const u = new Utilization(c.now)
    for (const id of ["w1", "w2", "w3"]) u.busy(id)
    c.t += 10
    expect(u.ratio(2)).toBe(1)
    expect(u.ratio(0)).toBe(0)
    expect(() => u.ratio(-1)).toThrow(RangeError)
  })

  it("reset starts a new window; workers busy at reset count from then", () => {
    const c = clock()
    const u = new Utilization(c.now)
    u.busy("w1")
    u.busy("w2")
    c.t += 100
    u.idle("w2")
    u.reset()
    expect(u.ratio(2)).toBe(0)
    c.t += 40 // w1 busy the whole window, w2 idle
    expect(u.ratio(2)).toBeCloseTo(40 / 80)
    u.idle("w1")
    c.t += 40
    expect(u.ratio(2)).toBeCloseTo(40 / 160)
  })
})
