/**
 * Regenerates the committed state-machine diagrams under `docs/diagrams/`: `node scripts/diagrams.ts`.
 * `test/machines/diagram.test.ts` fails when a committed page differs from {@link diagramPages}.
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import type { AnyStateMachine } from "xstate"
import { poolMachine, toMarkdown, workerMachine } from "../src/machines/index.ts"

/**
 * One generated page: where it goes (relative to the repository root) and what it draws.
 *
 * @example
 * ```ts
 * const page: DiagramPage = { file: "docs/diagrams/worker.md", title: "Worker machine", source: "src/machines/worker.ts", machine: workerMachine }
 * ```
 */
export interface DiagramPage {
  readonly file: string
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
  { file: "docs/diagrams/worker.md", title: "Worker machine", source: "src/machines/worker.ts", machine: workerMachine },
  { file: "docs/diagrams/pool.md", title: "Pool machine", source: "src/machines/pool.ts", machine: poolMachine }
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
  toMarkdown(page.machine, { title: page.title, source: page.source, command: "node scripts/diagrams.ts" })

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..")

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const page of diagramPages) {
    const path = join(repoRoot, page.file)
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, renderPage(page))
    console.log(`wrote ${page.file}`)
  }
}
