// The dynamic (simple_one_for_one) supervisor the pool runs on, driven by TestClock only.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { makeDynamic } from "../../src/supervisors/dynamic.ts"
import { SupervisorEscalation } from "../../src/supervisors/supervisor.ts"
import { EXACT_BACKOFF, makeHarness } from "./harness.ts"

const child = (h: Effect.Success<typeof makeHarness>, id: string, restart: "permanent" | "transient" | "temporary" = "permanent") => {
  const { start } = h.spec(id, restart)
  return { start, restart }
}

describe("dynamic supervisor", () => {
  it.effect("restarts only the child that exited, after its own backoff", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const sup = yield* makeDynamic<string>({ id: "pool", backoff: EXACT_BACKOFF })
      yield* sup.startChild("a", child(h, "a"))
      yield* sup.startChild("b", child(h, "b"))
      assert.deepStrictEqual(yield* h.takeLog, ["start a", "start b"])
      yield* h.exit("a")
      assert.deepStrictEqual(yield* h.takeLog, ["stop a"])
      yield* TestClock.adjust(9)
      assert.deepStrictEqual(yield* h.takeLog, [])
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(yield* h.takeLog, ["start a"])
      // The second crash in a row waits twice as long.
      yield* h.exit("a")
      yield* TestClock.adjust(19)
      assert.deepStrictEqual(yield* h.takeLog, ["stop a"])
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(yield* h.takeLog, ["start a"])
      assert.deepStrictEqual(yield* sup.children, ["a", "b"])
    }))

  it.effect("one child's backoff does not delay another's restart", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const sup = yield* makeDynamic<string>({ id: "pool", backoff: { ...EXACT_BACKOFF, initialMs: 100, maxMs: 100 } })
      yield* sup.startChild("a", child(h, "a"))
      yield* sup.startChild("b", child(h, "b"))
      yield* h.takeLog
      yield* h.exit("a")
      yield* TestClock.adjust(50)
      yield* h.exit("b")
      yield* TestClock.adjust(50)
      assert.deepStrictEqual(yield* h.takeLog, ["stop a", "stop b", "start a"])
      yield* TestClock.adjust(50)
      assert.deepStrictEqual(yield* h.takeLog, ["start b"])
    }))

  it.effect("restart types: temporary never comes back, transient only after a crash", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const sup = yield* makeDynamic<string>({ id: "pool", backoff: EXACT_BACKOFF })
      yield* sup.startChild("t", child(h, "t", "temporary"))
      yield* sup.startChild("n", child(h, "n", "transient"))
      yield* sup.startChild("c", child(h, "c", "transient"))
      yield* h.takeLog
      yield* h.exit("t")
      yield* h.exit("n", true)
      yield* h.exit("c")
      yield* TestClock.adjust(1_000)
      assert.deepStrictEqual(yield* h.takeLog, ["stop t", "stop n", "stop c", "start c"])
      assert.deepStrictEqual(yield* sup.children, ["c"])
    }))

  it.effect("a failed first start is returned to the caller and not retried", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const sup = yield* makeDynamic<string>({ id: "pool", backoff: EXACT_BACKOFF })
      h.failNextStarts("a", 1)
      const exit = yield* Effect.exit(sup.startChild("a", child(h, "a")))
      assert.deepStrictEqual(exit, Exit.fail("cannot start a"))
      yield* TestClock.adjust(10_000)
      assert.deepStrictEqual(yield* h.takeLog, ["fail a"])
      assert.deepStrictEqual(yield* sup.children, [])
    }))

  it.effect("failed restarts count toward intensity: a child that crashes at every start escalates", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const sup = yield* makeDynamic<string>({ id: "pool", intensity: { maxRestarts: 3, withinMs: 60_000 }, backoff: EXACT_BACKOFF })
      const awaiting = yield* Effect.forkChild(sup.await)
      yield* sup.startChild("a", child(h, "a"))
      yield* sup.startChild("b", child(h, "b"))
      yield* h.takeLog
      h.failNextStarts("a", 100)
      yield* h.exit("a")
      // Restarts after 10, 20 and 40 ms all fail; the fourth failure is one too many.
      yield* TestClock.adjust(10)
      yield* TestClock.adjust(20)
      yield* TestClock.adjust(40)
      assert.deepStrictEqual(yield* h.takeLog, ["stop a", "fail a", "fail a", "fail a", "stop b"])
      const error = yield* Effect.flip(Fiber.join(awaiting))
      assert.instanceOf(error, SupervisorEscalation)
      assert.deepInclude(error, { restarts: 4, childId: "a" })
      assert.include(error.lastReason.reason, "start failed: cannot start a")
      assert.strictEqual(error.lastReason.cause, "cannot start a")
      yield* TestClock.adjust(60_000)
      assert.deepStrictEqual(yield* h.takeLog, [])
      assert.deepStrictEqual(yield* sup.children, [])
    }))

  it.effect("terminateChild stops a child for good and cancels a pending restart", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const sup = yield* makeDynamic<string>({ id: "pool", backoff: EXACT_BACKOFF })
      yield* sup.startChild("a", child(h, "a"))
      yield* sup.startChild("b", child(h, "b"))
      yield* h.takeLog
      assert.isTrue(yield* sup.terminateChild("a"))
      assert.deepStrictEqual(yield* h.takeLog, ["stop a"])
      yield* h.exit("b")
      assert.isTrue(yield* sup.terminateChild("b"))
      yield* TestClock.adjust(1_000)
      assert.deepStrictEqual(yield* h.takeLog, ["stop b"])
      assert.isFalse(yield* sup.terminateChild("b"))
      assert.deepStrictEqual(yield* sup.children, [])
    }))

  it.effect("closing its scope stops every child", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* Effect.scoped(Effect.gen(function*() {
        const sup = yield* makeDynamic<string>({ id: "pool" })
        yield* sup.startChild("a", child(h, "a"))
        yield* sup.startChild("b", child(h, "b"))
      }))
      const log = yield* h.takeLog
      assert.deepStrictEqual([...log].sort(), ["start a", "start b", "stop a", "stop b"])
    }))
})
