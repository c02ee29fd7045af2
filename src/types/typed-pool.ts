/**
 * Compile-time typing of a pool from a generated `Handlers` interface (`pyvisor types`): the
 * handler's name, its arguments (the keyword object or the positional array) and its result are
 * checked by TypeScript. Types only: at run time a typed pool is the very same `Pool`.
 * @module
 */
import type { CallOptions } from "../pool/job.ts"
import type { Pool } from "../pool/pool.ts"
import type { PoolSession, SessionOptions } from "../pool/session.ts"

/**
 * One handler as `pyvisor types` writes it: `args` (the keyword object; `never` when the handler
 * cannot be called that way), `positional` (the array form), `result` (what `call` resolves to)
 * and `yields` (what `stream` yields).
 *
 * @example
 * ```ts
 * type Add = { args: { a: number; b?: number }; positional: [a: number, b?: number]; result: number; yields: number }
 * ```
 */
export interface HandlerSignature {
  readonly args: object
  readonly positional: ReadonlyArray<unknown>
  readonly result: unknown
  readonly yields: unknown
}

/**
 * The constraint on a generated `Handlers` interface: every entry is a {@link HandlerSignature}.
 *
 * @example
 * ```ts
 * const f = <H extends HandlerMap<H>>(pool: TypedPool<H>) => pool
 * ```
 */
export type HandlerMap<H> = { readonly [K in keyof H]: HandlerSignature }

/**
 * Entry `K` of `H` as a signature (a generic `H[K]` is not known to be one without this).
 *
 * @example
 * ```ts
 * type Add = HandlerOf<Handlers, "add"> // { args: { a: number; b?: number }; ... }
 * ```
 */
export type HandlerOf<H, K extends keyof H> = H[K] extends HandlerSignature ? H[K] : never

/**
 * What a call of handler `S` accepts as its arguments: the keyword object or the positional array.
 *
 * @example
 * ```ts
 * const args: HandlerArgs<Handlers["add"]> = { a: 1 } // or [1, 2]
 * ```
 */
export type HandlerArgs<S extends HandlerSignature> = S["args"] | S["positional"]

type NoKeys = Record<never, never>

/**
 * The parameters after a handler's name: `(args, options)`, `args` optional when the handler needs none.
 *
 * @example
 * ```ts
 * const call = (...rest: CallRest<HandlerOf<Handlers, "add">, CallOptions>) => pool.call("add", ...rest)
 * ```
 */
export type CallRest<S extends HandlerSignature, O> =
  [] extends S["positional"] ? [args?: HandlerArgs<S>, options?: O]
    : NoKeys extends S["args"] ? [args?: HandlerArgs<S>, options?: O]
      : [args: HandlerArgs<S>, options?: O]

/**
 * `call` and `stream` checked against `H`.
 *
 * @example
 * ```ts
 * const calls: TypedCalls<Handlers, CallOptions> = pool
 * ```
 */
export interface TypedCalls<H, O> {
  /** Runs handler `name`; see `Pool.call`. */
  call<K extends keyof H & string>(name: K, ...rest: CallRest<HandlerOf<H, K>, O>): Promise<HandlerOf<H, K>["result"]>
  /** Streams handler `name`; see `Pool.stream`. */
  stream<K extends keyof H & string>(name: K, ...rest: CallRest<HandlerOf<H, K>, O & { readonly window?: number }>): AsyncIterableIterator<HandlerOf<H, K>["yields"]>
}

/**
 * Options of a session's calls (the session sets `session` and `affinity`).
 *
 * @example
 * ```ts
 * const options: TypedSessionCallOptions = { timeoutMs: 1_000 }
 * ```
 */
export type TypedSessionCallOptions = Omit<CallOptions, "session" | "affinity">

/**
 * A session of a typed pool: `PoolSession` with checked `call` and `stream`.
 *
 * @example
 * ```ts
 * const s: TypedSession<Handlers> = pool.session("user-42")
 * const sum: number = await s.call("add", { a: 1, b: 2 })
 * ```
 */
export type TypedSession<H extends HandlerMap<H>> = Omit<PoolSession, "call" | "stream"> & TypedCalls<H, TypedSessionCallOptions>

/**
 * A pool whose calls TypeScript checks against `H`, the `Handlers` interface `pyvisor types`
 * generates; made by `createPool<Handlers>(…)`. Everything else is `Pool`'s.
 *
 * @example
 * ```ts
 * import type { Handlers } from "./py-handlers.js"
 * const pool = await createPool<Handlers>({ worker: { module: "my_workers", cwd: "./py" } })
 * const sum: number = await pool.call("add", { a: 1, b: 2 })
 * // @ts-expect-error 'b' must be a number
 * await pool.call("add", { a: 1, b: "2" })
 * ```
 */
export type TypedPool<H extends HandlerMap<H>> = Omit<Pool, "call" | "stream" | "session"> & TypedCalls<H, CallOptions> & {
  /** A session whose calls are checked too; see `Pool.session`. */
  session(id: string, options?: SessionOptions): TypedSession<H>
}
