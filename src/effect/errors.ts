/**
 * Which rejections of the engine are typed errors in `pyvisor/effect`, and which are defects.
 * Every pyvisor error a call or a pool start can reject with stays in the error channel;
 * anything else (a bug, a foreign exception) becomes a defect.
 *
 * @module
 */
import {
  AbortError, CallTimeoutError, CheckoutTimeoutError, InvalidOptionError, PoolClosedError, PoolFailedError,
  InvalidArgumentsError, ProtocolError, PythonError, QueueFullError, SerializationError, SessionAffinityError,
  UnknownHandlerError, WorkerCrashedError
} from "../errors.ts"
import {
  InvalidKeyError, InvalidSessionIdError, SessionExpiredError, SessionLimitError, SessionNotFoundError,
  StoreClosedError, ValueTooLargeError
} from "../store/errors.ts"

const CALL_ERRORS = [
  PythonError, WorkerCrashedError, CallTimeoutError, CheckoutTimeoutError, QueueFullError, PoolClosedError,
  PoolFailedError, ProtocolError, UnknownHandlerError, AbortError, SerializationError, InvalidOptionError,
  SessionAffinityError, SessionNotFoundError, SessionExpiredError, SessionLimitError, ValueTooLargeError,
  InvalidSessionIdError, InvalidKeyError, StoreClosedError, InvalidArgumentsError
] as const

const START_ERRORS = [InvalidOptionError, WorkerCrashedError, ProtocolError, PoolFailedError, PoolClosedError] as const

/**
 * Every typed error a call, a stream or a session call of `PythonPool` can fail with:
 * the pool's errors (`PythonError`, `WorkerCrashedError`, `CallTimeoutError`, …), bad call
 * options (`InvalidOptionError`), and session errors (`SessionAffinityError`, store errors).
 * Match them with `Effect.catchTag`.
 *
 * @example
 * ```ts
 * const safe = PythonPool.call("div", { a: 1, b: 0 }).pipe(
 *   Effect.catchTag("PythonError", (e) => Effect.succeed(`python said: ${e.type}`))
 * )
 * ```
 */
export type CallError = InstanceType<(typeof CALL_ERRORS)[number]>

/**
 * Why `PythonPool.layer` can fail to build: bad options, or a worker that could not start.
 *
 * @example
 * ```ts
 * const built = Layer.build(PythonPool.layer({ worker: { module: "w" }, size: -1 })).pipe(
 *   Effect.catchTag("InvalidOptionError", (e) => Effect.die(e.option))
 * )
 * ```
 */
export type StartError = InstanceType<(typeof START_ERRORS)[number]>

const isOneOf = <C extends ReadonlyArray<abstract new (...args: never) => unknown>>(classes: C) =>
  (u: unknown): u is InstanceType<C[number]> => {
    for (const c of classes) if (u instanceof c) return true
    return false
  }

/**
 * True for the errors of {@link CallError}.
 *
 * @example
 * ```ts
 * isCallError(new PoolClosedError({ message: "closed" })) // true
 * isCallError(new TypeError("x"))                         // false
 * ```
 */
export const isCallError: (u: unknown) => u is CallError = isOneOf(CALL_ERRORS)

/**
 * True for the errors of {@link StartError}.
 *
 * @example
 * ```ts
 * isStartError(new InvalidOptionError({ message: "bad", option: "size", value: -1 })) // true
 * ```
 */
export const isStartError: (u: unknown) => u is StartError = isOneOf(START_ERRORS)
