/**
 * `pyvisor/machines`: the pure XState v5 machines behind every pool (no IO, no timers, no invokes),
 * and drawings generated from them — Mermaid, JSON (XState's graph and Stately's definition format)
 * and a self-contained SVG. Importing this entry starts nothing and touches no file.
 *
 * @example
 * ```ts
 * import { toMermaid, toSVG, workerMachine } from "pyvisor/machines"
 * console.log(toMermaid(workerMachine))
 * const svg = toSVG(workerMachine, { active: "ready" })
 * ```
 * @module
 */
export {
  describeKill,
  describeProcessExit,
  isLive,
  isServing,
  WORKER_ACTIONS,
  WORKER_STATES,
  workerMachine
} from "./worker.ts"
export type { ExitInfo, ExitReason, KillEvent, WorkerAction, WorkerContext, WorkerEvent, WorkerInput, WorkerStateValue } from "./worker.ts"
export { acceptsCalls, POOL_STATES, poolMachine } from "./pool.ts"
export type { PoolContext, PoolEvent, PoolInput, PoolStateValue } from "./pool.ts"
export { toJSON, toMarkdown, toMermaid } from "./diagram.ts"
export type { DiagramState, DiagramTransition, MachineDiagram, MarkdownOptions } from "./diagram.ts"
export { machineGraph } from "./graph.ts"
export type { GraphEdge, GraphState, MachineGraph } from "./graph.ts"
export { toStatelyJSON } from "./stately.ts"
export type { Json } from "./stately.ts"
export { toSVG } from "./svg.ts"
export type { SvgOptions } from "./svg.ts"
