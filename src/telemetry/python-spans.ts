/**
 * Python's spans, made real: a handler's `ctx.trace.span(...)` is recorded in the worker and
 * reported with the call's answer (docs/protocol.md, "Spans"); here each becomes an OTel span of
 * the host's tracer, a child of the call span (or of its Python parent), with Python's own times.
 * Python needs neither `opentelemetry-api` nor an exporter.
 * @module
 */
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api"
import type { Attributes, AttributeValue, Context, HrTime, Span, Tracer } from "@opentelemetry/api"
import type { PythonSpan } from "../protocol/index.ts"

/** Epoch milliseconds (a float, microseconds in its fraction) as OTel's [seconds, nanoseconds]. */
const hrTime = (ms: number): HrTime => {
  const seconds = Math.floor(ms / 1000)
  return [seconds, Math.min(999_999_999, Math.round((ms - seconds * 1000) * 1e6))]
}

const isValue = (v: unknown): v is AttributeValue =>
  typeof v === "string" || typeof v === "number" || typeof v === "boolean" ||
  (Array.isArray(v) && v.every((x) => x === null || typeof x === "string" || typeof x === "number" || typeof x === "boolean"))

/** Python's attributes as OTel attributes: values OTel cannot hold (a bigint…) become text. */
const attributes = (raw: Readonly<Record<string, unknown>> | undefined, extra: Attributes): Attributes => {
  const out: Attributes = { ...extra }
  if (raw !== undefined) for (const [k, v] of Object.entries(raw)) out[k] = isValue(v) ? v : String(v)
  return out
}

/**
 * Creates `spans` under `parent` (the call span's context), parents before children.
 *
 * @example
 * ```ts
 * recreateSpans(tracer, trace.setSpan(context.active(), callSpan), answer.spans, { "process.pid": 4242 })
 * ```
 */
export const recreateSpans = (tracer: Tracer, parent: Context, spans: ReadonlyArray<PythonSpan>, extra: Attributes): void => {
  // Ids grow as spans start, so a parent always sorts before its children.
  const ordered = [...spans].sort((a, b) => a.id - b.id)
  const made = new Map<number, Span>()
  for (const s of ordered) {
    const above = made.get(s.parent)
    const span = tracer.startSpan(s.name, { kind: SpanKind.INTERNAL, startTime: hrTime(s.start), attributes: attributes(s.attributes, extra) },
      above === undefined ? parent : trace.setSpan(parent, above))
    for (const e of s.events ?? []) span.addEvent(e.name, attributes(e.attributes, {}), hrTime(e.time))
    if (s.status === "error") span.setStatus({ code: SpanStatusCode.ERROR, ...(s.message === undefined ? {} : { message: s.message }) })
    else if (s.status === "ok") span.setStatus({ code: SpanStatusCode.OK })
    made.set(s.id, span)
  }
  // Ended once all exist; each at its own time.
  for (const s of ordered) made.get(s.id)!.end(hrTime(s.end))
}
