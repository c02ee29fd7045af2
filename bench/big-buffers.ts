// Large binary values, one worker, msgpack: a 1 MiB Buffer echoed (pool.call("echo", { data }))
// against the raw msgpack floor that also decodes and re-encodes the message per echo
// (fixtures/raw_msgpack.py; msgpackr on the Node side), and 8 MiB one way (Python returns 8 MiB of
// bytes) in GB/s (1e9 bytes/s), next to the same floor. Interleaved rounds; medians. Garbage
// collections during the 1 MiB loops are counted with a PerformanceObserver on "gc" entries.
import { randomBytes } from "node:crypto"
import { constants, PerformanceObserver } from "node:perf_hooks"
import type { PerformanceEntry } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { createPool } from "../src/index.ts"
import { openRawMsgpack } from "./raw-msgpack.ts"
import { interleaved, load, median, spread, table } from "./stats.ts"
import type { Target } from "./stats.ts"

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url))
const ROUNDS = Number(process.env["BENCH_BUFFER_ROUNDS"] ?? 7)
const ECHOES = Number(process.env["BENCH_BUFFER_CALLS"] ?? 30)
const BIG_CALLS = Number(process.env["BENCH_BUFFER_BIG_CALLS"] ?? 4)
const MiB = 1024 * 1024
const ECHO_BYTES = MiB
const BIG_BYTES = 8 * MiB
const ECHO_TARGET = 0.7
const GBPS_TARGET = 1

type Side = "raw" | "pyvisor"

const asBytes = (value: unknown, expected: number): Uint8Array => {
  if (!(value instanceof Uint8Array) || value.length !== expected) {
    throw new Error(`expected ${expected} bytes, got ${value instanceof Uint8Array ? `${value.length} bytes` : typeof value}`)
  }
  return value
}

const GC_KINDS: ReadonlyArray<readonly [number, string]> = [
  [constants.NODE_PERFORMANCE_GC_MINOR, "minor"],
  [constants.NODE_PERFORMANCE_GC_MAJOR, "major"],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, "incremental"],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, "weak callbacks"]
]

/** Garbage collections that started within one of `windows` (performance.now() times), by kind. */
interface GcCount {
  readonly total: number
  readonly byKind: ReadonlyMap<string, number>
  readonly ms: number
}

const countGcs = (entries: ReadonlyArray<PerformanceEntry>, windows: ReadonlyArray<readonly [number, number]>): GcCount => {
  const byKind = new Map<string, number>()
  let total = 0
  let ms = 0
  for (const e of entries) {
    if (!windows.some(([from, to]) => e.startTime >= from && e.startTime <= to)) continue
    const kind = (e as PerformanceEntry & { readonly detail?: { readonly kind?: number } }).detail?.kind
    const name = GC_KINDS.find(([k]) => k === kind)?.[1] ?? `kind ${String(kind)}`
    byKind.set(name, (byKind.get(name) ?? 0) + 1)
    total++
    ms += e.duration
  }
  return { total, byKind, ms }
}

/** Runs the buffer benches, prints their tables, and returns their targets. */
export const bigBuffers = async (python: string): Promise<Array<Target>> => {
  console.log(`\n## large buffers, msgpack, one worker (${ROUNDS} interleaved rounds per side; medians; load ${load()})`)
  const pool = await createPool({ worker: { module: "bench_handlers", cwd: FIXTURES, python }, size: 1 })
  const raw = openRawMsgpack(python)
  const gcs: Array<PerformanceEntry> = []
  const observer = new PerformanceObserver((list) => gcs.push(...list.getEntries()))
  observer.observe({ entryTypes: ["gc"] })
  try {
    const data = randomBytes(ECHO_BYTES)
    const echo: Record<Side, () => Promise<unknown>> = {
      raw: () => raw.call("echo", { data }),
      pyvisor: () => pool.call("echo", { data })
    }
    for (const side of ["raw", "pyvisor"] as const) {
      if (!Buffer.from(asBytes(await echo[side](), ECHO_BYTES)).equals(data)) throw new Error(`${side} echo changed the bytes`)
      for (let i = 0; i < 5; i++) await echo[side]()
    }
    const windows: Record<Side, Array<readonly [number, number]>> = { raw: [], pyvisor: [] }
    const echoLoop = (side: Side) => async (): Promise<number> => {
      const t0 = performance.now()
      for (let i = 0; i < ECHOES; i++) await echo[side]()
      const t1 = performance.now()
      windows[side].push([t0, t1])
      return ECHOES / ((t1 - t0) / 1000)
    }
    const echoRates = await interleaved(ROUNDS, { raw: echoLoop("raw"), pyvisor: echoLoop("pyvisor") })

    const big: Record<Side, () => Promise<unknown>> = {
      raw: () => raw.call("blob", { n: BIG_BYTES }),
      pyvisor: () => pool.call("blob", { n: BIG_BYTES })
    }
    for (const side of ["raw", "pyvisor"] as const) asBytes(await big[side](), BIG_BYTES)
    const bigLoop = (side: Side) => async (): Promise<number> => {
      const t0 = performance.now()
      for (let i = 0; i < BIG_CALLS; i++) asBytes(await big[side](), BIG_BYTES)
      return BIG_CALLS * BIG_BYTES / ((performance.now() - t0) / 1000) / 1e9
    }
    const bigRates = await interleaved(ROUNDS, { raw: bigLoop("raw"), pyvisor: bigLoop("pyvisor") })

    await new Promise((resolve) => setTimeout(resolve, 10))
    gcs.push(...observer.takeRecords())
    const gc = { raw: countGcs(gcs, windows.raw), pyvisor: countGcs(gcs, windows.pyvisor) }

    const echoRaw = median(echoRates.raw)
    const echoOurs = median(echoRates.pyvisor)
    const bigRaw = median(bigRates.raw)
    const bigOurs = median(bigRates.pyvisor)
    const echoRatio = echoOurs / echoRaw
    const gcCell = (c: GcCount): string => `${c.total} (${[...c.byKind].map(([kind, n]) => `${n} ${kind}`).join(", ") || "none"}; ${c.ms.toFixed(1)} ms)`
    const calls = ROUNDS * ECHOES
    console.log(`1 MiB echo: ${ECHOES} echoes per round; 8 MiB one way: ${BIG_CALLS} calls per round; GCs counted over the ${calls} measured 1 MiB echoes of each side`)
    table([["side", "1 MiB echoes/s", "(rounds)", "ms/echo", "vs raw", "GCs in 1 MiB loop", "GCs/echo", "8 MiB one way GB/s", "(rounds)", "vs raw"],
      ["raw msgpack floor (decode + encode per message)", echoRaw.toFixed(0), spread(echoRates.raw), (1000 / echoRaw).toFixed(2), "1.00x",
        gcCell(gc.raw), (gc.raw.total / calls).toFixed(2), bigRaw.toFixed(2), spread(bigRates.raw, 2), "1.00x"],
      ["pyvisor pool.call", echoOurs.toFixed(0), spread(echoRates.pyvisor), (1000 / echoOurs).toFixed(2), echoRatio.toFixed(2) + "x",
        gcCell(gc.pyvisor), (gc.pyvisor.total / calls).toFixed(2), bigOurs.toFixed(2), spread(bigRates.pyvisor, 2),
        (bigOurs / bigRaw).toFixed(2) + "x"]])
    return [
      { name: "1 MiB Buffer echo vs raw msgpack floor", target: `>= ${ECHO_TARGET}x`, ours: echoRatio.toFixed(2) + "x", met: echoRatio >= ECHO_TARGET },
      { name: `8 MiB one way (raw floor: ${bigRaw.toFixed(2)} GB/s)`, target: `>= ${GBPS_TARGET} GB/s`, ours: bigOurs.toFixed(2) + " GB/s", met: bigOurs >= GBPS_TARGET }
    ]
  } finally {
    observer.disconnect()
    raw.close()
    await pool.close()
  }
}
