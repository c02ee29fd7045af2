/**
 * Diagrams generated from a machine *definition* (its state nodes and transitions), never drawn by hand:
 * a Mermaid `stateDiagram-v2`, a JSON description, and the Markdown page committed under `docs/diagrams/`.
 * Generic over any XState v5 machine; nested (compound/parallel) states are rendered as composite states.
 * Built on {@link machineGraph} (XState's `toDirectedGraph`); output order is the machine's definition
 * order, so the output is deterministic.
 * @module
 */
import type { AnyStateMachine } from "xstate"
import { machineGraph } from "./graph.ts"
import type { GraphEdge, GraphState, MachineGraph } from "./graph.ts"

/**
 * One transition of a state, as described by {@link toJSON}.
 * `target` is the source state itself for a targetless (internal) transition.
 *
 * @example
 * ```ts
 * const t: DiagramTransition = { event: "READY", target: "ready", guard: null, actions: ["announceReady"] }
 * ```
 */
export interface DiagramTransition {
  readonly event: string
  readonly target: string
  readonly guard: string | null
  /** Named actions the transition runs (context assignments left out). */
  readonly actions: ReadonlyArray<string>
}

/**
 * One state node, as described by {@link toJSON}. `name` is the dot-joined path from the root.
 *
 * @example
 * ```ts
 * const s: DiagramState = { name: "stopped", final: true, description: null, entry: ["reportExit"], exit: [], transitions: [] }
 * ```
 */
export interface DiagramState {
  readonly name: string
  readonly final: boolean
  readonly description: string | null
  /** Named actions run on entering / leaving the state. */
  readonly entry: ReadonlyArray<string>
  readonly exit: ReadonlyArray<string>
  readonly transitions: ReadonlyArray<DiagramTransition>
}

/**
 * A machine's JSON description, as returned by {@link toJSON}.
 *
 * @example
 * ```ts
 * const d: MachineDiagram = toJSON(workerMachine) // { id: "worker", initial: "spawning", states: [...] }
 * ```
 */
export interface MachineDiagram {
  readonly id: string
  readonly initial: string | null
  readonly states: ReadonlyArray<DiagramState>
}

/**
 * Describes a machine as JSON: its id, initial state and every state node (depth-first, definition
 * order) with its transitions. Transitions defined on the root node itself are not listed.
 *
 * @example
 * ```ts
 * toJSON(workerMachine).states[0]
 * // { name: "spawning", final: false, description: "...", transitions: [{ event: "SPAWNED", target: "initializing", guard: null }, ...] }
 * ```
 */
export const toJSON = (machine: AnyStateMachine): MachineDiagram => {
  const graph = machineGraph(machine)
  return {
    id: graph.id,
    initial: graph.initial,
    states: graph.states.map((state) => ({
      name: state.name,
      final: state.type === "final",
      description: state.description,
      entry: state.entry,
      exit: state.exit,
      transitions: state.edges.map(({ event, target, guard, actions }) => ({ event, target, guard, actions }))
    }))
  }
}

/** Mermaid state ids cannot contain dots; nested states get a path id and their key as label. */
const mermaidId = (name: string): string => name.replaceAll(".", "__")

const childrenOf = (graph: MachineGraph, parent: GraphState | null): ReadonlyArray<GraphState> =>
  graph.states.filter((state) => state.parent === (parent === null ? null : parent.name))

const label = (t: GraphEdge): string =>
  `${t.guard === null ? t.event : `${t.event} [${t.guard}]`}${t.actions.length === 0 ? "" : ` / ${t.actions.join(", ")}`}`

/**
 * Renders a machine as a Mermaid `stateDiagram-v2`: `[*] --> initial`, one `source --> target : EVENT`
 * line per transition (`EVENT [guard] / action, …` with its guard and named actions), `state : entry /
 * action, …` lines for what a state does on entry and exit, `final --> [*]` for final states; nested
 * states become composite `state x { ... }` blocks.
 *
 * @example
 * ```ts
 * toMermaid(workerMachine)
 * // stateDiagram-v2
 * //   [*] --> spawning
 * //   spawning --> initializing : SPAWNED
 * //   ...
 * ```
 */
export const toMermaid = (machine: AnyStateMachine): string => {
  const graph = machineGraph(machine)
  const lines: Array<string> = ["stateDiagram-v2"]
  const edges: Array<string> = []
  const render = (parent: GraphState | null, indent: string): void => {
    const initial = parent === null ? graph.initial : parent.initial
    if (initial !== null) lines.push(`${indent}[*] --> ${mermaidId(initial)}`)
    const children = childrenOf(graph, parent)
    children.forEach((child, index) => {
      const id = mermaidId(child.name)
      if (child.parent !== null) lines.push(`${indent}state "${child.key}" as ${id}`)
      if (child.type === "compound" || child.type === "parallel") {
        lines.push(`${indent}state ${id} {`)
        render(child, `${indent}  `)
        lines.push(`${indent}}`)
      }
      if (parent?.type === "parallel" && index < children.length - 1) lines.push(`${indent}--`)
      if (child.entry.length > 0) lines.push(`${indent}${id} : entry / ${child.entry.join(", ")}`)
      if (child.exit.length > 0) lines.push(`${indent}${id} : exit / ${child.exit.join(", ")}`)
      for (const t of child.edges) edges.push(`  ${id} --> ${mermaidId(t.target)} : ${label(t)}`)
      if (child.type === "final") edges.push(`  ${id} --> [*]`)
    })
  }
  render(null, "  ")
  return [...lines, ...edges].join("\n") + "\n"
}

/**
 * Options for {@link toMarkdown}.
 *
 * @example
 * ```ts
 * const options: MarkdownOptions = { title: "Worker machine", source: "src/machines/worker.ts" }
 * ```
 */
export interface MarkdownOptions {
  readonly title: string
  readonly source: string
  /** Command that regenerates the page, named in its header. */
  readonly command?: string
  /** A drawing of the machine (e.g. the `toSVG` file beside the page), shown above the Mermaid source. */
  readonly image?: string
}

/**
 * Renders the Markdown page committed under `docs/diagrams/`: a generated-file header, the drawing
 * (when `image` is given), the Mermaid diagram and a table of states with their descriptions.
 *
 * @example
 * ```ts
 * toMarkdown(workerMachine, { title: "Worker machine", source: "src/machines/worker.ts" })
 * ```
 */
export const toMarkdown = (machine: AnyStateMachine, options: MarkdownOptions): string => {
  const command = options.command ?? "node scripts/diagrams.ts"
  const json = toJSON(machine)
  const cell = (text: string): string => text.replaceAll("|", "\\|").replaceAll("\n", " ")
  const rows = json.states.map(
    (s) => `| \`${s.name}\` | ${s.final ? "yes" : "no"} | ${cell(s.description ?? "")} |`
  )
  return [
    `<!-- Generated from ${options.source} by \`${command}\`. Do not edit by hand. -->`,
    `# ${options.title}`,
    "",
    ...(options.image === undefined ? [] : [`![${options.title}](${options.image})`, ""]),
    "```mermaid",
    toMermaid(machine).trimEnd(),
    "```",
    "",
    "| State | Final | Description |",
    "| --- | --- | --- |",
    ...rows,
    ""
  ].join("\n")
}
