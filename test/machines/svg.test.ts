import { describe, expect, it } from "vitest"
import type { AnyStateMachine } from "xstate"
import { setup } from "xstate"
import { machineGraph, poolMachine, toSVG, workerMachine } from "../../src/machines/index.ts"
import { layout } from "../../src/machines/layout.ts"
import { descendants, parseXml } from "./xml.ts"

const classes = (e: { readonly attributes: Readonly<Record<string, string>> }): ReadonlyArray<string> => (e.attributes["class"] ?? "").split(" ")

const drawn = (machine: AnyStateMachine, options?: Parameters<typeof toSVG>[1]) => {
  const svg = parseXml(toSVG(machine, options))
  const all = descendants(svg)
  return {
    svg,
    states: all.filter((e) => e.name === "g" && classes(e).includes("state")),
    transitions: all.filter((e) => e.name === "g" && classes(e).includes("transition") && e.attributes["data-source"] !== undefined)
  }
}

describe("toSVG", () => {
  it.each([["worker", workerMachine], ["pool", poolMachine]] as const)("draws every state and transition of the %s machine", (_, machine) => {
    const { svg, states, transitions } = drawn(machine)
    expect(svg.name).toBe("svg")
    expect(svg.attributes["xmlns"]).toBe("http://www.w3.org/2000/svg")
    const graph = machineGraph(machine)
    expect(states.map((s) => s.attributes["data-state"])).toEqual(graph.states.map((s) => s.name))
    for (const s of states) expect(s.attributes["id"]).toBe(`state-${s.attributes["data-state"]}`)
    // Every (source, target, event) of the machine is on the drawn arrow between those states, in its label.
    for (const edge of graph.states.flatMap((s) => s.edges)) {
      const arrow = transitions.find((t) => t.attributes["data-source"] === edge.source && t.attributes["data-target"] === edge.target)
      expect(arrow, `${edge.source} -> ${edge.target}`).toBeDefined()
      expect(arrow!.attributes["data-events"]!.split(" ")).toContain(edge.event)
      const label = arrow!.children.find((c) => c.name === "text")!.text
      expect(label.split(", ")).toContain(edge.guard === null ? edge.event : `${edge.event} [${edge.guard}]`)
      expect(arrow!.children.find((c) => c.name === "path")!.attributes["d"]).toMatch(/^M [\d.]+,[\d.]+ /)
    }
    // And nothing drawn that the machine does not have.
    const pairs = new Set(graph.states.flatMap((s) => s.edges.map((e) => `${e.source}>${e.target}`)))
    expect(transitions.map((t) => `${t.attributes["data-source"]}>${t.attributes["data-target"]}`).sort()).toEqual([...pairs].sort())
  })

  it("marks final and initial states, and lights the active one", () => {
    const { states } = drawn(workerMachine, { active: "busy" })
    const byName = new Map(states.map((s) => [s.attributes["data-state"], classes(s)]))
    expect(byName.get("crashed")).toContain("final")
    expect(byName.get("stopped")).toContain("final")
    expect(byName.get("spawning")).toContain("initial")
    expect(states.filter((s) => classes(s).includes("active")).map((s) => s.attributes["data-state"])).toEqual(["busy"])
  })

  it("prefixes every id, so several drawings can share a page", () => {
    const { svg } = drawn(poolMachine, { idPrefix: "w1-" })
    const ids = descendants(svg).map((e) => e.attributes["id"]).filter((id) => id !== undefined)
    expect(ids.length).toBeGreaterThan(10)
    for (const id of ids) expect(id.startsWith("w1-")).toBe(true)
    expect(new Set(ids).size).toBe(ids.length)
    expect(toSVG(poolMachine, { idPrefix: "w1-" })).toContain('marker-end="url(#w1-arrow)"')
  })

  it("is deterministic and self-contained", () => {
    const svg = toSVG(workerMachine)
    expect(toSVG(workerMachine)).toBe(svg)
    expect(svg).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/)
    expect(svg).not.toContain("<script")
  })

  it("escapes names and keeps every box inside the drawing, clear of the others", () => {
    const odd = setup({}).createMachine({
      id: "odd&<machine>",
      initial: "a",
      states: { a: { on: { 'GO"<&>': "b", LOOP: "a" } }, b: { on: { BACK: "a", END: "c" } }, c: { type: "final" } }
    })
    const { svg, states } = drawn(odd)
    expect(svg.attributes["data-machine"]).toBe("odd&<machine>")
    const a = drawn(odd).transitions.find((t) => t.attributes["data-source"] === "a" && t.attributes["data-target"] === "b")!
    expect(a.children.find((c) => c.name === "text")!.text).toBe('GO"<&>')
    expect(states).toHaveLength(3)
    for (const machine of [odd, workerMachine, poolMachine]) {
      const l = layout(machineGraph(machine))
      for (const n of l.nodes) {
        expect(n.x).toBeGreaterThanOrEqual(0)
        expect(n.x + n.w).toBeLessThanOrEqual(l.width)
        expect(n.y + n.h).toBeLessThanOrEqual(l.height)
        for (const m of l.nodes) {
          if (m === n) continue
          expect(n.x + n.w <= m.x || m.x + m.w <= n.x || n.y + n.h <= m.y || m.y + m.h <= n.y, `${n.name} overlaps ${m.name}`).toBe(true)
        }
      }
    }
  })

  it("lays the worker's lifecycle out top to bottom: a cycle shares a row, final states share the last", () => {
    const rows = new Map(layout(machineGraph(workerMachine)).nodes.map((n) => [n.name, n.layer]))
    expect(Object.fromEntries(rows)).toEqual({ spawning: 0, initializing: 1, ready: 2, busy: 2, draining: 3, terminating: 4, stopped: 5, crashed: 5 })
  })
})

describe("the XML check itself", () => {
  it.each([
    ["crossed tags", "<a><b></a></b>"],
    ["unclosed", "<svg><g>"],
    ["bare ampersand", "<a>x & y</a>"],
    ["unquoted attribute", "<a x=1></a>"],
    ["duplicate attribute", '<a x="1" x="2"></a>'],
    ["two roots", "<a></a><b></b>"]
  ])("rejects %s", (_, xml) => {
    expect(() => parseXml(xml)).toThrow()
  })
})
