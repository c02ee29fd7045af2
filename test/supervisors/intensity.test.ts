// Restart intensity: OTP's window semantics at the edges, validation, and the Clock wrapper.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { InvalidOptionError } from "../../src/errors.ts"
import { recordRestart, validateIntensity } from "../../src/supervisors/intensity.ts"
import { makeIntensity } from "../../src/supervisors/intensity-tracker.ts"
import type { IntensityOptions } from "../../src/supervisors/intensity.ts"

/** Feeds restart timestamps through the pure core; returns the index of the first one that exceeded, or -1. */
const firstExceeded = (times: ReadonlyArray<number>, options: IntensityOptions): number => {
  let restarts: ReadonlyArray<number> = []
  for (const [i, now] of times.entries()) {
    const verdict = recordRestart(restarts, now, options)
    if (verdict.exceeded) return i
    restarts = verdict.restarts
  }
  return -1
}

describe("recordRestart", () => {
  const options = { maxRestarts: 3, withinMs: 1_000 }

  it("allows N restarts within T and escalates on the N+1-th", () => {
    assert.strictEqual(firstExceeded([0, 1, 2], options), -1)
    assert.strictEqual(firstExceeded([0, 1, 2, 3], options), 3)
  })

  it("counts a restart exactly T ago as inside the window (inclusive, like OTP)", () => {
    assert.strictEqual(firstExceeded([0, 400, 800, 1_000], options), 3)
  })

  it("forgets a restart T + 1 ms ago", () => {
    assert.strictEqual(firstExceeded([0, 400, 800, 1_001], options), -1)
  })

  it("lets restarts spaced just over T pass forever, even with maxRestarts 1", () => {
    const times = Array.from({ length: 1_000 }, (_, i) => i * 1_001)
    assert.strictEqual(firstExceeded(times, { maxRestarts: 1, withinMs: 1_000 }), -1)
  })

  it("escalates on the second restart spaced exactly T with maxRestarts 1", () => {
    assert.strictEqual(firstExceeded([0, 1_000], { maxRestarts: 1, withinMs: 1_000 }), 1)
  })

  it("escalates on the first restart with maxRestarts 0", () => {
    assert.strictEqual(firstExceeded([5], { maxRestarts: 0, withinMs: 1_000 }), 0)
  })

  it("keeps only the restarts still in the window, newest first", () => {
    assert.deepStrictEqual(recordRestart([900, 500, 0], 1_200, options).restarts, [1_200, 900, 500])
  })
})

describe("validateIntensity", () => {
  const rejects = (options: IntensityOptions, option: string) => {
    try {
      validateIntensity(options)
      assert.fail("expected InvalidOptionError")
    } catch (error) {
      assert.instanceOf(error, InvalidOptionError)
      assert.strictEqual(error.option, option)
      assert.include(error.message, option)
    }
  }

  it("rejects negative, fractional and non-finite maxRestarts", () => {
    rejects({ maxRestarts: -1, withinMs: 1_000 }, "maxRestarts")
    rejects({ maxRestarts: 1.5, withinMs: 1_000 }, "maxRestarts")
    rejects({ maxRestarts: Number.NaN, withinMs: 1_000 }, "maxRestarts")
  })

  it("rejects a zero, negative or infinite window, naming the value", () => {
    rejects({ maxRestarts: 1, withinMs: 0 }, "withinMs")
    rejects({ maxRestarts: 1, withinMs: -5 }, "withinMs")
    rejects({ maxRestarts: 1, withinMs: Number.POSITIVE_INFINITY }, "withinMs")
    try {
      validateIntensity({ maxRestarts: 1, withinMs: -5 })
    } catch (error) {
      assert.include((error as Error).message, "-5")
    }
  })

  it("accepts maxRestarts 0", () => {
    assert.deepStrictEqual(validateIntensity({ maxRestarts: 0, withinMs: 1 }), { maxRestarts: 0, withinMs: 1 })
  })
})

describe("makeIntensity", () => {
  it.effect("reads the time from Clock, so TestClock drives the window", () =>
    Effect.gen(function*() {
      const intensity = yield* makeIntensity({ maxRestarts: 2, withinMs: 1_000 })
      assert.isFalse((yield* intensity.record).exceeded)
      yield* TestClock.adjust(500)
      assert.isFalse((yield* intensity.record).exceeded)
      yield* TestClock.adjust(501)
      // The first restart (t=0) left the window at t=1001.
      assert.deepStrictEqual(yield* intensity.current, [500])
      assert.isFalse((yield* intensity.record).exceeded)
      assert.isTrue((yield* intensity.record).exceeded)
    }))
})
