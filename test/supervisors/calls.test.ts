// The calls a running supervisor serves (OTP's terminate_child, restart_child, delete_child,
// which_children, count_children) where pyvisor goes beyond OTP: during a backoff delay, after a
// failed restart, after giving up; plus option validation. The plain OTP cases are in the
// conformance transcripts (otp-conformance.test.ts).
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Scope } from "effect"
import { TestClock } from "effect/testing"
import { InvalidOptionError } from "../../src/errors.ts"
import { make, SupervisorChildError } from "../../src/supervisors/supervisor.ts"
import type { ChildSpec, RestartType, Strategy } from "../../src/supervisors/supervisor.ts"
import { EXACT_BACKOFF, makeHarness } from "./harness.ts"

const statuses = (children: ReadonlyArray<{ readonly id: string; readonly status: string }>) => children.map((c) => `${c.id}=${c.status}`)

const refusal = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.map(Effect.flip(effect), (e) => {
    assert.instanceOf(e, SupervisorChildError)
    return (e as SupervisorChildError).reason
  })

const threeChildren = (strategy: Strategy, maxRestarts = 10) =>
  Effect.gen(function*() {
    const h = yield* makeHarness
    const sup = yield* make({ id: "root", strategy, backoff: EXACT_BACKOFF, intensity: { maxRestarts, withinMs: 1_000 }, children: [h.spec("a"), h.spec("b"), h.spec("c")] })
    yield* h.takeLog
    return { h, sup }
  })

describe("calls during a backoff delay", () => {
  it.effect("are served at once and see the stopped group as restarting", () =>
    Effect.gen(function*() {
      const { h, sup } = yield* threeChildren("one_for_all")
      yield* h.exit("a")
      assert.deepStrictEqual(statuses(yield* sup.whichChildren), ["a=restarting", "b=restarting", "c=restarting"])
      assert.deepStrictEqual(yield* sup.countChildren, { specs: 3, active: 0 })
      assert.strictEqual(yield* refusal(sup.restartChild("b")), "restarting")
      assert.strictEqual(yield* refusal(sup.deleteChild("b")), "restarting")
      yield* TestClock.adjust(10)
      assert.deepStrictEqual(yield* h.takeLog, ["stop a", "stop c", "stop b", "start a", "start b", "start c"])
      assert.deepStrictEqual(statuses(yield* sup.whichChildren), ["a=running", "b=running", "c=running"])
    }))

  it.effect("terminateChild cancels that child's pending restart; the rest of the group still starts", () =>
    Effect.gen(function*() {
      const { h, sup } = yield* threeChildren("one_for_all")
      yield* h.exit("a")
      yield* sup.terminateChild("c")
      yield* TestClock.adjust(10)
      assert.deepStrictEqual(yield* h.takeLog, ["stop a", "stop c", "stop b", "start a", "start b"])
      assert.deepStrictEqual(statuses(yield* sup.whichChildren), ["a=running", "b=running", "c=terminated"])
      yield* sup.restartChild("c")
      assert.deepStrictEqual(yield* h.takeLog, ["start c"])
    }))

  it.effect("a failed restart is restarting until its retry, and terminateChild cancels the retry", () =>
    Effect.gen(function*() {
      const { h, sup } = yield* threeChildren("rest_for_one")
      h.failNextStarts("b", 1)
      yield* h.exit("a")
      yield* TestClock.adjust(10)
      assert.deepStrictEqual(yield* h.takeLog, ["stop a", "stop c", "stop b", "start a", "fail b"])
      // The retry (OTP's try_again) is b's own group restart, b and c, after b's next delay.
      assert.deepStrictEqual(statuses(yield* sup.whichChildren), ["a=running", "b=restarting", "c=restarting"])
      yield* TestClock.adjust(20)
      assert.deepStrictEqual(yield* h.takeLog, ["start b", "start c"])

      h.failNextStarts("c", 1)
      yield* h.exit("c")
      yield* TestClock.adjust(10)
      assert.deepStrictEqual(yield* h.takeLog, ["stop c", "fail c"])
      yield* sup.terminateChild("c")
      yield* TestClock.adjust(1_000)
      assert.deepStrictEqual(yield* h.takeLog, [])
      assert.deepStrictEqual(statuses(yield* sup.whichChildren), ["a=running", "b=running", "c=terminated"])
    }))
})

describe("calls", () => {
  it.effect("restartChild returns a start error, which is neither retried nor counted", () =>
    Effect.gen(function*() {
      const { h, sup } = yield* threeChildren("one_for_one", 0)
      yield* sup.terminateChild("b")
      h.failNextStarts("b", 1)
      assert.strictEqual(yield* Effect.flip(sup.restartChild("b")), "cannot start b")
      yield* TestClock.adjust(1_000)
      assert.deepStrictEqual(yield* h.takeLog, ["stop b", "fail b"])
      assert.deepStrictEqual(statuses(yield* sup.whichChildren), ["a=running", "b=terminated", "c=running"])
      yield* sup.restartChild("b")
      assert.deepStrictEqual(yield* sup.children, ["a", "b", "c"])
    }))

  it.effect("are refused with stopped once the supervisor gave up", () =>
    Effect.gen(function*() {
      const { h, sup } = yield* threeChildren("one_for_one", 0)
      yield* h.exit("a")
      assert.strictEqual((yield* Effect.flip(sup.await))._tag, "SupervisorEscalation")
      assert.strictEqual(yield* refusal(sup.terminateChild("b")), "stopped")
      assert.strictEqual(yield* refusal(sup.restartChild("a")), "stopped")
      assert.deepStrictEqual(yield* sup.whichChildren, [])
      assert.deepStrictEqual(yield* sup.countChildren, { specs: 0, active: 0 })
    }))

  it.effect("are refused with stopped once the supervisor's Scope closed", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const scope = yield* Scope.make()
      const sup = yield* Scope.provide(make({ id: "root", children: [h.spec("a")] }), scope)
      yield* Scope.close(scope, Exit.void)
      const error = yield* Effect.flip(sup.restartChild("a"))
      assert.deepInclude(error, { reason: "stopped", childId: "a", supervisorId: "root", message: "supervisor root: child a: stopped" })
      assert.deepStrictEqual(yield* h.takeLog, ["start a", "stop a"])
    }))
})

describe("options", () => {
  const invalidOption = (children: ReadonlyArray<ChildSpec<string>>, strategy?: Strategy) =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(make({ id: "root", children, ...(strategy === undefined ? {} : { strategy }) }))
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
      assert.instanceOf(error, InvalidOptionError)
      return (error as InvalidOptionError).message
    })

  it.effect("name the bad option and its value", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      assert.strictEqual(yield* invalidOption([h.spec("a"), h.spec("b"), h.spec("a")]), "children[2].id must be unique among the children, got 'a'")
      assert.strictEqual(
        yield* invalidOption([h.spec("a"), h.spec("b", "forever" as RestartType)]),
        "children[1].restart must be one of permanent, transient, temporary, got 'forever'"
      )
      assert.strictEqual(
        yield* invalidOption([h.spec("a")], "one_for_rest" as Strategy),
        "strategy must be one of one_for_one, one_for_all, rest_for_one, got 'one_for_rest'"
      )
      assert.deepStrictEqual(yield* h.takeLog, [])
    }))
})
