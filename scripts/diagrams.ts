/**
 * Regenerates the committed state-machine diagrams under `docs/diagrams/` (Markdown pages and their
 * SVG drawings): `node scripts/diagrams.ts`. `test/machines/diagram.test.ts` fails when a committed
 * file differs from what {@link diagramPages} renders.
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { basename, dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import type { AnyStateMachine } from "xstate"
import { poolMachine, toMarkdown, toSVG, workerMachine } from "../src/machines/index.ts"

/**
 * One generated page: where it goes (relative to the repository root) and what it draws.
 *
 * @example
 * ```ts
 * const page: DiagramPage = { file: "docs/diagrams/worker.md", svg: "docs/diagrams/worker.svg", title: "Worker machine", source: "src/machines/worker.ts", machine: workerMachine }
 * ```
 */
export interface DiagramPage {
  readonly file: string
  /** The SVG drawing written beside the page (relative to the repository root). */
  readonly svg: string
  readonly title: string
  readonly source: string
  readonly machine: AnyStateMachine
}

/**
 * Every machine that has a committed diagram. Add new machines here.
 *
 * @example
 * ```ts
 * diagramPages.map((page) => page.file) // ["docs/diagrams/worker.md", "docs/diagrams/pool.md"]
 * ```
 */
export const diagramPages: ReadonlyArray<DiagramPage> = [
  { file: "docs/diagrams/worker.md", svg: "docs/diagrams/worker.svg", title: "Worker machine", source: "src/machines/worker.ts", machine: workerMachine },
  { file: "docs/diagrams/pool.md", svg: "docs/diagrams/pool.svg", title: "Pool machine", source: "src/machines/pool.ts", machine: poolMachine }
]

/**
 * The expected content of a page.
 *
 * @example
 * ```ts
 * renderPage(diagramPages[0]) // "<!-- Generated from src/machines/worker.ts ... -->\n# Worker machine\n..."
 * ```
 */
export const renderPage = (page: DiagramPage): string =>
  toMarkdown(page.machine, { title: page.title, source: page.source, command: "node scripts/diagrams.ts", image: basename(page.svg) })

/**
 * The expected content of a page's SVG drawing.
 *
 * @example
 * ```ts
 * renderSvg(diagramPages[0]) // "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"pv-machine\" ..."
 * ```
 */
export const renderSvg = (page: DiagramPage): string => toSVG(page.machine, { title: page.title })

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..")

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const page of diagramPages) {
    const path = join(repoRoot, page.file)
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, renderPage(page))
    writeFileSync(join(repoRoot, page.svg), renderSvg(page))
    console.log(`wrote ${page.file} and ${page.svg}`)
  }
}
