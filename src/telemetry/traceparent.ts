/**
 * The W3C trace context header, written without a propagator: the call frame carries the call
 * span's context whatever propagators the application registered.
 * @module
 */
import type { SpanContext } from "@opentelemetry/api"

/**
 * `00-<trace id>-<span id>-<flags>` for a span context.
 *
 * @example
 * ```ts
 * traceparent({ traceId: "4bf9…", spanId: "00f0…", traceFlags: 1 }) // "00-4bf9…-00f0…-01"
 * ```
 */
export const traceparent = (context: SpanContext): string =>
  `00-${context.traceId}-${context.spanId}-${(context.traceFlags & 0xff).toString(16).padStart(2, "0")}`
