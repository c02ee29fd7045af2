// Every pool timer follows Effect's Clock: under TestClock a pool of fake workers times out,
// retires and recycles exactly when the test advances the clock, and never before.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { CallTimeoutError, CheckoutTimeoutError, WorkerCrashedError } from "../../src/errors.ts"
import { acquirePool } from "../../src/effect/index.ts"
import type { PoolOptions } from "../../src/pool/options.ts"
import { fakeWorker } from "../../src/testing/index.ts"
import type { FakeWorkerOptions } from "../../src/testing/index.ts"
import { advanceUntil, track, turns, until } from "./harness.ts"

const handlers: FakeWorkerOptions["handlers"] = { ok: () => "ok" }

const start = (fake: ReturnType<typeof fakeWorker>, options: Partial<PoolOptions> = {}) =>
  acquirePool({ worker: { module: "fake", prefetch: 0 }, size: 1, heartbeat: false, spawner: fake, ...options })

/** Closes `pool`, advancing the clock through any grace a wedged worker needs. */
const close = (pool: { close(): Promise<void> }) => advanceUntil(track(pool.close()), 1_000)

describe("pool timers under TestClock", () => {
  it.effect("a call timeout fires only once the clock reaches it, and its cancel grace then kills the wedged worker", () =>
    Effect.gen(function*() {
      const fake = fakeWorker({ handlers, hangOn: ["stuck"] })
      const pool = yield* start(fake, { cancelGraceMs: 500 })
      const call = track(pool.call("stuck", {}, { timeoutMs: 1_000 }))
      yield* turns()
      yield* TestClock.adjust(999)
      yield* turns()
      expect(call.settled).toBe(false)
      // The timeout cancels the call; a wedged worker ignores the cancel, so the call settles only
      // once the cancel grace has run out and its worker is killed.
      yield* TestClock.adjust(1)
      const wedged = fake.processes[0]!
      yield* TestClock.adjust(499)
      yield* turns()
      expect(wedged.alive).toBe(true)
      expect(call.settled).toBe(false)
      yield* TestClock.adjust(1)
      yield* until(() => !wedged.alive, "killed")
      expect(wedged.exit).toEqual({ code: null, signal: "SIGKILL" })
      yield* until(() => call.settled, "timed out")
      expect(call.error).toBeInstanceOf(CallTimeoutError)
      expect(call.error).toMatchObject({ ended: "worker-killed" })
      // Restarted after its backoff, also on the test clock.
      yield* TestClock.adjust(1_000)
      expect(yield* Effect.promise(() => pool.call("ok"))).toBe("ok")
      expect(fake.processes).toHaveLength(2)
      yield* close(pool)
    }))

  it.effect("a checkout timeout fires only once the clock reaches it", () =>
    Effect.gen(function*() {
      const fake = fakeWorker({ handlers, hangOn: ["stuck"] })
      const pool = yield* start(fake, { checkoutTimeoutMs: 2_000, shutdown: { graceMs: 100, killAfterMs: 100 } })
      void pool.call("stuck").catch(() => {})
      const waiting = track(pool.call("ok"))
      yield* turns()
      yield* TestClock.adjust(1_999)
      yield* turns()
      expect(waiting.settled).toBe(false)
      expect(pool.snapshot().queued).toBe(1)
      yield* TestClock.adjust(1)
      yield* until(() => waiting.settled, "timed out")
      expect(waiting.error).toBeInstanceOf(CheckoutTimeoutError)
      expect(pool.snapshot().queued).toBe(0)
      yield* close(pool)
      expect(fake.alive).toHaveLength(0)
    }))

  it.effect("an idle overflow worker is retired when the clock reaches idleTimeoutMs, not before", () =>
    Effect.gen(function*() {
      const release: Array<() => void> = []
      const fake = fakeWorker({ handlers: { slow: () => new Promise<string>((resolve) => release.push(() => resolve("done"))) } })
      const pool = yield* start(fake, { overflow: 1, idleTimeoutMs: 5_000 })
      const calls = [track(pool.call("slow")), track(pool.call("slow"))]
      yield* until(() => release.length === 2, "running both calls (one on an overflow worker)")
      for (const r of release) r()
      yield* until(() => calls.every((c) => c.settled), "answered")
      expect(fake.alive).toHaveLength(2)
      yield* TestClock.adjust(4_999)
      yield* turns()
      expect(fake.alive).toHaveLength(2)
      yield* TestClock.adjust(1)
      yield* until(() => fake.alive.length === 1, "retired")
      expect(fake.processes[1]!.exit).toEqual({ code: 0, signal: null })
      yield* until(() => pool.snapshot().workers.length === 1, "removed from the snapshot")
      expect(pool.snapshot().workers.map((w) => w.id)).toEqual(["w1"])
      yield* close(pool)
    }))

  it.effect("a worker older than workerTtlMs is recycled by the maintenance sweep on the test clock", () =>
    Effect.gen(function*() {
      const fake = fakeWorker({ handlers })
      const pool = yield* start(fake, { workerTtlMs: 60_000, rssCheckIntervalMs: 1_000 })
      expect(yield* Effect.promise(() => pool.call("ok"))).toBe("ok")
      yield* TestClock.adjust(59_000)
      yield* turns()
      expect(fake.processes).toHaveLength(1)
      yield* TestClock.adjust(1_000)
      yield* until(() => fake.processes.length === 2 && fake.alive.length === 1, "recycled")
      expect(fake.processes[0]!.exit).toEqual({ code: 0, signal: null })
      expect(yield* Effect.promise(() => pool.call("ok"))).toBe("ok")
      yield* close(pool)
    }))

  it.effect("missed heartbeats kill a wedged worker once the clock has run through them", () =>
    Effect.gen(function*() {
      const fake = fakeWorker({ handlers, hangOn: ["stuck"] })
      const pool = yield* start(fake, { heartbeat: { intervalMs: 1_000, misses: 2 } })
      const call = track(pool.call("stuck"))
      yield* turns()
      yield* TestClock.adjust(1_000)
      yield* turns()
      expect(call.settled).toBe(false)
      yield* advanceUntil(call, 1_000, 5)
      expect(call.error).toBeInstanceOf(WorkerCrashedError)
      expect((call.error as WorkerCrashedError).reason).toBe("heartbeat")
      yield* close(pool)
    }))

  it.effect("a slow import (initDelayMs) delays the start by exactly that much clock time", () =>
    Effect.gen(function*() {
      const fake = fakeWorker({ handlers, initDelayMs: 5_000 })
      const starting = yield* Effect.forkChild(start(fake))
      yield* turns()
      yield* TestClock.adjust(4_999)
      yield* turns()
      expect(starting.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust(1)
      const pool = yield* Fiber.join(starting)
      expect(yield* Effect.promise(() => pool.call("ok"))).toBe("ok")
      yield* close(pool)
    }))

  it.effect("an import slower than initTimeoutMs fails the start with init_timeout", () =>
    Effect.gen(function*() {
      const fake = fakeWorker({ handlers, initDelayMs: 20_000 })
      const starting = yield* Effect.forkChild(start(fake, { initTimeoutMs: 10_000 }))
      yield* turns()
      yield* TestClock.adjust(10_000)
      const exit = yield* Fiber.await(starting)
      expect(Exit.isFailure(exit)).toBe(true)
      const error = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
      expect(error?._tag === "Fail" ? (error.error as WorkerCrashedError).reason : error).toBe("init_timeout")
      expect(fake.alive).toHaveLength(0)
    }))
})
