/**
 * From the engine's Promises and async iterators to Effects and Streams, with pyvisor errors
 * in the error channel and everything else as defects.
 *
 * @module
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { CallOptions } from "../pool/job.ts"
import { isCallError } from "./errors.ts"
import type { CallError } from "./errors.ts"

/**
 * Runs a Promise-returning engine call as an Effect: the signal aborts it on interruption,
 * pyvisor errors fail the Effect, anything else is a defect.
 *
 * @example
 * ```ts
 * const effect = fromCall((signal) => pool.call("noop", undefined, { signal }))
 * ```
 */
export const fromCall = (run: (signal: AbortSignal) => Promise<unknown>): Effect.Effect<unknown, CallError> =>
  Effect.callback<unknown, CallError>((resume, signal) => {
    run(signal).then(
      (value) => resume(Effect.succeed(value)),
      (error: unknown) => resume(isCallError(error) ? Effect.fail(error) : Effect.die(error))
    )
  })

/**
 * Turns an engine stream into a Stream, opened anew each time the Stream runs. When the
 * Stream ends early (`Stream.take`, interruption, a failure downstream) the iterator's
 * `return()` runs, which cancels the Python generator.
 *
 * @example
 * ```ts
 * const items = fromIterator(() => pool.stream("count", { n: 3 }))
 * ```
 */
export const fromIterator = (open: () => AsyncIterableIterator<unknown>): Stream.Stream<unknown, CallError> =>
  Stream.suspend(() => Stream.fromAsyncIterable(open(), (error: unknown) => error)).pipe(
    Stream.catchIf(isCallError, (error) => Stream.fail(error), (defect) => Stream.die(defect))
  )

/**
 * Call options with the Effect's abort signal added.
 *
 * @example
 * ```ts
 * withSignal({ timeoutMs: 100 }, new AbortController().signal)
 * ```
 */
export const withSignal = <O extends Omit<CallOptions, "signal">>(options: O | undefined, signal: AbortSignal): O & { readonly signal: AbortSignal } =>
  options === undefined ? { signal } as O & { readonly signal: AbortSignal } : { ...options, signal }
