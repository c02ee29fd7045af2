/**
 * A session on the pool: calls that share the session's store scope and, with affinity,
 * its worker. Created with `pool.session(id, options)`.
 */
import { CallTimeoutError } from "../errors.ts"
import { invalid, keysOf, section, timerMs } from "../options/kit.ts"
import type { CallArgs } from "../protocol/index.ts"
import { SessionNotFoundError } from "../store/index.ts"
import type { SessionStore } from "../store/index.ts"
import { checkSessionId } from "../store/validate.ts"
import { abortError } from "./deadlines.ts"
import type { CallOptions } from "./job.ts"
import type { After } from "./after.ts"

/** Options of `pool.session`. */
export interface SessionOptions {
  /**
   * `prefer` (default): the session's last worker when it is idle, else any worker.
   * `strict`: always that worker; wait for it (up to the checkout timeout) and fail with
   * `SessionAffinityError` if it died.
   */
  readonly affinity?: "prefer" | "strict"
  /**
   * The `timeoutMs` of every call and stream made through the session that gives none of its own
   * (whole milliseconds, 1 to 2^31 − 1). A call's own `timeoutMs` wins, larger or smaller: the
   * default is for the calls that would otherwise run unbounded. Python sees it as `ctx.deadline`
   * and `ctx.time_left()`, like any call's timeout. Default: none.
   *
   * @example
   * ```ts
   * const s = pool.session("user-42", { timeoutMs: 5_000 })
   * await s.call("slow")                            // CallTimeoutError after 5 s
   * await s.call("slow", {}, { timeoutMs: 60_000 }) // this one may take a minute
   * ```
   */
  readonly timeoutMs?: number
}

const SESSION_KEYS = keysOf<SessionOptions>({ affinity: true, timeoutMs: true })

/** What a session needs from its pool. @internal */
export interface SessionHost {
  call(name: string, args: CallArgs | undefined, options: CallOptions): Promise<unknown>
  stream(name: string, args: CallArgs | undefined, options: CallOptions & { readonly window?: number }): AsyncIterableIterator<unknown>
  closeSession(id: string): Promise<void>
}

/**
 * Validates and makes a session handle; throws `InvalidSessionIdError` or `InvalidOptionError`.
 * @internal
 */
export const makeSession = (host: SessionHost, id: string, options: SessionOptions): PoolSession => {
  checkSessionId(id)
  const o = section("session", options, SESSION_KEYS, "an object like { affinity: 'prefer', timeoutMs: 5000 }")
  const affinity = o["affinity"] ?? "prefer"
  if (affinity !== "prefer" && affinity !== "strict") throw invalid("session.affinity", affinity, "'prefer' or 'strict'")
  const timeoutMs = o["timeoutMs"] === undefined ? undefined : timerMs("session.timeoutMs", o["timeoutMs"], { min: 1 })
  return new PoolSession(host, id, affinity, timeoutMs)
}

/** Most sessions whose last touch is remembered; the least recently used is forgotten first. */
const MAX_REMEMBERED = 100_000

/**
 * Before a session's call: a live session is touched (its TTL starts again), an unknown one is
 * created, an expired one rejects with `SessionExpiredError`. The store is asked at most once per
 * tenth of the session's TTL (on the store's own clock): a session touched that recently cannot
 * have expired (only been closed, which `forget` records), so the calls in between go straight to
 * a worker; a busy session still never lapses, and an idle one expires between 0.9 and 1 TTL
 * after its last call.
 * @internal
 */
export class SessionTouches {
  readonly #store: SessionStore
  readonly #now: () => number
  readonly #after: After
  readonly #clock: () => number
  /** Session id → the store time after which the next call touches the store again. */
  readonly #next = new Map<string, number>()

  /** `after` and `clock` are the pool's timers and time (its Clock): they bound the touch by the call's deadline. */
  constructor(store: SessionStore, after: After, clock: () => number) {
    this.#store = store
    this.#now = store.now ?? Date.now
    this.#after = after
    this.#clock = clock
  }

  /** True when `id` needs no store round trip now. */
  fresh(id: string): boolean {
    const next = this.#next.get(id)
    return next !== undefined && this.#now() < next
  }

  /** Touches (or creates) session `id` in the store, and remembers when to do it again. */
  async open(id: string): Promise<void> {
    const touchedAt = this.#now()
    let ttlMs: number
    try {
      ttlMs = (await this.#store.touchSession(id)).ttlMs
    } catch (error) {
      this.#next.delete(id)
      if (!(error instanceof SessionNotFoundError)) throw error
      ttlMs = (await this.#store.createSession(id)).ttlMs
    }
    this.#next.delete(id)
    this.#next.set(id, touchedAt + ttlMs / 10)
    if (this.#next.size > MAX_REMEMBERED) this.#next.delete(this.#next.keys().next().value!)
  }

  /** The session was closed: its next call asks the store. */
  forget(id: string): void {
    this.#next.delete(id)
  }

  /**
   * Opens session `id` for call `name`, then runs `go` with the options left for the call itself:
   * the call's deadline and abort signal count from the call, the store round trip included, so a
   * store that is slow or down costs a caller at most its own `timeoutMs` (the time the touch took
   * is taken off what the call gets). `reject` gets the store's error, `CallTimeoutError` or
   * `AbortError`, whichever comes first.
   */
  openFor<O extends { readonly timeoutMs?: number; readonly signal?: AbortSignal }>(
    id: string, name: string, options: O, go: (options: O) => void, reject: (error: unknown) => void
  ): void {
    const { timeoutMs, signal } = options
    const startedAt = this.#clock()
    let settled = false
    const cleanups: Array<() => void> = []
    const settle = (): boolean => {
      if (settled) return false
      settled = true
      for (const cleanup of cleanups) cleanup()
      return true
    }
    if (timeoutMs !== undefined) {
      cleanups.push(this.#after(timeoutMs, () => {
        if (settle()) reject(new CallTimeoutError({ message: `'${name}' did not finish within ${timeoutMs} ms (waiting for the session store)`, handler: name, timeoutMs, ended: "never-started" }))
      }))
    }
    if (signal !== undefined) {
      const onAbort = (): void => void (settle() && reject(abortError(name, signal)))
      signal.addEventListener("abort", onAbort, { once: true })
      cleanups.push(() => signal.removeEventListener("abort", onAbort))
    }
    this.open(id).then(() => {
      if (!settle()) return
      if (timeoutMs === undefined) return go(options)
      // Whole milliseconds, as timeoutMs must be; rounded up, so the call never gets less than it had.
      go({ ...options, timeoutMs: Math.max(1, Math.ceil(timeoutMs - (this.#clock() - startedAt))) })
    }, (error: unknown) => void (settle() && reject(error)))
  }
}

type SessionCallOptions = Omit<CallOptions, "session" | "affinity">

/**
 * A session handle. Its calls see `ctx.session == id` in Python, and `ctx.store` is the
 * session's own scope. Closing it deletes the session's keys. Its calls and streams that give no
 * `timeoutMs` get the session's (`timeoutMs` option), if it has one.
 *
 * @example
 * ```ts
 * const s = pool.session("user-42", { affinity: "prefer" })
 * const id = await s.call("create_program", { signature: "question -> answer", demos })
 * await s.call("run_program", { program_id: id, inputs: { question: "2+2?" } })
 * await s.close()
 * ```
 */
export class PoolSession {
  readonly id: string
  readonly affinity: "prefer" | "strict"
  /** The `timeoutMs` of this session's calls that give none; undefined: no default. */
  readonly timeoutMs: number | undefined
  readonly #host: SessionHost
  #closed = false

  /** @internal use `pool.session` */
  constructor(host: SessionHost, id: string, affinity: "prefer" | "strict", timeoutMs?: number) {
    this.#host = host
    this.id = id
    this.affinity = affinity
    this.timeoutMs = timeoutMs
  }

  /** Runs handler `name` in this session; without `options.timeoutMs`, the session's applies. */
  call(name: string, args?: CallArgs, options: SessionCallOptions = {}): Promise<unknown> {
    if (this.#closed) return Promise.reject(this.#closedError())
    return this.#host.call(name, args, this.#options(options))
  }

  /** Streams generator handler `name` in this session; without `options.timeoutMs`, the session's bounds the whole stream. */
  stream(name: string, args?: CallArgs, options: SessionCallOptions & { readonly window?: number } = {}): AsyncIterableIterator<unknown> {
    if (this.#closed) {
      const error = this.#closedError()
      const it: AsyncIterableIterator<unknown> = { next: () => Promise.reject(error), [Symbol.asyncIterator]: () => it }
      return it
    }
    return this.#host.stream(name, args, this.#options(options))
  }

  /** Ends the session: its keys are deleted; further calls on this handle reject. */
  close(): Promise<void> {
    this.#closed = true
    return this.#host.closeSession(this.id)
  }

  /** The call's options with the session's id, affinity and, unless the call gives one, timeout. */
  #options<O extends SessionCallOptions>(options: O): O & { session: string; affinity: "prefer" | "strict" } {
    const o = { ...options, session: this.id, affinity: this.affinity }
    // Not by spread order: a caller's explicit `timeoutMs: undefined` still gets the default.
    return this.timeoutMs === undefined || options?.timeoutMs !== undefined ? o : { ...o, timeoutMs: this.timeoutMs }
  }

  #closedError(): SessionNotFoundError {
    return new SessionNotFoundError({ message: `session '${this.id}' was closed`, sessionId: this.id })
  }
}
