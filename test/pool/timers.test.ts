import { it as effectIt } from "@effect/vitest"
import { Context, Effect, Exit, FiberSet, Scope } from "effect"
import { TestClock } from "effect/testing"
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import { after } from "../../src/pool/after.ts"
import { clockAfter, clockNow } from "../../src/pool/timers.ts"

const MAX = 2 ** 31 - 1

describe("after", () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it("fires after an ordinary delay, once", () => {
    const fn = vi.fn()
    after(1_000, fn)
    vi.advanceTimersByTime(999)
    expect(fn).not.toHaveBeenCalled()
    vi.advanceTimersByTime(1)
    expect(fn).toHaveBeenCalledTimes(1)
  })

  it("a delay above 2^31 - 1 ms does not fire early (Node would fire it after 1 ms)", () => {
    const fn = vi.fn()
    after(MAX + 1_000, fn)
    vi.advanceTimersByTime(1)
    expect(fn).not.toHaveBeenCalled()
    vi.advanceTimersByTime(MAX - 1)
    expect(fn).not.toHaveBeenCalled()
    vi.advanceTimersByTime(999)
    expect(fn).not.toHaveBeenCalled()
    vi.advanceTimersByTime(1)
    expect(fn).toHaveBeenCalledTimes(1)
  })

  it("a delay of several times 2^31 - 1 ms fires exactly once at its end", () => {
    const fn = vi.fn()
    after(3 * MAX + 5, fn)
    vi.advanceTimersByTime(3 * MAX + 4)
    expect(fn).not.toHaveBeenCalled()
    vi.advanceTimersByTime(1)
    expect(fn).toHaveBeenCalledTimes(1)
    vi.advanceTimersByTime(10 * MAX)
    expect(fn).toHaveBeenCalledTimes(1)
  })

  it("cancelling a long delay works before and after it re-arms", () => {
    const early = vi.fn()
    after(MAX + 10, early)()
    const late = vi.fn()
    const cancel = after(MAX + 10, late)
    vi.advanceTimersByTime(MAX + 5)
    cancel()
    vi.advanceTimersByTime(10 * MAX)
    expect(early).not.toHaveBeenCalled()
    expect(late).not.toHaveBeenCalled()
    expect(vi.getTimerCount()).toBe(0)
  })

  it("Infinity never fires and arms nothing", () => {
    const fn = vi.fn()
    after(Infinity, fn)
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe("clockAfter: the pool's timers on its Clock", () => {
  it("with the live clock it is the plain setTimeout timer: no fiber for any timer, hot path unchanged", () => {
    const fork = vi.fn()
    expect(clockAfter(Context.empty(), fork)).toBe(after)
    expect(fork).not.toHaveBeenCalled()
  })

  effectIt.effect("under TestClock a timer fires when the clock reaches it, once, and not when cancelled", () =>
    Effect.gen(function*() {
      const services = yield* Effect.context<never>()
      const timer = clockAfter(services, yield* FiberSet.runtime(yield* FiberSet.make())<never>())
      const fired: Array<string> = []
      timer(1_000, () => fired.push("a"))
      const cancel = timer(1_000, () => fired.push("b"))
      timer(Infinity, () => fired.push("never"))
      yield* TestClock.adjust(999)
      expect(fired).toEqual([])
      cancel()
      yield* TestClock.adjust(1)
      expect(fired).toEqual(["a"])
      yield* TestClock.adjust(1_000_000)
      expect(fired).toEqual(["a"])
    }))

  effectIt.effect("closing the scope the timers are forked into interrupts the pending ones", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const set = yield* Scope.provide(FiberSet.make(), scope)
      const timer = clockAfter(yield* Effect.context<never>(), yield* FiberSet.runtime(set)<never>())
      const fired: Array<number> = []
      timer(10, () => fired.push(1))
      timer(20, () => fired.push(2))
      yield* TestClock.adjust(10)
      expect(yield* FiberSet.size(set)).toBe(1)
      yield* Scope.close(scope, Exit.void)
      yield* TestClock.adjust(100)
      expect(fired).toEqual([1])
    }))

  effectIt.effect("clockNow follows the test clock", () =>
    Effect.gen(function*() {
      const now = clockNow(yield* Effect.context<never>())
      const t0 = now()
      yield* TestClock.adjust(1_234)
      expect(now() - t0).toBe(1_234)
    }))
})
