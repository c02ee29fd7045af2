// Issue 15 bench: 4 workers ready through a version manager's shim (the machine's `python3`, pyenv's
// shim when there is one), with worker.resolvePython off (the shim runs per worker start) and on
// (it runs once per pool). Interleaved rounds; medians; the ratio is off / on.
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { createPool } from "../src/index.ts"
import { interleaved, median, table } from "./stats.ts"

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url))
const ROUNDS = Number(process.env["BENCH_RESOLVE_ROUNDS"] ?? 5)

const readyMs = async (resolvePython: boolean): Promise<number> => {
  const t0 = performance.now()
  const pool = await createPool({ worker: { module: "bench_handlers", cwd: FIXTURES, python: "python3", resolvePython }, size: 4 })
  const ms = performance.now() - t0
  await pool.close()
  return ms
}

/** Prints the table; returns off / on. */
export const resolveBench = async (): Promise<number> => {
  const which = execFileSync("sh", ["-c", "command -v python3"], { encoding: "utf8" }).trim()
  const rounds = await interleaved(ROUNDS, { off: () => readyMs(false), on: () => readyMs(true) })
  const off = median(rounds.off)
  const on = median(rounds.on)
  console.log(`\n## 4 workers ready through python3 = ${which} (${ROUNDS} interleaved rounds; medians)`)
  table([["worker.resolvePython", "ready ms", "vs off"], ["false (the shim per start)", off.toFixed(0), "1.00x"], ["true (once per pool)", on.toFixed(0), (off / on).toFixed(2) + "x faster"]])
  return off / on
}
