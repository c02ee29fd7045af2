/**
 * The pool: a fixed set of worker slots, a FIFO queue of calls, and O(1) hand-off of
 * queued work to a worker the machine says is `ready` (never to one still starting).
 */
import { Effect } from "effect"
import { WorkerActor } from "../actors/worker-actor.ts"
import type { WorkerActorEvent } from "../actors/worker-actor.ts"
import { PoolClosedError } from "../errors.ts"
import type { WorkerStateValue } from "../machines/worker.ts"
import type { CallArgs } from "../protocol/index.ts"
import { awaitReady, stopWorker } from "../supervisors/lifecycle.ts"
import { Emitter } from "./events.ts"
import { invalid, resolveOptions } from "./options.ts"
import type { PoolOptions, ResolvedOptions } from "./options.ts"

/** Per-call options. */
export interface CallOptions {
  /** Sent to Python as `ctx.session`. */
  readonly session?: string
}

/** Events of {@link Pool.on}. */
export interface PoolEvents {
  [key: string]: unknown
  /** A worker changed state, or exited. */
  worker: Extract<WorkerActorEvent, { type: "state" | "exit" }>
  /** A line from a worker's stdout/stderr, or a runtime log message. */
  log: Extract<WorkerActorEvent, { type: "log" }>
}

/** One row of {@link Pool.snapshot}. */
export interface WorkerSnapshot {
  readonly id: string
  readonly pid: number | null
  readonly state: WorkerStateValue | "none"
  readonly calls: number
  readonly restarts: number
}

interface Slot {
  readonly id: string
  restarts: number
  actor: WorkerActor | null
  starting: Promise<void> | null
}

interface Job {
  readonly name: string
  readonly args: CallArgs | undefined
  readonly options: CallOptions
  resolve(value: unknown): void
  reject(error: unknown): void
}

/**
 * A pool of Python workers. Create it with {@link createPool}.
 *
 * @example
 * ```ts
 * const pool = await createPool({ worker: { module: "my_workers", cwd: "./py" } })
 * await pool.call("add", { a: 1, b: 2 }) // 3
 * await pool.close()
 * ```
 */
export class Pool {
  readonly #options: ResolvedOptions
  readonly #slots: Array<Slot>
  readonly #idle = new Set<Slot>()
  readonly #queue: Array<Job> = []
  readonly #events = new Emitter<PoolEvents>()
  #closing: Promise<void> | null = null

  /** @internal use {@link createPool} */
  constructor(options: ResolvedOptions) {
    this.#options = options
    this.#slots = Array.from({ length: options.size }, (_, i) => ({ id: `w${i + 1}`, restarts: 0, actor: null, starting: null }))
  }

  /** @internal starts every slot; rejects with the first start error. */
  async start(): Promise<void> {
    await Promise.all(this.#slots.map((slot) => this.#start(slot)))
  }

  /**
   * Runs Python handler `name` with keyword arguments (an object) or positional ones (an array).
   *
   * @example
   * ```ts
   * await pool.call("add", { a: 1, b: 2 })  // keyword arguments
   * await pool.call("add", [1, 2])          // positional
   * ```
   */
  call(name: string, args?: CallArgs, options: CallOptions = {}): Promise<unknown> {
    if (typeof name !== "string" || name.length === 0) return Promise.reject(invalid("name", name, "a non-empty string"))
    if (args !== undefined && (typeof args !== "object" || args === null)) {
      return Promise.reject(invalid("args", args, "an object (keyword arguments) or an array (positional)"))
    }
    if (options.session !== undefined && typeof options.session !== "string") {
      return Promise.reject(invalid("options.session", options.session, "a string"))
    }
    if (this.#closing) return Promise.reject(new PoolClosedError({ message: `pool is closed; call '${name}' was not run` }))
    return new Promise((resolve, reject) => {
      this.#queue.push({ name, args, options, resolve, reject })
      this.#pump()
    })
  }

  /** Subscribes to pool events; returns an unsubscribe function. */
  on<K extends keyof PoolEvents & string>(event: K, listener: (event: PoolEvents[K]) => void): () => void {
    return this.#events.on(event, listener)
  }

  /** Workers and queue, as they are now. */
  snapshot(): { readonly workers: ReadonlyArray<WorkerSnapshot>; readonly queued: number; readonly closed: boolean } {
    return {
      workers: this.#slots.map((s) => ({
        id: s.id, pid: s.actor?.pid ?? null, state: s.actor?.state ?? "none", calls: s.actor?.callsServed ?? 0, restarts: s.restarts
      })),
      queued: this.#queue.length,
      closed: this.#closing !== null
    }
  }

  /**
   * Stops taking calls, rejects queued ones with `PoolClosedError`, lets in-flight calls
   * finish, then stops every worker (shutdown frame, grace, SIGTERM, SIGKILL).
   */
  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    for (const job of this.#queue.splice(0)) {
      job.reject(new PoolClosedError({ message: `pool closed before '${job.name}' was run` }))
    }
    await Promise.all(this.#slots.map(async (slot) => {
      await slot.starting?.catch(() => {})
      if (slot.actor) await Effect.runPromise(stopWorker(slot.actor, this.#options.shutdown))
    }))
  }

  #start(slot: Slot): Promise<void> {
    const actor = new WorkerActor({
      workerId: slot.id,
      restarts: slot.restarts,
      spec: this.#options.spec,
      onEvent: (event) => this.#onWorkerEvent(slot, actor, event)
    })
    slot.actor = actor
    actor.start()
    slot.starting = Effect.runPromise(awaitReady(actor, this.#options.initTimeoutMs)).then(
      () => {
        slot.starting = null
      },
      (error: unknown) => {
        slot.starting = null
        // Without restart intensity (supervision), a worker that cannot start fails the calls waiting for it.
        if (!this.#slots.some((s) => s.actor?.state === "ready" || s.actor?.state === "busy")) {
          for (const job of this.#queue.splice(0)) job.reject(error)
        }
        throw error
      }
    )
    return slot.starting
  }

  #onWorkerEvent(slot: Slot, actor: WorkerActor, event: WorkerActorEvent): void {
    if (event.type === "log") return this.#events.emit("log", event)
    this.#events.emit("worker", event)
    if (slot.actor !== actor) return
    if (event.type === "state") {
      if (event.state === "ready") {
        this.#idle.add(slot)
        // Never dispatch from inside a transition: the CALL would only be queued by xstate
        // while the machine still reads `ready`.
        queueMicrotask(() => this.#pump())
      } else this.#idle.delete(slot)
    } else if (event.type === "exit") {
      this.#idle.delete(slot)
      slot.actor = null
      if (!this.#closing) {
        slot.restarts++
        if (this.#queue.length > 0) this.#start(slot).catch(() => {})
      }
    }
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      const slot = this.#idle.values().next().value
      if (slot === undefined) return this.#replaceDead()
      const job = this.#queue.shift()!
      let answer: Promise<unknown>
      try {
        answer = slot.actor!.call(job.name, job.args, job.options)
      } catch (error) {
        // Nothing was sent (unknown handler, unencodable arguments): the worker is still free.
        job.reject(error)
        continue
      }
      this.#idle.delete(slot)
      answer.then(job.resolve, job.reject)
    }
  }

  #replaceDead(): void {
    if (this.#closing) return
    for (const slot of this.#slots) {
      if (slot.actor === null && slot.starting === null) this.#start(slot).catch(() => {})
    }
  }
}

/**
 * Starts a pool and resolves once every worker is ready.
 *
 * @example
 * ```ts
 * import { createPool } from "pyvisor"
 * const pool = await createPool({ worker: { module: "my_workers", cwd: "./py" } })
 * ```
 */
export const createPool = async (options: PoolOptions): Promise<Pool> => {
  const pool = new Pool(resolveOptions(options))
  try {
    await pool.start()
  } catch (error) {
    await pool.close()
    throw error
  }
  return pool
}
