// Host CPU per no-op call: this Node process's user + system CPU time (process.cpuUsage)
// divided by the calls made, for pyvisor (one worker) and for the raw fd 3/4 echo that
// carries the same bytes, per codec. Both run side by side in interleaved rounds; medians.
// Only the host's CPU is counted: the Python side (worker or echo child) is not.
import { loadavg } from "node:os"
import { fileURLToPath } from "node:url"
import { createPool } from "../src/index.ts"
import { jsonCodec, msgpackCodec } from "../src/protocol/index.ts"
import { openRawEcho } from "./raw-echo.ts"
import { median, table } from "./stats.ts"

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url))
const ROUNDS = Number(process.env["BENCH_CPU_ROUNDS"] ?? 9)
const CALLS = Number(process.env["BENCH_CPU_CALLS"] ?? 2_000)
const WARMUP = 500

/** One round: `calls` sequential calls of `once`; host CPU and wall time per call, in us. */
const round = async (once: () => Promise<unknown>, calls: number): Promise<{ cpu: number; wall: number }> => {
  const wall0 = process.hrtime.bigint()
  const cpu0 = process.cpuUsage()
  for (let i = 0; i < calls; i++) await once()
  const cpu = process.cpuUsage(cpu0)
  const wall = Number(process.hrtime.bigint() - wall0) / 1000
  return { cpu: (cpu.user + cpu.system) / calls, wall: wall / calls }
}

/** Median host CPU per call (us) of each side, for one codec. */
export interface CpuPerCall {
  readonly codec: "msgpack" | "json"
  readonly raw: number
  readonly pyvisor: number
}

const load = (): string => loadavg().map((l) => l.toFixed(2)).join(" ")
const spread = (xs: ReadonlyArray<number>): string => `${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)}`

/** Runs the host-CPU-per-call bench, prints its table, and returns the medians. */
export const cpuPerCall = async (): Promise<Array<CpuPerCall>> => {
  console.log(`\n## host CPU per no-op call (process.cpuUsage user+system / calls; ${ROUNDS} interleaved rounds of ${CALLS} sequential calls per side; medians)`)
  console.log(`load average at start: ${load()}`)
  const rows = [["codec", "python", "raw CPU us/call", "(rounds)", "pyvisor CPU us/call", "(rounds)", "CPU ratio", "raw wall us/call", "pyvisor wall us/call"]]
  const results: Array<CpuPerCall> = []
  for (const [codec, python] of [["msgpack", "/usr/bin/python3"], ["json", "python3"]] as const) {
    // The echo carries the very bytes of a no-op call frame in that codec.
    const payload = (codec === "msgpack" ? msgpackCodec : jsonCodec).encode({ kind: "call", id: 1, name: "noop" })
    const raw = openRawEcho(python, payload)
    const pool = await createPool({ worker: { module: "bench_handlers", cwd: FIXTURES, python }, size: 1 })
    try {
      const sides = { raw: raw.once, pyvisor: () => pool.call("noop") }
      for (let i = 0; i < WARMUP; i++) await sides.raw()
      for (let i = 0; i < WARMUP; i++) await sides.pyvisor()
      const cpu = { raw: [] as Array<number>, pyvisor: [] as Array<number> }
      const wall = { raw: [] as Array<number>, pyvisor: [] as Array<number> }
      for (let r = 0; r < ROUNDS; r++) {
        // Alternate which side goes first, so drift and order effects fall on both alike.
        for (const side of r % 2 === 0 ? (["raw", "pyvisor"] as const) : (["pyvisor", "raw"] as const)) {
          const measured = await round(sides[side], CALLS)
          cpu[side].push(measured.cpu)
          wall[side].push(measured.wall)
        }
      }
      const result = { codec, raw: median(cpu.raw), pyvisor: median(cpu.pyvisor) }
      results.push(result)
      rows.push([codec, python, result.raw.toFixed(1), spread(cpu.raw), result.pyvisor.toFixed(1), spread(cpu.pyvisor),
        (result.pyvisor / result.raw).toFixed(2) + "x", median(wall.raw).toFixed(1), median(wall.pyvisor).toFixed(1)])
    } finally {
      raw.close()
      await pool.close()
    }
  }
  table(rows)
  console.log(`load average at end: ${load()}`)
  return results
}
