/**
 * A machine's states and transitions as plain data, read from XState's own graph
 * (`toDirectedGraph` from `xstate/graph`): every drawing (Mermaid, JSON, SVG) starts here, so none
 * of them walks state nodes by hand. Adds what the library's graph leaves out: eventless (`always`)
 * transitions, guard and action names, entry/exit actions. Definition order throughout, so output
 * built from it is deterministic.
 * @module
 */
import type { AnyStateMachine, AnyStateNode } from "xstate"
import { toDirectedGraph } from "xstate/graph"
import type { DirectedGraphNode } from "xstate/graph"

/**
 * One transition: `target` is the source state itself for a targetless (internal) transition.
 *
 * @example
 * ```ts
 * const t: GraphEdge = { source: "initializing", target: "ready", event: "READY", guard: null, actions: ["announceReady"] }
 * ```
 */
export interface GraphEdge {
  readonly source: string
  readonly target: string
  /** The event type, `always` for an eventless transition, `after 100ms` for a delayed one. */
  readonly event: string
  readonly guard: string | null
  /** Named actions the transition runs (context assignments left out). */
  readonly actions: ReadonlyArray<string>
}

/**
 * One state node: `name` is its dot-joined path from the root, `parent` its parent's name (null at the top).
 *
 * @example
 * ```ts
 * const s: GraphState = { name: "stopped", key: "stopped", parent: null, type: "final", initial: null, description: null, entry: ["reportExit"], exit: [], edges: [] }
 * ```
 */
export interface GraphState {
  readonly name: string
  readonly key: string
  readonly parent: string | null
  readonly type: "atomic" | "compound" | "parallel" | "final" | "history"
  /** The initial child of a compound state. */
  readonly initial: string | null
  readonly description: string | null
  readonly entry: ReadonlyArray<string>
  readonly exit: ReadonlyArray<string>
  readonly edges: ReadonlyArray<GraphEdge>
}

/**
 * A whole machine: its id, initial state and states (depth-first, definition order).
 *
 * @example
 * ```ts
 * const g: MachineGraph = machineGraph(workerMachine) // { id: "worker", initial: "spawning", states: [...] }
 * ```
 */
export interface MachineGraph {
  readonly id: string
  readonly initial: string | null
  readonly states: ReadonlyArray<GraphState>
}

const nameOf = (node: AnyStateNode): string => node.path.join(".")

const guardName = (guard: unknown): string | null => {
  if (guard === undefined || guard === null) return null
  if (typeof guard === "string") return guard
  if (typeof guard === "function") return guard.name === "" ? "guard" : guard.name
  if (typeof guard === "object" && "type" in guard && typeof guard.type === "string") return guard.type
  return "guard"
}

const eventLabel = (transition: { readonly eventType: string; readonly delay?: unknown }): string => {
  if ("delay" in transition && transition.delay !== undefined) {
    const delay = transition.delay
    return typeof delay === "number" ? `after ${delay}ms` : typeof delay === "string" ? `after ${delay}` : "after"
  }
  return transition.eventType === "" ? "always" : transition.eventType
}

/** The named, non-assign actions in a list of action definitions, by name. */
const actionNames = (machine: AnyStateMachine, actions: ReadonlyArray<unknown>): ReadonlyArray<string> =>
  actions.flatMap((action) => {
    const name = typeof action === "string" ? action
      : typeof action === "object" && action !== null && "type" in action && typeof action.type === "string" ? action.type : null
    if (name === null) return []
    const impl = (machine.implementations.actions as Record<string, unknown>)[name]
    const isAssign = typeof impl === "function" && (impl as { type?: unknown }).type === "xstate.assign"
    return isAssign ? [] : [name]
  })

type Transition = { readonly eventType: string; readonly guard?: unknown; readonly actions: ReadonlyArray<unknown> }

const edge = (machine: AnyStateMachine, source: AnyStateNode, target: AnyStateNode, t: Transition): GraphEdge => ({
  source: nameOf(source),
  target: nameOf(target),
  event: eventLabel(t),
  guard: guardName(t.guard),
  actions: actionNames(machine, t.actions)
})

const stateOf = (machine: AnyStateMachine, graph: DirectedGraphNode): GraphState => {
  const node = graph.stateNode
  // The library's graph has every evented (and delayed) transition; eventless ones are added here.
  const always = (node.always ?? []).flatMap((t) => (t.target ?? [node]).map((target) => edge(machine, node, target, t)))
  const initial = node.type === "compound" ? node.initial.target[0] : undefined
  return {
    name: nameOf(node),
    key: node.key,
    parent: node.parent === undefined || node.parent.parent === undefined ? null : nameOf(node.parent),
    type: node.type,
    initial: initial === undefined ? null : nameOf(initial),
    description: node.description ?? null,
    entry: actionNames(machine, node.entry),
    exit: actionNames(machine, node.exit),
    edges: [...graph.edges.map((e) => edge(machine, e.source, e.target, e.transition)), ...always]
  }
}

const flatten = (graph: DirectedGraphNode): ReadonlyArray<DirectedGraphNode> => graph.children.flatMap((child) => [child, ...flatten(child)])

/**
 * Reads a machine's states and transitions from XState's directed graph.
 *
 * @example
 * ```ts
 * machineGraph(workerMachine).states.find((s) => s.name === "ready")?.edges[0]
 * // { source: "ready", target: "busy", event: "SATURATED", guard: null, actions: [] }
 * ```
 */
export const machineGraph = (machine: AnyStateMachine): MachineGraph => {
  const root = toDirectedGraph(machine)
  const initial = machine.root.type === "compound" ? machine.root.initial.target[0] : undefined
  return {
    id: machine.id,
    initial: initial === undefined ? null : nameOf(initial),
    states: flatten(root).map((child) => stateOf(machine, child))
  }
}
