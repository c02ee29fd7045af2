/**
 * Sessions as scoped resources: opened with `pool.session(id, options)` on the engine and
 * closed (its store keys deleted) when the scope closes.
 *
 * @module
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import { InvalidOptionError } from "../errors.ts"
import type { CallOptions } from "../pool/job.ts"
import type { CallArgs } from "../protocol/index.ts"
import { InvalidSessionIdError } from "../store/errors.ts"
import { fromCall, fromIterator, withSignal } from "./bridge.ts"
import type { CallError } from "./errors.ts"

/**
 * Options of a session's calls: those of `PythonPool.call` minus `session` and `affinity`,
 * which the session sets.
 *
 * @example
 * ```ts
 * const options: PythonSessionCallOptions = { timeoutMs: 5_000 }
 * ```
 */
export type PythonSessionCallOptions = Omit<CallOptions, "signal" | "session" | "affinity">

/**
 * Options of `PythonPool.session`.
 *
 * @example
 * ```ts
 * const options: PythonSessionOptions = { affinity: "strict", timeoutMs: 5_000 }
 * ```
 */
export interface PythonSessionOptions {
  /** `prefer` (default): the session's last worker when idle; `strict`: only that worker. */
  readonly affinity?: "prefer" | "strict"
  /** The `timeoutMs` of the session's calls and streams that give none; a call's own wins. Default: none. */
  readonly timeoutMs?: number
}

/**
 * What the Effect side needs of an engine session (`pool.session(id)`).
 *
 * @example
 * ```ts
 * const s: EngineSession = pool.session("user-42")
 * ```
 */
export interface EngineSession {
  readonly id: string
  call(name: string, args?: CallArgs, options?: PythonSessionCallOptions & { readonly signal?: AbortSignal }): Promise<unknown>
  stream(name: string, args?: CallArgs, options?: PythonSessionCallOptions & { readonly window?: number }): AsyncIterableIterator<unknown>
  close(): Promise<void>
}

/**
 * A session in Effect: its calls see `ctx.session == id` in Python and share the session's
 * store scope and, with affinity, a worker.
 *
 * @example
 * ```ts
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const s = yield* PythonPool.session("user-42", { affinity: "prefer" })
 *   yield* s.call("remember", { fact: "likes tea" })
 *   return yield* s.call("recall")
 * }))
 * ```
 */
export interface PythonSession {
  readonly id: string
  /** Runs handler `name` in this session; interrupting the Effect cancels the call. */
  readonly call: (name: string, args?: CallArgs, options?: PythonSessionCallOptions) => Effect.Effect<unknown, CallError>
  /** Streams generator handler `name` in this session. */
  readonly stream: (name: string, args?: CallArgs, options?: PythonSessionCallOptions & { readonly window?: number }) => Stream.Stream<unknown, CallError>
}

type SessionOpener = (id: string, options: PythonSessionOptions) => EngineSession

/**
 * Opens a session on `engine` for the current scope; it is closed when the scope closes
 * (close errors are ignored: the pool may already be gone). A bad id or option fails the
 * Effect; an engine without `session` is a defect.
 *
 * @example
 * ```ts
 * const s = yield* openSession(engine, "user-42", { affinity: "strict" })
 * ```
 */
export const openSession = (
  engine: object, id: string, options: PythonSessionOptions = {}
): Effect.Effect<PythonSession, InvalidSessionIdError | InvalidOptionError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const open = (engine as { readonly session?: SessionOpener }).session
      if (typeof open !== "function") return Effect.die(new TypeError("this pyvisor pool has no session(): update pyvisor"))
      try {
        return Effect.succeed(open.call(engine, id, options))
      } catch (error) {
        return error instanceof InvalidSessionIdError || error instanceof InvalidOptionError ? Effect.fail(error) : Effect.die(error)
      }
    }),
    (session) => Effect.ignore(Effect.tryPromise(() => session.close()))
  ).pipe(Effect.map(wrap))

const wrap = (session: EngineSession): PythonSession => ({
  id: session.id,
  call: (name, args, options) => fromCall((signal) => session.call(name, args, withSignal(options, signal))),
  stream: (name, args, options) => fromIterator(() => session.stream(name, args, options ?? {}))
})
