// The heartbeat's logic against a fake target, in virtual time: when it kills, when it does not,
// how a pong resets the count, when it ends on its own, and option validation.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { InvalidOptionError } from "../../src/errors.ts"
import { heartbeat } from "../../src/supervisors/heartbeat.ts"
import { DEFAULT_HEARTBEAT, resolveHeartbeat, validateHeartbeat } from "../../src/supervisors/heartbeat-options.ts"
import type { HeartbeatOptions } from "../../src/supervisors/heartbeat-options.ts"

type Answer = "pong" | "silent" | "gone"

/** A target whose n-th ping gets `script[n]` (then `rest`); records ping and kill times. */
const fakeTarget = (script: ReadonlyArray<Answer>, rest: Answer = "pong") => {
  const fake = {
    pings: 0,
    kills: [] as Array<string>,
    alive: true,
    /** Resolvers of pings answered later by the test. */
    held: [] as Array<() => void>,
    target: {
      ping: (): Promise<void> => {
        const answer = script[fake.pings++] ?? rest
        if (answer === "pong") return Promise.resolve()
        if (answer === "gone") return Promise.reject(new Error("exited"))
        return new Promise<void>((resolve) => fake.held.push(resolve))
      },
      kill: (reason: string): void => {
        fake.kills.push(reason)
      },
      isAlive: (): boolean => fake.alive
    }
  }
  return fake
}

const INTERVAL = 1_000
const OPTIONS: HeartbeatOptions = { intervalMs: INTERVAL, misses: 3 }

// Lets the forked heartbeat run whatever is due at the current virtual time.
const settle = Effect.gen(function*() {
  for (let i = 0; i < 5; i++) yield* Effect.yieldNow
})

const advance = (ms: number) => Effect.andThen(TestClock.adjust(ms), settle)

describe("heartbeat", () => {
  it.effect("a target that always answers is never killed", () =>
    Effect.gen(function*() {
      const fake = fakeTarget([])
      const fiber = yield* Effect.forkChild(heartbeat(fake.target, OPTIONS))
      yield* settle
      assert.strictEqual(fake.pings, 1, "pings at once")
      yield* advance(100 * INTERVAL)
      assert.strictEqual(fake.pings, 101, "then every interval")
      assert.deepStrictEqual(fake.kills, [])
      assert.isUndefined(fiber.pollUnsafe())
      yield* Fiber.interrupt(fiber)
    }))

  it.effect("exactly `misses` consecutive misses kill at misses × interval after the first unanswered ping", () =>
    Effect.gen(function*() {
      const fake = fakeTarget([], "silent")
      const fiber = yield* Effect.forkChild(heartbeat(fake.target, OPTIONS))
      yield* settle
      yield* advance(3 * INTERVAL - 1)
      assert.strictEqual(fake.pings, 3)
      assert.deepStrictEqual(fake.kills, [])
      yield* advance(1)
      assert.deepStrictEqual(fake.kills, ["no pong to 3 heartbeats (every 1000 ms)"])
      assert.deepStrictEqual(yield* Fiber.join(fiber), { _tag: "Killed", reason: "no pong to 3 heartbeats (every 1000 ms)" })
      yield* advance(10 * INTERVAL)
      assert.strictEqual(fake.pings, 3, "no ping after the kill")
      assert.strictEqual(fake.kills.length, 1)
    }))

  it.effect("a pong between misses resets the count", () =>
    Effect.gen(function*() {
      // Pings at 0, 1, 2, 3, 4, 5, 6 s: two misses, a pong, then silence.
      const fake = fakeTarget(["silent", "silent", "pong"], "silent")
      const fiber = yield* Effect.forkChild(heartbeat(fake.target, OPTIONS))
      yield* settle
      yield* advance(6 * INTERVAL - 1)
      assert.deepStrictEqual(fake.kills, [], "2 misses, pong, 2 misses: never 3 in a row yet")
      yield* advance(1)
      assert.strictEqual(fake.kills.length, 1, "the third miss after the pong (ping at 5 s) times out at 6 s")
      assert.strictEqual((yield* Fiber.join(fiber))._tag, "Killed")
    }))

  it.effect("a pong arriving late but within the interval counts", () =>
    Effect.gen(function*() {
      const fake = fakeTarget([], "silent")
      const fiber = yield* Effect.forkChild(heartbeat(fake.target, OPTIONS))
      yield* settle
      // Answer every ping 999 ms after it was sent, for 10 rounds.
      for (let round = 0; round < 10; round++) {
        yield* advance(INTERVAL - 1)
        fake.held.shift()?.()
        yield* advance(1)
      }
      assert.deepStrictEqual(fake.kills, [])
      assert.strictEqual(fake.pings, 11)
      yield* Fiber.interrupt(fiber)
    }))

  it.effect("misses: 1 kills one interval after the first unanswered ping", () =>
    Effect.gen(function*() {
      const fake = fakeTarget(["pong", "silent"])
      const fiber = yield* Effect.forkChild(heartbeat(fake.target, { intervalMs: 250, misses: 1 }))
      yield* advance(499)
      assert.deepStrictEqual(fake.kills, [])
      yield* advance(1)
      assert.deepStrictEqual(fake.kills, ["no pong to 1 heartbeat (every 250 ms)"])
      assert.strictEqual((yield* Fiber.join(fiber))._tag, "Killed")
    }))

  it.effect("ends without a kill once the target is not alive, or when a ping rejects", () =>
    Effect.gen(function*() {
      const stopped = fakeTarget([], "silent")
      const a = yield* Effect.forkChild(heartbeat(stopped.target, OPTIONS))
      yield* advance(INTERVAL)
      stopped.alive = false
      yield* advance(5 * INTERVAL)
      assert.deepStrictEqual(yield* Fiber.join(a), { _tag: "Gone" })
      assert.deepStrictEqual(stopped.kills, [])

      const exited = fakeTarget(["pong", "silent", "gone"])
      const b = yield* Effect.forkChild(heartbeat(exited.target, OPTIONS))
      yield* advance(5 * INTERVAL)
      assert.deepStrictEqual(yield* Fiber.join(b), { _tag: "Gone" })
      assert.strictEqual(exited.pings, 3)
      assert.deepStrictEqual(exited.kills, [])
    }))

  it.effect("interrupting it (the worker's scope closing) stops the pings", () =>
    Effect.gen(function*() {
      const fake = fakeTarget([])
      const fiber = yield* Effect.forkChild(heartbeat(fake.target, OPTIONS))
      yield* advance(2 * INTERVAL)
      yield* Fiber.interrupt(fiber)
      const pings = fake.pings
      yield* advance(10 * INTERVAL)
      assert.strictEqual(fake.pings, pings)
    }))
})

describe("heartbeat options", () => {
  const rejects = (run: () => unknown, option: string, shown: string) => {
    try {
      run()
      assert.fail("expected InvalidOptionError")
    } catch (error) {
      assert.instanceOf(error, InvalidOptionError)
      assert.strictEqual(error.option, option)
      assert.include(error.message, option)
      assert.include(error.message, shown)
    }
  }

  it("rejects a non-positive, fractional or non-numeric intervalMs", () => {
    for (const bad of [0, -5, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "100"]) {
      rejects(() => validateHeartbeat({ intervalMs: bad as number, misses: 3 }), "heartbeat.intervalMs", String(bad))
    }
  })

  it("rejects misses below 1 or fractional", () => {
    for (const bad of [0, -1, 2.5]) {
      rejects(() => validateHeartbeat({ intervalMs: 100, misses: bad }), "heartbeat.misses", String(bad))
    }
  })

  it("rejects an intervalMs above 2^31 - 1 (a Node timer would fire at once)", () => {
    rejects(() => validateHeartbeat({ intervalMs: 2 ** 31, misses: 3 }), "heartbeat.intervalMs", "at most 2147483647 ms (~24.8 days), got 2147483648")
    assert.strictEqual(validateHeartbeat({ intervalMs: 2 ** 31 - 1, misses: 3 }).intervalMs, 2 ** 31 - 1)
  })

  it("resolveHeartbeat rejects unknown fields, suggesting a close one", () => {
    rejects(() => resolveHeartbeat({ misess: 2 } as never), "heartbeat.misess", "unknown option heartbeat.misess; did you mean heartbeat.misses?")
    rejects(() => resolveHeartbeat({ timeoutMs: 2 } as never), "heartbeat.timeoutMs", "unknown option heartbeat.timeoutMs; valid options are intervalMs, misses")
  })

  it("heartbeat() validates eagerly", () => {
    rejects(() => heartbeat({ ping: () => Promise.resolve(), kill: () => {} }, { intervalMs: 100, misses: 0 }), "heartbeat.misses", "0")
  })

  it("resolveHeartbeat: defaults, overrides, false disables, junk is rejected", () => {
    assert.deepStrictEqual(resolveHeartbeat(undefined), { intervalMs: 5_000, misses: 3 })
    assert.deepStrictEqual(resolveHeartbeat(undefined), DEFAULT_HEARTBEAT)
    assert.deepStrictEqual(resolveHeartbeat({}), DEFAULT_HEARTBEAT)
    assert.deepStrictEqual(resolveHeartbeat({ misses: 5 }), { intervalMs: 5_000, misses: 5 })
    assert.deepStrictEqual(resolveHeartbeat({ intervalMs: 250 }), { intervalMs: 250, misses: 3 })
    assert.isUndefined(resolveHeartbeat(false))
    rejects(() => resolveHeartbeat(true as never), "heartbeat", "true")
    rejects(() => resolveHeartbeat(null as never), "heartbeat", "null")
    rejects(() => resolveHeartbeat({ intervalMs: -1 }), "heartbeat.intervalMs", "-1")
  })
})
