/**
 * One call inside a fake worker: its context (what a handler sees, as a Python handler sees
 * `ctx`), and running its handler to exactly one final frame, as python/pyvisor_worker/invoke.py
 * does: a value is a `result`, a thrown error an `error`, a generator a list (or, for a stream
 * call, `chunk`s within the credit and then `end`), and a cancel ends it as `pyvisor.Cancelled`
 * (or `end` for a stream) the way asyncio cancels a task at its `await`.
 */
import type { CallArgs } from "../protocol/index.ts"

/**
 * What a fake handler gets besides its arguments: the fake counterpart of Python's `ctx`.
 *
 * @example
 * ```ts
 * const slow: FakeHandler = async (_args, ctx) => {
 *   await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve))
 *   return ctx.cancelled // never seen by the caller: a cancelled call is answered `pyvisor.Cancelled`
 * }
 * ```
 */
export interface FakeCallContext {
  /** The call's protocol id. */
  readonly id: number
  readonly name: string
  readonly session: string | undefined
  /** The worker slot and fake process running it. */
  readonly workerId: string
  readonly pid: number
  /** The host sent `cancel` for this call (a timeout, an abort, a stream closed early). */
  readonly cancelled: boolean
  /** Aborted when `cancelled` becomes true. */
  readonly signal: AbortSignal
  /** Sends a runtime log line (`pool.on("log")` with stream `worker`). */
  log(level: "debug" | "info" | "warning" | "error", message: string): void
  /** Writes a line to the fake process's stdout (a `print` in Python). */
  print(line: string): void
  /** `ctx.call_host(name, args)`: runs a host handler of the pool (`hostHandlers`). A host error rejects with an Error whose `type` is its type. */
  callHost(name: string, args?: CallArgs): Promise<unknown>
  /** `sys.exit(code)` in a handler: the process exits at once with that code; the call is never answered. */
  exit(code?: number): never
}

/**
 * A fake handler: gets the call's arguments (the object or array the host sent) and its context.
 * Return a value (or a promise of one), throw to answer with an error (its `type` property, else
 * its `name`, becomes the Python type: `{ type: "ValueError" }` rejects the caller with a
 * `PythonError` of type `ValueError`), or return a generator (sync or async) to stream.
 *
 * @example
 * ```ts
 * const handlers: Record<string, FakeHandler> = {
 *   add: ({ a, b }) => a + b,
 *   boom: () => { throw Object.assign(new Error("no"), { type: "ValueError" }) },
 *   tokens: function*({ n }) { for (let i = 0; i < n; i++) yield i }
 * }
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a handler receives whatever the caller sent
export type FakeHandler = (args: any, ctx: FakeCallContext) => unknown

/** A call's final frame or one of its items, as the process writes it. @internal */
export type CallFrame =
  | { readonly kind: "result"; readonly id: number; readonly value: unknown }
  | { readonly kind: "error"; readonly id: number; readonly type: string; readonly message: string; readonly traceback: string }
  | { readonly kind: "chunk"; readonly id: number; readonly value: unknown }
  | { readonly kind: "end"; readonly id: number }

/** What a running call needs from its process. @internal */
export interface CallPort {
  /** Writes one `chunk`. */
  chunk(call: FakeCall, value: unknown): void
  /** Writes the call's one final frame and frees its slot (no-op once answered). */
  finish(call: FakeCall, frame: CallFrame): void
}

/** Thrown by `ctx.exit()` to unwind the handler; the process has already exited. @internal */
export class FakeExit {
  readonly code: number
  constructor(code: number) {
    this.code = code
  }
}

/** One call a fake process received. @internal */
export class FakeCall {
  readonly id: number
  readonly name: string
  readonly args: CallArgs | undefined
  readonly session: string | undefined
  readonly stream: boolean
  /** Items the stream may still send: its window plus credit granted, less items sent. */
  credit: number
  started = false
  answered = false
  readonly #abort = new AbortController()
  /** Wakes a stream waiting for credit (or for its cancel). */
  #wake: (() => void) | null = null

  constructor(message: Readonly<Record<string, unknown>>) {
    this.id = message["id"] as number
    this.name = message["name"] as string
    this.args = message["args"] as CallArgs | undefined
    this.session = message["session"] as string | undefined
    this.stream = message["stream"] === true
    this.credit = typeof message["window"] === "number" ? message["window"] : Infinity
  }

  get cancelled(): boolean {
    return this.#abort.signal.aborted
  }

  get signal(): AbortSignal {
    return this.#abort.signal
  }

  cancel(): void {
    this.#abort.abort(new Error(`call ${this.id} was cancelled`))
    this.#wakeUp()
  }

  grant(n: number): void {
    this.credit += n
    this.#wakeUp()
  }

  /** Resolves once there is credit or the call is cancelled. */
  untilCredit(): Promise<void> | undefined {
    if (this.credit > 0 || this.cancelled) return undefined
    return new Promise((resolve) => (this.#wake = resolve))
  }

  #wakeUp(): void {
    const wake = this.#wake
    this.#wake = null
    wake?.()
  }
}

const CANCELLED = "pyvisor.Cancelled"

const isGenerator = (value: unknown): value is Generator<unknown> | AsyncGenerator<unknown> => {
  const tag = Object.prototype.toString.call(value)
  return tag === "[object Generator]" || tag === "[object AsyncGenerator]"
}

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function"

/** The answer to a call that was cancelled: `end` for a stream, else a `pyvisor.Cancelled` error. @internal */
export const cancelledFrame = (call: FakeCall, message: string): CallFrame =>
  call.stream ? { kind: "end", id: call.id } : { kind: "error", id: call.id, type: CANCELLED, message, traceback: "" }

/** The `error` frame for what a handler threw: its `type` (else its `name`), message and stack. @internal */
export const errorFrame = (call: FakeCall, error: unknown): CallFrame => {
  const e = error as { type?: unknown; name?: unknown; message?: unknown; stack?: unknown } | null
  const type = typeof e?.type === "string" ? e.type : typeof e?.name === "string" ? e.name : "Exception"
  const message = typeof e?.message === "string" ? e.message : String(error)
  return { kind: "error", id: call.id, type, message, traceback: typeof e?.stack === "string" ? e.stack : "" }
}

/**
 * Runs `handler` for `call` to its one final frame through `port`. A cancel that arrives while a
 * promise is pending answers the call at once (the handler's later outcome is dropped), as
 * asyncio's `CancelledError` ends an `async def` handler at its `await`; unless `interruptible` is
 * false: then, like a sync Python handler, it only sees `ctx.cancelled` and answers when it ends.
 * @internal
 */
export const runCall = (call: FakeCall, handler: FakeHandler, ctx: FakeCallContext, port: CallPort, interruptible = true): void => {
  let value: unknown
  try {
    value = handler(call.args, ctx)
  } catch (error) {
    if (!(error instanceof FakeExit)) port.finish(call, errorFrame(call, error))
    return
  }
  if (isGenerator(value)) return void iterate(call, value, port)
  if (!isThenable(value)) return settle(call, value, port)
  if (interruptible) call.signal.addEventListener("abort", () => port.finish(call, cancelledFrame(call, `call ${call.id} was cancelled`)), { once: true })
  value.then((v) => settle(call, v, port), (error: unknown) => {
    if (!(error instanceof FakeExit)) port.finish(call, errorFrame(call, error))
  })
}

const settle = (call: FakeCall, value: unknown, port: CallPort): void => {
  if (call.answered) return
  if (!call.stream) return port.finish(call, { kind: "result", id: call.id, value })
  // A plain handler under stream: its return value (unless None) is the one item.
  if (value !== undefined && value !== null) port.chunk(call, value)
  port.finish(call, { kind: "end", id: call.id })
}

/** The next item of `gen`, or `cancelled` once the call is cancelled (an async step is not awaited further). */
const step = (call: FakeCall, gen: Generator<unknown> | AsyncGenerator<unknown>): IteratorResult<unknown> | Promise<IteratorResult<unknown> | "cancelled"> => {
  const next = gen.next()
  if (!isThenable(next)) return next
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve("cancelled")
    call.signal.addEventListener("abort", onAbort, { once: true })
    next.then((r) => {
      call.signal.removeEventListener("abort", onAbort)
      resolve(r)
    }, reject)
  })
}

const iterate = async (call: FakeCall, gen: Generator<unknown> | AsyncGenerator<unknown>, port: CallPort): Promise<void> => {
  const items: Array<unknown> = []
  try {
    try {
      while (!call.cancelled && !call.answered) {
        const r = step(call, gen)
        const result = isThenable(r) ? await r : r
        if (result === "cancelled" || result.done === true) break
        if (!call.stream) {
          items.push(result.value)
          continue
        }
        const waiting = call.untilCredit()
        if (waiting) await waiting
        if (call.cancelled || call.answered) break
        call.credit--
        port.chunk(call, result.value)
      }
    } finally {
      // Runs the generator's own finally blocks on cancel or error; a no-op once exhausted.
      void Promise.resolve(gen.return(undefined)).catch(() => {})
    }
  } catch (error) {
    if (!(error instanceof FakeExit)) port.finish(call, call.cancelled ? cancelledFrame(call, `call ${call.id} was cancelled`) : errorFrame(call, error))
    return
  }
  // As in Python, a cancelled generator outside a stream still answers with the items it made.
  port.finish(call, call.stream ? { kind: "end", id: call.id } : { kind: "result", id: call.id, value: items })
}
