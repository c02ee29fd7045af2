/**
 * Message types of protocol v1 as discriminated unions, one per direction.
 * See docs/protocol.md sections 3 and 4.
 */

/** The protocol version this host speaks. */
export const PROTOCOL_VERSION = 1

/** Arguments of a call: keyword arguments (object) or positional ones (array). */
export type CallArgs = Readonly<Record<string, unknown>> | ReadonlyArray<unknown>

// ── handshake ────────────────────────────────────────────────────────────────
/** The worker's first frame, always JSON. */
export interface Hello { readonly kind: "hello"; readonly protocol: number; readonly pid: number; readonly python: string; readonly codecs: ReadonlyArray<string> }
/**
 * The host's answer to hello, always JSON. `features` lists optional messages the host accepts
 * (`"chunks"`: batched stream items); a worker that does not know one ignores it.
 */
export interface Welcome { readonly kind: "welcome"; readonly codec: string; readonly features?: ReadonlyArray<string> }
/** The worker imported the user's module (status ok) or failed to (status error). */
export type Ready =
  | { readonly kind: "ready"; readonly status: "ok"; readonly handlers: ReadonlyArray<string> }
  | { readonly kind: "ready"; readonly status: "error"; readonly type: string; readonly message: string; readonly traceback: string }

// ── host → worker ────────────────────────────────────────────────────────────
/**
 * Run handler `name`. `traceparent` (W3C trace context of the host's call span) is sent only when
 * the pool has telemetry on; a worker that does not know it ignores it.
 */
export interface Call { readonly kind: "call"; readonly id: number; readonly name: string; readonly args?: CallArgs; readonly session?: string; readonly deadline?: number; readonly stream?: true; readonly window?: number; readonly traceparent?: string }
/** Ask the handler of call `id` to stop. */
export interface Cancel { readonly kind: "cancel"; readonly id: number }
/** Stream flow control: `n` more chunks may be sent for stream `id`. */
export interface Credit { readonly kind: "credit"; readonly id: number; readonly n: number }
/** Liveness probe. */
export interface Ping { readonly kind: "ping"; readonly id: number }
/** Answer to a worker's host call. */
export interface HostResult { readonly kind: "host_result"; readonly id: number; readonly value: unknown }
/** Failure of a worker's host call. */
export interface HostError { readonly kind: "host_error"; readonly id: number; readonly type: string; readonly message: string }
/** Finish the current call, then exit 0. */
export interface Shutdown { readonly kind: "shutdown"; readonly graceMs: number }

/** Every message the host sends. */
export type HostMessage = Welcome | Call | Cancel | Credit | Ping | HostResult | HostError | Shutdown

// ── worker → host ────────────────────────────────────────────────────────────
/**
 * An event of a {@link PythonSpan}: `time` in epoch milliseconds.
 *
 * @example
 * ```ts
 * const e: PythonSpanEvent = { name: "cache miss", time: 1_764_748_000_123.5, attributes: { key: "k" } }
 * ```
 */
export interface PythonSpanEvent { readonly name: string; readonly time: number; readonly attributes?: Readonly<Record<string, unknown>> }
/**
 * A span a handler recorded with `ctx.trace.span(...)`, reported with the call's final frame.
 * `id` counts from 1 within the call; `parent` 0 is the host's call span. Times in epoch milliseconds.
 *
 * @example
 * ```ts
 * const s: PythonSpan = { id: 1, parent: 0, name: "load model", start: 1_764_748_000_100.25, end: 1_764_748_000_180.5, status: "ok" }
 * ```
 */
export interface PythonSpan {
  readonly id: number
  readonly parent: number
  readonly name: string
  readonly start: number
  readonly end: number
  readonly attributes?: Readonly<Record<string, unknown>>
  readonly status?: "ok" | "error" | "unset"
  readonly message?: string
  readonly events?: ReadonlyArray<PythonSpanEvent>
}
/** Spans of a traced call (only when its `call` carried `traceparent`), on its final frame. */
interface Spans { readonly spans?: ReadonlyArray<PythonSpan> }
/** A handler's return value. */
export interface Result extends Spans { readonly kind: "result"; readonly id: number; readonly value: unknown }
/** A handler's exception. */
export interface ErrorMessage extends Spans {
  readonly kind: "error"; readonly id: number; readonly type: string; readonly message: string
  /** The user's frames only. */
  readonly traceback: string
  /** Also the runtime's frames, sent only when some were left out of `traceback`. */
  readonly fullTraceback?: string
  /** `pyvisor.InvalidArguments` only: the parameter at fault and its expected type (Python spelling). */
  readonly parameter?: string; readonly expected?: string
}
/** One item of a streamed answer. */
export interface Chunk { readonly kind: "chunk"; readonly id: number; readonly value: unknown }
/** Several items of a streamed answer, in order (only after welcome offered `"chunks"`); each counts against credit. */
export interface Chunks { readonly kind: "chunks"; readonly id: number; readonly values: ReadonlyArray<unknown> }
/** End of a streamed answer. */
export interface End extends Spans { readonly kind: "end"; readonly id: number }
/** The worker asks the host to run host handler `name`. */
export interface HostCall { readonly kind: "host_call"; readonly id: number; readonly name: string; readonly args?: CallArgs; /** The call it is made for (several may be in flight). */ readonly call?: number }
/** Answer to ping. */
export interface Pong { readonly kind: "pong"; readonly id: number }
/** A runtime log line. */
export interface Log { readonly kind: "log"; readonly level: "debug" | "info" | "warning" | "error"; readonly message: string }

/** Every message the worker sends. */
export type WorkerMessage = Hello | Ready | Result | ErrorMessage | Chunk | Chunks | End | HostCall | Pong | Log

/** Worker messages that answer a call id. */
export type CallAnswer = Result | ErrorMessage | Chunk | Chunks | End
