// Crash → replacement ready: SIGKILL one worker of a 4-worker pool, one kill at a time, and time
// from the kill to the `ready` of that slot's next incarnation (pool.on("worker") state events).
// Baseline: one worker started from scratch (createPool, size 1, to ready), measured in the same run.
import { fileURLToPath } from "node:url"
import { createPool } from "../src/index.ts"
import type { PoolEvents, PoolOptions } from "../src/index.ts"
import { median, ms, quantiles, table } from "./stats.ts"

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url))
const SIZE = 4
const KILLS = Number(process.env["BENCH_KILLS"] ?? 100)
const COLD_RUNS = 5
const REPLACEMENT_TIMEOUT_MS = 15_000

/** Kill → replacement ready over the kills, in ms. */
export interface CrashSummary {
  readonly p50: number
  readonly p99: number
  readonly max: number
}

const summary = (samples: ReadonlyArray<number>): CrashSummary => {
  const at = quantiles(samples)
  return { p50: at(0.5), p99: at(0.99), max: at(1) }
}

const coldStart = async (python: string): Promise<number> => {
  const samples: Array<number> = []
  for (let i = 0; i < COLD_RUNS; i++) {
    const t0 = performance.now()
    const pool = await createPool({ worker: { module: "bench_handlers", cwd: FIXTURES, python }, size: 1 })
    samples.push(performance.now() - t0)
    await pool.close()
  }
  return median(samples)
}

type Restart = NonNullable<PoolOptions["restart"]>

const killLoop = async (python: string, restart: Restart): Promise<{ ready: CrashSummary; exitSeen: CrashSummary }> => {
  const pool = await createPool({
    worker: { module: "bench_handlers", cwd: FIXTURES, python }, size: SIZE,
    // 100 kills in well under a minute: raise the restart intensity (default 10 in 60 s) so the pool does not give up.
    restart
  })
  let waiter: ((e: PoolEvents["worker"]) => void) | null = null
  pool.on("worker", (e) => waiter?.(e))
  const ready: Array<number> = []
  const exitSeen: Array<number> = []
  try {
    for (let i = 0; i < KILLS; i++) {
      const slot = pool.snapshot().workers[i % SIZE]!
      const pid = slot.pid!
      let exitAt = 0
      const replaced = new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`kill ${i + 1}: ${slot.id} not ready again within ${REPLACEMENT_TIMEOUT_MS} ms; pool ${pool.snapshot().state}`)), REPLACEMENT_TIMEOUT_MS)
        waiter = (e) => {
          if (e.workerId !== slot.id) return
          if (e.type === "exit" && e.pid === pid) exitAt = performance.now()
          if (e.type === "state" && e.state === "ready" && e.previous === "initializing" && e.pid !== pid) {
            clearTimeout(timer)
            resolve(performance.now())
          }
        }
      })
      const t0 = performance.now()
      process.kill(pid, "SIGKILL")
      const readyAt = await replaced
      ready.push(readyAt - t0)
      if (exitAt > 0) exitSeen.push(exitAt - t0)
    }
  } finally {
    waiter = null
    await pool.close()
  }
  return { ready: summary(ready), exitSeen: summary(exitSeen) }
}

/** Runs the crash-recovery bench and prints its table; returns kill → ready with the default backoff's first delay. */
export const crashRecovery = async (python: string): Promise<CrashSummary> => {
  const cold = await coldStart(python)
  console.log(`\n## crash → replacement ready (${KILLS} SIGKILLs, one at a time, round-robin over ${SIZE} workers; kill to the new incarnation's ready)`)
  console.log(`baseline: one worker from scratch (createPool size 1 to ready) takes ${ms(cold, 1)} ms (median of ${COLD_RUNS}, this run)`)
  const intensity = { maxRestarts: 10 * KILLS, withinMs: 60_000 }
  const policies: Array<[string, Restart]> = [
    // factor 1: every restart waits the default first delay (10 ms, jitter 0.2), as for a worker that crashes once after a healthy run.
    ["default first backoff (10 ms)", { ...intensity, backoff: { factor: 1 } }],
    ["no backoff", { ...intensity, backoff: { initialMs: 0, maxMs: 0 } }]
  ]
  const rows = [["restart policy", "exit seen p50 ms", "ready p50 ms", "ready p99 ms", "ready max ms", "p50 x cold start"]]
  let first: CrashSummary | undefined
  for (const [label, restart] of policies) {
    const { ready, exitSeen } = await killLoop(python, restart)
    first ??= ready
    rows.push([label, ms(exitSeen.p50, 1), ms(ready.p50, 1), ms(ready.p99, 1), ms(ready.max, 1), `${(ready.p50 / cold).toFixed(2)}x`])
  }
  table(rows)
  return first!
}
