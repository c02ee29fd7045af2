import { createActor, type EventFromLogic, type InputFrom, type SnapshotFrom } from "xstate"
import { createTestModel } from "xstate/graph"
import { describe, expect, expectTypeOf, it } from "vitest"
import { coveredEdges, reachedStates } from "./model.ts"
import {
  acceptsCalls,
  POOL_STATES,
  poolMachine,
  type PoolContext,
  type PoolEvent,
  type PoolInput,
  type PoolStateValue
} from "../../src/machines/index.ts"

type Snapshot = SnapshotFrom<typeof poolMachine>
const input = { size: 2 }
const start = () => createActor(poolMachine, { input }).start()
const drive = (...events: ReadonlyArray<PoolEvent>) => {
  const actor = start()
  for (const event of events) actor.send(event)
  return actor
}
const ready = (workerId: string) => ({ type: "WORKER_READY", workerId }) as const
const lost = (workerId: string) => ({ type: "WORKER_LOST", workerId }) as const

/** One payload per event variant the model may send; rejected ones are filtered out by `snapshot.can`. */
const EVENTS: ReadonlyArray<PoolEvent> = [
  ready("w1"), ready("w2"), ready("w3"),
  lost("w1"), lost("w2"), lost("w3"),
  { type: "CLOSE" },
  { type: "DRAINED" },
  { type: "FAIL", reason: "restart intensity exceeded" }
]

/**
 * Abstract state: value, the *set* of live ids (sorted: their order carries no meaning, and ignoring it
 * keeps the graph small) and the failure. The incoming transition is added so that shortest paths
 * cover every edge.
 */
const serializeState = (state: Snapshot, event: PoolEvent | undefined, prev?: Snapshot): string => {
  const { live, failure } = state.context
  const via = event === undefined ? "" : ` via ${event.type} from ${String(prev?.value)}`
  return `${JSON.stringify([state.value, [...live].sort(), failure])}${via}`
}

const model = createTestModel(poolMachine, {
  input,
  events: EVENTS,
  filterEvents: (snapshot, event) => snapshot.can(event),
  serializeState
})
const paths = model.getShortestPaths()
const title = (path: (typeof paths)[number]): string => {
  const label = ({ type, ...payload }: { type: string }) =>
    Object.keys(payload).length === 0 ? type : `${type}(${Object.values(payload).map(String).join(",")})`
  return `${path.steps.slice(1).map((s) => label(s.event)).join(" → ")} ⇒ ${String(path.state.value)}`
}

/** Independent reference model: the state a pool of `size` must be in after `event`. */
const expectedState = (from: PoolStateValue, live: number, event: PoolEvent): PoolStateValue => {
  switch (event.type) {
    case "CLOSE":
      return "draining"
    case "DRAINED":
      return "closed"
    case "FAIL":
      return "failed"
    case "WORKER_READY":
      return (from === "starting" || from === "degraded") && live >= input.size ? "ready" : from
    case "WORKER_LOST":
      return from === "ready" && live < input.size ? "degraded" : from
  }
}

describe("pool machine (model-based, shortest paths)", () => {
  // A change in this number means the reachable graph changed: review the transition list below.
  it("has the expected number of shortest paths", () => {
    expect(paths.length).toBe(56)
  })

  it.each(paths.map((p) => [title(p), p] as const))("%s", async (_title, path) => {
    const actor = start()
    const ref = { state: "starting" as PoolStateValue, live: new Set<string>(), failure: null as string | null }
    const send = ({ event }: { event: { type: string } }) => {
      const e = event as PoolEvent
      expect(actor.getSnapshot().can(e)).toBe(true)
      actor.send(e)
      if (e.type === "WORKER_READY") ref.live.add(e.workerId)
      if (e.type === "WORKER_LOST") ref.live.delete(e.workerId)
      if (e.type === "FAIL") ref.failure = e.reason
      ref.state = expectedState(ref.state, ref.live.size, e)
    }
    let checked = 0
    const check = (expected: PoolStateValue) => (state: Snapshot) => {
      checked += 1
      const { value, context, status } = actor.getSnapshot()
      expect(value).toBe(expected)
      expect(value).toBe(state.value)
      expect(value).toBe(ref.state)
      expect(context.size).toBe(2)
      expect(new Set(context.live)).toEqual(ref.live)
      expect(context.live).toHaveLength(ref.live.size) // no duplicates
      expect(context.failure).toBe(ref.failure)
      if (expected === "ready") expect(context.live.length).toBeGreaterThanOrEqual(2)
      if (expected === "starting" || expected === "degraded") expect(context.live.length).toBeLessThan(2)
      if (expected === "failed") expect(context.failure).toBeTruthy()
      expect(status).toBe(expected === "closed" || expected === "failed" ? "done" : "active")
    }
    const states = Object.fromEntries(POOL_STATES.map((s) => [s, check(s)]))
    const events = Object.fromEntries(EVENTS.map((e) => [e.type, send]))
    await path.test({ states, events })
    expect(checked).toBe(path.steps.length) // every step's state was checked, including the initial one
  })

  const edges = coveredEdges(paths)

  it("reaches every state", () => {
    expect(reachedStates(paths)).toEqual(new Set(POOL_STATES))
  })

  it("covers exactly the expected transitions", () => {
    const self = (state: string, events: ReadonlyArray<string>) => events.map((e) => `${state} -${e}-> ${state}`)
    const expected = [
      ...self("starting", ["WORKER_READY", "WORKER_LOST"]),
      "starting -WORKER_READY-> ready",
      "starting -CLOSE-> draining",
      "starting -FAIL-> failed",
      ...self("ready", ["WORKER_READY", "WORKER_LOST"]),
      "ready -WORKER_LOST-> degraded",
      "ready -CLOSE-> draining",
      "ready -FAIL-> failed",
      ...self("degraded", ["WORKER_READY", "WORKER_LOST"]),
      "degraded -WORKER_READY-> ready",
      "degraded -CLOSE-> draining",
      "degraded -FAIL-> failed",
      ...self("draining", ["WORKER_READY", "WORKER_LOST"]),
      "draining -DRAINED-> closed",
      "draining -FAIL-> failed"
    ]
    expect(expected).toHaveLength(19)
    expect([...edges].sort()).toEqual([...expected].sort())
  })
})

describe("pool machine (unit)", () => {
  it("starts in starting with the input in context", () => {
    expect(start().getSnapshot()).toMatchObject({ value: "starting", context: { size: 2, live: [], failure: null } })
  })

  it("WORKER_READY and WORKER_LOST are idempotent: a repeat is not enabled and changes nothing", () => {
    const actor = drive(ready("w1"))
    const before = actor.getSnapshot()
    expect(before.can(ready("w1"))).toBe(false)
    actor.send(ready("w1"))
    expect(actor.getSnapshot().context).toBe(before.context)
    expect(actor.getSnapshot().value).toBe("starting") // one id counted once: not ready at size 2
    actor.send(lost("w1"))
    expect(actor.getSnapshot().context.live).toEqual([])
    expect(actor.getSnapshot().can(lost("w1"))).toBe(false)
    expect(actor.getSnapshot().can(lost("never-seen"))).toBe(false)
  })

  it("becomes ready at size, stays ready with overflow workers, degrades only below size", () => {
    const actor = drive(ready("w1"), ready("w2"))
    expect(actor.getSnapshot()).toMatchObject({ value: "ready", context: { live: ["w1", "w2"] } })
    actor.send(ready("w3"))
    expect(actor.getSnapshot()).toMatchObject({ value: "ready", context: { live: ["w1", "w2", "w3"] } })
    actor.send(lost("w1")) // overflow worker retired: still size live
    expect(actor.getSnapshot()).toMatchObject({ value: "ready", context: { live: ["w2", "w3"] } })
    actor.send(lost("w3"))
    expect(actor.getSnapshot()).toMatchObject({ value: "degraded", context: { live: ["w2"] } })
    actor.send(lost("w2"))
    expect(actor.getSnapshot()).toMatchObject({ value: "degraded", context: { live: [] } })
    actor.send(ready("w4"))
    expect(actor.getSnapshot().value).toBe("degraded")
    actor.send(ready("w5"))
    expect(actor.getSnapshot()).toMatchObject({ value: "ready", context: { live: ["w4", "w5"] } })
  })

  it("a worker lost while starting keeps the pool starting", () => {
    const actor = drive(ready("w1"), lost("w1"), ready("w2"))
    expect(actor.getSnapshot()).toMatchObject({ value: "starting", context: { live: ["w2"] } })
  })

  it("draining still tracks live workers and only DRAINED closes it", () => {
    const actor = drive(ready("w1"), { type: "CLOSE" }, ready("w2"), ready("w3"), lost("w1"))
    expect(actor.getSnapshot()).toMatchObject({ value: "draining", context: { live: ["w2", "w3"] } })
    expect(actor.getSnapshot().can({ type: "CLOSE" })).toBe(false)
    actor.send({ type: "DRAINED" })
    expect(actor.getSnapshot()).toMatchObject({ value: "closed", status: "done" })
  })

  it("FAIL records the reason, from draining too", () => {
    const actor = drive({ type: "CLOSE" }, { type: "FAIL", reason: "10 restarts in 60000 ms" })
    expect(actor.getSnapshot()).toMatchObject({ value: "failed", context: { failure: "10 restarts in 60000 ms" } })
  })

  it("DRAINED is only accepted while draining", () => {
    for (const events of [[], [ready("w1"), ready("w2")], [ready("w1"), ready("w2"), lost("w1")]]) {
      expect(drive(...events).getSnapshot().can({ type: "DRAINED" })).toBe(false)
    }
  })

  it.each<[string, ReadonlyArray<PoolEvent>]>([
    ["closed", [{ type: "CLOSE" }, { type: "DRAINED" }]],
    ["failed", [ready("w1"), { type: "FAIL", reason: "x" }]]
  ])("final state %s accepts nothing", (state, events) => {
    const snapshot = drive(...events).getSnapshot()
    expect(snapshot.value).toBe(state)
    expect(snapshot.status).toBe("done")
    for (const event of [...EVENTS, ready("w9"), lost("w1")]) expect(snapshot.can(event)).toBe(false)
  })

  it("acceptsCalls", () => {
    expect(Object.fromEntries(POOL_STATES.map((s) => [s, acceptsCalls(s)]))).toEqual({
      starting: true, ready: true, degraded: true, draining: false, closed: false, failed: false
    })
  })

  it("is pure: no invokes, no delays, no entry/exit actions", () => {
    for (const node of Object.values(poolMachine.root.states)) {
      expect([node.invoke, node.after, node.entry, node.exit]).toEqual([[], [], [], []])
    }
  })

  it("has the documented types", () => {
    expectTypeOf<Snapshot["value"]>().toEqualTypeOf<PoolStateValue>()
    expectTypeOf<Snapshot["context"]>().toEqualTypeOf<PoolContext>()
    expectTypeOf<EventFromLogic<typeof poolMachine>>().toEqualTypeOf<PoolEvent>()
    expectTypeOf<InputFrom<typeof poolMachine>>().toEqualTypeOf<PoolInput>()
  })
})
