/**
 * `pyvisor diagram [worker|pool] [--format mermaid|json|svg]`: prints a machine drawn by
 * `pyvisor/machines` — Mermaid source, Stately-compatible JSON, or a self-contained SVG.
 * @module
 */
import type { AnyStateMachine } from "xstate"
import { poolMachine, toMermaid, toStatelyJSON, toSVG, workerMachine } from "../machines/index.ts"

/**
 * The machines the command draws, by name.
 *
 * @example
 * ```ts
 * Object.keys(MACHINES) // ["worker", "pool"]
 * ```
 */
export const MACHINES: Readonly<Record<string, AnyStateMachine>> = { worker: workerMachine, pool: poolMachine }

/**
 * The formats the command prints.
 *
 * @example
 * ```ts
 * FORMATS.includes("svg") // true
 * ```
 */
export const FORMATS = ["mermaid", "json", "svg"] as const

/**
 * One of {@link FORMATS}.
 *
 * @example
 * ```ts
 * const format: DiagramFormat = "mermaid"
 * ```
 */
export type DiagramFormat = (typeof FORMATS)[number]

/**
 * The text `pyvisor diagram` prints for a machine (already validated by the command line).
 *
 * @example
 * ```ts
 * renderDiagram("pool", "mermaid") // "stateDiagram-v2\n  [*] --> starting\n..."
 * ```
 */
export const renderDiagram = (machine: string, format: DiagramFormat): string => {
  const logic = MACHINES[machine]
  if (logic === undefined) throw new Error(`unknown machine '${machine}'; choices: ${Object.keys(MACHINES).join(", ")}`)
  switch (format) {
    case "mermaid":
      return toMermaid(logic)
    case "json":
      return JSON.stringify(toStatelyJSON(logic), null, 2) + "\n"
    case "svg":
      return toSVG(logic, { title: `${machine} machine` })
  }
}
