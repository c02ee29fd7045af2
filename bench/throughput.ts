// Calls per second with 1, 2 and 4 workers at client concurrency 1, 4 and 32, for a
// calibrated ~1 ms pure-Python CPU handler and a no-op; each figure is set against the
// 1-worker / concurrency-1 figure of the same handler, measured in this run.
import { availableParallelism } from "node:os"
import { fileURLToPath } from "node:url"
import { createPool } from "../src/index.ts"
import type { Pool } from "../src/index.ts"
import { ms, summarise, table } from "./stats.ts"
import type { Summary } from "./stats.ts"

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url))
const WORKERS = [1, 2, 4] as const
const CONCURRENCY = [1, 4, 32] as const
const MEASURE_MS = Number(process.env["BENCH_THROUGHPUT_MS"] ?? 2_000)
const WARMUP_MS = 200

/** One measured cell. */
export interface Cell {
  readonly handler: string
  readonly workers: number
  readonly concurrency: number
  readonly summary: Summary
}

/** `concurrency` clients calling back to back for `durationMs`; latencies in ns. */
const drive = async (pool: Pool, name: string, args: Record<string, unknown>, concurrency: number, durationMs: number): Promise<Summary> => {
  const samples: Array<number> = []
  const t0 = process.hrtime.bigint()
  const end = performance.now() + durationMs
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const s = process.hrtime.bigint()
      await pool.call(name, args)
      samples.push(Number(process.hrtime.bigint() - s))
    }
  }))
  return summarise(samples, Number(process.hrtime.bigint() - t0))
}

/** Runs the throughput bench, prints its table, and returns every cell. */
export const throughput = async (python: string): Promise<Array<Cell>> => {
  const worker = { module: "bench_handlers", cwd: FIXTURES, python }
  const probe = await createPool({ worker, size: 1 })
  const n = Number(await probe.call("calibrate", { target_ms: 1 }))
  await probe.close()
  const handlers = [["cpu ~1 ms", "spin", { n }], ["no-op", "noop", {}]] as const
  console.log(`\n## throughput (${MEASURE_MS} ms per cell after ${WARMUP_MS} ms warm-up; ${availableParallelism()} cores)`)
  console.log(`calibrated: spin(n=${n}) = ~1 ms of pure-Python loop on this machine, this run`)
  const cells: Array<Cell> = []
  for (const workers of WORKERS) {
    const pool = await createPool({ worker, size: workers })
    for (const [label, name, args] of handlers) {
      for (const concurrency of CONCURRENCY) {
        await drive(pool, name, args, concurrency, WARMUP_MS)
        cells.push({ handler: label, workers, concurrency, summary: await drive(pool, name, args, concurrency, MEASURE_MS) })
      }
    }
    await pool.close()
  }
  const rows = [["handler", "workers", "concurrency", "calls/s", "vs 1w/c1", "p50 ms", "p99 ms"]]
  for (const [label] of handlers) {
    const base = cells.find((c) => c.handler === label && c.workers === 1 && c.concurrency === 1)!.summary.perSecond
    for (const c of cells.filter((x) => x.handler === label)) {
      rows.push([label, String(c.workers), String(c.concurrency), c.summary.perSecond.toFixed(0),
        `${(c.summary.perSecond / base).toFixed(2)}x`, ms(c.summary.p50 / 1e6, 2), ms(c.summary.p99 / 1e6, 2)])
    }
  }
  table(rows)
  return cells
}
