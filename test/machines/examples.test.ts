// Every @example of pyvisor/machines, run and type-checked here. The first test reads the JSDoc of
// every file behind the entry and fails unless each example's code lines (comments, blank lines and
// imports aside) appear verbatim in this file (an expression may sit inside an `expect(...)`), so
// the documentation cannot drift from code that runs.
import { readdirSync, readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { createActor, initialTransition, transition } from "xstate"
import {
  acceptsCalls, describeKill, describeProcessExit, isLive, isServing, machineGraph, POOL_STATES, poolMachine, toJSON, toMarkdown,
  toMermaid, toStatelyJSON, toSVG, WORKER_ACTIONS, WORKER_STATES, workerMachine
} from "../../src/machines/index.ts"
import type {
  DiagramState, DiagramTransition, ExitInfo, ExitReason, GraphEdge, GraphState, Json, KillEvent, MachineDiagram, MachineGraph,
  MarkdownOptions, PoolContext, PoolStateValue, SvgOptions, WorkerAction, WorkerContext, WorkerStateValue
} from "../../src/machines/index.ts"
import { layout } from "../../src/machines/layout.ts"
import type { LayoutEdge, LayoutNode } from "../../src/machines/layout.ts"

const SRC = new URL("../../src/machines/", import.meta.url)
const codeLines = (code: string): Array<string> =>
  code.split("\n").map((l) => l.replace(/\s*\/\/.*$/, "").trim()).filter((l) => l !== "" && !l.startsWith("import "))

describe("pyvisor/machines examples", () => {
  it("all appear verbatim in this file", () => {
    const self = readFileSync(new URL(import.meta.url), "utf8")
    const missing: Array<string> = []
    for (const file of readdirSync(SRC).filter((f) => f.endsWith(".ts"))) {
      const text = readFileSync(new URL(file, SRC), "utf8").replace(/^[ \t]*\* ?/gm, "")
      for (const m of text.matchAll(/```ts\n([\s\S]*?)```/g)) {
        for (const line of codeLines(m[1]!)) if (!self.includes(line)) missing.push(`${file}: ${line}`)
      }
    }
    expect(missing).toEqual([])
  })

  it("diagram.ts", () => {
    const t: DiagramTransition = { event: "READY", target: "ready", guard: null, actions: ["announceReady"] }
    const s: DiagramState = { name: "stopped", final: true, description: null, entry: ["reportExit"], exit: [], transitions: [] }
    const d: MachineDiagram = toJSON(workerMachine) // { id: "worker", initial: "spawning", states: [...] }
    expect(d.states.find((x) => x.name === "initializing")?.transitions).toContainEqual(t)
    expect(d.states.find((x) => x.name === "stopped")).toMatchObject({ ...s, transitions: expect.any(Array), description: expect.anything() })
    expect(toJSON(workerMachine).states[0]).toMatchObject({ name: "spawning", final: false })
    expect(toMermaid(workerMachine)).toMatch(/^stateDiagram-v2\n\s+\[\*\] --> spawning\n/)
    const options: MarkdownOptions = { title: "Worker machine", source: "src/machines/worker.ts" }
    expect(toMarkdown(workerMachine, { title: "Worker machine", source: "src/machines/worker.ts" })).toBe(toMarkdown(workerMachine, options))
  })

  it("graph.ts and layout.ts", () => {
    const t: GraphEdge = { source: "initializing", target: "ready", event: "READY", guard: null, actions: ["announceReady"] }
    const s: GraphState = { name: "stopped", key: "stopped", parent: null, type: "final", initial: null, description: null, entry: ["reportExit"], exit: [], edges: [] }
    const g: MachineGraph = machineGraph(workerMachine) // { id: "worker", initial: "spawning", states: [...] }
    expect(g).toMatchObject({ id: "worker", initial: "spawning" })
    expect(g.states.flatMap((x) => x.edges)).toContainEqual(t)
    expect(g.states.find((x) => x.name === "stopped")).toMatchObject({ ...s, description: expect.anything() })
    expect(machineGraph(workerMachine).states.find((s) => s.name === "ready")?.edges[0]).toMatchObject({ source: "ready", target: "busy", event: "SATURATED" })
    const n: LayoutNode = { name: "ready", x: 10, y: 120, w: 96, h: 34, layer: 2, final: false, initial: false }
    const e: LayoutEdge = { source: "spawning", target: "initializing", events: ["SPAWNED"], path: "M …", labelX: 60, labelY: 80, anchor: "middle" }
    expect([n.name, e.source]).toEqual(["ready", "spawning"])
    const { width, height } = layout(machineGraph(workerMachine))
    expect(width * height).toBeGreaterThan(0)
    expect(layout(machineGraph(poolMachine)).nodes.map((n) => `${n.name}@${n.layer}`)).toContain("starting@0")
  })

  it("index.ts, stately.ts, svg.ts", () => {
    console.log(toMermaid(workerMachine))
    const svg = toSVG(workerMachine, { active: "ready" })
    expect(svg).toMatch(/^<svg /)
    const v: Json = { id: "worker", states: {} }
    expect(JSON.stringify(toStatelyJSON(workerMachine), null, 2)).toContain(`"id": "${String((v as { id: string }).id)}"`)
    const options: SvgOptions = { idPrefix: "w1-", active: "ready", title: "worker w1" }
    expect(toSVG(workerMachine, options)).toContain("w1-")
    const writeFileSync = (_file: string, text: string): void => void expect(text).toBe(svg)
    writeFileSync("worker.svg", toSVG(workerMachine, { active: "ready" }))
  })

  it("pool.ts", () => {
    {
      createActor(poolMachine, { input: { size: 4 } })
      const actor = createActor(poolMachine, { input: { size: 2 } }).start()
      const ctx: PoolContext = actor.getSnapshot().context // { size: 2, live: [], failure: null, error: null }
      expect(ctx.size).toBe(2)
      actor.send({ type: "WORKER_READY", workerId: "w1" })
      actor.send({ type: "WORKER_LOST", workerId: "w1" })
      actor.send({ type: "FAIL", reason: "restart intensity exceeded" })
      const value: PoolStateValue = actor.getSnapshot().value
      expect(value).toBe("failed")
    }
    expect(POOL_STATES.filter(acceptsCalls)).toEqual(["starting", "ready", "degraded"])
    expect(acceptsCalls("starting")).toBe(true)
    expect(acceptsCalls("draining")).toBe(false)
    const actor = createActor(poolMachine, { input: { size: 2 } }).start()
    actor.send({ type: "WORKER_READY", workerId: "w1" }) // still starting
    actor.send({ type: "WORKER_READY", workerId: "w2" }) // → ready
    actor.send({ type: "WORKER_LOST", workerId: "w1" }) // → degraded
    actor.send({ type: "CLOSE" }) // → draining
    actor.send({ type: "DRAINED" }) // → closed
    expect(actor.getSnapshot().value).toBe("closed")
  })

  it("worker.ts", () => {
    const reason: ExitReason = "heartbeat"
    const info: ExitInfo = { reason: "exit", code: 1, signal: null, message: "exited with code 1" }
    expect(describeProcessExit(1, null)).toEqual(info)
    expect(describeProcessExit(null, "SIGKILL")).toMatchObject({ reason: "signal", message: "killed by SIGKILL" })
    expect(describeKill({ type: "INIT_TIMEOUT" })).toMatchObject({ reason: "init_timeout", message: "no ready within the init timeout" })
    expect(reason).toBe("heartbeat")
    {
      const [snapshot] = initialTransition(workerMachine, { workerId: "w1" })
      const ctx: WorkerContext = snapshot.context // { workerId: "w1", pid: null, handlers: [], wasReady: false, lastExit: null }
      expect(ctx).toMatchObject({ workerId: "w1", pid: null })
      transition(workerMachine, snapshot, { type: "SPAWNED", pid: 4242 })
      transition(workerMachine, snapshot, { type: "READY", handlers: ["add"] })
      const value: WorkerStateValue = snapshot.value
      expect(value).toBe("spawning")
      initialTransition(workerMachine, { workerId: "w1" })
    }
    const e: KillEvent = { type: "KILL", reason: "call did not stop within cancelGraceMs" }
    expect(e.type).toBe("KILL")
    const implemented = Object.fromEntries(WORKER_ACTIONS.map((a) => [a, () => {}])) as Record<WorkerAction, () => void>
    expect(Object.keys(implemented)).toContain("kill")
    expect(WORKER_ACTIONS.includes("kill")).toBe(true)
    expect(WORKER_STATES.filter(isLive)).toEqual(["spawning", "initializing", "ready", "busy", "draining", "terminating"])
    expect(isLive("terminating")).toBe(true)
    expect(isLive("crashed")).toBe(false)
    expect(isServing("busy")).toBe(true)
    expect(isServing("draining")).toBe(false)
    let [s, actions] = initialTransition(workerMachine, { workerId: "w1" }) // actions: spawn
    expect(actions.map((a) => a.type)).toContain("spawn")
    // The example shows each step's actions in a comment; the test checks the last step's.
    // eslint-disable-next-line no-useless-assignment
    ;[s, actions] = transition(workerMachine, s, { type: "SPAWNED", pid: 4242 }) // armInitTimeout
    ;[s, actions] = transition(workerMachine, s, { type: "READY", handlers: ["add"] }) // disarmInitTimeout, announceReady
    expect(s.value).toBe("ready")
    expect(actions).toBeDefined()
  })
})
