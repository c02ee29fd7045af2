/**
 * The consumer side of `pool.stream`: an async iterator over chunks, granting credit to
 * Python as chunks are taken (so a fast generator cannot fill host memory), and
 * cancelling the Python generator when the loop is left early.
 *
 * Items come in bursts (a `chunks` frame brings many), so taking a buffered one is kept cheap:
 * an index bump and the iterator result itself, credit granted once per half window.
 *
 * An iterator dropped without `return()` (taken once, then forgotten) would hold its worker for
 * good: Python waits for credit that never comes. So the iterator is registered for finalization
 * and, once garbage-collected, cancels its call like `return()`. Nothing the call keeps (its
 * hooks, the promise callbacks) may reference the iterator object, or it would never be collected.
 */
import type { StreamHooks } from "./job.ts"

/** The largest `window`: items buffered on the host before Python waits for credit. */
export const MAX_WINDOW = 65_536

// The held value is the stream's own controller: aborting it cancels the call.
const abandoned = new FinalizationRegistry<AbortController>((stop) => {
  if (!stop.signal.aborted) stop.abort(new Error("stream iterator garbage-collected without return()"))
})

type Submit = (hooks: StreamHooks, signal: AbortSignal, resolve: (v: unknown) => void, reject: (e: unknown) => void) => void

/** @internal */
export const openStream = (window: number, submit: Submit, userSignal?: AbortSignal): AsyncIterableIterator<unknown> => {
  // Items received and not taken yet: buffer[head..]. Credit bounds them to about a window.
  let buffer: Array<unknown> = []
  let head = 0
  let stopped = false // the consumer left: items still arriving are dropped
  const stop = new AbortController()
  const signal = userSignal ? AbortSignal.any([userSignal, stop.signal]) : stop.signal
  let started = false
  let finished = false
  let failure: { error: unknown } | null = null
  let waiter: { resolve: (r: IteratorResult<unknown>) => void; reject: (e: unknown) => void } | null = null
  let grant: ((n: number) => void) | null = null
  let taken = 0
  const half = Math.max(1, Math.floor(window / 2))

  /** The next buffered item (there is one), granting credit for it. */
  const take = (): unknown => {
    const value = buffer[head]
    buffer[head] = undefined
    if (++head === buffer.length) {
      buffer.length = 0
      head = 0
    } else if (head >= 1024) {
      // A consumer that never quite catches up never empties the buffer: drop the taken slots.
      buffer = buffer.slice(head)
      head = 0
    }
    if (++taken >= half && grant && !finished) {
      grant(taken)
      taken = 0
    }
    return value
  }
  const wake = (): void => {
    const w = waiter
    if (w === null) return
    waiter = null
    if (head < buffer.length) w.resolve({ value: take(), done: false })
    else if (failure) {
      w.reject(failure.error)
      failure = null
    } else if (finished) w.resolve({ value: undefined, done: true })
  }
  const hooks: StreamHooks = {
    window,
    onChunk: (value) => {
      if (stopped) return
      buffer.push(value)
      if (waiter !== null) wake()
    },
    onDispatch: (g) => {
      grant = g
    }
  }
  const iterator: AsyncIterableIterator<unknown> = {
    next() {
      if (!started) {
        started = true
        submit(hooks, signal, () => {
          finished = true
          abandoned.unregister(stop)
          wake()
        }, (error) => {
          finished = true
          abandoned.unregister(stop)
          if (!stop.signal.aborted) failure = { error }
          wake()
        })
      }
      if (head < buffer.length) return Promise.resolve({ value: take(), done: false })
      if (failure) {
        const { error } = failure
        failure = null
        return Promise.reject(error)
      }
      if (finished) return Promise.resolve({ value: undefined, done: true })
      return new Promise((resolve, reject) => (waiter = { resolve, reject }))
    },
    return() {
      // Leaving the loop early: the Python generator is cancelled (or the queued call dropped).
      if (!finished) stop.abort(new Error("stream consumer stopped"))
      abandoned.unregister(stop)
      finished = true
      stopped = true
      buffer = []
      head = 0
      return Promise.resolve({ value: undefined, done: true })
    },
    [Symbol.asyncIterator]() {
      return this
    }
  }
  abandoned.register(iterator, stop, stop)
  return iterator
}

/** @internal an iterator whose first `next()` rejects with `error` (a stream refused before it started). */
export const failingIterator = (error: Error): AsyncIterableIterator<unknown> => {
  const it: AsyncIterableIterator<unknown> = { next: () => Promise.reject(error), [Symbol.asyncIterator]: () => it }
  return it
}
