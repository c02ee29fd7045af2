/**
 * Errors of the session store. Like those of `src/errors.ts`, each is an `Error` and a tagged,
 * yieldable Effect error with a stable `code`. Bad values raise the shared `SerializationError`
 * and bad options the shared `InvalidOptionError`.
 *
 * @example
 * ```ts
 * try { await store.get({ session: "s1" }, "k") }
 * catch (e) { if (e instanceof SessionExpiredError) console.log(e.sessionId) }
 * ```
 * @module
 */
import * as Data from "effect/Data"
import type { InvalidOptionError, SerializationError } from "../errors.ts"

/**
 * The session does not exist: never created, closed, or expired so long ago that its tombstone is gone.
 *
 * @example
 * ```ts
 * await store.get({ session: "nobody" }, "k") // rejects with SessionNotFoundError (code SESSION_NOT_FOUND)
 * ```
 */
export class SessionNotFoundError extends Data.TaggedError("SessionNotFoundError")<{
  readonly message: string
  readonly sessionId: string
}> {
  readonly code = "SESSION_NOT_FOUND"
}

/**
 * The session's TTL ran out (`now >= expiresAt`), whether or not it was swept yet.
 *
 * @example
 * ```ts
 * clock.advance(ttlMs)
 * await store.put({ session: "s1" }, "k", 1) // rejects with SessionExpiredError (code SESSION_EXPIRED)
 * ```
 */
export class SessionExpiredError extends Data.TaggedError("SessionExpiredError")<{
  readonly message: string
  readonly sessionId: string
}> {
  readonly code = "SESSION_EXPIRED"
}

/**
 * Creating one more session would exceed `maxSessions` (counted after sweeping expired ones).
 *
 * @example
 * ```ts
 * const store = memoryStore({ maxSessions: 1 })
 * await store.createSession("a")
 * await store.createSession("b") // rejects with SessionLimitError (code SESSION_LIMIT)
 * ```
 */
export class SessionLimitError extends Data.TaggedError("SessionLimitError")<{
  readonly message: string
  readonly maxSessions: number
}> {
  readonly code = "SESSION_LIMIT"
}

/**
 * The encoded (msgpack) value is larger than `maxValueBytes`.
 *
 * @example
 * ```ts
 * const store = memoryStore({ maxValueBytes: 16 })
 * await store.put("global", "k", "x".repeat(100)) // rejects with ValueTooLargeError (code VALUE_TOO_LARGE)
 * ```
 */
export class ValueTooLargeError extends Data.TaggedError("ValueTooLargeError")<{
  readonly message: string
  readonly key: string
  readonly bytes: number
  readonly maxBytes: number
}> {
  readonly code = "VALUE_TOO_LARGE"
}

/**
 * A session id is not 1–128 characters of `[A-Za-z0-9_.:-]`; the message quotes it.
 *
 * @example
 * ```ts
 * await store.createSession("no spaces") // rejects with InvalidSessionIdError (code INVALID_SESSION_ID)
 * ```
 */
export class InvalidSessionIdError extends Data.TaggedError("InvalidSessionIdError")<{
  readonly message: string
  readonly sessionId: unknown
}> {
  readonly code = "INVALID_SESSION_ID"
}

/**
 * A key is not a well-formed string of 1–512 UTF-16 code units; the message quotes it.
 *
 * @example
 * ```ts
 * await store.get("global", "") // rejects with InvalidKeyError (code INVALID_KEY)
 * ```
 */
export class InvalidKeyError extends Data.TaggedError("InvalidKeyError")<{
  readonly message: string
  readonly key: unknown
}> {
  readonly code = "INVALID_KEY"
}

/**
 * The store was closed with `close()`.
 *
 * @example
 * ```ts
 * await store.close()
 * await store.get("global", "k") // rejects with StoreClosedError (code STORE_CLOSED)
 * ```
 */
export class StoreClosedError extends Data.TaggedError("StoreClosedError")<{
  readonly message: string
}> {
  readonly code = "STORE_CLOSED"
}

/**
 * The store's backend cannot be reached (Redis down, connection lost, a command that failed on the
 * way): the operation may or may not have been applied. `cause` is the client's own error.
 *
 * @example
 * ```ts
 * pool.on("store", ({ error }) => console.warn(error.code, error.message)) // STORE_UNAVAILABLE …
 * ```
 */
export class StoreUnavailableError extends Data.TaggedError("StoreUnavailableError")<{
  readonly message: string
  readonly cause?: unknown
}> {
  readonly code = "STORE_UNAVAILABLE"
}

/**
 * Every error a store operation can reject with.
 *
 * @example
 * ```ts
 * const code = (e as StoreError).code // "SESSION_EXPIRED", "INVALID_KEY", …
 * ```
 */
export type StoreError =
  | SessionNotFoundError | SessionExpiredError | SessionLimitError | ValueTooLargeError
  | InvalidSessionIdError | InvalidKeyError | StoreClosedError | StoreUnavailableError | SerializationError | InvalidOptionError
