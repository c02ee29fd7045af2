/**
 * Diagrams generated from a machine *definition* (its state nodes and transitions), never drawn by hand:
 * a Mermaid `stateDiagram-v2`, a JSON description, and the Markdown page committed under `docs/diagrams/`.
 * Generic over any XState v5 machine; nested (compound/parallel) states are rendered as composite states.
 * Output order is the machine's definition order, so the output is deterministic.
 * @module
 */
import type { AnyStateMachine, AnyStateNode } from "xstate"

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

const childrenOf = (node: AnyStateNode): ReadonlyArray<AnyStateNode> => Object.values(node.states)

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

const transitionsOf = (machine: AnyStateMachine, node: AnyStateNode): ReadonlyArray<DiagramTransition> => {
  const definitions = [...[...node.transitions.values()].flat(), ...(node.always ?? [])]
  return definitions.flatMap((transition) => {
    const event = eventLabel(transition)
    const guard = guardName(transition.guard)
    const actions = actionNames(machine, transition.actions)
    const targets: ReadonlyArray<AnyStateNode> = transition.target ?? [node]
    return targets.map((target) => ({ event, target: nameOf(target), guard, actions }))
  })
}

const initialOf = (node: AnyStateNode): string | null => {
  if (node.type !== "compound") return null
  const target = node.initial.target[0]
  return target === undefined ? null : nameOf(target)
}

const walk = (node: AnyStateNode): ReadonlyArray<AnyStateNode> =>
  childrenOf(node).flatMap((child) => [child, ...walk(child)])

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
export const toJSON = (machine: AnyStateMachine): MachineDiagram => ({
  id: machine.id,
  initial: initialOf(machine.root),
  states: walk(machine.root).map((node) => ({
    name: nameOf(node),
    final: node.type === "final",
    description: node.description ?? null,
    entry: actionNames(machine, node.entry),
    exit: actionNames(machine, node.exit),
    transitions: transitionsOf(machine, node)
  }))
})

/** Mermaid state ids cannot contain dots; nested states get a path id and their key as label. */
const mermaidId = (name: string): string => name.replaceAll(".", "__")

const label = (t: DiagramTransition): string =>
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
  const lines: Array<string> = ["stateDiagram-v2"]
  const edges: Array<string> = []
  const render = (parent: AnyStateNode, indent: string): void => {
    const initial = initialOf(parent)
    if (initial !== null) lines.push(`${indent}[*] --> ${mermaidId(initial)}`)
    const children = childrenOf(parent)
    children.forEach((child, index) => {
      const id = mermaidId(nameOf(child))
      if (child.path.length > 1) lines.push(`${indent}state "${child.key}" as ${id}`)
      if (child.type === "compound" || child.type === "parallel") {
        lines.push(`${indent}state ${id} {`)
        render(child, `${indent}  `)
        lines.push(`${indent}}`)
      }
      if (parent.type === "parallel" && index < children.length - 1) lines.push(`${indent}--`)
      const entry = actionNames(machine, child.entry)
      const exit = actionNames(machine, child.exit)
      if (entry.length > 0) lines.push(`${indent}${id} : entry / ${entry.join(", ")}`)
      if (exit.length > 0) lines.push(`${indent}${id} : exit / ${exit.join(", ")}`)
      for (const t of transitionsOf(machine, child)) edges.push(`  ${id} --> ${mermaidId(t.target)} : ${label(t)}`)
      if (child.type === "final") edges.push(`  ${id} --> [*]`)
    })
  }
  render(machine.root, "  ")
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
}

/**
 * Renders the Markdown page committed under `docs/diagrams/`: a generated-file header, the Mermaid
 * diagram and a table of states with their descriptions.
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
