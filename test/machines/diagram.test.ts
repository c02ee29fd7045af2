import { readFileSync } from "node:fs"
import { join } from "node:path"
import { setup } from "xstate"
import { describe, expect, it } from "vitest"
import { machineGraph, poolMachine, toJSON, toMarkdown, toMermaid, toStatelyJSON, workerMachine } from "../../src/machines/index.ts"
import { diagramPages, renderPage, renderSvg } from "../../scripts/diagrams.ts"

const root = join(import.meta.dirname, "..", "..")

describe("committed diagrams", () => {
  it.each(diagramPages.map((page) => [page.file, page] as const))("%s is up to date", (file, page) => {
    const committed = readFileSync(join(root, file), "utf8")
    expect(committed, `${file} is stale: regenerate it with \`node scripts/diagrams.ts\` and commit it`).toBe(
      renderPage(page)
    )
  })

  it.each(diagramPages.map((page) => [page.svg, page] as const))("%s is up to date", (file, page) => {
    const committed = readFileSync(join(root, file), "utf8")
    expect(committed, `${file} is stale: regenerate it with \`node scripts/diagrams.ts\` and commit it`).toBe(renderSvg(page))
  })
})

describe("machineGraph", () => {
  it("reads every transition from XState's directed graph", () => {
    const graph = machineGraph(workerMachine)
    expect(graph.initial).toBe("spawning")
    expect(graph.states.flatMap((s) => s.edges)).toHaveLength(31)
    expect(graph.states.find((s) => s.name === "draining")?.edges[0]).toEqual({ source: "draining", target: "stopped", event: "EXITED", guard: "drainedCleanly", actions: [] })
    expect(machineGraph(poolMachine).states.map((s) => s.type)).toEqual(["atomic", "atomic", "atomic", "atomic", "final", "final"])
  })
})

describe("toStatelyJSON", () => {
  it("is XState's machine definition as plain JSON", () => {
    const json = toStatelyJSON(poolMachine) as { id: string; initial: { target: Array<string> }; states: Record<string, { type: string; on: Record<string, Array<{ target?: Array<string>; guard?: string }>> }> }
    expect(json.id).toBe("pool")
    expect(json.initial.target).toEqual(["#pool.starting"])
    expect(Object.keys(json.states)).toEqual(["starting", "ready", "degraded", "draining", "closed", "failed"])
    expect(json.states["draining"]!.on["DRAINED"]![0]!.target).toEqual(["#pool.closed"])
    expect(json.states["ready"]!.on["WORKER_LOST"]![0]!.guard).toBe("breaksPool")
    expect(JSON.stringify(toStatelyJSON(workerMachine))).toBe(JSON.stringify(workerMachine.toJSON()))
  })
})

describe("toMermaid", () => {
  const mermaid = toMermaid(workerMachine)
  const lines = mermaid.trimEnd().split("\n")

  it("draws the worker machine from its definition", () => {
    expect(lines[0]).toBe("stateDiagram-v2")
    expect(lines[1]).toBe("  [*] --> spawning")
    expect(lines).toContain("  spawning --> initializing : SPAWNED")
    expect(lines).toContain("  busy --> ready : UNSATURATED")
    expect(lines).toContain("  initializing --> ready : READY / announceReady")
    expect(lines).toContain("  ready --> draining : DRAIN / requestShutdown")
    expect(lines).toContain("  crashed : entry / failPending, reportExit")
    expect(lines).toContain("  draining --> stopped : EXITED [drainedCleanly]")
    expect(lines).toContain("  draining --> crashed : EXITED")
    expect(lines.slice(-2)).toEqual(["  stopped --> [*]", "  crashed --> [*]"])
    expect(lines.filter((l) => l.includes(" --> ") && l.includes(" : "))).toHaveLength(31)
    expect(lines.some((l) => /^\s*(initializing|spawning|draining|crashed|stopped) --> busy/.test(l))).toBe(false)
  })

  it("is deterministic", () => {
    expect(toMermaid(workerMachine)).toBe(mermaid)
    expect(toMarkdown(workerMachine, { title: "t", source: "s" })).toBe(toMarkdown(workerMachine, { title: "t", source: "s" }))
  })
})

describe("toJSON", () => {
  it("describes states, finals and transitions", () => {
    const json = toJSON(workerMachine)
    expect(json.id).toBe("worker")
    expect(json.initial).toBe("spawning")
    expect(json.states.map((s) => s.name)).toEqual([
      "spawning",
      "initializing",
      "ready",
      "busy",
      "draining",
      "terminating",
      "stopped",
      "crashed"
    ])
    expect(json.states.filter((s) => s.final).map((s) => s.name)).toEqual(["stopped", "crashed"])
    expect(json.states.find((s) => s.name === "ready")?.transitions).toEqual([
      { event: "SATURATED", target: "busy", guard: null, actions: [] },
      { event: "DRAIN", target: "draining", guard: null, actions: ["requestShutdown"] },
      { event: "PROTOCOL_ERROR", target: "terminating", guard: null, actions: ["kill"] },
      { event: "HEARTBEAT_TIMEOUT", target: "terminating", guard: null, actions: ["kill"] },
      { event: "KILL", target: "terminating", guard: null, actions: ["kill"] },
      { event: "EXITED", target: "crashed", guard: null, actions: [] }
    ])
    expect(json.states.find((s) => s.name === "initializing")).toMatchObject({ entry: ["armInitTimeout"], exit: ["disarmInitTimeout"] })
    expect(JSON.parse(JSON.stringify(json))).toEqual(json)
  })
})

describe("nested machines", () => {
  const nested = setup({ guards: { ok: () => true } }).createMachine({
    id: "nested",
    initial: "a",
    states: {
      a: {
        initial: "a1",
        states: { a1: { on: { NEXT: "a2" } }, a2: { always: { target: "#nested.p" } } },
        on: { JUMP: { target: "b", guard: "ok" } }
      },
      p: {
        type: "parallel",
        states: { x: { initial: "x1", states: { x1: {} } }, y: { initial: "y1", states: { y1: { after: { 100: "#nested.b" } } } } }
      },
      b: { type: "final" }
    }
  })

  it("does not break, and names nested states by path", () => {
    const json = toJSON(nested)
    expect(json.states.map((s) => s.name)).toEqual(["a", "a.a1", "a.a2", "p", "p.x", "p.x.x1", "p.y", "p.y.y1", "b"])
    expect(json.states.find((s) => s.name === "a.a2")?.transitions).toEqual([{ event: "always", target: "p", guard: null, actions: [] }])
    expect(json.states.find((s) => s.name === "p.y.y1")?.transitions).toEqual([{ event: "after 100ms", target: "b", guard: null, actions: [] }])
    const mermaid = toMermaid(nested)
    expect(mermaid).toContain("state a {")
    expect(mermaid).toContain('  state "a1" as a__a1')
    expect(mermaid).toContain("  a__a1 --> a__a2 : NEXT")
    expect(mermaid).toContain("  a --> b : JUMP [ok]")
    expect(mermaid).toContain("    --")
    expect(mermaid).toContain("  b --> [*]")
  })
})
