// Issue 15 bench: the cost of telemetry on a sequential no-op call, same run, three pools on the
// same interpreter: no telemetry option and nothing of OpenTelemetry registered (the baseline);
// no telemetry option with an SDK tracer and meter provider registered globally (must cost
// nothing: pyvisor does not look); and `telemetry: true` (a span and metrics per call, spans
// batched to an exporter that drops them). Blocks of calls alternate between the pools.
import { fileURLToPath } from "node:url"
import { metrics, trace } from "@opentelemetry/api"
import { MeterProvider } from "@opentelemetry/sdk-metrics"
import { BatchSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace"
import type { SpanExporter } from "@opentelemetry/sdk-trace"
import { createPool } from "../src/index.ts"
import type { Pool } from "../src/index.ts"
import { summarise, table, us } from "./stats.ts"
import type { Summary, Target } from "./stats.ts"

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url))
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 5_000)
const WARMUP = 500
const BLOCK = 250
const SIDES = ["baseline", "registered", "telemetry"] as const
type Side = typeof SIDES[number]

/** Drops what it is given: the bench measures pyvisor's side, not an exporter's. */
const dropping: SpanExporter = { export: (_spans, done) => done({ code: 0 }), shutdown: () => Promise.resolve() }

const measure = async (pools: Readonly<Record<Side, Pool>>): Promise<Record<Side, Summary>> => {
  const samples = Object.fromEntries(SIDES.map((s) => [s, [] as Array<number>])) as Record<Side, Array<number>>
  const wall = Object.fromEntries(SIDES.map((s) => [s, 0])) as Record<Side, number>
  for (const side of SIDES) for (let i = 0; i < WARMUP; i++) await pools[side].call("noop")
  for (let block = 0; block * BLOCK < ROUNDS; block++) {
    for (const side of block % 2 === 0 ? SIDES : [...SIDES].reverse()) {
      const pool = pools[side]
      const t0 = process.hrtime.bigint()
      for (let i = 0; i < BLOCK; i++) {
        const s = process.hrtime.bigint()
        await pool.call("noop")
        samples[side].push(Number(process.hrtime.bigint() - s))
      }
      wall[side] += Number(process.hrtime.bigint() - t0)
    }
  }
  return Object.fromEntries(SIDES.map((s) => [s, summarise(samples[s], wall[s])])) as Record<Side, Summary>
}

/** Prints the table; returns the targets (registered-but-off vs baseline, and on vs baseline). */
export const telemetryBench = async (python: string): Promise<Array<Target>> => {
  const worker = { module: "bench_handlers", cwd: FIXTURES, python }
  const baseline = await createPool({ worker, size: 1 })
  const tracerProvider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter: dropping })] })
  const meterProvider = new MeterProvider()
  trace.setGlobalTracerProvider(tracerProvider)
  metrics.setGlobalMeterProvider(meterProvider)
  try {
    const registered = await createPool({ worker, size: 1 })
    const traced = await createPool({ worker, size: 1, telemetry: true })
    const r = await measure({ baseline, registered, telemetry: traced })
    await Promise.all([registered.close(), traced.close()])
    console.log(`\n## telemetry: sequential no-op call on ${python} (${ROUNDS} calls per pool after ${WARMUP} warm-up, blocks of ${BLOCK} alternating)`)
    const ratio = (side: Side): number => r[side].p50 / r.baseline.p50
    table([["pool", "p50 us", "p99 us", "calls/s", "p50 vs baseline"],
      ["no telemetry option, nothing registered", us(r.baseline.p50), us(r.baseline.p99), r.baseline.perSecond.toFixed(0), "1.00x"],
      ["no telemetry option, SDK providers registered", us(r.registered.p50), us(r.registered.p99), r.registered.perSecond.toFixed(0), ratio("registered").toFixed(2) + "x"],
      ["telemetry: true (span + metrics per call)", us(r.telemetry.p50), us(r.telemetry.p99), r.telemetry.perSecond.toFixed(0), ratio("telemetry").toFixed(2) + "x"]])
    return [
      { name: "no-op p50, OTel registered but telemetry off, vs baseline", target: "<= 1.05x", ours: ratio("registered").toFixed(2) + "x", met: ratio("registered") <= 1.05 },
      { name: "no-op p50, telemetry on, vs baseline (informative)", target: "-", ours: ratio("telemetry").toFixed(2) + "x", met: undefined }
    ]
  } finally {
    await baseline.close()
    trace.disable()
    metrics.disable()
    await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()])
  }
}
