// Escalation when restart intensity is exceeded, shutdown order when the scope closes, start
// failures, and nesting supervisors.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Scope } from "effect"
import { TestClock } from "effect/testing"
import { asChild, make, SupervisorEscalation } from "../../src/supervisors/supervisor.ts"
import { EXACT_BACKOFF, makeHarness } from "./harness.ts"

describe("escalation", () => {
  it.effect("N restarts within T pass; the N+1-th stops every child in reverse order and fails", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const sup = yield* make({
        id: "root",
        intensity: { maxRestarts: 2, withinMs: 1_000 },
        backoff: EXACT_BACKOFF,
        children: [h.spec("a"), h.spec("b"), h.spec("c")]
      })
      const awaiting = yield* Effect.forkChild(sup.await)
      yield* h.takeLog
      yield* h.exit("b")
      yield* TestClock.adjust(10)
      yield* h.exit("b")
      yield* TestClock.adjust(20)
      assert.deepStrictEqual(yield* h.takeLog, ["stop b", "start b", "stop b", "start b"])
      assert.isUndefined(awaiting.pollUnsafe())

      yield* h.exit("b")
      // b is already gone; the others stop in reverse start order, and nothing restarts.
      assert.deepStrictEqual(yield* h.takeLog, ["stop b", "stop c", "stop a"])
      const error = yield* Effect.flip(Fiber.join(awaiting))
      assert.instanceOf(error, SupervisorEscalation)
      assert.deepInclude(error, {
        supervisorId: "root",
        restarts: 3,
        withinMs: 1_000,
        childId: "b",
        lastReason: { normal: false, reason: "b crashed" }
      })
      assert.include(error.message, "3 restarts within 1000 ms")
      assert.deepStrictEqual(yield* sup.children, [])
      yield* TestClock.adjust(60_000)
      assert.deepStrictEqual(yield* h.takeLog, [])
    }))

  it.effect("restarts spaced just over T never escalate, even with maxRestarts 1", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const sup = yield* make({
        id: "root",
        intensity: { maxRestarts: 1, withinMs: 1_000 },
        // Reset after 500 ms of uptime keeps every delay at 10 ms, well inside each 1001 ms gap.
        backoff: { ...EXACT_BACKOFF, resetAfterMs: 500 },
        children: [h.spec("a")]
      })
      const awaiting = yield* Effect.forkChild(sup.await)
      for (let i = 0; i < 25; i++) {
        yield* h.exit("a")
        yield* TestClock.adjust(1_001)
      }
      assert.isUndefined(awaiting.pollUnsafe())
      assert.strictEqual((yield* h.takeLog).filter((line) => line === "start a").length, 26)
      assert.deepStrictEqual(yield* sup.children, ["a"])
    }))

  it.effect("maxRestarts 0 escalates on the first crash", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const sup = yield* make({ id: "root", intensity: { maxRestarts: 0, withinMs: 1_000 }, children: [h.spec("a"), h.spec("b")] })
      yield* h.takeLog
      yield* h.exit("a")
      assert.deepStrictEqual(yield* h.takeLog, ["stop a", "stop b"])
      assert.strictEqual((yield* Effect.flip(sup.await)).restarts, 1)
    }))
})

describe("shutdown", () => {
  it.effect("closing the scope stops children in reverse start order, restarted ones included", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const scope = yield* Scope.make()
      yield* Scope.provide(make({ id: "root", backoff: EXACT_BACKOFF, children: [h.spec("a"), h.spec("b"), h.spec("c")] }), scope)
      // Restarting b makes it the newest incarnation; shutdown still follows the spec order.
      yield* h.exit("b")
      yield* TestClock.adjust(10)
      yield* h.takeLog
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(yield* h.takeLog, ["stop c", "stop b", "stop a"])
    }))

  it.effect("closing the scope during a backoff cancels the pending restart", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const scope = yield* Scope.make()
      yield* Scope.provide(make({ id: "root", strategy: "one_for_one", backoff: EXACT_BACKOFF, children: [h.spec("a"), h.spec("b"), h.spec("c")] }), scope)
      yield* h.takeLog
      yield* h.exit("b")
      yield* Scope.close(scope, Exit.void)
      yield* TestClock.adjust(1_000)
      assert.deepStrictEqual(yield* h.takeLog, ["stop b", "stop c", "stop a"])
    }))

  it.effect("a child failing its first start stops the started ones in reverse and fails make", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      h.failNextStarts("c", 1)
      const error = yield* Effect.flip(make({ id: "root", children: [h.spec("a"), h.spec("b"), h.spec("c"), h.spec("d")] }))
      assert.strictEqual(error, "cannot start c")
      assert.deepStrictEqual(yield* h.takeLog, ["start a", "start b", "fail c", "stop b", "stop a"])
    }))

  it.effect("rejects duplicate child ids", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const exit = yield* Effect.exit(make({ id: "root", children: [h.spec("a"), h.spec("a")] }))
      assert.isTrue(Exit.hasDies(exit))
    }))
})

describe("nesting", () => {
  it.effect("an escalating child supervisor is restarted by its parent", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const inner = asChild({ id: "inner", intensity: { maxRestarts: 0, withinMs: 1_000 }, children: [h.spec("x"), h.spec("y")] })
      const root = yield* make({ id: "root", backoff: EXACT_BACKOFF, children: [inner, h.spec("z")] })
      yield* h.takeLog
      yield* h.exit("x")
      yield* TestClock.adjust(10)
      assert.deepStrictEqual(yield* h.takeLog, ["stop x", "stop y", "start x", "start y"])
      assert.deepStrictEqual(yield* root.children, ["inner", "z"])
    }))
})
