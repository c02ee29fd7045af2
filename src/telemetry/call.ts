/**
 * One traced call: its CLIENT span `pyvisor.call <name>` (a child of the caller's active context),
 * the attributes of its last attempt, events for crashes and requeues, Python's spans under it, and
 * its metrics. Made only for pools with telemetry on; see `types.ts` for when each method runs.
 * @module
 */
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api"
import type { Attributes, Context, Span, Tracer } from "@opentelemetry/api"
import type { PythonSpan } from "../protocol/index.ts"
import type { Instruments } from "./instruments.ts"
import { recreateSpans } from "./python-spans.ts"
import { traceparent } from "./traceparent.ts"
import type { CallTrace } from "./types.ts"

/**
 * The error code a call failed with: pyvisor errors' stable `code` (`PYTHON_ERROR`,
 * `WORKER_CRASHED`…), else the error's name.
 *
 * @example
 * ```ts
 * errorCode(new CallTimeoutError({ message: "…", handler: "f", timeoutMs: 5 })) // "CALL_TIMEOUT"
 * ```
 */
export const errorCode = (error: unknown): string => {
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined
  if (typeof code === "string") return code
  return error instanceof Error ? error.name : typeof error
}

/**
 * A call's span and metrics.
 *
 * @example
 * ```ts
 * const call = new TracedCall(tracer, instruments, "add", undefined)
 * call.end(undefined)
 * ```
 */
export class TracedCall implements CallTrace {
  readonly traceparent: string | undefined
  readonly #tracer: Tracer | undefined
  readonly #instruments: Instruments | undefined
  readonly #method: Attributes
  readonly #span: Span | undefined
  /** The call span's context: the parent of Python's spans. */
  readonly #context: Context | undefined
  #dispatchedAt = -1
  #workerId = ""
  #pid: number | null = null
  // The last attempt's facts, written to the span once, as it ends (each SDK attribute write costs).
  #attempt = 0
  #queueWaitMs = 0
  #codec = ""
  #requestBytes = 0
  #responseBytes = -1

  constructor(tracer: Tracer | undefined, instruments: Instruments | undefined, name: string, session: string | undefined) {
    this.#tracer = tracer
    this.#instruments = instruments
    this.#method = { "rpc.system": "pyvisor", "rpc.method": name }
    if (tracer === undefined) {
      this.traceparent = undefined
      return
    }
    const parent = context.active()
    const span = tracer.startSpan(`pyvisor.call ${name}`, {
      kind: SpanKind.CLIENT,
      attributes: session === undefined ? this.#method : { ...this.#method, "pyvisor.session": session }
    }, parent)
    this.#span = span
    this.#context = trace.setSpan(parent, span)
    const sc = span.spanContext()
    this.traceparent = trace.isSpanContextValid(sc) ? traceparent(sc) : undefined
  }

  dispatched(workerId: string, pid: number | null, attempt: number, queueWaitMs: number): void {
    this.#dispatchedAt = performance.now()
    this.#workerId = workerId
    this.#pid = pid
    this.#attempt = attempt
    this.#queueWaitMs = queueWaitMs
    this.#instruments?.queueWait.record(queueWaitMs, this.#method)
  }

  sent(bytes: number, codec: string): void {
    this.#codec = codec
    this.#requestBytes = bytes
  }

  answered(bytes: number, spans: ReadonlyArray<PythonSpan> | undefined): void {
    this.#responseBytes = bytes
    if (spans === undefined || spans.length === 0 || this.#tracer === undefined || this.#context === undefined) return
    recreateSpans(this.#tracer, this.#context, spans, { "pyvisor.worker.id": this.#workerId, ...(this.#pid === null ? {} : { "process.pid": this.#pid }) })
  }

  lost(error: Error, started: boolean): void {
    const reason = (error as { reason?: unknown }).reason
    this.#span?.addEvent("pyvisor.crash", {
      "pyvisor.worker.id": this.#workerId,
      ...(this.#pid === null ? {} : { "pyvisor.worker.pid": this.#pid }),
      "pyvisor.started": started,
      ...(typeof reason === "string" ? { "pyvisor.exit.reason": reason } : {}),
      "exception.message": error.message
    })
  }

  requeued(started: boolean): void {
    this.#span?.addEvent(started ? "pyvisor.retry" : "pyvisor.requeue")
  }

  /** The span's attributes of the last attempt (none if it never reached a worker), and its outcome. */
  #attributes(outcome: "ok" | "error"): Attributes {
    if (this.#attempt === 0) return { "pyvisor.outcome": outcome }
    const a: Attributes = { "pyvisor.worker.id": this.#workerId, "pyvisor.attempt": this.#attempt, "pyvisor.queue_wait_ms": this.#queueWaitMs, "pyvisor.outcome": outcome }
    if (this.#pid !== null) a["pyvisor.worker.pid"] = this.#pid
    if (this.#codec !== "") {
      a["pyvisor.codec"] = this.#codec
      a["pyvisor.request.bytes"] = this.#requestBytes
    }
    if (this.#responseBytes >= 0) a["pyvisor.response.bytes"] = this.#responseBytes
    return a
  }

  end(error: unknown): void {
    const instruments = this.#instruments
    const span = this.#span
    const ms = this.#dispatchedAt < 0 ? undefined : performance.now() - this.#dispatchedAt
    if (error === undefined) {
      if (span !== undefined) {
        span.setAttributes(this.#attributes("ok"))
        span.end()
      }
      if (instruments === undefined) return
      const attributes = { ...this.#method, "pyvisor.outcome": "ok" }
      instruments.calls.add(1, attributes)
      if (ms !== undefined) instruments.duration.record(ms, attributes)
      return
    }
    const code = errorCode(error)
    if (span !== undefined) {
      span.setAttributes({ ...this.#attributes("error"), "error.type": code })
      if (error instanceof Error) span.recordException(error)
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) })
      span.end()
    }
    if (instruments === undefined) return
    const attributes = { ...this.#method, "pyvisor.outcome": "error", "error.type": code }
    instruments.calls.add(1, attributes)
    instruments.errors.add(1, { ...this.#method, "error.type": code })
    if (ms !== undefined) instruments.duration.record(ms, attributes)
  }
}
