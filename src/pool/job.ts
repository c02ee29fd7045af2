/**
 * One call's journey through the pool: queued, running on a worker, settled. It settles
 * exactly once, and settling clears its timers and its abort listener.
 */
import type { CallSink } from "../actors/channel.ts"
import type { Worker } from "../actors/worker.ts"
import { PoolClosedError } from "../errors.ts"
import type { CallEnd } from "../errors.ts"
import type { CallArgs, ErrorMessage } from "../protocol/index.ts"
import type { CallTrace } from "../telemetry/types.ts"
import type { Queue, QueueNode } from "./queue.ts"
import type { Slot } from "./slots.ts"

/** The runtime's answer to a call still queued when it began to stop (`shutdown`, SIGTERM). */
const SHUTTING_DOWN = "pyvisor.ShuttingDown"

/** Options a caller gives to `pool.call`. */
export interface CallOptions {
  /** Sent to Python as `ctx.session`. */
  readonly session?: string
  /**
   * Reject with `CallTimeoutError` after this long (queue wait included). A running call is
   * cancelled in Python first (`Cancelled` in a sync handler, `CancelledError` in an async one);
   * the error comes once it has stopped, at most `cancelGraceMs` later (then its worker is killed).
   * Python sees the budget as `ctx.deadline` / `ctx.time_left()`.
   */
  readonly timeoutMs?: number
  /** Reject with `AbortError` when it fires, stopping a running call as a timeout does. A queued call never reaches Python. */
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
  /**
   * Calls sharing a poison key share their worker kills (see the pool's `poison` option).
   * Default: the handler name and a hash of the arguments.
   */
  readonly poisonKey?: string
}

/** Streaming details of a job. */
export interface StreamHooks {
  readonly window: number
  onChunk(value: unknown): void
  /** Told the call id and worker once dispatched, so credit can be granted. */
  onDispatch(grant: (n: number) => void): void
}

/**
 * @internal the error of an interrupted call, made once it is known how the call stopped.
 *
 * @example
 * ```ts
 * const timedOut: InterruptError = (ended) => new CallTimeoutError({ message: "late", handler: "h", timeoutMs: 5, ended })
 * ```
 */
export type InterruptError = (ended: CallEnd) => Error

type Phase = "queued" | "running" | "settled"

/** The `type` of Python's answer to a call it stopped because the host cancelled it. */
const CANCELLED = "pyvisor.Cancelled"

/** What a job tells the pool as its call ends on a worker. @internal */
export interface JobHost {
  /** The worker answered (a value, a Python error, or a stream's end). */
  answered(job: Job): void
  /** The worker died with the call in flight: `started` false means Python never began it. */
  lost(job: Job, error: Error, started: boolean): void
}

/**
 * One call: its promise's two ends, its deadlines, and where it runs. It is also the sink the
 * worker's connection answers (no per-call adapter), and it settles exactly once.
 * @internal
 */
export class Job implements CallSink {
  readonly name: string
  readonly args: CallArgs | undefined
  readonly options: CallOptions
  readonly stream: StreamHooks | undefined
  readonly createdAt: number
  readonly #host: JobHost
  phase: Phase = "queued"
  node: QueueNode<Job> | null = null
  /** The queue `node` is in (the pool's, or a strict session's worker's). */
  queue: Queue<Job> | null = null
  /** While running: the worker and the call's protocol id there (to cancel it, grant credit). */
  worker: Worker | null = null
  slot: Slot | null = null
  callId = 0
  dispatchedAt = 0
  /** Times the call was started on a worker (a call requeued before Python began it does not count). */
  attempts = 0
  /** When (pool clock) the deadline its program set ends (`ctx.programs.get` in a call without a timeout); null: none. */
  programDeadlineAt: number | null = null
  /** Cancels the current checkout deadline (a retried call gets a fresh one). */
  checkoutTimer: (() => void) | null = null
  /** Its span and metrics, when the pool has telemetry on (read by the connection as a `CallSink`). */
  trace: CallTrace | undefined = undefined
  readonly #resolve: (value: unknown) => void
  readonly #reject: (error: unknown) => void
  #cleanups: Array<() => void> | null = null
  /** A timeout or abort stopped the running call: its error, made once the call has stopped. */
  #interrupted: InterruptError | null = null

  constructor(
    host: JobHost, name: string, args: CallArgs | undefined, options: CallOptions, stream: StreamHooks | undefined, now: number,
    resolve: (value: unknown) => void, reject: (error: unknown) => void
  ) {
    this.#host = host
    this.name = name
    this.args = args
    this.options = options
    this.stream = stream
    this.createdAt = now
    this.#resolve = resolve
    this.#reject = reject
  }

  get session(): string | undefined {
    return this.options.session
  }

  /** After its worker crashed mid-call: may it run again elsewhere? (idempotent, retries left, not a stream) */
  mayRetry(): boolean {
    return this.options.idempotent === true && this.stream === undefined && this.phase === "running" && this.attempts <= (this.options.retries ?? 1)
  }

  /** Registers something to undo when the job settles (a timer, a listener). */
  onSettle(cleanup: () => void): void {
    if (this.phase === "settled") cleanup()
    else (this.#cleanups ??= []).push(cleanup)
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

  /**
   * A timeout or abort while running: from now on the call's answer (or its worker's death) only
   * tells how it stopped, and it settles with `error`. False if it was already settled or interrupted.
   */
  interrupt(error: InterruptError): boolean {
    if (this.phase !== "running" || this.#interrupted !== null) return false
    this.#interrupted = error
    return true
  }

  // --- CallSink: the worker's answers ------------------------------------------------------------

  result(value: unknown): void {
    this.#host.answered(this)
    if (this.#interrupted) this.fail(this.#interrupted("returned"))
    else this.succeed(value)
  }

  error(message: ErrorMessage): void {
    // Refused by a worker that began to stop before starting it: it never ran, so it runs
    // elsewhere (the error is what it gets if the pool is closing).
    if (message.type === SHUTTING_DOWN) return this.lost(new PoolClosedError({ message: `pool closed before '${this.name}' was run` }), false)
    this.#host.answered(this)
    if (this.#interrupted) this.fail(this.#interrupted(message.type === CANCELLED ? "cancelled-in-python" : "returned"))
    else this.fail(this.worker === null ? new Error(message.message) : this.worker.answerError(this.name, message))
  }

  chunk(value: unknown): void {
    if (this.#interrupted === null) this.stream?.onChunk(value)
  }

  end(): void {
    this.#host.answered(this)
    // A stream's generator closed by a cancel answers `end`: the cancel stopped it.
    if (this.#interrupted) this.fail(this.#interrupted("cancelled-in-python"))
    else this.succeed(undefined)
  }

  lost(error: Error, started: boolean): void {
    if (this.#interrupted) this.fail(this.#interrupted(started ? "worker-killed" : "never-started"))
    else this.#host.lost(this, error, started)
  }

  #settle(): boolean {
    if (this.phase === "settled") return false
    this.phase = "settled"
    const cleanups = this.#cleanups
    this.#cleanups = null
    if (cleanups !== null) for (const cleanup of cleanups) cleanup()
    return true
  }
}
