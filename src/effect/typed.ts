/**
 * `PythonPool` typed by a generated `Handlers` interface (`pyvisor types`): the same checks as
 * `createPool<Handlers>` (handler name, arguments, result) for the Effect API. Types only.
 * @module
 */
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { InvalidOptionError } from "../errors.ts"
import type { InvalidSessionIdError } from "../store/errors.ts"
import type { CallRest, HandlerMap, HandlerOf } from "../types/typed-pool.ts"
import type { CallError } from "./errors.ts"
import type { PythonCallOptions, PythonPoolService } from "./python-pool.ts"
import type { PythonSession, PythonSessionCallOptions, PythonSessionOptions } from "./session.ts"

/**
 * `call` and `stream` as Effects, checked against `H`.
 *
 * @example
 * ```ts
 * const calls: TypedEffectCalls<Handlers, PythonCallOptions> = typedService<Handlers>(service)
 * ```
 */
export interface TypedEffectCalls<H, O> {
  /** Runs handler `name`; interrupting the Effect cancels the call in Python. */
  readonly call: <K extends keyof H & string>(name: K, ...rest: CallRest<HandlerOf<H, K>, O>) => Effect.Effect<HandlerOf<H, K>["result"], CallError>
  /** Streams handler `name`; ending the stream early cancels the generator. */
  readonly stream: <K extends keyof H & string>(name: K, ...rest: CallRest<HandlerOf<H, K>, O & { readonly window?: number }>) => Stream.Stream<HandlerOf<H, K>["yields"], CallError>
}

/**
 * A session of a typed service.
 *
 * @example
 * ```ts
 * const s: TypedPythonSession<Handlers> = yield* py.session("user-42")
 * ```
 */
export type TypedPythonSession<H extends HandlerMap<H>> = Omit<PythonSession, "call" | "stream"> & TypedEffectCalls<H, PythonSessionCallOptions>

/**
 * The `PythonPool` service with calls checked against `H`.
 *
 * @example
 * ```ts
 * const py: TypedPythonPoolService<Handlers> = typedService<Handlers>(yield* PythonPool)
 * ```
 */
export type TypedPythonPoolService<H extends HandlerMap<H>> = Omit<PythonPoolService, "call" | "stream" | "session"> & TypedEffectCalls<H, PythonCallOptions> & {
  /** A typed session, closed when the enclosing scope closes. */
  readonly session: (id: string, options?: PythonSessionOptions) => Effect.Effect<TypedPythonSession<H>, InvalidSessionIdError | InvalidOptionError, Scope.Scope>
}

/**
 * The service, typed by `H` (the same object: only its type changes).
 *
 * @example
 * ```ts
 * const program = Effect.gen(function*() {
 *   const py = typedService<Handlers>(yield* PythonPool)
 *   const sum: number = yield* py.call("add", { a: 1, b: 2 })
 * })
 * ```
 */
export const typedService = <H extends HandlerMap<H>>(service: PythonPoolService): TypedPythonPoolService<H> =>
  service as unknown as TypedPythonPoolService<H>
