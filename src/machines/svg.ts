/**
 * Draws a machine as a self-contained SVG document: no network, no Mermaid runtime, no fonts to
 * fetch. States are rounded boxes (`<g class="state" data-state="ready">`), transitions labelled
 * arrows (`<g class="transition" data-source="ready" data-target="busy">`), so a page can light
 * the current state and animate a transition by attribute. Deterministic: same machine, same bytes.
 * @module
 */
import type { AnyStateMachine } from "xstate"
import { machineGraph } from "./graph.ts"
import { layout } from "./layout.ts"
import type { LayoutEdge, LayoutNode } from "./layout.ts"

/**
 * Options of {@link toSVG}.
 *
 * @example
 * ```ts
 * const options: SvgOptions = { idPrefix: "w1-", active: "ready", title: "worker w1" }
 * ```
 */
export interface SvgOptions {
  /** Prefix of every `id` in the drawing, so several drawings can share one page. Default `""`. */
  readonly idPrefix?: string
  /** A state drawn lit (class `active`), e.g. the current one. */
  readonly active?: string
  /** The document's `<title>`. Default: the machine's id. */
  readonly title?: string
}

const escape = (text: string): string =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;").replaceAll("'", "&#39;")

/** An id-safe form of a state name or prefix. */
const idPart = (text: string): string => text.replace(/[^A-Za-z0-9_-]/g, "_")

/**
 * The stylesheet every drawing carries: `.active` lights a state, `.fired` flashes a transition.
 * Pages may override it (the selectors are the contract).
 */
const STYLE = [
  ".pv-machine{font-family:ui-monospace,Menlo,Consolas,monospace}",
  ".pv-machine .state rect{fill:#f7f8fa;stroke:#5b6475;stroke-width:1.4}",
  ".pv-machine .state.final rect.outer{fill:none;stroke:#5b6475;stroke-width:1}",
  ".pv-machine .state text{font-size:12px;fill:#1d2330;text-anchor:middle;dominant-baseline:central}",
  ".pv-machine .state.active rect.box{fill:#ffd84d;stroke:#b38600;stroke-width:2.4}",
  ".pv-machine .transition path{fill:none;stroke:#8a93a6;stroke-width:1.2}",
  ".pv-machine .transition text{font-size:10px;fill:#4a5264;paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}",
  ".pv-machine .transition.fired path{stroke:#e4572e;stroke-width:3}",
  ".pv-machine .transition.fired text{fill:#e4572e;font-weight:bold}",
  ".pv-machine .start{fill:#1d2330}"
].join("")

const stateSvg = (n: LayoutNode, prefix: string, active: boolean): string => {
  const cls = ["state", ...(n.final ? ["final"] : []), ...(n.initial ? ["initial"] : []), ...(active ? ["active"] : [])].join(" ")
  const outer = n.final ? `<rect class="outer" x="${n.x - 3}" y="${n.y - 3}" width="${n.w + 6}" height="${n.h + 6}" rx="11"/>` : ""
  return `<g class="${cls}" id="${prefix}state-${idPart(n.name)}" data-state="${escape(n.name)}">` +
    `${outer}<rect class="box" x="${n.x}" y="${n.y}" width="${n.w}" height="${n.h}" rx="8"/>` +
    `<text x="${n.x + n.w / 2}" y="${n.y + n.h / 2}">${escape(n.name)}</text></g>`
}

const edgeSvg = (e: LayoutEdge, index: number, prefix: string): string => {
  const events = e.events.map((ev) => ev.split(" ")[0]!).join(" ")
  return `<g class="transition" id="${prefix}edge-${index}" data-source="${escape(e.source)}" data-target="${escape(e.target)}" data-events="${escape(events)}">` +
    `<path d="${e.path}" marker-end="url(#${prefix}arrow)"/>` +
    `<text x="${e.labelX}" y="${e.labelY}" text-anchor="${e.anchor}">${escape(e.events.join(", "))}</text></g>`
}

/**
 * Draws `machine` as an SVG document (a deterministic layered layout; see `layout.ts`). Every state
 * is a `<g class="state" id="{idPrefix}state-{name}" data-state="{name}">`; every pair of states
 * joined by transitions is one `<g class="transition" data-source data-target data-events>` whose
 * label lists the events (with guards).
 *
 * @example
 * ```ts
 * import { toSVG, workerMachine } from "pyvisor/machines"
 * writeFileSync("worker.svg", toSVG(workerMachine, { active: "ready" }))
 * ```
 */
export const toSVG = (machine: AnyStateMachine, options: SvgOptions = {}): string => {
  const prefix = idPart(options.idPrefix ?? "")
  const drawn = layout(machineGraph(machine))
  const start = drawn.start === null ? "" : `<circle class="start" cx="${drawn.start.x}" cy="${drawn.start.y}" r="5"/>` +
    `<g class="transition initial"><path d="M ${drawn.start.x},${drawn.start.y + 5} L ${drawn.start.x},${drawn.start.y + 25}" marker-end="url(#${prefix}arrow)"/></g>`
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="pv-machine" id="${prefix}machine" data-machine="${escape(machine.id)}" viewBox="0 0 ${drawn.width} ${drawn.height}" width="${drawn.width}" height="${drawn.height}">`,
    `<title>${escape(options.title ?? machine.id)}</title>`,
    `<style>${STYLE}</style>`,
    `<defs><marker id="${prefix}arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>`,
    start,
    ...drawn.edges.map((e, i) => edgeSvg(e, i, prefix)),
    ...drawn.nodes.map((n) => stateSvg(n, prefix, n.name === options.active)),
    "</svg>",
    ""
  ].join("\n")
}
