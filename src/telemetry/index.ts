/**
 * A pool's telemetry, loaded by `makePool` only when `createPool({ telemetry })` is set: this is
 * the one place (with the modules it imports) that imports `@opentelemetry/api`.
 * @module
 */
import { metrics, trace } from "@opentelemetry/api"
import { TracedCall } from "./call.ts"
import { makeInstruments } from "./instruments.ts"
import type { ResolvedTelemetry } from "./options.ts"
import type { CallTrace, PoolTelemetry, TelemetrySource } from "./types.ts"
import { WorkerTelemetry } from "./workers.ts"

/** The instrumentation scope of every tracer and meter pyvisor asks for. */
const SCOPE = "pyvisor"
const VERSION = "0.1.0"

/**
 * Builds a pool's telemetry from the resolved option.
 *
 * @example
 * ```ts
 * const telemetry = startTelemetry({ tracerProvider: "global", meterProvider: undefined }, "/usr/bin/python3")
 * const call = telemetry.call("add", undefined)
 * ```
 */
export const startTelemetry = (o: ResolvedTelemetry, python: string): PoolTelemetry => {
  const tracerProvider = o.tracerProvider === "global" ? trace.getTracerProvider() : o.tracerProvider
  const meterProvider = o.meterProvider === "global" ? metrics.getMeterProvider() : o.meterProvider
  const tracer = tracerProvider?.getTracer(SCOPE, VERSION)
  const meter = meterProvider?.getMeter(SCOPE, VERSION)
  const instruments = meter === undefined ? undefined : makeInstruments(meter)
  const workers = new WorkerTelemetry(tracer, instruments, meter, python)
  return {
    call: (name: string, session: string | undefined): CallTrace => new TracedCall(tracer, instruments, name, session),
    workerCreated: (workerId: string) => workers.created(workerId),
    attach: (source: TelemetrySource) => workers.attach(source)
  }
}
