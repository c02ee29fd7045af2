/**
 * One call's journey through the pool: queued, running on a worker, settled. It settles
 * exactly once, and settling clears its timers and its abort listener.
 */
import type { CallArgs } from "../protocol/index.ts"
import type { Queue, QueueNode } from "./queue.ts"

/** Options a caller gives to `pool.call`. */
export interface CallOptions {
  /** Sent to Python as `ctx.session`. */
  readonly session?: string
  /** Reject with `CallTimeoutError` after this long (queue wait included); Python gets `cancel`. */
  readonly timeoutMs?: number
  /** Reject with `AbortError` when it fires; Python gets `cancel`. A queued call never reaches Python. */
  readonly signal?: AbortSignal
  /**
   * The handler may safely run twice: if its worker crashes mid-call, the call is retried on
   * another worker (up to `retries` times) instead of rejecting with `WorkerCrashedError`.
   */
  readonly idempotent?: boolean
  /** Retries of an idempotent call after crashes. Default 1. */
  readonly retries?: number
  /** With `session`: `prefer` (default) its last worker, or `strict`ly that worker. See `pool.session`. */
  readonly affinity?: "prefer" | "strict"
}

/** Streaming details of a job. */
export interface StreamHooks {
  readonly window: number
  onChunk(value: unknown): void
  /** Told the call id and worker once dispatched, so credit can be granted. */
  onDispatch(grant: (n: number) => void): void
}

type Phase = "queued" | "running" | "settled"

/** @internal */
export class Job {
  readonly name: string
  readonly args: CallArgs | undefined
  readonly options: CallOptions
  readonly stream: StreamHooks | undefined
  readonly createdAt: number
  phase: Phase = "queued"
  node: QueueNode<Job> | null = null
  /** The queue `node` is in (the pool's, or a strict session's worker's). */
  queue: Queue<Job> | null = null
  /** Set while running: lets a timeout or abort cancel the Python side. */
  cancel: (() => void) | null = null
  dispatchedAt = 0
  /** Times the call was sent to a worker. */
  attempts = 0
  /** Cancels the current checkout deadline (a retried call gets a fresh one). */
  checkoutTimer: (() => void) | null = null
  readonly #resolve: (value: unknown) => void
  readonly #reject: (error: unknown) => void
  readonly #cleanups: Array<() => void> = []

  constructor(
    name: string, args: CallArgs | undefined, options: CallOptions, stream: StreamHooks | undefined, now: number,
    resolve: (value: unknown) => void, reject: (error: unknown) => void
  ) {
    this.name = name
    this.args = args
    this.options = options
    this.stream = stream
    this.createdAt = now
    this.#resolve = resolve
    this.#reject = reject
  }

  /** After its worker crashed: may this call run again elsewhere? (idempotent, retries left, not a stream) */
  mayRetry(): boolean {
    return this.options.idempotent === true && this.stream === undefined && this.phase === "running" && this.attempts <= (this.options.retries ?? 1)
  }

  /** Registers something to undo when the job settles (a timer, a listener). */
  onSettle(cleanup: () => void): void {
    if (this.phase === "settled") cleanup()
    else this.#cleanups.push(cleanup)
  }

  succeed(value: unknown): boolean {
    if (!this.#settle()) return false
    this.#resolve(value)
    return true
  }

  fail(error: unknown): boolean {
    if (!this.#settle()) return false
    this.#reject(error)
    return true
  }

  #settle(): boolean {
    if (this.phase === "settled") return false
    this.phase = "settled"
    for (const cleanup of this.#cleanups.splice(0)) cleanup()
    return true
  }
}
