/**
 * The pool's metric instruments on one OTel meter. Names follow the `pyvisor.*` namespace;
 * attributes use the RPC semantic conventions where they exist (`rpc.system`, `rpc.method`,
 * `error.type`). Durations in milliseconds, as `pool.snapshot()` reports them.
 * @module
 */
import type { Counter, Histogram, Meter, ObservableGauge } from "@opentelemetry/api"

/**
 * Every instrument a pool records to.
 *
 * @example
 * ```ts
 * const instruments = makeInstruments(meterProvider.getMeter("pyvisor"))
 * instruments.calls.add(1, { "rpc.system": "pyvisor", "rpc.method": "add" })
 * ```
 */
export interface Instruments {
  /** Calls settled, by `rpc.method` and `pyvisor.outcome` (`ok` / `error`). */
  readonly calls: Counter
  /** Calls that failed, by `rpc.method` and `error.type` (the pyvisor error code, e.g. `PYTHON_ERROR`). */
  readonly errors: Counter
  /** From dispatch to a worker to the answer. */
  readonly duration: Histogram
  /** Time a call waited for a worker (each attempt). */
  readonly queueWait: Histogram
  /** From spawn to ready, for each worker start. */
  readonly startDuration: Histogram
  /** Worker incarnations that ended in a crash, by `pyvisor.exit.reason`; the supervisor restarts them. */
  readonly restarts: Counter
  /** Workers replaced on purpose, by `pyvisor.recycle.reason` (`calls`, `memory`, `age`, `idle`, `manual`). */
  readonly recycles: Counter
  /** Workers by `pyvisor.worker.state`, read at collection. */
  readonly workers: ObservableGauge
  /** Calls waiting for a worker, read at collection. */
  readonly queueLength: ObservableGauge
}

/**
 * Creates the instruments.
 *
 * @example
 * ```ts
 * const { calls } = makeInstruments(meter)
 * ```
 */
export const makeInstruments = (meter: Meter): Instruments => ({
  calls: meter.createCounter("pyvisor.calls", { description: "Calls settled", unit: "{call}" }),
  errors: meter.createCounter("pyvisor.call.errors", { description: "Calls that failed, by error code", unit: "{call}" }),
  duration: meter.createHistogram("pyvisor.call.duration", { description: "Time from dispatch to a worker to the answer", unit: "ms" }),
  queueWait: meter.createHistogram("pyvisor.call.queue_wait", { description: "Time a call waited for a worker", unit: "ms" }),
  startDuration: meter.createHistogram("pyvisor.worker.start.duration", { description: "Time from spawn to ready", unit: "ms" }),
  restarts: meter.createCounter("pyvisor.worker.restarts", { description: "Worker incarnations that crashed and were restarted", unit: "{worker}" }),
  recycles: meter.createCounter("pyvisor.worker.recycles", { description: "Workers replaced on purpose", unit: "{worker}" }),
  workers: meter.createObservableGauge("pyvisor.workers", { description: "Workers by state", unit: "{worker}" }),
  queueLength: meter.createObservableGauge("pyvisor.queue.length", { description: "Calls waiting for a worker", unit: "{call}" })
})
