import type { SnapshotFrom } from "xstate"
import { initialTransition, transition } from "xstate"
import { createTestModel } from "xstate/graph"
import { describe, expect, it } from "vitest"
import { MachineRunner } from "../../src/actors/machine-runner.ts"
import { coveredEdges, reachedStates } from "./model.ts"
import {
  describeKill,
  describeProcessExit,
  isLive,
  isServing,
  WORKER_ACTIONS,
  WORKER_STATES,
  workerMachine,
  type ExitInfo,
  type WorkerAction,
  type WorkerEvent,
  type WorkerStateValue
} from "../../src/machines/index.ts"

type Snapshot = SnapshotFrom<typeof workerMachine>

/** One payload per event variant the model may send; rejected ones are filtered out by `snapshot.can`. */
const EVENTS: ReadonlyArray<WorkerEvent> = [
  { type: "SPAWNED", pid: 42 },
  { type: "SPAWN_FAILED", message: "ENOENT" },
  { type: "HELLO", codecs: ["json"] },
  { type: "READY", handlers: ["add"] },
  { type: "INIT_FAILED", message: "ImportError" },
  { type: "INIT_TIMEOUT" },
  { type: "SATURATED" },
  { type: "UNSATURATED" },
  { type: "DRAIN" },
  { type: "EXITED", code: 0, signal: null, pending: 0 },
  { type: "EXITED", code: null, signal: "SIGKILL", pending: 1 },
  { type: "PROTOCOL_ERROR", message: "bad frame" },
  { type: "HEARTBEAT_TIMEOUT", reason: "no pong" },
  { type: "KILL", reason: "recycled" }
]

/**
 * The reference model: which named actions an edge must run, in XState's order (the source's exit
 * actions, the transition's, the target's entry actions), written out independently of the machine.
 */
const ENTRY: Partial<Record<WorkerStateValue, ReadonlyArray<WorkerAction>>> = {
  spawning: ["spawn"], initializing: ["armInitTimeout"], draining: ["withdraw"], terminating: ["withdraw"],
  crashed: ["failPending", "reportExit"], stopped: ["reportExit"]
}
const expectedActions = (from: WorkerStateValue, event: WorkerEvent, to: WorkerStateValue): ReadonlyArray<WorkerAction> => {
  const leaving = from !== to && from === "initializing" ? ["disarmInitTimeout" as const] : []
  const onEdge: Array<WorkerAction> = []
  if (event.type === "HELLO") onEdge.push("sendWelcome")
  if (event.type === "READY") onEdge.push("announceReady")
  if (event.type === "DRAIN") onEdge.push(from === "ready" || from === "busy" ? "requestShutdown" : "kill")
  if (["INIT_TIMEOUT", "PROTOCOL_ERROR", "HEARTBEAT_TIMEOUT", "KILL"].includes(event.type)) onEdge.push("kill")
  const entering = from === to ? [] : ENTRY[to] ?? []
  return [...leaving, ...onEdge, ...entering]
}

/** The expected exit as the reference computes it: a decided kill keeps its reason, the OS adds code and signal. */
const expectedExit = (decided: Pick<ExitInfo, "reason"> | null, event: WorkerEvent): Pick<ExitInfo, "reason" | "code" | "signal"> | null => {
  switch (event.type) {
    case "EXITED":
      return decided === null
        ? { reason: event.signal === null ? "exit" : "signal", code: event.code, signal: event.signal }
        : { reason: decided.reason, code: event.code, signal: event.signal }
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
      return decided === null ? null : { ...decided, code: null, signal: null }
  }
}

const serializeState = (state: Snapshot, event: WorkerEvent | undefined, prev?: Snapshot): string => {
  const via = event === undefined ? "" : ` via ${JSON.stringify(event)} from ${String(prev?.value)}`
  return `${JSON.stringify([state.value, state.context.lastExit?.reason ?? null])}${via}`
}

const model = createTestModel(workerMachine, {
  input: { workerId: "w1" },
  events: EVENTS,
  filterEvents: (snapshot, event) => snapshot.can(event),
  serializeState
})
const paths = model.getShortestPaths()
const title = (path: (typeof paths)[number]): string =>
  `${path.steps.slice(1).map((s) => s.event.type).join(" → ")} ⇒ ${String(path.state.value)}`

/** The machine run by the real runner, with stub actions that record what the machine asked for. */
const runWithStubs = () => {
  const log: Array<WorkerAction> = []
  const stubs = Object.fromEntries(WORKER_ACTIONS.map((a) => [a, () => void log.push(a)]))
  const runner = new MachineRunner(workerMachine, { workerId: "w1" }, stubs, () => {})
  runner.start()
  return { runner, log }
}

describe("worker machine (model-based, shortest paths, actions asserted)", () => {
  // A change in this number means the reachable graph changed: review the transition list below.
  it("has the expected number of shortest paths", () => {
    expect(paths.length).toBe(35)
  })

  it.each(paths.map((p) => [title(p), p] as const))("%s", async (_title, path) => {
    const { runner, log } = runWithStubs()
    expect(log).toEqual(["spawn"])
    const ref = { pid: null as number | null, exit: null as ReturnType<typeof expectedExit> }
    let checked = 0
    const send = ({ event }: { event: { type: string } }) => {
      const e = event as WorkerEvent
      const from = runner.snapshot.value as WorkerStateValue
      expect(runner.snapshot.can(e)).toBe(true)
      log.length = 0
      runner.send(e)
      const to = runner.snapshot.value as WorkerStateValue
      expect(log, `${from} -${e.type}-> ${to}`).toEqual(expectedActions(from, e, to))
      if (e.type === "SPAWNED") ref.pid = e.pid
      if (e.type !== "HELLO" && e.type !== "READY" && e.type !== "SATURATED" && e.type !== "UNSATURATED" && e.type !== "DRAIN" && e.type !== "SPAWNED") {
        ref.exit = expectedExit(ref.exit, e)
      }
    }
    const check = (expected: WorkerStateValue) => (state: Snapshot) => {
      checked += 1
      const { value, context, status } = runner.snapshot
      expect(value).toBe(expected)
      expect(value).toBe(state.value)
      expect(context).toMatchObject({ workerId: "w1", pid: ref.pid })
      if (ref.exit === null) expect(context.lastExit).toBeNull()
      else expect(context.lastExit).toMatchObject(ref.exit)
      if (expected === "crashed" || expected === "terminating") expect(context.lastExit?.message).toBeTruthy()
      expect(status).toBe(isLive(expected) ? "active" : "done")
    }
    const states = Object.fromEntries(WORKER_STATES.map((s) => [s, check(s)]))
    const events = Object.fromEntries(EVENTS.map((e) => [e.type, send]))
    await path.test({ states, events })
    expect(checked).toBe(path.steps.length)
  })

  it("reaches every state", () => {
    expect(reachedStates(paths)).toEqual(new Set(WORKER_STATES))
  })

  it("runs every named action on some path", () => {
    const seen = new Set<string>(["spawn"])
    for (const path of paths) {
      let snapshot = initialTransition(workerMachine, { workerId: "w1" })[0]
      for (const step of path.steps.slice(1)) {
        const [next, actions] = transition(workerMachine, snapshot, step.event as WorkerEvent)
        for (const a of actions) seen.add(a.type)
        snapshot = next
      }
    }
    expect([...seen].sort()).toEqual([...WORKER_ACTIONS].sort())
  })

  it("covers exactly the expected transitions", () => {
    const edges = coveredEdges(paths)
    const many = (from: string, events: ReadonlyArray<string>, to: string) => events.map((e) => `${from} -${e}-> ${to}`)
    const expected = [
      "spawning -SPAWNED-> initializing",
      "spawning -DRAIN-> draining",
      "spawning -KILL-> terminating",
      ...many("spawning", ["SPAWN_FAILED", "EXITED"], "crashed"),
      "initializing -HELLO-> initializing",
      "initializing -READY-> ready",
      "initializing -DRAIN-> draining",
      ...many("initializing", ["INIT_FAILED", "INIT_TIMEOUT", "PROTOCOL_ERROR", "KILL"], "terminating"),
      "initializing -EXITED-> crashed",
      "ready -SATURATED-> busy",
      "ready -DRAIN-> draining",
      ...many("ready", ["PROTOCOL_ERROR", "HEARTBEAT_TIMEOUT", "KILL"], "terminating"),
      "ready -EXITED-> crashed",
      "busy -UNSATURATED-> ready",
      "busy -DRAIN-> draining",
      ...many("busy", ["PROTOCOL_ERROR", "HEARTBEAT_TIMEOUT", "KILL"], "terminating"),
      "busy -EXITED-> crashed",
      "draining -EXITED-> stopped",
      "draining -EXITED-> crashed",
      ...many("draining", ["PROTOCOL_ERROR", "HEARTBEAT_TIMEOUT", "KILL"], "terminating"),
      "terminating -EXITED-> crashed"
    ]
    expect(expected).toHaveLength(31)
    expect([...edges].sort()).toEqual([...expected].sort())
  })
})

describe("worker machine (unit)", () => {
  const toReady: ReadonlyArray<WorkerEvent> = [{ type: "SPAWNED", pid: 1 }, { type: "HELLO", codecs: ["json"] }, { type: "READY", handlers: ["f"] }]
  const drive = (...events: ReadonlyArray<WorkerEvent>) => {
    const { runner, log } = runWithStubs()
    for (const event of events) runner.send(event)
    return { snapshot: runner.snapshot, log }
  }

  it("starts in spawning, asking for a spawn", () => {
    const [snapshot, actions] = initialTransition(workerMachine, { workerId: "w2" })
    expect(snapshot).toMatchObject({ value: "spawning", context: { workerId: "w2", pid: null, handlers: [], lastExit: null } })
    expect(actions.map((a) => a.type)).toEqual(["spawn"])
  })

  it("ready records the handlers and pid; capacity edges carry no action", () => {
    const { snapshot, log } = drive(...toReady, { type: "SATURATED" }, { type: "UNSATURATED" })
    expect(snapshot).toMatchObject({ value: "ready", context: { pid: 1, handlers: ["f"] } })
    expect(log).toEqual(["spawn", "armInitTimeout", "sendWelcome", "disarmInitTimeout", "announceReady"])
  })

  it("a kill keeps its reason when the OS reports the exit", () => {
    const { snapshot } = drive(...toReady, { type: "HEARTBEAT_TIMEOUT", reason: "no pong to 3 heartbeats" }, { type: "EXITED", code: null, signal: "SIGKILL", pending: 1 })
    expect(snapshot.value).toBe("crashed")
    expect(snapshot.context.lastExit).toEqual({ reason: "heartbeat", code: null, signal: "SIGKILL", message: "was killed for missing heartbeats: no pong to 3 heartbeats" })
  })

  it("an init error waits for Python's own exit (no kill), keeping its exit code", () => {
    const { snapshot, log } = drive({ type: "SPAWNED", pid: 1 }, { type: "INIT_FAILED", message: "ImportError: x" }, { type: "EXITED", code: 1, signal: null, pending: 0 })
    expect(log).not.toContain("kill")
    expect(snapshot.context.lastExit).toMatchObject({ reason: "init_error", code: 1 })
  })

  it("a drain with a call still in flight at the exit is a crash; with none, a stop", () => {
    expect(drive(...toReady, { type: "DRAIN" }, { type: "EXITED", code: 0, signal: null, pending: 0 }).snapshot.value).toBe("stopped")
    const crashed = drive(...toReady, { type: "SATURATED" }, { type: "DRAIN" }, { type: "EXITED", code: null, signal: "SIGTERM", pending: 1 })
    expect(crashed.snapshot).toMatchObject({ value: "crashed", context: { lastExit: { reason: "signal", signal: "SIGTERM" } } })
    expect(crashed.log.slice(-2)).toEqual(["failPending", "reportExit"])
  })

  it("a stop before ready kills (no protocol yet) and still ends stopped", () => {
    const { snapshot, log } = drive({ type: "SPAWNED", pid: 1 }, { type: "DRAIN" }, { type: "EXITED", code: null, signal: "SIGKILL", pending: 0 })
    expect(snapshot.value).toBe("stopped")
    expect(log).toEqual(["spawn", "armInitTimeout", "disarmInitTimeout", "kill", "withdraw", "reportExit"])
  })

  it("final states accept nothing, and the runner ignores what comes after", () => {
    for (const events of [[{ type: "DRAIN" }, { type: "EXITED", code: 0, signal: null, pending: 0 }], [{ type: "SPAWN_FAILED", message: "ENOENT" }]] as const) {
      const { snapshot } = drive(...events)
      expect(snapshot.status).toBe("done")
      for (const event of EVENTS) expect(snapshot.can(event)).toBe(false)
    }
  })

  it("events sent by an action are processed after it, in order, seeing the committed state", () => {
    const seen: Array<string> = []
    const runner: MachineRunner<typeof workerMachine> = new MachineRunner(workerMachine, { workerId: "w1" }, {
      spawn: () => {
        seen.push(`spawn in ${String(runner.snapshot.value)}`)
        runner.send({ type: "SPAWNED", pid: 9 })
        seen.push(`still ${String(runner.snapshot.value)}`)
      },
      armInitTimeout: () => seen.push(`arm in ${String(runner.snapshot.value)}`)
    }, () => {})
    runner.start()
    expect(seen).toEqual(["spawn in spawning", "still spawning", "arm in initializing"])
  })

  it("is pure: no invokes, no delays; every action it names is declared", () => {
    for (const node of Object.values(workerMachine.root.states)) {
      expect([node.invoke, node.after]).toEqual([[], []])
    }
  })

  it("helpers", () => {
    expect(WORKER_STATES.filter(isLive)).toEqual(["spawning", "initializing", "ready", "busy", "draining", "terminating"])
    expect(WORKER_STATES.filter(isServing)).toEqual(["ready", "busy"])
    expect(describeProcessExit(null, null).message).toBe("exited without an exit code")
    expect(describeKill({ type: "INIT_TIMEOUT" })).toEqual({ reason: "init_timeout", code: null, signal: null, message: "no ready within the init timeout" })
  })
})
