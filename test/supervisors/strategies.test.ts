// Which children each strategy restarts, in which order, and how each restart type reacts to
// normal and abnormal exits. Every assertion is on the exact start/stop sequence.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { make } from "../../src/supervisors/supervisor.ts"
import type { RestartType, Strategy } from "../../src/supervisors/supervisor.ts"
import { EXACT_BACKOFF, makeHarness } from "./harness.ts"

const threeChildren = (strategy: Strategy) =>
  Effect.gen(function*() {
    const h = yield* makeHarness
    const sup = yield* make({ id: "root", strategy, backoff: EXACT_BACKOFF, children: [h.spec("a"), h.spec("b"), h.spec("c")] })
    assert.deepStrictEqual(yield* h.takeLog, ["start a", "start b", "start c"])
    return { h, sup }
  })

describe("strategies", () => {
  const cases: ReadonlyArray<[Strategy, string, ReadonlyArray<string>]> = [
    ["one_for_one", "b", ["stop b", "start b"]],
    ["one_for_all", "b", ["stop b", "stop c", "stop a", "start a", "start b", "start c"]],
    ["rest_for_one", "b", ["stop b", "stop c", "start b", "start c"]],
    ["rest_for_one", "a", ["stop a", "stop c", "stop b", "start a", "start b", "start c"]],
    ["rest_for_one", "c", ["stop c", "start c"]],
    ["one_for_all", "c", ["stop c", "stop b", "stop a", "start a", "start b", "start c"]]
  ]
  for (const [strategy, crashed, expected] of cases) {
    it.effect(`${strategy}: ${crashed} crashes → ${expected.join(", ")}`, () =>
      Effect.gen(function*() {
        const { h, sup } = yield* threeChildren(strategy)
        yield* h.exit(crashed)
        yield* TestClock.adjust(10)
        assert.deepStrictEqual(yield* h.takeLog, expected)
        assert.deepStrictEqual(yield* sup.children, ["a", "b", "c"])
      }))
  }

  it.effect("stops siblings at once but restarts only after the backoff delay", () =>
    Effect.gen(function*() {
      const { h, sup } = yield* threeChildren("one_for_all")
      yield* h.exit("a")
      yield* TestClock.adjust(9)
      assert.deepStrictEqual(yield* h.takeLog, ["stop a", "stop c", "stop b"])
      assert.deepStrictEqual(yield* sup.children, [])
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(yield* h.takeLog, ["start a", "start b", "start c"])
    }))

  it.effect("backoff grows per child on consecutive crashes (10, then 20 ms)", () =>
    Effect.gen(function*() {
      const { h } = yield* threeChildren("one_for_one")
      yield* h.exit("a")
      yield* TestClock.adjust(10)
      yield* h.exit("a")
      yield* TestClock.adjust(19)
      assert.deepStrictEqual(yield* h.takeLog, ["stop a", "start a", "stop a"])
      yield* TestClock.adjust(1)
      assert.deepStrictEqual(yield* h.takeLog, ["start a"])
    }))

  it.effect("one_for_all stops a temporary sibling and does not restart it", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const sup = yield* make({ id: "root", strategy: "one_for_all", backoff: EXACT_BACKOFF, children: [h.spec("a"), h.spec("t", "temporary"), h.spec("c")] })
      yield* h.takeLog
      yield* h.exit("c")
      yield* TestClock.adjust(10)
      assert.deepStrictEqual(yield* h.takeLog, ["stop c", "stop t", "stop a", "start a", "start c"])
      assert.deepStrictEqual(yield* sup.children, ["a", "c"])
    }))

  it.effect("a transient child that exited normally is started again by a sibling's one_for_all restart", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const sup = yield* make({ id: "root", strategy: "one_for_all", backoff: EXACT_BACKOFF, children: [h.spec("t", "transient"), h.spec("b")] })
      yield* h.exit("t", true)
      yield* h.takeLog
      yield* h.exit("b")
      yield* TestClock.adjust(10)
      assert.deepStrictEqual(yield* h.takeLog, ["stop b", "start t", "start b"])
      assert.deepStrictEqual(yield* sup.children, ["t", "b"])
    }))

  it.effect("a failed restart counts as another crash and is retried with more backoff", () =>
    Effect.gen(function*() {
      const { h, sup } = yield* threeChildren("one_for_one")
      h.failNextStarts("b", 2)
      yield* h.exit("b")
      yield* TestClock.adjust(10)
      yield* TestClock.adjust(20)
      assert.deepStrictEqual(yield* h.takeLog, ["stop b", "fail b", "fail b"])
      yield* TestClock.adjust(40)
      assert.deepStrictEqual(yield* h.takeLog, ["start b"])
      assert.deepStrictEqual(yield* sup.children, ["a", "b", "c"])
    }))
})

describe("restart types", () => {
  const cases: ReadonlyArray<[RestartType, boolean, boolean]> = [
    ["permanent", true, true],
    ["permanent", false, true],
    ["transient", true, false],
    ["transient", false, true],
    ["temporary", true, false],
    ["temporary", false, false]
  ]
  for (const [restart, normal, restarted] of cases) {
    it.effect(`${restart} after a ${normal ? "normal" : "abnormal"} exit is ${restarted ? "" : "not "}restarted`, () =>
      Effect.gen(function*() {
        const h = yield* makeHarness
        const sup = yield* make({ id: "root", backoff: EXACT_BACKOFF, children: [h.spec("x", restart), h.spec("s")] })
        yield* h.takeLog
        yield* h.exit("x", normal)
        yield* TestClock.adjust(1_000)
        assert.deepStrictEqual(yield* h.takeLog, restarted ? ["stop x", "start x"] : ["stop x"])
        assert.deepStrictEqual(yield* sup.children, restarted ? ["x", "s"] : ["s"])
      }))
  }

  it.effect("a normal exit that is not restarted does not count toward intensity", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const sup = yield* make({
        id: "root",
        intensity: { maxRestarts: 0, withinMs: 1_000 },
        children: [h.spec("x", "transient"), h.spec("s")]
      })
      yield* h.exit("x", true)
      assert.deepStrictEqual(yield* sup.children, ["s"])
    }))
})
