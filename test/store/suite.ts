// The one SessionStore suite, run against every backend (memory.test.ts, redis.test.ts).
import { afterEach, describe } from "vitest"
import type { SessionStore, StoreOptions } from "../../src/store/index.ts"
import { dataTests } from "./suite-data.ts"
import { sessionTests } from "./suite-sessions.ts"
import { validationTests } from "./suite-validation.ts"

/**
 * A fake clock: TTL tests move time by hand, never sleep.
 *
 * @example
 * ```ts
 * ctx.clock.advance(999)
 * ```
 */
export interface FakeClock {
  now: number
  readonly fn: () => number
  advance(ms: number): void
}

/**
 * Makes a store of the backend under test; options are passed straight through.
 *
 * @example
 * ```ts
 * const make: MakeStore = (options) => memoryStore(options)
 * ```
 */
export type MakeStore = (options?: StoreOptions) => SessionStore

/**
 * What each part of the suite gets: a maker using a fresh fake clock (`sweepIntervalMs: 0` unless given).
 *
 * @example
 * ```ts
 * const store = ctx.make({ maxSessions: 2 })
 * ```
 */
export interface SuiteContext {
  readonly clock: FakeClock
  /** Store with the fake clock and no background sweep, unless overridden. */
  readonly make: (options?: StoreOptions) => SessionStore
  /** The raw maker (for option validation). */
  readonly raw: MakeStore
}

/**
 * Where every fake clock starts (a realistic epoch in ms).
 *
 * @example
 * ```ts
 * expect(info.createdAt).toBe(T0)
 * ```
 */
export const T0 = 1_700_000_000_000

const fakeClock = (): FakeClock => {
  const clock = {
    now: T0,
    fn: () => clock.now,
    advance: (ms: number) => {
      clock.now += ms
    }
  }
  return clock
}

/**
 * Registers the whole suite for one backend.
 *
 * @example
 * ```ts
 * storeSuite("memory", (options) => memoryStore(options))
 * ```
 */
export const storeSuite = (name: string, makeStore: MakeStore): void => {
  describe(`SessionStore (${name})`, () => {
    const open: Array<SessionStore> = []
    let clock = fakeClock()
    const ctx: SuiteContext = {
      get clock() {
        return clock
      },
      make: (options) => {
        const store = makeStore({ clock: clock.fn, sweepIntervalMs: 0, ...options })
        open.push(store)
        return store
      },
      raw: makeStore
    }
    afterEach(async () => {
      await Promise.all(open.splice(0).map((s) => s.close()))
      clock = fakeClock()
    })
    dataTests(ctx)
    sessionTests(ctx)
    validationTests(ctx)
  })
}
