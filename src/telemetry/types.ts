/**
 * What the engine and the connection see of telemetry: one object per traced call, reached through
 * an `undefined` check, so a pool without telemetry pays nothing else. Implemented in `call.ts`,
 * loaded only when `createPool({ telemetry })` asks for it.
 * @module
 */
import type { PythonSpan } from "../protocol/index.ts"

/**
 * One call's span and metrics, told what happens to the call.
 *
 * @example
 * ```ts
 * const trace = telemetry.call("add", undefined)
 * trace.dispatched("w1", 4242, 1, 0.3); trace.sent(24, "msgpack"); trace.answered(12, undefined); trace.end(undefined)
 * ```
 */
export interface CallTrace {
  /** The call span's W3C `traceparent`, sent in the `call` frame; undefined without a tracer. */
  readonly traceparent: string | undefined
  /** Sent to a worker (one attempt): its slot, pid, attempt number and time spent queued. */
  dispatched(workerId: string, pid: number | null, attempt: number, queueWaitMs: number): void
  /** The call frame's payload size and the codec that encoded it. */
  sent(bytes: number, codec: string): void
  /** The final answer's payload size, and the spans Python recorded for it. */
  answered(bytes: number, spans: ReadonlyArray<PythonSpan> | undefined): void
  /** Its worker died with it in flight (`started`: Python may have begun it). */
  lost(error: Error, started: boolean): void
  /** It goes back to the queue: a retry (it had started) or a requeue (it never had). */
  requeued(started: boolean): void
  /** It settled: `error` undefined for success. Ends the span, records the call's metrics. */
  end(error: unknown): void
}

/**
 * A pool's telemetry, made by `startTelemetry` from the `telemetry` option.
 *
 * @example
 * ```ts
 * const trace = telemetry.call(name, options.session) // in #submit, when telemetry is on
 * ```
 */
export interface PoolTelemetry {
  /** Starts a call's span, a child of the caller's active context. */
  call(name: string, session: string | undefined): CallTrace
  /** A worker incarnation is about to spawn: opens its start span (ended at ready, or at its exit). */
  workerCreated(workerId: string): void
  /** Listens to the pool's events and observes its gauges; returns what stops that (at close). */
  attach(source: TelemetrySource): () => void
}

/**
 * What telemetry reads from a pool (its events, and gauges read at collection time).
 *
 * @example
 * ```ts
 * telemetry.attach({ on: (e, l) => pool.on(e, l), workerStates: () => slots.all.map((s) => s.worker?.state ?? "none"), queued: () => pool.queued })
 * ```
 */
export interface TelemetrySource {
  readonly on: <K extends "worker" | "recycle">(event: K, listener: (event: TelemetryEvents[K]) => void) => () => void
  /** The state of each slot's worker (`none` between incarnations). */
  readonly workerStates: () => ReadonlyArray<string>
  readonly queued: () => number
}

/**
 * The pool events telemetry listens to, as far as it reads them.
 *
 * @example
 * ```ts
 * const e: TelemetryEvents["recycle"] = { workerId: "w1", reason: "served 100 calls (maxCallsPerWorker 100)" }
 * ```
 */
export interface TelemetryEvents {
  readonly worker:
    | { readonly type: "state"; readonly workerId: string; readonly pid: number | null; readonly state: string; readonly previous: string }
    | { readonly type: "exit"; readonly workerId: string; readonly pid: number | null; readonly error: Error | null }
  readonly recycle: { readonly workerId: string; readonly reason: string }
}
