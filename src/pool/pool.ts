/**
 * The pool: worker slots, a bounded FIFO queue with per-call deadlines, and O(1) hand-off
 * to a worker its machine says is `ready` (never to one still starting: seed bug #4).
 */
import { createActor } from "xstate"
import type { WorkerActor, WorkerActorEvent } from "../actors/worker-actor.ts"
import { PoolClosedError, PoolFailedError, QueueFullError, WorkerCrashedError } from "../errors.ts"
import { acceptsCalls, poolMachine } from "../machines/pool.ts"
import type { PoolStateValue } from "../machines/pool.ts"
import type { CallArgs } from "../protocol/index.ts"
import { memoryStore } from "../store/index.ts"
import type { SessionStore } from "../store/index.ts"
import type { SupervisorEscalation } from "../supervisors/supervisor.ts"
import { Affinity, affinityError } from "./affinity.ts"
import { Emitter } from "./events.ts"
import { hostRouter } from "./host-router.ts"
import type { PoolEvents } from "./events.ts"
import { Job } from "./job.ts"
import type { CallOptions, StreamHooks } from "./job.ts"
import { Maintenance } from "./maintenance.ts"
import { Histogram, Utilization } from "./metrics.ts"
import { abortError, armDeadlines, failingIterator, validateCall } from "./call-checks.ts"
import { enqueueWithDeadline, sendToWorker } from "./dispatch.ts"
import { invalid } from "./options.ts"
import type { ResolvedOptions } from "./options.ts"
import { Queue } from "./queue.ts"
import { makeSession, openSession } from "./session.ts"
import type { PoolSession, SessionOptions } from "./session.ts"
import { Slots } from "./slots.ts"
import type { Slot } from "./slots.ts"
import { after } from "./timers.ts"
import { snapshotOf } from "./snapshot.ts"
import { watchReady } from "./ready.ts"
import { SupervisedWorkers } from "./supervised.ts"
import type { PoolSnapshot } from "./snapshot.ts"
import { openStream } from "./stream.ts"

/** @internal lets `createPool` hand the pool the ManagedRuntime that owns it. */
export const ADOPT_RUNTIME: unique symbol = Symbol("pyvisor.adoptRuntime")

/**
 * A pool of Python workers. Create it with {@link createPool}.
 *
 * @example
 * ```ts
 * const pool = await createPool({ worker: { module: "my_workers", cwd: "./py" }, size: 4 })
 * await pool.call("add", { a: 1, b: 2 }) // 3
 * await pool.close()
 * ```
 */
export class Pool {
  /** Resolves when every permanent worker is ready for the first time (lazy pools: after the first call). */
  readonly ready: Promise<void>
  readonly #o: ResolvedOptions
  readonly #slots: Slots
  readonly #queue = new Queue<Job>()
  readonly #events = new Emitter<PoolEvents>()
  readonly #machine
  readonly #retiring = new Set<Promise<void>>()
  readonly #checkoutWait = new Histogram()
  readonly #callDuration = new Histogram()
  readonly #utilization = new Utilization(() => performance.now())
  readonly #maintenance: Maintenance
  readonly #createdAt = performance.now()
  readonly #workers: SupervisedWorkers
  readonly #store: SessionStore
  readonly #affinity = new Affinity()
  #failure: PoolFailedError | null = null
  /** Disposes the ManagedRuntime of a pool made by `createPool`, once, after the pool closed. */
  #release: (() => Promise<void>) | null = null
  #started = false
  #closing: Promise<void> | null = null
  #exhausted = false

  /** @internal use {@link createPool} */
  constructor(options: ResolvedOptions) {
    this.#o = options
    this.#store = options.store ?? memoryStore()
    this.#slots = new Slots(options.size, options.startConcurrency, hostRouter(this.#store, options.hostHandlers))
    this.#machine = createActor(poolMachine, { input: { size: options.size } })
    this.ready = watchReady(this.#machine, this.#events, this.#createdAt, () => this.#failure)
    this.#machine.start()
    for (const [name, listener] of Object.entries(options.on)) this.#events.on(name as keyof PoolEvents, listener as (e: PoolEvents[keyof PoolEvents]) => void)
    this.#maintenance = new Maintenance(this.#slots, options, (slot, reason) => this.#recycle(slot, reason))
    this.#workers = new SupervisedWorkers(options, this.#slots, (slot, actor, event) => this.#onWorkerEvent(slot, actor, event), (e) => this.#fail(e))
  }

  /** @internal starts the permanent workers; rejects with the first start error. */
  async start(): Promise<void> {
    this.#started = true
    await Promise.all(this.#slots.all.map((slot) => this.#start(slot)))
  }

  /**
   * Runs Python handler `name` with keyword arguments (an object) or positional ones (an array).
   *
   * @example
   * ```ts
   * await pool.call("add", { a: 1, b: 2 }, { timeoutMs: 1_000 })
   * ```
   */
  call(name: string, args?: CallArgs, options: CallOptions = {}): Promise<unknown> {
    // A non-string session is an InvalidOptionError from #submit, not a store lookup; a closed
    // pool must not touch (or create) sessions in a store it may not even own any more.
    if (typeof options?.session !== "string" || !this.#open()) return new Promise((resolve, reject) => this.#submit(name, args, options, undefined, resolve, reject))
    return openSession(this.#store, options.session).then(() => new Promise((resolve, reject) => this.#submit(name, args, options, undefined, resolve, reject)))
  }

  /**
   * A session: its calls share `ctx.store`'s session scope and, with affinity, a worker.
   * Throws `InvalidSessionIdError` for a bad id. See docs/sessions.md.
   *
   * @example
   * ```ts
   * const s = pool.session("user-42", { affinity: "strict" })
   * await s.call("remember", { fact: "likes tea" })
   * await s.close()
   * ```
   */
  session(id: string, options: SessionOptions = {}): PoolSession {
    return makeSession({
      call: (name, args, o) => this.call(name, args, o),
      stream: (name, args, o) => this.stream(name, args, o),
      closeSession: async (sessionId) => {
        this.#affinity.forget(sessionId)
        await this.#store.closeSession(sessionId)
      }
    }, id, options)
  }

  /**
   * Runs a generator handler and yields its items as they come. Breaking out of the loop
   * cancels the generator in Python; a slow consumer slows the producer (credit-based).
   *
   * @example
   * ```ts
   * for await (const token of pool.stream("tokens", { n: 3 })) console.log(token)
   * ```
   */
  stream(name: string, args?: CallArgs, options: CallOptions & { readonly window?: number } = {}): AsyncIterableIterator<unknown> {
    const window = options.window ?? 64
    if (!Number.isInteger(window) || window < 1) return failingIterator(invalid("options.window", window, "an integer from 1"))
    const session = options.session
    return openStream(window, (hooks, signal, resolve, reject) => {
      if (typeof session !== "string" || !this.#open()) return this.#submit(name, args, { ...options, signal }, hooks, resolve, reject)
      void openSession(this.#store, session).then(() => this.#submit(name, args, { ...options, signal }, hooks, resolve, reject), reject)
    }, options.signal)
  }

  /** Subscribes to pool events; returns an unsubscribe function. */
  on<K extends keyof PoolEvents & string>(event: K, listener: (event: PoolEvents[K]) => void): () => void {
    return this.#events.on(event, listener)
  }

  /** Workers, queue, state and metrics, as they are now. */
  snapshot(): PoolSnapshot {
    return snapshotOf(this.#slots.all, this.#queue.length, this.#machine.getSnapshot().value as PoolStateValue, {
      checkoutWaitMs: this.#checkoutWait.summary(),
      callDurationMs: this.#callDuration.summary(),
      utilization: this.#utilization.ratio(Math.max(1, this.#slots.all.length))
    })
  }

  /**
   * Stops taking calls, rejects queued ones with `PoolClosedError`, gives in-flight calls
   * `timeoutMs` to finish (default `shutdown.graceMs`), then stops every process.
   */
  close(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    if (options.timeoutMs !== undefined && (!Number.isInteger(options.timeoutMs) || options.timeoutMs < 0)) {
      return Promise.reject(invalid("close.timeoutMs", options.timeoutMs, "an integer from 0"))
    }
    this.#closing ??= this.#close(options.timeoutMs ?? this.#o.shutdown.graceMs)
    // Taken before it runs: disposing the runtime closes the layer, which calls close() again.
    const release = this.#release
    this.#release = null
    return release ? this.#closing.then(release) : this.#closing
  }

  /** @internal */
  [ADOPT_RUNTIME](dispose: () => Promise<void>): void {
    this.#release = dispose
  }

  async #close(graceMs: number): Promise<void> {
    this.#machine.send({ type: "CLOSE" })
    this.#maintenance.stop()
    for (const job of [...this.#queue.drain(), ...this.#affinity.drain()]) job.fail(new PoolClosedError({ message: `pool closed before '${job.name}' was run` }))
    await Promise.all(this.#slots.all.map(async (slot) => {
      slot.idleTimer?.()
      await slot.starting?.catch(() => {})
    }))
    await this.#workers.close({ graceMs, killAfterMs: this.#o.shutdown.killAfterMs })
    await Promise.all(this.#retiring)
    if (this.#o.store === undefined) await this.#store.close()
    this.#machine.send({ type: "DRAINED" })
  }

  #submit(name: string, args: CallArgs | undefined, options: CallOptions, stream: StreamHooks | undefined, resolve: (v: unknown) => void, reject: (e: unknown) => void): void {
    const bad = validateCall(name, args, options)
    if (bad) return reject(bad)
    const state = this.#machine.getSnapshot().value as PoolStateValue
    if (!this.#open()) {
      return reject(state === "failed" && this.#failure
        ? this.#failure
        : new PoolClosedError({ message: `pool is closed; '${name}' was not run` }))
    }
    if (options.signal?.aborted) return reject(abortError(name, options.signal))
    const job = new Job(name, args, options, stream, performance.now(), resolve, reject)
    armDeadlines(job, (error) => this.#interrupt(job, error))
    const route = options.session === undefined ? undefined : this.#affinity.route(job, this.#slots.idle)
    if (route?.kind === "lost") return void job.fail(route.error)
    if (route?.kind === "wait") return this.#enqueue(job, false, route.queue)
    const slot = route?.kind === "slot" ? route.slot : this.#queue.length === 0 ? this.#slots.pickIdle() : undefined
    if (slot && this.#dispatch(slot, job)) return
    if (job.phase === "settled") return
    if (this.#queue.length >= this.#o.maxQueue) {
      job.fail(new QueueFullError({ message: `queue full (${this.#o.maxQueue} calls waiting); '${name}' was not run`, maxQueue: this.#o.maxQueue }))
      return
    }
    this.#enqueue(job, false)
  }

  #open(): boolean {
    return this.#closing === null && acceptsCalls(this.#machine.getSnapshot().value as PoolStateValue)
  }

  /** Queues `job` (first, for a retry) with a fresh checkout deadline, and asks for capacity. */
  #enqueue(job: Job, first: boolean, queue = this.#queue): void {
    enqueueWithDeadline(job, queue, first, this.#o.checkoutTimeoutMs)
    if (queue !== this.#queue) return
    if (!this.#exhausted && this.#slots.idle.size === 0) {
      this.#exhausted = true
      this.#events.emit("exhausted", { queued: this.#queue.length })
    }
    this.#grow()
  }

  /** Sends `job` to `slot`'s worker; false when nothing was sent (the job may have been settled). */
  #dispatch(slot: Slot, job: Job): boolean {
    const answer = sendToWorker(slot, job, this.#o.cancelGraceMs)
    if (answer === undefined) return false
    this.#slots.idle.delete(slot)
    slot.idleTimer?.()
    slot.idleTimer = null
    if (job.options.session !== undefined) this.#affinity.bind(job.options.session, slot)
    this.#checkoutWait.record(job.dispatchedAt - job.createdAt)
    answer.then((value) => job.succeed(value), (error: unknown) => this.#failOrRetry(job, error)).finally(() => {
      this.#callDuration.record(performance.now() - job.dispatchedAt)
    })
    return true
  }

  /** An idempotent call whose worker crashed goes back to the head of the queue, for another worker. */
  #failOrRetry(job: Job, error: unknown): void {
    if (!(error instanceof WorkerCrashedError) || !job.mayRetry() || this.#closing || this.#failure) {
      job.fail(error)
      return
    }
    job.phase = "queued"
    job.cancel = null
    this.#enqueue(job, true)
  }

  /** The supervisor gave up (restart intensity exceeded): every waiting and future call fails. */
  #fail(escalation: SupervisorEscalation): void {
    if (this.#closing) return
    this.#failure = new PoolFailedError({ message: `pool failed: ${escalation.message}`, cause: escalation.lastReason.cause ?? escalation })
    this.#maintenance.stop()
    this.#machine.send({ type: "FAIL", reason: escalation.message })
    for (const job of [...this.#queue.drain(), ...this.#affinity.drain()]) job.fail(this.#failure)
  }

  /** A timeout or abort: release the caller now; a running call also gets `cancel`. */
  #interrupt(job: Job, error: Error): void {
    if (job.phase === "queued" && job.node) job.queue?.remove(job.node)
    const cancel = job.phase === "running" ? job.cancel : null
    if (job.fail(error)) cancel?.()
  }

  #pump(ready?: Slot): void {
    // A strict session waiting for exactly this worker goes first.
    const pinned = ready && this.#slots.idle.has(ready) ? this.#affinity.takePinned(ready) : undefined
    if (pinned && ready) this.#dispatch(ready, pinned)
    while (this.#queue.length > 0) {
      const slot = this.#slots.pickIdle()
      if (slot === undefined) return this.#grow()
      const job = this.#queue.shift()!
      if (!this.#dispatch(slot, job) && slot.actor?.state !== "ready") this.#slots.idle.delete(slot)
    }
    this.#exhausted = false
  }

  /** More capacity for a non-empty queue: first start, replacement of dead slots, then overflow. */
  #grow(): void {
    if (this.#closing) return
    if (!this.#started) {
      void this.start().catch(() => {})
      return
    }
    let pending = 0
    for (const slot of this.#slots.all) {
      if (slot.starting) pending++
      else if (slot.actor === null && !this.#workers.supervises(slot)) {
        pending++
        void this.#start(slot).catch(() => {})
      }
    }
    if (pending >= this.#queue.length) return
    const room = this.#o.overflow - this.#slots.overflowCount
    for (let i = 0; i < Math.min(room, this.#queue.length - pending); i++) void this.#start(this.#slots.addOverflow()).catch(() => {})
  }

  /** A first start (not a restart: those belong to the supervisor). */
  #start(slot: Slot): Promise<void> {
    return this.#workers.start(slot).catch((error: unknown) => {
      // A worker that cannot start fails the calls waiting for it, rather than letting them wait for nothing.
      if (!this.#slots.all.some((s) => s.actor?.state === "ready" || s.actor?.state === "busy")) {
        for (const job of this.#queue.drain()) job.fail(error)
      }
      if (slot.overflow) this.#slots.remove(slot)
      throw error
    })
  }

  #onWorkerEvent(slot: Slot, actor: WorkerActor, event: WorkerActorEvent): void {
    if (event.type === "log") return this.#events.emit("log", event)
    this.#events.emit("worker", event)
    // Busy time follows the machine, so a call dispatched before the previous answer's callbacks ran is counted.
    if (event.type === "state") {
      if (event.state === "busy") this.#utilization.busy(`${slot.id}:${actor.pid}`)
      else if (event.previous === "busy") this.#utilization.idle(`${slot.id}:${actor.pid}`)
    }
    if (slot.actor !== actor) return
    if (event.type === "state") {
      if (event.state === "ready") {
        if (event.previous === "initializing") {
          const serving = this.#slots.all.filter((s) => s.actor?.state === "ready" || s.actor?.state === "busy").length
          this.#events.emit("warmup", { ready: serving, total: this.#slots.all.length })
        }
        this.#machine.send({ type: "WORKER_READY", workerId: slot.id })
        const reason = slot.recycle ?? this.#maintenance.dueAfterCall(slot, actor)
        if (reason) return this.#recycle(slot, reason)
        this.#slots.idle.add(slot)
        if (slot.overflow) slot.idleTimer = after(this.#o.idleTimeoutMs, () => this.#retireIdleOverflow(slot))
        // Never dispatch from inside a transition: xstate would only queue the CALL.
        queueMicrotask(() => this.#pump(slot))
      } else this.#slots.idle.delete(slot)
    } else if (event.type === "exit") {
      this.#slots.idle.delete(slot)
      this.#affinityLost(slot, actor, "died")
      this.#machine.send({ type: "WORKER_LOST", workerId: slot.id })
      slot.actor = null
      if (this.#closing) return
      if (slot.overflow) return this.#slots.remove(slot)
      // The supervisor restarts it (after its backoff); queued calls wait for the replacement.
      if (this.#workers.supervises(slot)) slot.restarts++
    }
  }

  /** Drains `slot`'s worker and starts a fresh one in its place; no call fails. */
  #recycle(slot: Slot, reason: string): void {
    const old = slot.actor
    if (old === null) return
    if (old.state === "busy") {
      slot.recycle = reason
      return
    }
    this.#slots.idle.delete(slot)
    this.#machine.send({ type: "WORKER_LOST", workerId: slot.id })
    this.#affinityLost(slot, old, "was recycled")
    slot.actor = null
    slot.recycled++
    this.#events.emit("recycle", { workerId: slot.id, pid: old.pid, reason, calls: old.callsServed })
    const retiring = this.#workers.retire(slot).finally(() => this.#retiring.delete(retiring))
    this.#retiring.add(retiring)
    if (this.#closing) return
    if (slot.overflow) return this.#slots.remove(slot)
    void this.#start(slot).catch(() => {})
  }

  /** Strict session calls waiting for a worker that is gone cannot run anywhere else. */
  #affinityLost(slot: Slot, actor: WorkerActor, what: string): void {
    for (const job of this.#affinity.lost(actor)) job.fail(affinityError(job, slot.id, actor.pid, what))
  }

  #retireIdleOverflow(slot: Slot): void {
    slot.idleTimer = null
    if (slot.actor?.state === "ready" && this.#slots.idle.has(slot)) this.#recycle(slot, `idle for ${this.#o.idleTimeoutMs} ms`)
  }
}
