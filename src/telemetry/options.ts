/**
 * The `telemetry` option of `createPool`. Off by default, and then nothing of OpenTelemetry is
 * imported: `@opentelemetry/api` is an optional peer dependency, loaded at pool start only when
 * this option asks for it.
 * @module
 */
import type { MeterProvider, TracerProvider } from "@opentelemetry/api"
import { invalid, section } from "../options/kit.ts"

/**
 * `false` (the default): off. `true`: the providers registered globally with `@opentelemetry/api` (`trace.setGlobalTracerProvider`,
 * `metrics.setGlobalMeterProvider`; one registered later is used from then on). An object: exactly
 * the providers it names; one left out is off.
 *
 * @example
 * ```ts
 * createPool({ worker: { module: "m" }, telemetry: { tracerProvider, meterProvider } })
 * ```
 */
export type TelemetryOptions = boolean | { readonly tracerProvider?: TracerProvider; readonly meterProvider?: MeterProvider }

/**
 * The option once checked: which providers, `global` for the API's registered ones.
 *
 * @example
 * ```ts
 * const r: ResolvedTelemetry = { tracerProvider: "global", meterProvider: undefined }
 * ```
 */
export interface ResolvedTelemetry {
  readonly tracerProvider: TracerProvider | "global" | undefined
  readonly meterProvider: MeterProvider | "global" | undefined
}

const KEYS = ["tracerProvider", "meterProvider"]
const EXPECTED = "a boolean, or an object like { tracerProvider, meterProvider }"

const provider = <P>(option: string, value: unknown, method: string): P | undefined => {
  if (value === undefined) return undefined
  if (typeof value !== "object" || value === null || typeof (value as Record<string, unknown>)[method] !== "function") {
    throw invalid(option, value, `an OpenTelemetry ${option.endsWith("tracerProvider") ? "TracerProvider" : "MeterProvider"} (with ${method}())`)
  }
  return value as P
}

/**
 * Checks the option; undefined when telemetry is off.
 *
 * @example
 * ```ts
 * resolveTelemetry(true) // { tracerProvider: "global", meterProvider: "global" }
 * resolveTelemetry({ tracerProvider: 1 }) // throws: telemetry.tracerProvider must be an OpenTelemetry TracerProvider …
 * ```
 */
export const resolveTelemetry = (value: unknown): ResolvedTelemetry | undefined => {
  if (value === undefined || value === false) return undefined
  if (value === true) return { tracerProvider: "global", meterProvider: "global" }
  const o = section("telemetry", value, KEYS, EXPECTED)
  const tracerProvider = provider<TracerProvider>("telemetry.tracerProvider", o["tracerProvider"], "getTracer")
  const meterProvider = provider<MeterProvider>("telemetry.meterProvider", o["meterProvider"], "getMeter")
  if (tracerProvider === undefined && meterProvider === undefined) throw invalid("telemetry", value, `${EXPECTED} naming at least one`)
  return { tracerProvider, meterProvider }
}
