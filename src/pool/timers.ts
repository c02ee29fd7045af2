/**
 * Timers the pool uses (checkout and call deadlines, cancel grace, idle retirement), behind one
 * seam: the pool's Clock. With the live clock a timer is one unref'd `setTimeout`; with any other
 * (`TestClock`) it is a fiber sleeping on that clock, so `TestClock.adjust` fires it.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import { after } from "./after.ts"
import type { After } from "./after.ts"

const noop = (): void => {}

const isLive = (services: Context.Context<never>): boolean => Context.get(services, Clock.Clock) === Context.get(Context.empty(), Clock.Clock)

/**
 * Monotonic milliseconds on the Clock found in `services` (worker ages for `workerTtlMs`):
 * `performance.now` with the live clock, the test clock's own time under `TestClock`.
 *
 * @example
 * ```ts
 * const now = clockNow(yield* Effect.context<never>())
 * const readyAt = now() // TestClock.adjust(1_000) makes now() - readyAt === 1_000
 * ```
 */
export const clockNow = (services: Context.Context<never>): (() => number) => {
  if (isLive(services)) return () => performance.now()
  const clock = Context.get(services, Clock.Clock)
  return () => Number(clock.monotonicTimeNanosUnsafe()) / 1e6
}

/**
 * The pool's timers on the Clock found in `services`. The live clock gets {@link after}: a call
 * with a deadline costs one `setTimeout`, as before, and no fiber. Any other clock gets a fiber per
 * timer, forked by `fork` (into the pool's scope, so closing the pool interrupts what is left)
 * and sleeping on that clock, so `TestClock.adjust` fires it.
 *
 * @example
 * ```ts
 * const services = yield* Effect.context<never>()
 * const fork = yield* FiberSet.runtime(yield* FiberSet.make())<never>()
 * const timer = clockAfter(services, fork) // under TestClock: fires on TestClock.adjust(1_000)
 * timer(1_000, () => console.log("fired"))
 * ```
 */
export const clockAfter = (services: Context.Context<never>, fork: (effect: Effect.Effect<void>) => Fiber.Fiber<void>): After => {
  if (isLive(services)) return after
  return (ms, fn) => {
    if (!Number.isFinite(ms)) return noop
    const fiber = fork(Effect.andThen(Effect.sleep(Duration.millis(ms)), Effect.sync(fn)))
    return () => fiber.interruptUnsafe()
  }
}
