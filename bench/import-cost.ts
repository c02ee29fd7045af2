// Import cost: the library built into a temp dir (tsc -p tsconfig.build.json --outDir <tmp>), then
// a fresh `node` process importing it, against a fresh `node` process importing msgpackr (one of
// its dependencies), RUNS runs each, interleaved; medians of the whole process's wall time. A bare
// `node` start is timed alongside to show what both share.
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { interleaved, load, median, ms, spread, table } from "./stats.ts"
import type { Target } from "./stats.ts"

const ROOT = fileURLToPath(new URL("../", import.meta.url))
const RUNS = Number(process.env["BENCH_IMPORT_RUNS"] ?? 7)
const TARGET = 3

const timed = (script: string): number => {
  const t0 = performance.now()
  const r = spawnSync(process.execPath, [script], { stdio: ["ignore", "ignore", "pipe"] })
  const elapsed = performance.now() - t0
  if (r.status !== 0) throw new Error(`node ${script} exited with ${r.status ?? r.signal}: ${r.stderr.toString().trim().split("\n")[0]}`)
  return elapsed
}

/** Runs the import-cost bench, prints its table, and returns its target. */
export const importCost = async (): Promise<Array<Target>> => {
  const name = `import of the built library vs import "msgpackr" (fresh node, wall)`
  const dir = mkdtempSync(join(tmpdir(), "pyvisor-import-"))
  try {
    const build = spawnSync(process.execPath, [join(ROOT, "node_modules/.bin/tsc"), "-p", join(ROOT, "tsconfig.build.json"),
      "--outDir", join(dir, "lib"), "--declaration", "false", "--sourceMap", "false"], { cwd: ROOT, encoding: "utf8" })
    if (!existsSync(join(dir, "lib/index.js"))) {
      const why = `build failed (tsc exit ${build.status}): ${(build.stdout + build.stderr).trim().split("\n")[0]}`
      console.log(`\n## import cost\nnot available: ${why}`)
      return [{ name, target: `<= ${TARGET}x`, ours: `not available: ${why}`, met: undefined }]
    }
    // The build's bare imports (msgpackr, effect, ...) resolve through a link to the repo's node_modules.
    symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir")
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module", private: true }))
    writeFileSync(join(dir, "pyvisor.mjs"), `await import(${JSON.stringify(join(dir, "lib/index.js"))})\n`)
    writeFileSync(join(dir, "msgpackr.mjs"), `import "msgpackr"\n`)
    writeFileSync(join(dir, "bare.mjs"), "\n")
    const script = (file: string) => async (): Promise<number> => timed(join(dir, file))
    for (const file of ["bare.mjs", "msgpackr.mjs", "pyvisor.mjs"]) timed(join(dir, file)) // warm the file cache
    const runs = await interleaved(RUNS, { bare: script("bare.mjs"), msgpackr: script("msgpackr.mjs"), pyvisor: script("pyvisor.mjs") })
    const bare = median(runs.bare)
    const msgpackr = median(runs.msgpackr)
    const ours = median(runs.pyvisor)
    const ratio = ours / msgpackr
    console.log(`\n## import cost (tsc build${build.status === 0 ? "" : ` with errors, exit ${build.status}`}; fresh \`node <file>.mjs\`, ${RUNS} interleaved runs each; median wall ms of the whole process; load ${load()})`)
    table([["process", "wall ms", "(runs)", "beyond bare node ms", "vs msgpackr"],
      ["bare node (empty module)", ms(bare, 1), spread(runs.bare, 1), "0.0", ""],
      ['import "msgpackr"', ms(msgpackr, 1), spread(runs.msgpackr, 1), ms(msgpackr - bare, 1), "1.00x"],
      ["await import(<build>/index.js)", ms(ours, 1), spread(runs.pyvisor, 1), ms(ours - bare, 1), ratio.toFixed(2) + "x"]])
    return [{ name, target: `<= ${TARGET}x`, ours: ratio.toFixed(2) + "x", met: ratio <= TARGET }]
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
