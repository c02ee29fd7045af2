import { createActor, type SnapshotFrom } from "xstate"
import { createTestModel } from "xstate/graph"
import { describe, expect, it } from "vitest"
import { coveredEdges, reachedStates } from "./model.ts"
import {
  describeExit,
  isExitEvent,
  isLive,
  WORKER_STATES,
  workerMachine,
  type ExitInfo,
  type WorkerEvent,
  type WorkerStateValue
} from "../../src/machines/index.ts"

type Snapshot = SnapshotFrom<typeof workerMachine>
const input = { workerId: "w1", restarts: 3 }
const start = () => createActor(workerMachine, { input }).start()
const drive = (...events: ReadonlyArray<WorkerEvent>) => {
  const actor = start()
  for (const event of events) actor.send(event)
  return actor
}

/** One payload per event variant the model may send; rejected ones are filtered out by `snapshot.can`. */
const EVENTS: ReadonlyArray<WorkerEvent> = [
  { type: "SPAWNED", pid: 42 },
  { type: "SPAWN_FAILED", message: "ENOENT" },
  { type: "READY", handlers: ["add"] },
  { type: "INIT_FAILED", message: "ImportError" },
  { type: "INIT_TIMEOUT" },
  { type: "CALL", id: 1 },
  { type: "DONE", id: 1 },
  { type: "DONE", id: 2 }, // never the call in flight: always rejected
  { type: "DRAIN" },
  { type: "EXITED", code: 0, signal: null },
  { type: "EXITED", code: null, signal: "SIGKILL" },
  { type: "PROTOCOL_ERROR", message: "bad frame" },
  { type: "HEARTBEAT_TIMEOUT" },
  { type: "KILL", reason: "recycled" }
]

/**
 * Abstract state: value, call in flight and exit. `callsServed` is left out so that the ready ⇄ busy
 * cycle stays finite; the incoming transition is added so that shortest paths cover every edge.
 */
const serializeState = (state: Snapshot, event: WorkerEvent | undefined, prev?: Snapshot): string => {
  const { inFlight, lastExit } = state.context
  const via = event === undefined ? "" : ` via ${event.type} from ${String(prev?.value)}`
  return `${JSON.stringify([state.value, inFlight, lastExit?.reason ?? null, lastExit?.code ?? null])}${via}`
}

const model = createTestModel(workerMachine, {
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

/** Expected exit as an independent reference model computes it from the triggering event. */
const expectedExit = (event: WorkerEvent): Pick<ExitInfo, "reason" | "code" | "signal"> | null => {
  switch (event.type) {
    case "EXITED":
      return { reason: event.signal === null ? "exit" : "signal", code: event.code, signal: event.signal }
    case "SPAWN_FAILED":
      return { reason: "spawn_failed", code: null, signal: null }
    case "INIT_FAILED":
      return { reason: "init_error", code: null, signal: null }
    case "INIT_TIMEOUT":
      return { reason: "init_timeout", code: null, signal: null }
    case "PROTOCOL_ERROR":
      return { reason: "protocol", code: null, signal: null }
    case "HEARTBEAT_TIMEOUT":
      return { reason: "heartbeat", code: null, signal: null }
    case "KILL":
      return { reason: "killed", code: null, signal: null }
    default:
      return null
  }
}

describe("worker machine (model-based, shortest paths)", () => {
  // A change in this number means the reachable graph changed: review the transition list below.
  it("has the expected number of shortest paths", () => {
    expect(paths.length).toBe(33)
  })

  it.each(paths.map((p) => [title(p), p] as const))("%s", async (_title, path) => {
    const actor = start()
    const ref = { pid: null as number | null, inFlight: null as number | null, served: 0, exit: null as ReturnType<typeof expectedExit> }
    const send = ({ event }: { event: { type: string } }) => {
      const e = event as WorkerEvent
      expect(actor.getSnapshot().can(e)).toBe(true)
      actor.send(e)
      if (e.type === "SPAWNED") ref.pid = e.pid
      if (e.type === "CALL") ref.inFlight = e.id
      if (e.type === "DONE") [ref.inFlight, ref.served] = [null, ref.served + 1]
      ref.exit = expectedExit(e) ?? ref.exit
    }
    let checked = 0
    const check = (expected: WorkerStateValue) => (state: Snapshot) => {
      checked += 1
      const { value, context } = actor.getSnapshot()
      expect(value).toBe(expected)
      expect(value).toBe(state.value)
      expect(context).toMatchObject({ workerId: "w1", restarts: 3, pid: ref.pid, inFlight: ref.inFlight })
      expect(context.callsServed).toBe(ref.served)
      if (ref.exit === null) expect(context.lastExit).toBeNull()
      else expect(context.lastExit).toMatchObject(ref.exit)
      if (expected === "ready") expect(context.inFlight).toBeNull()
      if (expected === "busy") expect(context.inFlight).not.toBeNull()
      if (expected === "crashed") expect(context.lastExit?.message).toBeTruthy()
      if (expected === "stopped") expect(context.inFlight).toBeNull()
      expect(actor.getSnapshot().status).toBe(isLive(expected) ? "active" : "done")
    }
    const states = Object.fromEntries(WORKER_STATES.map((s) => [s, check(s)]))
    const events = Object.fromEntries(EVENTS.map((e) => [e.type, send]))
    await path.test({ states, events })
    expect(checked).toBe(path.steps.length) // every step's state was checked, including the initial one
  })

  const edges = coveredEdges(paths)

  it("reaches every state", () => {
    expect(reachedStates(paths)).toEqual(new Set(WORKER_STATES))
  })

  it("covers exactly the expected transitions", () => {
    const crash = (from: string, events: ReadonlyArray<string>) => events.map((e) => `${from} -${e}-> crashed`)
    const expected = [
      "spawning -SPAWNED-> initializing",
      "spawning -DRAIN-> draining",
      ...crash("spawning", ["SPAWN_FAILED", "EXITED", "PROTOCOL_ERROR", "KILL"]),
      "initializing -READY-> ready",
      "initializing -DRAIN-> draining",
      ...crash("initializing", ["INIT_FAILED", "INIT_TIMEOUT", "EXITED", "PROTOCOL_ERROR", "KILL"]),
      "ready -CALL-> busy",
      "ready -DRAIN-> draining",
      ...crash("ready", ["EXITED", "PROTOCOL_ERROR", "HEARTBEAT_TIMEOUT", "KILL"]),
      "busy -DONE-> ready",
      "busy -DRAIN-> draining",
      ...crash("busy", ["EXITED", "PROTOCOL_ERROR", "HEARTBEAT_TIMEOUT", "KILL"]),
      "draining -DONE-> draining",
      "draining -EXITED-> stopped",
      ...crash("draining", ["EXITED", "PROTOCOL_ERROR", "KILL"])
    ]
    expect(expected).toHaveLength(30)
    expect([...edges].sort()).toEqual([...expected].sort())
  })
})

describe("worker machine (unit)", () => {
  const CALL = { type: "CALL", id: 7 } as const
  const toReady = [{ type: "SPAWNED", pid: 1 }, { type: "READY", handlers: ["f"] }] as const

  it("starts in spawning with the input in context", () => {
    expect(start().getSnapshot()).toMatchObject({
      value: "spawning",
      context: { workerId: "w1", restarts: 3, pid: null, handlers: [], inFlight: null, callsServed: 0, lastExit: null }
    })
    const actor = createActor(workerMachine, { input: { workerId: "w2" } }).start()
    expect(actor.getSnapshot().context.restarts).toBe(0)
  })

  it.each<[string, ReadonlyArray<WorkerEvent>]>([
    ["spawning", []],
    ["initializing", [{ type: "SPAWNED", pid: 1 }]],
    ["draining", [...toReady, { type: "DRAIN" }]],
    ["busy", [...toReady, { type: "CALL", id: 1 }]],
    ["crashed", [{ type: "KILL", reason: "x" }]],
    ["stopped", [{ type: "DRAIN" }, { type: "EXITED", code: 0, signal: null }]]
  ])("rejects CALL in %s", (state, events) => {
    const actor = drive(...events)
    expect(actor.getSnapshot().value).toBe(state)
    expect(actor.getSnapshot().can(CALL)).toBe(false)
    actor.send(CALL)
    expect(actor.getSnapshot().value).toBe(state)
    expect(actor.getSnapshot().context.inFlight).not.toBe(7)
  })

  it("accepts CALL in ready and records handlers and pid", () => {
    const actor = drive(...toReady)
    expect(actor.getSnapshot().context).toMatchObject({ pid: 1, handlers: ["f"] })
    expect(actor.getSnapshot().can(CALL)).toBe(true)
    actor.send(CALL)
    expect(actor.getSnapshot()).toMatchObject({ value: "busy", context: { inFlight: 7 } })
  })

  it("ignores a DONE with the wrong id (busy and draining)", () => {
    const actor = drive(...toReady, CALL)
    expect(actor.getSnapshot().can({ type: "DONE", id: 8 })).toBe(false)
    actor.send({ type: "DONE", id: 8 })
    expect(actor.getSnapshot()).toMatchObject({ value: "busy", context: { inFlight: 7, callsServed: 0 } })
    actor.send({ type: "DRAIN" })
    actor.send({ type: "DONE", id: 8 })
    expect(actor.getSnapshot()).toMatchObject({ value: "draining", context: { inFlight: 7, callsServed: 0 } })
  })

  it("DRAIN from busy, then DONE, then EXITED → stopped", () => {
    const actor = drive(...toReady, CALL, { type: "DRAIN" })
    expect(actor.getSnapshot()).toMatchObject({ value: "draining", context: { inFlight: 7 } })
    actor.send({ type: "DONE", id: 7 })
    expect(actor.getSnapshot()).toMatchObject({ value: "draining", context: { inFlight: null, callsServed: 1 } })
    actor.send({ type: "EXITED", code: 0, signal: null })
    expect(actor.getSnapshot()).toMatchObject({
      value: "stopped",
      status: "done",
      context: { lastExit: { reason: "exit", code: 0, signal: null, message: "exited with code 0" } }
    })
  })

  it("EXITED while draining with a call in flight → crashed, keeping the lost call id", () => {
    const actor = drive(...toReady, CALL, { type: "DRAIN" }, { type: "EXITED", code: null, signal: "SIGTERM" })
    expect(actor.getSnapshot()).toMatchObject({
      value: "crashed",
      context: { inFlight: 7, lastExit: { reason: "signal", code: null, signal: "SIGTERM", message: "killed by SIGTERM" } }
    })
  })

  it("KILL crashes at once; the EXITED that follows is not accepted", () => {
    const actor = drive(...toReady, { type: "KILL", reason: "heartbeat missed twice" })
    const exited = { type: "EXITED", code: null, signal: "SIGKILL" } as const
    expect(actor.getSnapshot().can(exited)).toBe(false)
    actor.send(exited)
    expect(actor.getSnapshot().context.lastExit).toEqual({
      reason: "killed",
      code: null,
      signal: null,
      message: "heartbeat missed twice"
    })
  })

  it.each<[string, ReadonlyArray<WorkerEvent>]>([
    ["stopped", [{ type: "DRAIN" }, { type: "EXITED", code: 0, signal: null }]],
    ["crashed", [{ type: "SPAWN_FAILED", message: "ENOENT" }]]
  ])("final state %s accepts nothing", (state, events) => {
    const snapshot = drive(...events).getSnapshot()
    expect(snapshot.value).toBe(state)
    expect(snapshot.status).toBe("done")
    for (const event of EVENTS) expect(snapshot.can(event)).toBe(false)
  })

  it("HEARTBEAT_TIMEOUT only in ready/busy, INIT_TIMEOUT only in initializing", () => {
    expect(start().getSnapshot().can({ type: "HEARTBEAT_TIMEOUT" })).toBe(false)
    expect(drive({ type: "SPAWNED", pid: 1 }).getSnapshot().can({ type: "HEARTBEAT_TIMEOUT" })).toBe(false)
    expect(drive(...toReady).getSnapshot().can({ type: "INIT_TIMEOUT" })).toBe(false)
    expect(drive(...toReady, { type: "DRAIN" }).getSnapshot().can({ type: "HEARTBEAT_TIMEOUT" })).toBe(false)
  })

  it("is pure: no invokes, no delays, no entry/exit actions", () => {
    for (const node of Object.values(workerMachine.root.states)) {
      expect([node.invoke, node.after, node.entry, node.exit]).toEqual([[], [], [], []])
    }
  })

  it("helpers", () => {
    expect(WORKER_STATES.filter(isLive)).toEqual(["spawning", "initializing", "ready", "busy", "draining"])
    expect(isExitEvent({ type: "DRAIN" })).toBe(false)
    expect(describeExit({ type: "EXITED", code: null, signal: null }).message).toBe("exited without an exit code")
    expect(describeExit({ type: "INIT_TIMEOUT" })).toEqual({
      reason: "init_timeout",
      code: null,
      signal: null,
      message: "no ready within the init timeout"
    })
  })
})
