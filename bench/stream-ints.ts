// A stream of 100 000 small ints: pool.stream of a generator yielding 0..n-1 (one worker, default
// window), against the raw floor of one msgpack frame per item (fixtures/raw_msgpack.py writes n
// chunk frames, one write each, with no flow control; Node decodes every frame). Interleaved
// rounds of one whole stream per side; medians of items/s.
import { fileURLToPath } from "node:url"
import { createPool } from "../src/index.ts"
import { openRawMsgpack } from "./raw-msgpack.ts"
import { interleaved, load, median, spread, table } from "./stats.ts"
import type { Target } from "./stats.ts"

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url))
const ITEMS = Number(process.env["BENCH_STREAM_ITEMS"] ?? 100_000)
const ROUNDS = Number(process.env["BENCH_STREAM_ROUNDS"] ?? 5)
const TARGET = 0.8

// Both sides check what they received: every int once, in order.
const checker = (): { item: (value: unknown) => void; done: () => void } => {
  let next = 0
  return {
    item: (value) => {
      if (value !== next) throw new Error(`stream item ${next} was ${String(value)}`)
      next++
    },
    done: () => {
      if (next !== ITEMS) throw new Error(`stream ended after ${next} of ${ITEMS} items`)
    }
  }
}

/** Runs the stream bench, prints its table, and returns its target. */
export const streamInts = async (python: string): Promise<Array<Target>> => {
  console.log(`\n## stream of ${ITEMS} small ints (${ROUNDS} interleaved rounds of one whole stream per side; medians; load ${load()})`)
  const pool = await createPool({ worker: { module: "bench_handlers", cwd: FIXTURES, python }, size: 1 })
  const raw = openRawMsgpack(python)
  try {
    const sides = {
      raw: async () => {
        const check = checker()
        const t0 = performance.now()
        await raw.stream("count", { n: ITEMS }, check.item)
        const elapsed = performance.now() - t0
        check.done()
        return ITEMS / (elapsed / 1000)
      },
      pyvisor: async () => {
        const check = checker()
        const t0 = performance.now()
        for await (const item of pool.stream("count", { n: ITEMS })) check.item(item)
        const elapsed = performance.now() - t0
        check.done()
        return ITEMS / (elapsed / 1000)
      }
    }
    await sides.raw()
    await sides.pyvisor()
    const rates = await interleaved(ROUNDS, sides)
    const rawRate = median(rates.raw)
    const ours = median(rates.pyvisor)
    const ratio = ours / rawRate
    table([["side", "items/s", "(rounds)", "ms per stream", "vs raw"],
      ["raw: one msgpack frame per item", rawRate.toFixed(0), spread(rates.raw), (ITEMS / rawRate * 1000).toFixed(0), "1.00x"],
      ["pyvisor pool.stream (window 64)", ours.toFixed(0), spread(rates.pyvisor), (ITEMS / ours * 1000).toFixed(0), ratio.toFixed(2) + "x"]])
    return [{ name: `stream of ${ITEMS} ints vs one-frame-per-item raw floor`, target: `>= ${TARGET}x`, ours: ratio.toFixed(2) + "x", met: ratio >= TARGET }]
  } finally {
    raw.close()
    await pool.close()
  }
}
