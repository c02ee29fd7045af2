// Helpers for driving a pool of fake workers under TestClock: a promise's outcome seen without
// awaiting it, a few event-loop turns (never a timer), and closing while the clock is advanced.
import { Effect } from "effect"
import { TestClock } from "effect/testing"

/** A promise's outcome, readable at any time. */
export interface Tracked<A> {
  readonly settled: boolean
  readonly value: A | undefined
  readonly error: unknown
  readonly promise: Promise<void>
}

export const track = <A>(promise: Promise<A>): Tracked<A> => {
  const t = { settled: false, value: undefined as A | undefined, error: undefined as unknown, promise: Promise.resolve() }
  t.promise = promise.then((v) => {
    t.value = v
    t.settled = true
  }, (e: unknown) => {
    t.error = e
    t.settled = true
  })
  return t
}

/** Lets I/O callbacks and promise jobs run: a few turns of the event loop, no timer. */
export const turns = (n = 5): Effect.Effect<void> =>
  Effect.promise(async () => {
    for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve))
  })

/** Turns the event loop until `predicate` holds; fails the test after `limit` turns. */
export const until = (predicate: () => boolean, what: string, limit = 500): Effect.Effect<void> =>
  Effect.gen(function*() {
    for (let i = 0; i < limit; i++) {
      if (predicate()) return
      yield* turns(1)
    }
    return yield* Effect.die(new Error(`still not ${what} after ${limit} turns of the event loop`))
  })

/** Advances the test clock by `stepMs` at a time until `t` settles (at most `steps` times). */
export const advanceUntil = (t: Tracked<unknown>, stepMs: number, steps = 50): Effect.Effect<void> =>
  Effect.gen(function*() {
    for (let i = 0; i < steps && !t.settled; i++) {
      yield* TestClock.adjust(stepMs)
      yield* turns()
    }
    if (!t.settled) return yield* Effect.die(new Error(`not settled after ${steps} steps of ${stepMs} ms`))
  })
