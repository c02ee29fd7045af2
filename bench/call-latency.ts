// Issue 2 bench: pyvisor no-op call round trip against a raw fd 3/4 echo, per codec.
import { fileURLToPath } from "node:url"
import { createPool } from "../src/index.ts"
import { jsonCodec, msgpackCodec } from "../src/protocol/index.ts"
import { openRawEcho } from "./raw-echo.ts"
import { summarise, table, us } from "./stats.ts"
import type { Summary } from "./stats.ts"

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url))
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 5_000)
const WARMUP = 500

const BLOCK = 250

/** `once` run `WARMUP` times, then timed `ROUNDS` times in blocks of `BLOCK`, blocks of the two sides alternating. */
const measure = async (sides: Readonly<Record<"raw" | "pyvisor", () => Promise<unknown>>>): Promise<Record<"raw" | "pyvisor", Summary>> => {
  const samples = { raw: [] as Array<number>, pyvisor: [] as Array<number> }
  const wall = { raw: 0, pyvisor: 0 }
  for (const once of Object.values(sides)) for (let i = 0; i < WARMUP; i++) await once()
  for (let block = 0; block * BLOCK < ROUNDS; block++) {
    // Alternate which side goes first, so neither always follows the other's garbage.
    for (const side of block % 2 === 0 ? (["raw", "pyvisor"] as const) : (["pyvisor", "raw"] as const)) {
      const once = sides[side]
      const t0 = process.hrtime.bigint()
      for (let i = 0; i < BLOCK; i++) {
        const s = process.hrtime.bigint()
        await once()
        samples[side].push(Number(process.hrtime.bigint() - s))
      }
      wall[side] += Number(process.hrtime.bigint() - t0)
    }
  }
  return { raw: summarise(samples.raw, wall.raw), pyvisor: summarise(samples.pyvisor, wall.pyvisor) }
}

/** p50 and p99 of each side, per codec (ns). */
export interface CallLatency {
  readonly codec: "msgpack" | "json"
  readonly raw: Summary
  readonly pyvisor: Summary
}

/** Runs the call-latency bench, prints its table, and returns its figures. */
export const callLatency = async (): Promise<Array<CallLatency>> => {
  console.log(`\n## no-op call round trip (${ROUNDS} sequential calls per side after ${WARMUP} warm-up, in blocks of ${BLOCK} alternating between the sides; target: p50 <= 2x raw, p99 <= 250 us)`)
  const results: Array<CallLatency> = []
  const rows = [["codec", "python", "raw p50 us", "raw p99 us", "pyvisor p50 us", "pyvisor p99 us", "calls/s", "p50 ratio", "targets"]]
  for (const [codec, python] of [["msgpack", "/usr/bin/python3"], ["json", "python3"]] as const) {
    // The echo carries the very bytes of a no-op call frame in that codec.
    const payload = (codec === "msgpack" ? msgpackCodec : jsonCodec).encode({ kind: "call", id: 1, name: "noop" })
    const echo = openRawEcho(python, payload)
    const pool = await createPool({ worker: { module: "bench_handlers", cwd: FIXTURES, python }, size: 1 })
    const { raw, pyvisor: ours } = await measure({ raw: echo.once, pyvisor: () => pool.call("noop") })
    echo.close()
    await pool.close()
    results.push({ codec, raw, pyvisor: ours })
    const ratio = ours.p50 / raw.p50
    const ok = ratio <= 2 && ours.p99 <= 250_000
    rows.push([codec, python, us(raw.p50), us(raw.p99), us(ours.p50), us(ours.p99), ours.perSecond.toFixed(0), ratio.toFixed(2) + "x", ok ? "met" : "MISSED"])
  }
  table(rows)
  return results
}
