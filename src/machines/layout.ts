/**
 * A small deterministic layered layout for state diagrams, so {@link toSVG} needs no layout engine
 * and no browser: states in rows (cycles such as ready ⇄ busy share a row, final states take the
 * last one), transitions between neighbouring rows as curves, longer or upward ones as rounded
 * lanes down the side. Pure arithmetic on the graph: same machine, same numbers.
 * @module
 */
import type { MachineGraph } from "./graph.ts"

/**
 * A state's box. `x`, `y` is its top-left corner.
 *
 * @example
 * ```ts
 * const n: LayoutNode = { name: "ready", x: 10, y: 120, w: 96, h: 34, layer: 2, final: false, initial: false }
 * ```
 */
export interface LayoutNode {
  readonly name: string
  readonly x: number
  readonly y: number
  readonly w: number
  readonly h: number
  readonly layer: number
  readonly final: boolean
  readonly initial: boolean
}

/**
 * One drawn transition: every event from `source` to `target`, an SVG path and where its label goes.
 *
 * @example
 * ```ts
 * const e: LayoutEdge = { source: "spawning", target: "initializing", events: ["SPAWNED"], path: "M …", labelX: 60, labelY: 80, anchor: "middle" }
 * ```
 */
export interface LayoutEdge {
  readonly source: string
  readonly target: string
  readonly events: ReadonlyArray<string>
  readonly path: string
  readonly labelX: number
  readonly labelY: number
  readonly anchor: "start" | "middle" | "end"
}

/**
 * A laid-out machine: nodes, edges, the initial marker and the drawing's size (origin 0, 0).
 *
 * @example
 * ```ts
 * const { width, height } = layout(machineGraph(workerMachine))
 * ```
 */
export interface Layout {
  readonly width: number
  readonly height: number
  readonly nodes: ReadonlyArray<LayoutNode>
  readonly edges: ReadonlyArray<LayoutEdge>
  /** Where the initial state's entry arrow starts (null without an initial state). */
  readonly start: { readonly x: number; readonly y: number } | null
}

/** Monospace widths (the SVG sets a monospace font): one character of a state name / of an edge label. */
const STATE_CHAR = 7.3
const LABEL_CHAR = 6.1
const NODE_H = 34
const ROW_GAP = 74
const COL_GAP = 40
const LANE_GAP = 22
const MARGIN = 16
const TOP = 40

const r1 = (n: number): number => Math.round(n * 10) / 10
const pt = (x: number, y: number): string => `${r1(x)},${r1(y)}`

/** Strongly connected components (Tarjan), each listed in definition order; a map from state to component. */
const components = (names: ReadonlyArray<string>, next: ReadonlyMap<string, ReadonlyArray<string>>): Map<string, number> => {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: Array<string> = []
  const onStack = new Set<string>()
  const component = new Map<string, number>()
  let counter = 0
  let count = 0
  const visit = (v: string): void => {
    index.set(v, counter)
    low.set(v, counter++)
    stack.push(v)
    onStack.add(v)
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) === index.get(v)) {
      for (let w = stack.pop(); w !== undefined; w = w === v ? undefined : stack.pop()) {
        onStack.delete(w)
        component.set(w, count)
      }
      count++
    }
  }
  for (const name of names) if (!index.has(name)) visit(name)
  return component
}

/** Longest-path layers over the components (a cycle is one step), final states in the last layer. */
const layers = (names: ReadonlyArray<string>, pairs: ReadonlyArray<Pair>, finals: ReadonlySet<string>): Map<string, number> => {
  const next = new Map<string, Array<string>>()
  for (const p of pairs) if (p.source !== p.target) next.set(p.source, [...(next.get(p.source) ?? []), p.target])
  const component = components(names, next)
  const preds = new Map<number, Set<number>>()
  for (const p of pairs) {
    const s = component.get(p.source)!
    const t = component.get(p.target)!
    if (s !== t) preds.set(t, (preds.get(t) ?? new Set()).add(s))
  }
  const memo = new Map<number, number>()
  const depth = (c: number): number => {
    const known = memo.get(c)
    if (known !== undefined) return known
    const d = Math.max(0, ...[...(preds.get(c) ?? [])].map((p) => depth(p) + 1))
    memo.set(c, d)
    return d
  }
  const layer = new Map(names.map((n) => [n, depth(component.get(n)!)]))
  const last = Math.max(0, ...names.filter((n) => finals.has(n)).map((n) => layer.get(n)!), ...names.filter((n) => !finals.has(n)).map((n) => layer.get(n)! + 1))
  for (const n of finals) layer.set(n, last)
  return layer
}

interface Pair {
  readonly source: string
  readonly target: string
  readonly events: Array<string>
}

/** Every (source, target) pair once, with its events in definition order. */
const pairsOf = (graph: MachineGraph, names: ReadonlySet<string>): ReadonlyArray<Pair> => {
  const pairs = new Map<string, Pair>()
  for (const state of graph.states) {
    for (const e of state.edges) {
      if (!names.has(e.source) || !names.has(e.target)) continue
      const key = `${e.source}\u0000${e.target}`
      const pair = pairs.get(key) ?? { source: e.source, target: e.target, events: [] }
      const label = e.guard === null ? e.event : `${e.event} [${e.guard}]`
      if (!pair.events.includes(label)) pair.events.push(label)
      pairs.set(key, pair)
    }
  }
  return [...pairs.values()]
}

type Side = "left" | "right"

interface Candidate {
  readonly x: number
  readonly y: number
  readonly anchor: "start" | "middle" | "end"
}

/** An edge routed, with the spots its label may take, best first. */
interface Routed extends Pair {
  readonly path: string
  readonly candidates: ReadonlyArray<Candidate>
}

interface Box {
  readonly x0: number
  readonly y0: number
  readonly x1: number
  readonly y1: number
}

const overlaps = (a: Box, b: Box): boolean => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1

/**
 * Lays out a machine's states and transitions.
 *
 * @example
 * ```ts
 * layout(machineGraph(poolMachine)).nodes.map((n) => `${n.name}@${n.layer}`) // ["starting@0", "ready@1", "degraded@1", ...]
 * ```
 */
export const layout = (graph: MachineGraph): Layout => {
  const states = graph.states.filter((s) => s.type !== "history")
  const names = states.map((s) => s.name)
  const finals = new Set(states.filter((s) => s.type === "final").map((s) => s.name))
  const pairs = pairsOf(graph, new Set(names))
  const layerOf = layers(names, pairs, finals)
  const rows: Array<Array<string>> = []
  for (const name of names) (rows[layerOf.get(name)!] ??= []).push(name)
  const width = (name: string): number => Math.max(96, Math.ceil(name.length * STATE_CHAR) + 32)
  const rowWidth = (row: ReadonlyArray<string>): number => row.reduce((sum, n) => sum + width(n), 0) + COL_GAP * (row.length - 1)
  const nodes = new Map<string, LayoutNode>()
  rows.forEach((row, layer) => {
    let x = -rowWidth(row ?? []) / 2
    for (const name of row ?? []) {
      nodes.set(name, { name, x, y: TOP + layer * (NODE_H + ROW_GAP), w: width(name), h: NODE_H, layer, final: finals.has(name), initial: name === graph.initial })
      x += width(name) + COL_GAP
    }
  })
  const node = (name: string): LayoutNode => nodes.get(name)!
  const rowOf = (name: string): ReadonlyArray<string> => rows[node(name).layer] ?? []
  const outermost = (name: string, side: Side): boolean => {
    const row = rowOf(name)
    return (side === "right" ? row[row.length - 1] : row[0]) === name
  }
  // Ports spread the curves that leave a box's bottom (or enter its top) across its width.
  const downs = pairs.filter((p) => node(p.target).layer === node(p.source).layer + 1)
  const port = (name: string, end: "source" | "target", pair: Pair): number => {
    const list = downs.filter((p) => p[end] === name).sort((a, b) => node(a[end === "source" ? "target" : "source"]).x - node(b[end === "source" ? "target" : "source"]).x)
    const n = node(name)
    return n.x + (n.w * (list.indexOf(pair) + 1)) / (list.length + 1)
  }
  const routed: Array<Routed> = []
  const lanes: Array<{ side: Side; from: number; to: number; level: number }> = []
  const extent = (side: Side, from: number, to: number): number => {
    const inRange = [...nodes.values()].filter((n) => n.layer >= from && n.layer <= to)
    return side === "right" ? Math.max(...inRange.map((n) => n.x + n.w)) : Math.min(...inRange.map((n) => n.x))
  }
  const sideEdges: Array<Pair> = []
  for (const p of pairs) {
    const s = node(p.source)
    const t = node(p.target)
    if (p.source === p.target) {
      const side: Side = outermost(p.source, "right") || !outermost(p.source, "left") ? "right" : "left"
      const dir = side === "right" ? 1 : -1
      const x = side === "right" ? s.x + s.w : s.x
      const path = `M ${pt(x, s.y + 8)} C ${pt(x + dir * 34, s.y - 6)} ${pt(x + dir * 34, s.y + s.h + 6)} ${pt(x, s.y + s.h - 8)}`
      const mid = s.y + s.h / 2 + 4
      routed.push({ ...p, path, candidates: [0, -16, 16, -30, 30].map((dy) => ({ x: x + dir * 30, y: mid + dy, anchor: side === "right" ? "start" : "end" })) })
    } else if (s.layer === t.layer) {
      const rightward = s.x < t.x
      const y = rightward ? s.y : s.y + s.h
      const bend = rightward ? -34 : 34
      const sx = s.x + s.w * (rightward ? 0.7 : 0.3)
      const tx = t.x + t.w * (rightward ? 0.3 : 0.7)
      const apex = y + bend * 0.75 + (rightward ? -4 : 12)
      routed.push({ ...p, path: `M ${pt(sx, y)} C ${pt(sx, y + bend)} ${pt(tx, y + bend)} ${pt(tx, y)}`, candidates: [0, 12, 24].map((d) => ({ x: (sx + tx) / 2, y: apex + (rightward ? -d : d), anchor: "middle" })) })
    } else if (t.layer === s.layer + 1) {
      const sx = port(p.source, "source", p)
      const tx = port(p.target, "target", p)
      const sy = s.y + s.h
      const ty = t.y
      const my = (sy + ty) / 2
      const mx = (sx + tx) / 2
      routed.push({ ...p, path: `M ${pt(sx, sy)} C ${pt(sx, my)} ${pt(tx, my)} ${pt(tx, ty)}`, candidates: [0, -14, 14, -24, 24].flatMap((dy) => [
        { x: mx + 6, y: my + 4 + dy, anchor: "start" as const }, { x: mx - 6, y: my + 4 + dy, anchor: "end" as const }
      ]) })
    } else {
      sideEdges.push(p)
    }
  }
  // Longer lanes go outside shorter ones they overlap; each side fills independently.
  const span = (p: Pair): number => Math.abs(node(p.target).layer - node(p.source).layer)
  const sorted = [...sideEdges].sort((a, b) => span(a) - span(b) || names.indexOf(a.source) - names.indexOf(b.source) || names.indexOf(a.target) - names.indexOf(b.target))
  const count: Record<Side, number> = { left: 0, right: 0 }
  for (const p of sorted) {
    const s = node(p.source)
    const t = node(p.target)
    const center = (n: LayoutNode): number => n.x + n.w / 2
    const side: Side = Math.abs(center(t)) > 1 ? (center(t) > 0 ? "right" : "left")
      : Math.abs(center(s)) > 1 ? (center(s) > 0 ? "right" : "left")
      : count.right <= count.left ? "right" : "left"
    count[side]++
    const from = Math.min(s.layer, t.layer)
    const to = Math.max(s.layer, t.layer)
    const level = 1 + Math.max(0, ...lanes.filter((l) => l.side === side && l.from <= to && from <= l.to).map((l) => l.level))
    lanes.push({ side, from, to, level })
    const dir = side === "right" ? 1 : -1
    const lane = extent(side, from, to) + dir * (10 + LANE_GAP * level)
    const r = 8
    const down = t.layer > s.layer ? 1 : -1
    // Leave from the box's side when nothing stands beside it, else from its bottom (top) first.
    const edgeY = down > 0 ? s.y + s.h : s.y
    const sy = outermost(p.source, side) ? s.y + s.h / 2 : edgeY + (down * ROW_GAP) / 3
    const head = outermost(p.source, side)
      ? `M ${pt(side === "right" ? s.x + s.w : s.x, sy)}`
      : `M ${pt(s.x + s.w / 2, edgeY)} L ${pt(s.x + s.w / 2, sy)}`
    const endY = outermost(p.target, side) ? t.y + t.h / 2 : (down > 0 ? t.y : t.y + t.h) - (down * ROW_GAP) / 3
    const endX = outermost(p.target, side) ? (side === "right" ? t.x + t.w : t.x) : t.x + t.w / 2
    const tail = outermost(p.target, side) ? "" : ` L ${pt(endX, down > 0 ? t.y : t.y + t.h)}`
    const path = `${head} L ${pt(lane - dir * r, sy)} Q ${pt(lane, sy)} ${pt(lane, sy + down * r)} L ${pt(lane, endY - down * r)} Q ${pt(lane, endY)} ${pt(lane - dir * r, endY)} L ${pt(endX, endY)}${tail}`
    const outward = side === "right" ? "start" : "end"
    const inward = side === "right" ? "end" : "start"
    routed.push({ ...p, path, candidates: [0.5, 0.38, 0.62, 0.26, 0.74, 0.14, 0.86].flatMap((f) => [
      { x: lane + dir * 5, y: sy + (endY - sy) * f + 4, anchor: outward }, { x: lane - dir * 5, y: sy + (endY - sy) * f + 4, anchor: inward }
    ]) })
  }
  // Labels: each takes its first candidate spot clear of the boxes and of the labels placed before it.
  const taken: Array<Box> = [...nodes.values()].map((n) => ({ x0: n.x - 4, y0: n.y - 4, x1: n.x + n.w + 4, y1: n.y + n.h + 4 }))
  const edges: Array<LayoutEdge> = routed.map((e) => {
    const text = e.events.join(", ").length * LABEL_CHAR
    const box = (c: Candidate): Box => {
      const x0 = c.anchor === "start" ? c.x : c.anchor === "end" ? c.x - text : c.x - text / 2
      return { x0: x0 - 2, y0: c.y - 10, x1: x0 + text + 2, y1: c.y + 3 }
    }
    const spot = e.candidates.find((c) => !taken.some((t) => overlaps(t, box(c)))) ?? e.candidates[0]!
    taken.push(box(spot))
    return { source: e.source, target: e.target, events: e.events, path: e.path, labelX: r1(spot.x), labelY: r1(spot.y), anchor: spot.anchor }
  })
  // Order edges as the machine defines them, whatever route each took.
  const order = (e: LayoutEdge): number => pairs.findIndex((p) => p.source === e.source && p.target === e.target)
  edges.sort((a, b) => order(a) - order(b))
  const initial = graph.initial === null ? null : nodes.get(graph.initial) ?? null
  // Shift everything so the drawing (labels included) starts at MARGIN.
  const xs = [...nodes.values()].flatMap((n) => [n.x, n.x + n.w])
  for (const e of edges) {
    const w = e.events.join(", ").length * LABEL_CHAR
    const x0 = e.anchor === "start" ? e.labelX : e.anchor === "end" ? e.labelX - w : e.labelX - w / 2
    xs.push(x0, x0 + w, ...e.path.match(/-?\d+(\.\d+)?,/g)!.map((m) => Number(m.slice(0, -1))))
  }
  const minX = Math.min(...xs)
  const dx = MARGIN - minX
  const shift = (path: string): string => path.replace(/(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)/g, (_, x: string, y: string) => pt(Number(x) + dx, Number(y)))
  const lastRow = Math.max(0, rows.length - 1)
  return {
    width: Math.ceil(Math.max(...xs) - minX + 2 * MARGIN),
    height: Math.ceil(TOP + lastRow * (NODE_H + ROW_GAP) + NODE_H + MARGIN),
    nodes: [...nodes.values()].map((n) => ({ ...n, x: r1(n.x + dx) })).sort((a, b) => names.indexOf(a.name) - names.indexOf(b.name)),
    edges: edges.map((e) => ({ ...e, path: shift(e.path), labelX: r1(e.labelX + dx) })),
    start: initial === null ? null : { x: r1(initial.x + dx + initial.w / 2), y: initial.y - 26 }
  }
}
