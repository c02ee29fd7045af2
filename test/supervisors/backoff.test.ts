// Backoff: exact sequences with jitter 0, jitter bounds, the healthy-period reset, validation,
// the Random-driven Effect and Schedule forms, and the per-child restartDelay (healthy exits).
import { assert, describe, it } from "@effect/vitest"
import { Clock, Duration, Effect, Fiber, Random, Schedule } from "effect"
import { TestClock } from "effect/testing"
import { InvalidOptionError } from "../../src/errors.ts"
import { INITIAL_BACKOFF, nextBackoff, resolveBackoff } from "../../src/supervisors/backoff.ts"
import { backoffSchedule, nextBackoffEffect } from "../../src/supervisors/backoff-schedule.ts"
import type { BackoffOptions, BackoffState, ResolvedBackoff } from "../../src/supervisors/backoff.ts"
import { newSlot, restartDelay } from "../../src/supervisors/slot.ts"
import type { ExitReason } from "../../src/supervisors/slot.ts"

/** Delays for consecutive crashes, each after `uptimeMs` of running. */
const sequence = (options: ResolvedBackoff, uptimes: ReadonlyArray<number>, random = 0.5): Array<number> => {
  let state: BackoffState = INITIAL_BACKOFF
  return uptimes.map((uptime) => {
    const next = nextBackoff(state, uptime, random, options)
    state = next.state
    return next.delayMs
  })
}

const fixedRandom = (value: number): Random.Random => ({ nextDoubleUnsafe: () => value, nextIntUnsafe: () => 0 })

describe("nextBackoff", () => {
  const options = resolveBackoff({ initialMs: 10, maxMs: 5_000, jitter: 0 })

  it("doubles from initialMs and caps at maxMs", () => {
    assert.deepStrictEqual(sequence(options, Array(12).fill(0)), [10, 20, 40, 80, 160, 320, 640, 1_280, 2_560, 5_000, 5_000, 5_000])
  })

  it("honours a custom factor", () => {
    const triple = resolveBackoff({ initialMs: 1, maxMs: 100, factor: 3, jitter: 0 })
    assert.deepStrictEqual(sequence(triple, [0, 0, 0, 0, 0, 0]), [1, 3, 9, 27, 81, 100])
  })

  it("starts over from initialMs after a healthy period of resetAfterMs", () => {
    const withReset = resolveBackoff({ initialMs: 10, maxMs: 5_000, jitter: 0, resetAfterMs: 1_000 })
    assert.deepStrictEqual(sequence(withReset, [0, 0, 0, 999, 1_000, 0, 5_000, 0]), [10, 20, 40, 80, 10, 20, 10, 20])
  })

  it("spreads by ±jitter and stays within [base·(1-j), base·(1+j)]", () => {
    const jittered = resolveBackoff({ initialMs: 100, maxMs: 5_000, jitter: 0.2 })
    assert.deepStrictEqual(sequence(jittered, [0], 0), [80])
    assert.deepStrictEqual(sequence(jittered, [0], 0.5), [100])
    assert.deepStrictEqual(sequence(jittered, [0], 0.999_999), [120])
  })

  it("never exceeds maxMs, even with jitter", () => {
    const capped = resolveBackoff({ initialMs: 1_000, maxMs: 1_000, jitter: 1 })
    assert.deepStrictEqual(sequence(capped, [0, 0], 0.999), [1_000, 1_000])
    assert.deepStrictEqual(sequence(capped, [0], 0), [0])
  })

  it("fills in the documented defaults", () => {
    assert.deepStrictEqual(resolveBackoff({ initialMs: 10, maxMs: 5_000 }), { initialMs: 10, maxMs: 5_000, factor: 2, jitter: 0.2, resetAfterMs: 30_000 })
  })
})

describe("resolveBackoff validation", () => {
  const cases: ReadonlyArray<[BackoffOptions, string]> = [
    [{ initialMs: -1, maxMs: 10 }, "initialMs"],
    [{ initialMs: Number.NaN, maxMs: 10 }, "initialMs"],
    [{ initialMs: 10, maxMs: 5 }, "maxMs"],
    [{ initialMs: 10, maxMs: Number.POSITIVE_INFINITY }, "maxMs"],
    [{ initialMs: 10, maxMs: 100, factor: 0.5 }, "factor"],
    [{ initialMs: 10, maxMs: 100, jitter: 1.5 }, "jitter"],
    [{ initialMs: 10, maxMs: 100, jitter: -0.1 }, "jitter"],
    [{ initialMs: 10, maxMs: 100, resetAfterMs: 0 }, "resetAfterMs"]
  ]
  for (const [options, option] of cases) {
    it(`rejects ${option} in ${JSON.stringify(options)}`, () => {
      try {
        resolveBackoff(options)
        assert.fail("expected InvalidOptionError")
      } catch (error) {
        assert.instanceOf(error, InvalidOptionError)
        assert.strictEqual(error.option, option)
        assert.include(error.message, option)
      }
    })
  }

  const thrown = (run: () => unknown): InvalidOptionError => {
    try {
      run()
    } catch (error) {
      assert.instanceOf(error, InvalidOptionError)
      return error
    }
    return assert.fail("expected InvalidOptionError")
  }

  it("refuses delays above 2^31 - 1 ms (a Node timer would fire at once), accepts 2^31 - 1", () => {
    const max = 2 ** 31 - 1
    const initial = thrown(() => resolveBackoff({ initialMs: max + 1, maxMs: max + 1 }))
    assert.strictEqual(initial.option, "initialMs")
    assert.include(initial.message, "at most 2147483647 ms (~24.8 days), got 2147483648")
    assert.strictEqual(thrown(() => resolveBackoff({ initialMs: 10, maxMs: max + 1 })).option, "maxMs")
    assert.strictEqual(resolveBackoff({ initialMs: max, maxMs: max }).maxMs, max)
  })

  it("names options under the given path", () => {
    const error = thrown(() => resolveBackoff({ initialMs: 100, maxMs: 10 }, "restart.backoff"))
    assert.strictEqual(error.option, "restart.backoff.maxMs")
    assert.strictEqual(error.message, "restart.backoff.maxMs must be a finite number >= initialMs (100), got 10")
    assert.strictEqual(thrown(() => resolveBackoff({ initialMs: 1, maxMs: 2, jitter: 2 }, "restart.backoff")).option, "restart.backoff.jitter")
  })

  it("refuses numeric strings that comparisons would coerce", () => {
    assert.strictEqual(thrown(() => resolveBackoff({ initialMs: 1, maxMs: 2, jitter: "0.5" as never })).option, "jitter")
    assert.strictEqual(thrown(() => resolveBackoff({ initialMs: 1, maxMs: 2, resetAfterMs: "100" as never })).option, "resetAfterMs")
  })

  it("accepts resetAfterMs Infinity (never reset)", () => {
    assert.strictEqual(resolveBackoff({ initialMs: 1, maxMs: 2, resetAfterMs: Number.POSITIVE_INFINITY }).resetAfterMs, Number.POSITIVE_INFINITY)
  })
})

describe("Effect forms", () => {
  it.effect("nextBackoffEffect takes its jitter from the Random service", () =>
    Effect.gen(function*() {
      const options = resolveBackoff({ initialMs: 100, maxMs: 5_000, jitter: 0.5 })
      const low = yield* nextBackoffEffect(INITIAL_BACKOFF, 0, options).pipe(Effect.provideService(Random.Random, fixedRandom(0)))
      const high = yield* nextBackoffEffect(low.state, 0, options).pipe(Effect.provideService(Random.Random, fixedRandom(0.75)))
      assert.deepStrictEqual([low.delayMs, high.delayMs], [50, 250])
    }))

  it.effect("is reproducible with a seeded Random", () =>
    Effect.gen(function*() {
      const options = resolveBackoff({ initialMs: 100, maxMs: 5_000 })
      const run = Effect.gen(function*() {
        const a = yield* nextBackoffEffect(INITIAL_BACKOFF, 0, options)
        const b = yield* nextBackoffEffect(a.state, 0, options)
        return [a.delayMs, b.delayMs]
      }).pipe(Random.withSeed("pyvisor"))
      assert.deepStrictEqual(yield* run, yield* run)
    }))

  it.effect("backoffSchedule drives Effect.retry with TestClock and resets after a healthy run", () =>
    Effect.gen(function*() {
      const attempts: Array<number> = []
      // Fails on attempts 1-3 at once; attempt 4 "runs healthy" for 1 s before failing; then succeeds.
      const task = Effect.gen(function*() {
        attempts.push(yield* Clock.currentTimeMillis)
        if (attempts.length === 4) yield* Effect.sleep(1_000)
        if (attempts.length <= 4) return yield* Effect.fail("boom")
        return "ok"
      })
      const schedule = backoffSchedule({ initialMs: 10, maxMs: 1_000, jitter: 0, resetAfterMs: 1_000 })
      const fiber = yield* Effect.forkChild(Effect.retry(task, schedule))
      yield* TestClock.adjust(Duration.seconds(10))
      assert.strictEqual(yield* Fiber.join(fiber), "ok")
      // Delays 10, 20, 40, then the 1 s healthy run resets the series to 10.
      assert.deepStrictEqual(attempts, [0, 10, 30, 70, 1_080])
    }))

  it("backoffSchedule is a Schedule", () => {
    assert.isTrue(Schedule.isSchedule(backoffSchedule({ initialMs: 1, maxMs: 2 })))
  })
})

describe("restartDelay", () => {
  const options = resolveBackoff({ initialMs: 100, maxMs: 10_000, jitter: 0, resetAfterMs: 1_000 })
  const crash: ExitReason = { normal: false, reason: "crash" }
  const healthy: ExitReason = { normal: false, reason: "x", healthy: true }
  const newChild = () => newSlot<never, never>("a", Effect.die("never started"))

  it.effect("unhealthy exits grow the series; a healthy one restarts at once and starts it over", () =>
    Effect.gen(function*() {
      const slot = newChild()
      const delays: Array<number> = []
      for (const reason of [crash, crash, crash, healthy, healthy, crash, { ...crash, healthy: false }]) {
        delays.push(yield* restartDelay(slot, reason, 0, options))
      }
      assert.deepStrictEqual(delays, [100, 200, 400, 0, 0, 100, 200])
      assert.deepStrictEqual(slot.backoff, { attempt: 2 })
    }))

  it.effect("a healthy exit resets the state itself, whatever the uptime", () =>
    Effect.gen(function*() {
      const slot = newChild()
      yield* restartDelay(slot, crash, 0, options)
      yield* restartDelay(slot, crash, 0, options)
      assert.deepStrictEqual(slot.backoff, { attempt: 2 })
      assert.strictEqual(yield* restartDelay(slot, healthy, 10, options), 0)
      assert.deepStrictEqual(slot.backoff, INITIAL_BACKOFF)
    }))

  it.effect("jitter never delays a healthy restart; unhealthy ones still get it", () =>
    Effect.gen(function*() {
      const jittered = resolveBackoff({ initialMs: 100, maxMs: 10_000, jitter: 0.5 })
      const slot = newChild()
      const run = (reason: ExitReason) => restartDelay(slot, reason, 0, jittered).pipe(Effect.provideService(Random.Random, fixedRandom(0.999)))
      assert.deepStrictEqual([yield* run(crash), yield* run(healthy), yield* run(crash)], [150, 0, 150])
    }))

  it.effect("an unhealthy exit after resetAfterMs of uptime starts over too", () =>
    Effect.gen(function*() {
      const slot = newChild()
      const delays: Array<number> = []
      for (const uptime of [0, 0, 999, 1_000, 0]) delays.push(yield* restartDelay(slot, crash, uptime, options))
      assert.deepStrictEqual(delays, [100, 200, 400, 100, 200])
    }))
})
