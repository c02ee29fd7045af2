// Time to all-ready of eager pools, against one bare interpreter start and against starting
// the same workers one by one (n x the 1-worker time): the first prototype started 8 workers in 16 s.
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { createPool } from "../src/index.ts"
import { median, ms, table } from "./stats.ts"

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url))
const SIZES = [1, 4, 8] as const
const RUNS = 3

/** Median ms to all-ready, per fixture and pool size. */
export interface ReadyTimes {
  readonly bare: ReadonlyMap<number, number>
  readonly slowImport: ReadonlyMap<number, number>
}

const interpreterStart = (python: string): number => {
  const samples: Array<number> = []
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now()
    const r = spawnSync(python, ["-c", "pass"], { stdio: "ignore" })
    if (r.status !== 0) throw new Error(`${python} -c pass exited with ${r.status ?? r.signal}`)
    samples.push(performance.now() - t0)
  }
  return median(samples)
}

const timeToReady = async (python: string, module: string, size: number): Promise<Array<number>> => {
  const samples: Array<number> = []
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now()
    const pool = await createPool({ worker: { module, cwd: FIXTURES, python }, size })
    await pool.ready
    samples.push(performance.now() - t0)
    await pool.close()
  }
  return samples
}

/** Runs the time-to-ready bench, prints its table, and returns the medians. */
export const readyTime = async (python: string): Promise<ReadyTimes> => {
  const bareStart = interpreterStart(python)
  console.log(`\n## time to all-ready, eager pools (median of ${RUNS} runs; createPool() to pool.ready)`)
  console.log(`baseline: \`${python} -c pass\` starts in ${ms(bareStart, 1)} ms (median of 5, this run)`)
  const rows = [["fixture", "workers", "ready ms", "min-max ms", "x python -c pass", "sequential ms (n x 1-worker)", "parallel speedup"]]
  const fixtures = [["bare", "bench_handlers"], ["300 ms import", "slow_import"]] as const
  const result = { bare: new Map<number, number>(), slowImport: new Map<number, number>() }
  for (const [label, module] of fixtures) {
    const medians = label === "bare" ? result.bare : result.slowImport
    for (const size of SIZES) {
      const samples = await timeToReady(python, module, size)
      const m = median(samples)
      medians.set(size, m)
      const sequential = size * medians.get(1)!
      rows.push([
        label, String(size), ms(m), `${ms(Math.min(...samples))}-${ms(Math.max(...samples))}`,
        `${(m / bareStart).toFixed(1)}x`, ms(sequential), `${(sequential / m).toFixed(2)}x`
      ])
    }
  }
  table(rows)
  return result
}
