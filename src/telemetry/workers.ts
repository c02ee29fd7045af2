/**
 * Telemetry of the workers, from the pool's own events (never per call): a span per worker start
 * (`pyvisor.worker.start`, spawn → ready, or → the exit that ended the start), the restart and
 * recycle counters, and the gauges read at collection (workers by state, queue length).
 * @module
 */
import { ROOT_CONTEXT, SpanStatusCode } from "@opentelemetry/api"
import type { Attributes, BatchObservableCallback, Meter, Span, Tracer } from "@opentelemetry/api"
import type { Instruments } from "./instruments.ts"
import type { TelemetryEvents, TelemetrySource } from "./types.ts"

/** A recycle's free-text reason (capacity.ts) as a small set of values fit for a metric attribute. */
const recycleKind = (reason: string): string =>
  /^served /.test(reason) ? "calls"
  : /memory|rss/i.test(reason) ? "memory"
  : /old|age|ttl/i.test(reason) ? "age"
  : /^idle /.test(reason) ? "idle"
  : "manual"

/**
 * Worker start spans and the worker metrics of one pool.
 *
 * @example
 * ```ts
 * const workers = new WorkerTelemetry(tracer, instruments, meter, "/usr/bin/python3")
 * workers.created("w1"); const detach = workers.attach(source)
 * ```
 */
export class WorkerTelemetry {
  readonly #tracer: Tracer | undefined
  readonly #instruments: Instruments | undefined
  readonly #meter: Meter | undefined
  readonly #python: string
  /** Open start spans by slot id (one incarnation of a slot starts at a time). */
  readonly #starting = new Map<string, { readonly span: Span | undefined; readonly at: number }>()

  constructor(tracer: Tracer | undefined, instruments: Instruments | undefined, meter: Meter | undefined, python: string) {
    this.#tracer = tracer
    this.#instruments = instruments
    this.#meter = meter
    this.#python = python
  }

  /** An incarnation of slot `workerId` is about to spawn. */
  created(workerId: string): void {
    // A root span: a restart is not part of whatever call happened to be running when it began.
    const span = this.#tracer?.startSpan("pyvisor.worker.start", {
      attributes: { "pyvisor.worker.id": workerId, "process.executable.path": this.#python }
    }, ROOT_CONTEXT)
    this.#starting.set(workerId, { span, at: performance.now() })
  }

  /** Listens to `source`'s events and observes its gauges; returns what undoes both. */
  attach(source: TelemetrySource): () => void {
    const offWorker = source.on("worker", (e) => this.#worker(e))
    const offRecycle = source.on("recycle", (e) => this.#instruments?.recycles.add(1, { "pyvisor.recycle.reason": recycleKind(e.reason) }))
    const instruments = this.#instruments
    const meter = this.#meter
    let observe: BatchObservableCallback | undefined
    if (instruments !== undefined && meter !== undefined) {
      observe = (result) => {
        const counts = new Map<string, number>()
        for (const state of source.workerStates()) counts.set(state, (counts.get(state) ?? 0) + 1)
        for (const [state, n] of counts) result.observe(instruments.workers, n, { "pyvisor.worker.state": state })
        result.observe(instruments.queueLength, source.queued())
      }
      meter.addBatchObservableCallback(observe, [instruments.workers, instruments.queueLength])
    }
    return () => {
      offWorker()
      offRecycle()
      if (observe !== undefined) meter!.removeBatchObservableCallback(observe, [instruments!.workers, instruments!.queueLength])
      for (const [id, start] of this.#starting) this.#endStart(id, start, "the pool closed before the worker was ready")
    }
  }

  #worker(e: TelemetryEvents["worker"]): void {
    const start = this.#starting.get(e.workerId)
    if (e.type === "exit") {
      if (e.error !== null) {
        const reason = (e.error as { reason?: unknown }).reason
        this.#instruments?.restarts.add(1, { "pyvisor.exit.reason": typeof reason === "string" ? reason : "unknown" })
      }
      if (start !== undefined) this.#endStart(e.workerId, start, e.error?.message ?? "stopped before it was ready")
      return
    }
    if (start === undefined) return
    if (e.state === "initializing" && e.pid !== null) {
      start.span?.setAttribute("process.pid", e.pid)
      start.span?.addEvent("pyvisor.spawned")
    } else if (e.state === "ready") {
      this.#starting.delete(e.workerId)
      const ms = performance.now() - start.at
      this.#instruments?.startDuration.record(ms)
      start.span?.setStatus({ code: SpanStatusCode.OK })
      start.span?.end()
    }
  }

  #endStart(workerId: string, start: { readonly span: Span | undefined }, why: string): void {
    this.#starting.delete(workerId)
    if (start.span === undefined) return
    const attributes: Attributes = { "pyvisor.outcome": "error" }
    start.span.setAttributes(attributes)
    start.span.setStatus({ code: SpanStatusCode.ERROR, message: why })
    start.span.end()
  }
}
