// Async concurrency: worker.concurrency 16, 2 workers, an `async def` handler awaiting
// asyncio.sleep(0.05) (fixtures/bench_handlers.py `nap`). At most 2 x 16 naps run at once, so the
// ideal is 2 x 16 / 0.05 s = 640 calls/s; twice that many callers keep the queue full.
import { fileURLToPath } from "node:url"
import { createPool } from "../src/index.ts"
import type { Pool } from "../src/index.ts"
import { callsPerSecond, load, median, spread, table } from "./stats.ts"
import type { Target } from "./stats.ts"

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url))
const WORKERS = 2
const CONCURRENCY = 16
const NAP_S = 0.05
const CALLERS = 2 * WORKERS * CONCURRENCY
const ROUNDS = Number(process.env["BENCH_ASYNC_ROUNDS"] ?? 3)
const MEASURE_MS = Number(process.env["BENCH_ASYNC_MS"] ?? 2_000)
const START_TIMEOUT_MS = 20_000
const TARGET = 0.8
const NAME = `async concurrency ${CONCURRENCY} x ${WORKERS} workers, ${NAP_S * 1000} ms naps, vs ideal`

const start = async (python: string): Promise<Pool> => {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ready pool within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS)
  })
  const pool = createPool({ worker: { module: "bench_handlers", cwd: FIXTURES, python, concurrency: CONCURRENCY }, size: WORKERS })
  try {
    const ready = await Promise.race([pool, timeout])
    // One call proves the workers took the option (an interpreter refusing --concurrency never gets here).
    await Promise.race([ready.call("nap", { seconds: 0 }), timeout])
    return ready
  } catch (error) {
    void pool.then((p) => p.close(), () => {})
    throw error
  } finally {
    clearTimeout(timer)
  }
}

/** Runs the async concurrency bench, prints its table (or why it could not run), and returns its target. */
export const asyncConcurrency = async (python: string): Promise<Array<Target>> => {
  const ideal = WORKERS * CONCURRENCY / NAP_S
  console.log(`\n## async concurrency (worker.concurrency ${CONCURRENCY}, ${WORKERS} workers, async def awaiting asyncio.sleep(${NAP_S}); ${CALLERS} callers; ${ROUNDS} rounds of ${MEASURE_MS} ms; median; load ${load()})`)
  let pool: Pool
  try {
    pool = await start(python)
  } catch (error) {
    const why = error instanceof Error ? error.message.split("\n")[0]! : String(error)
    console.log(`not available: ${why}`)
    return [{ name: NAME, target: `>= ${TARGET * 100} % of ${ideal} calls/s`, ours: `not available: ${why}`, met: undefined }]
  }
  try {
    const call = (): Promise<unknown> => pool.call("nap", { seconds: NAP_S })
    await callsPerSecond(call, CALLERS, 300)
    const rates: Array<number> = []
    for (let r = 0; r < ROUNDS; r++) rates.push((await callsPerSecond(call, CALLERS, MEASURE_MS)).perSecond)
    const ours = median(rates)
    const share = ours / ideal
    table([["side", "calls/s", "(rounds)", "of ideal"],
      [`ideal: ${WORKERS} x ${CONCURRENCY} / ${NAP_S} s`, ideal.toFixed(0), "", "100 %"],
      ["pyvisor", ours.toFixed(0), spread(rates), `${(share * 100).toFixed(1)} %`]])
    return [{ name: NAME, target: `>= ${TARGET * 100} % of ${ideal} calls/s`, ours: `${(share * 100).toFixed(1)} % (${ours.toFixed(0)}/s)`, met: share >= TARGET }]
  } finally {
    await pool.close()
  }
}
