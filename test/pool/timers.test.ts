import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import { after } from "../../src/pool/timers.ts"

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
