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

const rawEcho = async (python: string, payload: Uint8Array): Promise<Summary> => {
  const { once, close } = openRawEcho(python, payload)
  for (let i = 0; i < WARMUP; i++) await once()
  const samples: Array<number> = []
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < ROUNDS; i++) {
    const s = process.hrtime.bigint()
    await once()
    samples.push(Number(process.hrtime.bigint() - s))
  }
  const wall = Number(process.hrtime.bigint() - t0)
  close()
  return summarise(samples, wall)
}

const pyvisorNoop = async (python: string): Promise<Summary> => {
  const pool = await createPool({ worker: { module: "bench_handlers", cwd: FIXTURES, python }, size: 1 })
  for (let i = 0; i < WARMUP; i++) await pool.call("noop")
  const samples: Array<number> = []
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < ROUNDS; i++) {
    const s = process.hrtime.bigint()
    await pool.call("noop")
    samples.push(Number(process.hrtime.bigint() - s))
  }
  const wall = Number(process.hrtime.bigint() - t0)
  await pool.close()
  return summarise(samples, wall)
}

/** p50 and p99 of each side, per codec (ns). */
export interface CallLatency {
  readonly codec: "msgpack" | "json"
  readonly raw: Summary
  readonly pyvisor: Summary
}

/** Runs the call-latency bench, prints its table, and returns its figures. */
export const callLatency = async (): Promise<Array<CallLatency>> => {
  console.log(`\n## no-op call round trip (${ROUNDS} sequential calls after ${WARMUP} warm-up; target: p50 <= 2x raw, p99 <= 250 us)`)
  const results: Array<CallLatency> = []
  const rows = [["codec", "python", "raw p50 us", "raw p99 us", "pyvisor p50 us", "pyvisor p99 us", "calls/s", "p50 ratio", "targets"]]
  for (const [codec, python] of [["msgpack", "/usr/bin/python3"], ["json", "python3"]] as const) {
    // The echo carries the very bytes of a no-op call frame in that codec.
    const payload = (codec === "msgpack" ? msgpackCodec : jsonCodec).encode({ kind: "call", id: 1, name: "noop" })
    const raw = await rawEcho(python, payload)
    const ours = await pyvisorNoop(python)
    results.push({ codec, raw, pyvisor: ours })
    const ratio = ours.p50 / raw.p50
    const ok = ratio <= 2 && ours.p99 <= 250_000
    rows.push([codec, python, us(raw.p50), us(raw.p99), us(ours.p50), us(ours.p99), ours.perSecond.toFixed(0), ratio.toFixed(2) + "x", ok ? "met" : "MISSED"])
  }
  table(rows)
  return results
}
