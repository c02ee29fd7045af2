/**
 * Every error pyvisor raises. Each is an `Error` (for the Promise API) and a tagged,
 * yieldable Effect error (for `pyvisor/effect`), with a stable `code`.
 *
 * @example
 * ```ts
 * try { await pool.call("div", { a: 1, b: 0 }) }
 * catch (e) { if (e instanceof PythonError) console.log(e.type, e.traceback) }
 * ```
 * @module
 */
import * as Data from "effect/Data"

/** Why a worker process ended, as the host saw it. */
export type ExitReasonCode = "exit" | "signal" | "init_timeout" | "init_error" | "protocol" | "heartbeat" | "killed" | "spawn_failed" | "oom"

/** A Python handler raised. The worker lives on. */
export class PythonError extends Data.TaggedError("PythonError")<{
  readonly message: string
  /** Qualified Python class name, e.g. `ValueError` or `mypkg.errors.Boom`. */
  readonly type: string
  /** The traceback through the user's code only: pyvisor's runtime and asyncio frames are left out. */
  readonly traceback: string
  /** The traceback with the runtime's frames too; present only when some were left out of `traceback`. */
  readonly fullTraceback?: string
  readonly handler: string
  readonly workerId: string
}> {
  readonly code = "PYTHON_ERROR"
}

/** The worker process ended (or was killed) before answering. */
export class WorkerCrashedError extends Data.TaggedError("WorkerCrashedError")<{
  readonly message: string
  readonly workerId: string
  readonly pid: number | null
  readonly reason: ExitReasonCode
  readonly exitCode: number | null
  readonly signal: string | null
  /** The last 4 KiB the process wrote to stderr. */
  readonly stderrTail: string
  /**
   * After a fatal signal (SIGSEGV, SIGBUS, SIGABRT…): the Python stack of every thread, from
   * faulthandler. Not named `stack`: that is the JS stack trace every Error has, which tools print.
   */
  readonly pythonStack?: string
  /** The handler and protocol id of the call the worker was running (the oldest in flight). */
  readonly callName?: string
  readonly callId?: number
  /** The worker's resident memory when last sampled (only while `maxWorkerRssMb` sampling runs). */
  readonly rssBytes?: number
  readonly cause?: unknown
}> {
  readonly code = "WORKER_CRASHED"
}

/**
 * How a call that was timed out or aborted stopped: `never-started` (it was still waiting in the
 * pool's queue), `cancelled-in-python` (the handler was interrupted, `Cancelled` or
 * `asyncio.CancelledError`, or dropped from Python's own queue; its worker lives on), `returned` (it
 * ended on its own within the grace, ignoring the cancel; the worker lives on), `worker-killed`
 * (it did not stop within `cancelGraceMs`, or its worker died meanwhile: the worker was replaced).
 *
 * @example
 * ```ts
 * const e = await pool.call("crunch", {}, { timeoutMs: 200 }).catch((e) => e)
 * if (e instanceof CallTimeoutError && e.ended === "worker-killed") console.warn("crunch blocks in C code")
 * ```
 */
export type CallEnd = "never-started" | "cancelled-in-python" | "returned" | "worker-killed"

/**
 * The call did not settle within its `timeoutMs`. A running call is cancelled first and the
 * error comes once it has stopped (`ended` says how), at most `cancelGraceMs` later.
 */
export class CallTimeoutError extends Data.TaggedError("CallTimeoutError")<{
  readonly message: string
  readonly handler: string
  readonly timeoutMs: number
  readonly ended: CallEnd
}> {
  readonly code = "CALL_TIMEOUT"
}

/** No worker became free within `checkoutTimeoutMs`. */
export class CheckoutTimeoutError extends Data.TaggedError("CheckoutTimeoutError")<{
  readonly message: string
  readonly timeoutMs: number
}> {
  readonly code = "CHECKOUT_TIMEOUT"
}

/** The wait queue already holds `maxQueue` calls. */
export class QueueFullError extends Data.TaggedError("QueueFullError")<{
  readonly message: string
  readonly maxQueue: number
}> {
  readonly code = "QUEUE_FULL"
}

/** The pool is closing or closed. */
export class PoolClosedError extends Data.TaggedError("PoolClosedError")<{
  readonly message: string
}> {
  readonly code = "POOL_CLOSED"
}

/** The pool gave up restarting workers (restart intensity exceeded). */
export class PoolFailedError extends Data.TaggedError("PoolFailedError")<{
  readonly message: string
  readonly cause?: unknown
}> {
  readonly code = "POOL_FAILED"
}

/** A worker broke the wire protocol; it was killed. */
export class ProtocolError extends Data.TaggedError("ProtocolError")<{
  readonly message: string
  readonly workerId: string
  readonly detail: string
}> {
  readonly code = "PROTOCOL_ERROR"
}

/** No handler of that name is registered in the worker's module. */
export class UnknownHandlerError extends Data.TaggedError("UnknownHandlerError")<{
  readonly message: string
  readonly handler: string
  readonly available: ReadonlyArray<string>
}> {
  readonly code = "UNKNOWN_HANDLER"
}

/**
 * With `validate: true`, the call's arguments do not fit the handler's Python signature: a missing,
 * unknown or mistyped parameter. The handler did not run.
 *
 * @example
 * ```ts
 * await pool.call("add", { a: 1, b: "2" }).catch((e) => e instanceof InvalidArgumentsError && e.parameter) // "b"
 * ```
 */
export class InvalidArgumentsError extends Data.TaggedError("InvalidArgumentsError")<{
  readonly message: string
  readonly handler: string
  /** The parameter at fault (`*[n]` for a positional argument too many). */
  readonly parameter: string
  /** Its type in Python's spelling, e.g. `int`, `list[str] | None`, `Point`; `nothing` for one too many. */
  readonly expected: string
}> {
  readonly code = "INVALID_ARGUMENTS"
}

/**
 * The caller's AbortSignal fired. As for a timeout, a running call is cancelled first and the
 * error comes once it has stopped (`ended` says how).
 */
export class AbortError extends Data.TaggedError("AbortError")<{
  readonly message: string
  readonly reason?: unknown
  readonly ended: CallEnd
}> {
  readonly code = "ABORTED"
}

/** A value cannot be sent to or received from Python with the negotiated codec. */
export class SerializationError extends Data.TaggedError("SerializationError")<{
  readonly message: string
}> {
  readonly code = "SERIALIZATION"
}

/** An option given to pyvisor is invalid; the message names it and quotes the value. */
export class InvalidOptionError extends Data.TaggedError("InvalidOptionError")<{
  readonly message: string
  readonly option: string
  readonly value: unknown
}> {
  readonly code = "INVALID_OPTION"
}

/**
 * A `strict` session's worker died: its state cannot be assumed on any other worker.
 *
 * @example
 * ```ts
 * await session.call("step").catch((e) => e instanceof SessionAffinityError && session.close())
 * ```
 */
export class SessionAffinityError extends Data.TaggedError("SessionAffinityError")<{
  readonly message: string
  readonly sessionId: string
  readonly workerId: string
  readonly pid: number | null
}> {
  readonly code = "SESSION_AFFINITY"
}

/**
 * The call (or one with the same poison key: by default the same handler and arguments) killed
 * `poison.maxWorkerKills` workers: it is refused for `poison.ttlMs` instead of killing more.
 *
 * @example
 * ```ts
 * await pool.call("parse", { doc }, { idempotent: true, retries: 20 }).catch((e) => e instanceof PoisonCallError && quarantine(doc))
 * ```
 */
export class PoisonCallError extends Data.TaggedError("PoisonCallError")<{
  readonly message: string
  readonly handler: string
  readonly poisonKey: string
  readonly workerKills: number
}> {
  readonly code = "POISON_CALL"
}
