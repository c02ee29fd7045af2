/**
 * The pool engine: the hot path (submit → a worker with room → encode + write; answer → settle →
 * the next job dispatched at once) in plain code, and the worker hooks that keep the set of
 * workers with room. Lifecycle (starting, replacing, recycling workers) goes through the
 * supervisor (`capacity.ts`); open/closing/failed is the pool machine's; the calls in flight are
 * each worker's connection's.
 */
import type { AnyActorRef } from "xstate"
import type { Worker, WorkerActorEvent, ExitReport } from "../actors/worker.ts"
import type { PythonResolution } from "../actors/resolve-python.ts"
import type { Dashboard, DashboardOptions } from "../dashboard/index.ts"
import { PoolClosedError, PoolFailedError, QueueFullError, WorkerCrashedError } from "../errors.ts"
import { acceptsCalls, poolMachine } from "../machines/pool.ts"
import type { PoolEvent, PoolStateValue } from "../machines/pool.ts"
import { isLive, isServing } from "../machines/worker.ts"
import { MachineRunner } from "../actors/machine-runner.ts"
import type { CallArgs } from "../protocol/index.ts"
import type { SessionStore } from "../store/index.ts"
import type { SupervisorEscalation } from "../supervisors/supervisor.ts"
import type { CallTrace, PoolTelemetry } from "../telemetry/types.ts"
import { Affinity, affinityError } from "./affinity.ts"
import { NO_OPTIONS, validateCall } from "./call-options.ts"
import { abortError, armDeadlines, armProgramDeadline, enqueueWithDeadline } from "./deadlines.ts"
import type { Capacity } from "./capacity.ts"
import { Emitter } from "./events.ts"
import type { PoolEvents } from "./events.ts"
import { Job } from "./job.ts"
import type { CallOptions, InterruptError, JobHost, StreamHooks } from "./job.ts"
import { Histogram, Utilization } from "./metrics.ts"
import { invalid } from "./options.ts"
import type { ResolvedOptions } from "./options.ts"
import { Queue } from "./queue.ts"
import { watchReady } from "./ready.ts"
import { makeSession, SessionTouches } from "./session.ts"
import type { PoolSession, SessionOptions } from "./session.ts"
import { snapshotOf } from "./snapshot.ts"
import type { PoolSnapshot } from "./snapshot.ts"
import type { Slot, Slots } from "./slots.ts"
import { causedByCall, PoisonTable } from "./poison.ts"
import { failingIterator, MAX_WINDOW, openStream } from "./stream.ts"
import type { After } from "./after.ts"

/** A call's settle functions, ending its span and recording its metrics first. */
const traced = (trace: CallTrace, resolve: (v: unknown) => void, reject: (e: unknown) => void) => ({
  trace,
  resolve: (value: unknown) => {
    trace.end(undefined)
    resolve(value)
  },
  reject: (error: unknown) => {
    trace.end(error)
    reject(error)
  }
})

/** @internal what the engine is built from (see `makePool`). */
export interface PoolParts {
  readonly options: ResolvedOptions
  /** The interpreter workers run (`worker.resolvePython`). */
  readonly python: PythonResolution
  readonly slots: Slots
  readonly store: SessionStore
  /** Closes the pool's scope: every worker stopped in order, the store released. */
  readonly closeScope: () => Promise<void>
  /** Sets the stop policy the scope's close will use. */
  readonly setGrace: (graceMs: number) => void
  /** The pool's timers, and its monotonic time in ms, on its Clock. */
  readonly after: After
  readonly now: () => number
  /** Spans and metrics (`options.telemetry`); undefined when off. */
  readonly telemetry?: PoolTelemetry | undefined
}

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
  readonly #parts: PoolParts
  readonly #slots: Slots
  readonly #queue = new Queue<Job>()
  readonly #events = new Emitter<PoolEvents>()
  readonly #machine: MachineRunner<typeof poolMachine>
  readonly #checkoutWait = new Histogram()
  readonly #callDuration = new Histogram()
  readonly #utilization = new Utilization(() => performance.now())
  readonly #createdAt = performance.now()
  readonly #store: SessionStore
  readonly #affinity = new Affinity()
  readonly #touches: SessionTouches
  readonly #offStore: (() => void) | undefined
  readonly #poison: PoisonTable
  readonly #telemetry: PoolTelemetry | undefined
  /** Streams running on a worker: closing the pool cancels them (they may wait for credit forever). */
  readonly #streams = new Set<Job>()
  #capacity!: Capacity
  #closing: Promise<void> | null = null
  /** Dashboards serving this pool: closed with it. */
  readonly #dashboards = new Set<Dashboard>()
  #dashboardsClosed: Promise<void> | null = null
  /** Every process is gone after `close()`: a failed pool reports `closed` from then on too. */
  #closed = false
  /** How jobs report their end on a worker (one object for all jobs). */
  readonly #jobHost: JobHost = {
    answered: (job) => this.#answered(job),
    lost: (job, error, started) => this.#lost(job, error, started)
  }

  /** @internal use {@link createPool} */
  constructor(parts: PoolParts) {
    this.#parts = parts
    this.#o = parts.options
    this.#slots = parts.slots
    this.#store = parts.store
    this.#touches = new SessionTouches(parts.store, parts.after, parts.now)
    this.#poison = new PoisonTable(this.#o.poison, () => performance.now())
    this.#telemetry = parts.telemetry
    for (const [name, listener] of Object.entries(this.#o.on)) this.#events.on(name as keyof PoolEvents, listener as (e: PoolEvents[keyof PoolEvents]) => void)
    // Removed once the pool is closed: a store shared by many pools keeps no listener of a closed one.
    this.#offStore = parts.store.onError?.((error) => this.#events.emit("store", { error }))
    const { ready, onChange } = watchReady(this.#events, this.#createdAt)
    this.ready = ready
    const inspect = this.#o.inspect
    this.#machine = new MachineRunner(poolMachine, { size: this.#o.size }, {}, onChange, inspect === undefined ? undefined : { inspect, systemId: "pool" })
    this.#machine.start()
  }

  /** @internal the pool machine's actor, parent of the workers' actors, when inspected (`options.inspect`). */
  get inspected(): AnyActorRef | undefined {
    return this.#o.inspect === undefined ? undefined : this.#machine.ref
  }

  /** @internal binds the capacity manager (made after the engine, which it calls back). */
  attach(capacity: Capacity): void {
    this.#capacity = capacity
  }

  /**
   * Runs Python handler `name` with keyword arguments (an object) or positional ones (an array).
   * Binaries of 64 KiB or more (Buffer, typed arrays, NdArray data) are written to the worker from
   * their own memory, not copied: do not change them until the call settles.
   *
   * @example
   * ```ts
   * await pool.call("add", { a: 1, b: 2 }, { timeoutMs: 1_000 })
   * ```
   */
  call(name: string, args?: CallArgs, options: CallOptions = NO_OPTIONS): Promise<unknown> {
    // A non-string session is an InvalidOptionError from #submit, not a store lookup; a closed
    // pool must not touch (or create) sessions in a store it may not even own any more.
    const session = options?.session
    if (typeof session !== "string" || !this.#open() || this.#touches.fresh(session)) return new Promise((resolve, reject) => this.#submit(name, args, options, undefined, resolve, reject))
    return new Promise((resolve, reject) => this.#touches.openFor(session, name, options, (o) => this.#submit(name, args, o, undefined, resolve, reject), reject))
  }

  /**
   * A session: its calls share `ctx.store`'s session scope and, with affinity, a worker; with
   * `timeoutMs`, that is the timeout of its calls that give none. Throws `InvalidSessionIdError` for
   * a bad id, `InvalidOptionError` for a bad option. See docs/sessions.md.
   *
   * @example
   * ```ts
   * const s = pool.session("user-42", { affinity: "strict", timeoutMs: 30_000 })
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
        this.#touches.forget(sessionId)
        await this.#store.closeSession(sessionId)
      }
    }, id, options)
  }

  /**
   * Runs a generator handler and yields its items as they come. Breaking out of the loop
   * cancels the generator in Python; a slow consumer slows the producer (credit-based: at most
   * `window` items, 1–65 536, default 64, wait on the host). An iterator dropped without `return()`
   * is cancelled once garbage-collected; `close()` cancels open streams.
   *
   * @example
   * ```ts
   * for await (const token of pool.stream("tokens", { n: 3 })) console.log(token)
   * ```
   */
  stream(name: string, args?: CallArgs, options: CallOptions & { readonly window?: number } = {}): AsyncIterableIterator<unknown> {
    const window = options.window ?? 64
    if (!Number.isInteger(window) || window < 1 || window > MAX_WINDOW) {
      return failingIterator(invalid("options.window", window, `an integer from 1 to ${MAX_WINDOW}`))
    }
    const session = options.session
    return openStream(window, (hooks, signal, resolve, reject) => {
      if (typeof session !== "string" || !this.#open() || this.#touches.fresh(session)) return this.#submit(name, args, { ...options, signal }, hooks, resolve, reject)
      this.#touches.openFor(session, name, { ...options, signal }, (o) => this.#submit(name, args, o, hooks, resolve, reject), reject)
    }, options.signal)
  }

  /** Subscribes to pool events; returns an unsubscribe function. */
  on<K extends keyof PoolEvents & string>(event: K, listener: (event: PoolEvents[K]) => void): () => void {
    return this.#events.on(event, listener)
  }

  /** Workers, queue, state and metrics, as they are now. */
  snapshot(): PoolSnapshot {
    return snapshotOf(this.#slots.all, this.#queue.length, this.#closed ? "closed" : this.#state(), this.#parts.python, {
      checkoutWaitMs: this.#checkoutWait.summary(),
      callDurationMs: this.#callDuration.summary(),
      utilization: this.#utilization.ratio(Math.max(1, this.#slots.all.length))
    })
  }

  /**
   * Stops taking calls, rejects queued ones with `PoolClosedError`, cancels open streams (their
   * iterators reject with `PoolClosedError` after the items already received), gives other
   * in-flight calls `timeoutMs` to finish (default `shutdown.graceMs`), then stops every process.
   */
  close(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    if (options.timeoutMs !== undefined && (!Number.isInteger(options.timeoutMs) || options.timeoutMs < 0 || options.timeoutMs > 2 ** 31 - 1)) {
      return Promise.reject(invalid("close.timeoutMs", options.timeoutMs, "an integer from 0 to 2147483647"))
    }
    if (this.#closing === null) {
      if (options.timeoutMs !== undefined) this.#parts.setGrace(options.timeoutMs)
      this.#closing = this.#parts.closeScope().then(() => this.#closeDashboards())
    }
    return this.#closing
  }

  /**
   * Serves a live dashboard of this pool on one local web page: every worker's machine drawn with its
   * current state lit and its transitions as they happen, the queue, latencies, restarts, the last
   * crash and its stderr; with `controls: true`, buttons to kill or recycle a worker. Closed with the
   * pool. Loaded on first use. Rejects with `PoolClosedError` once the pool is closing.
   *
   * @example
   * ```ts
   * const { url, close } = await pool.dashboard({ port: 8080 })
   * console.log(\`dashboard: \${url}\`) // http://127.0.0.1:8080/
   * ```
   */
  async dashboard(options: DashboardOptions = {}): Promise<Dashboard> {
    const closed = () => new PoolClosedError({ message: "pool is closed; no dashboard" })
    if (this.#closing !== null) throw closed()
    const { startDashboard } = await import("../dashboard/index.ts")
    const dashboard = await startDashboard({
      snapshot: () => this.snapshot(),
      on: (event, listener) => this.on(event, listener),
      control: (workerId, action) => this.control(workerId, action)
    }, options)
    if (this.#closing !== null) {
      await dashboard.close()
      throw closed()
    }
    this.#dashboards.add(dashboard)
    return { url: dashboard.url, close: () => (this.#dashboards.delete(dashboard), dashboard.close()) }
  }

  /** @internal a dashboard's kill or recycle button: why it cannot, or null once done. */
  control(workerId: string, action: "kill" | "recycle"): string | null {
    const slot = this.#slots.all.find((s) => s.id === workerId)
    if (slot === undefined) return `no worker ${workerId}`
    const worker = slot.worker
    if (worker === null || !isLive(worker.state)) return `worker ${workerId} has no live process`
    if (action === "kill") {
      worker.kill({ type: "KILL", reason: "killed from the dashboard" })
      return null
    }
    if (!isServing(worker.state) || slot.recycle !== null) return `worker ${workerId} is ${slot.recycle !== null ? "already being recycled" : worker.state}`
    this.#capacity.recycle(slot, "recycled from the dashboard")
    return null
  }

  /** Closes every dashboard once (from the scope's last finalizer, and awaited by `close`). */
  #closeDashboards(): Promise<void> {
    return (this.#dashboardsClosed ??= Promise.all([...this.#dashboards].map((d) => d.close())).then(() => {}))
  }

  // --- the scope's finalizers and the supervisor's verdict (called by `makePool`) ---------------

  /** @internal first step of closing: no new calls; queued ones fail. */
  beginClose(): void {
    this.#send({ type: "CLOSE" })
    for (const job of [...this.#queue.drain(), ...this.#affinity.drain()]) job.fail(new PoolClosedError({ message: `pool closed before '${job.name}' was run` }))
    for (const slot of this.#slots.all) this.#slots.withdraw(slot)
    for (const job of [...this.#streams]) this.#interrupt(job, () => new PoolClosedError({ message: `pool closed: stream '${job.name}' was cancelled` }))
  }

  /** @internal last step of closing: every process is gone. */
  endClose(): void {
    this.#offStore?.()
    this.#closed = true
    this.#send({ type: "DRAINED" })
    void this.#closeDashboards()
  }

  /** @internal the supervisor gave up (restart intensity exceeded): every waiting and future call fails. */
  fail(escalation: SupervisorEscalation): void {
    if (!this.#open()) return
    const error = new PoolFailedError({ message: `pool failed: ${escalation.message}`, cause: escalation.lastReason.cause ?? escalation })
    this.#send({ type: "FAIL", reason: escalation.message, error })
    for (const job of [...this.#queue.drain(), ...this.#affinity.drain()]) job.fail(error)
  }

  /**
   * @internal `pyvisor.deadline` from worker `workerId`: its running call `callId` runs a program
   * with a default timeout of `ms`. A call with a `timeoutMs` of its own (its session's included)
   * keeps it (null); one without gets this deadline, enforced like a timeout. Returns the ms left.
   */
  programDeadline(workerId: string, callId: number, ms: number): number | null {
    const job = this.#slots.all.find((s) => s.id === workerId)?.worker?.sinkOf(callId)
    if (!(job instanceof Job) || job.phase !== "running" || job.options.timeoutMs !== undefined) return null
    return armProgramDeadline(job, ms, (error) => this.#interrupt(job, error), this.#parts.after, this.#parts.now)
  }

  /** @internal calls waiting for a worker. */
  get queued(): number {
    return this.#queue.length
  }

  /** @internal the pool machine takes calls. */
  get isOpen(): boolean {
    return this.#open()
  }

  /** @internal emits a pool event. */
  emit<K extends keyof PoolEvents>(name: K, event: PoolEvents[K]): void {
    this.#events.emit(name, event)
  }

  // --- worker hooks: the only writers of the idle set -------------------------------------------

  /** @internal a new incarnation of `slot` is about to spawn. */
  adopt(slot: Slot, worker: Worker): void {
    slot.worker = worker
    slot.readyAt = null
    slot.recycle = null
    // Each incarnation draws its own jittered limit (its memory readings are its own: Worker).
    slot.rssLimit = null
  }

  /** @internal `worker` finished its handshake. */
  workerReady(slot: Slot, worker: Worker): void {
    if (slot.worker !== worker) return
    slot.readyAt = this.#parts.now()
    this.#send({ type: "WORKER_READY", workerId: slot.id })
    const serving = this.#slots.all.filter((s) => s.worker !== null && isServing(s.worker.state)).length
    this.#events.emit("warmup", { ready: serving, total: this.#slots.all.length })
    this.#offer(slot)
  }

  /** @internal `worker`'s connection crossed its capacity. */
  workerRoom(slot: Slot, worker: Worker, hasRoom: boolean): void {
    if (slot.worker !== worker) return
    if (hasRoom) this.#offer(slot)
    else this.#slots.place(slot)
  }

  /** @internal `worker` stopped serving (draining or killed). */
  workerWithdrawn(slot: Slot, worker: Worker, what: string): void {
    if (slot.worker !== worker) return
    this.#slots.withdraw(slot)
    this.#send({ type: "WORKER_LOST", workerId: slot.id })
    for (const job of this.#affinity.lost(worker)) job.fail(affinityError(job, slot.id, worker.pid, what))
  }

  /** @internal `worker` is gone. */
  workerExited(slot: Slot, worker: Worker, report: ExitReport): void {
    if (slot.worker !== worker) return
    this.workerWithdrawn(slot, worker, report.error === null ? "was stopped" : "died")
    this.#utilization.idle(worker)
    slot.worker = null
    slot.readyAt = null
    if (report.error !== null && !slot.overflow) slot.restarts++
    if (slot.overflow) this.#slots.remove(slot)
    // The calls it gave back (requeued, or retried) go to the workers with room now; what is left
    // waits for the replacement: the supervisor restarts the slot, or gives up and fails the pool
    // (and with it every waiting call).
    const other = this.#slots.pick()
    if (other !== undefined && this.#queue.length > 0) this.#pump(other)
  }

  /** @internal forwards a worker's state, exit and log events. */
  workerEvent(event: WorkerActorEvent): void {
    if (event.type === "log") return this.#events.emit("log", event)
    this.#events.emit("worker", event)
  }

  /** @internal the connection's edges between nothing and something in flight: busy time, and idle vs open. */
  workerActivity(slot: Slot, worker: Worker, active: boolean): void {
    if (active) this.#utilization.busy(worker)
    else this.#utilization.idle(worker)
    if (slot.worker !== worker || !isServing(worker.state)) return
    // Running something: no longer idle (still open for a prefetched call if it has room).
    if (active) this.#slots.place(slot)
    else this.#offer(slot)
  }

  // --- the hot path -----------------------------------------------------------------------------

  #state(): PoolStateValue {
    return this.#machine.snapshot.value as PoolStateValue
  }

  #send(event: PoolEvent): void {
    this.#machine.send(event)
  }

  #open(): boolean {
    return acceptsCalls(this.#state())
  }

  #submit(name: string, args: CallArgs | undefined, options: CallOptions, stream: StreamHooks | undefined, resolve: (v: unknown) => void, reject: (e: unknown) => void): void {
    // Telemetry off: this one check. On: the call's span ends as its promise settles, whatever settles it.
    let trace: CallTrace | undefined
    if (this.#telemetry !== undefined) ({ trace, resolve, reject } = traced(this.#telemetry.call(name, options?.session), resolve, reject))
    const bad = validateCall(name, args, options)
    if (bad) return reject(bad)
    if (!this.#open()) {
      const error = this.#machine.snapshot.context.error
      return reject(error ?? new PoolClosedError({ message: `pool is closed; '${name}' was not run` }))
    }
    if (options.signal?.aborted) return reject(abortError(name, options.signal))
    const poisoned = this.#poison.check({ name, args, options })
    if (poisoned) return reject(poisoned)
    const job = new Job(this.#jobHost, name, args, options, stream, performance.now(), resolve, reject)
    if (trace !== undefined) job.trace = trace
    armDeadlines(job, (error) => this.#interrupt(job, error), this.#parts.after)
    const route = options.session === undefined ? undefined : this.#affinity.route(job, this.#slots.idle)
    if (route?.kind === "lost") return void job.fail(route.error)
    if (route?.kind === "wait") return this.#enqueue(job, false, route.queue)
    const slot = route?.kind === "slot" ? route.slot : this.#queue.length === 0 ? this.#slots.pick() : undefined
    if (slot && this.#dispatch(slot, job)) return
    if (job.phase === "settled") return
    if (this.#queue.length >= this.#o.maxQueue) {
      job.fail(new QueueFullError({ message: `queue full (${this.#o.maxQueue} calls waiting); '${name}' was not run`, maxQueue: this.#o.maxQueue }))
      return
    }
    this.#enqueue(job, false)
  }

  /** Queues `job` (first, for a retry) with a fresh checkout deadline, and asks for capacity. */
  #enqueue(job: Job, first: boolean, queue = this.#queue): void {
    enqueueWithDeadline(job, queue, first, this.#o.checkoutTimeoutMs, this.#parts.after)
    if (queue !== this.#queue) return
    if (this.#queue.length === 1 && !this.#slots.hasRoom) this.#events.emit("exhausted", { queued: 1 })
    this.#capacity.grow()
  }

  /** Sends `job` to `slot`'s worker; false when nothing was sent (the job may have been settled). */
  #dispatch(slot: Slot, job: Job): boolean {
    const worker = slot.worker
    if (worker === null) return false
    let id: number
    const timeoutMs = job.options.timeoutMs
    try {
      // What is left of the timeout travels (relative: the clocks differ); Python's ctx.deadline.
      id = worker.call(job.name, job.args, job.options.session, job.stream?.window, job,
        timeoutMs === undefined ? undefined : Math.max(0, Math.round(timeoutMs - (performance.now() - job.createdAt))))
    } catch (error) {
      job.fail(error)
      return false
    }
    const now = performance.now()
    job.phase = "running"
    job.worker = worker
    job.slot = slot
    job.callId = id
    job.attempts++
    job.dispatchedAt = now
    if (job.trace !== undefined) job.trace.dispatched(slot.id, worker.pid, job.attempts, now - job.createdAt)
    if (job.checkoutTimer !== null) {
      job.checkoutTimer()
      job.checkoutTimer = null
    }
    if (job.stream !== undefined) {
      job.stream.onDispatch((n) => worker.credit(id, n))
      if (!this.#streams.has(job)) {
        this.#streams.add(job)
        job.onSettle(() => this.#streams.delete(job))
      }
    }
    if (job.options.session !== undefined) this.#affinity.bind(job.options.session, slot)
    this.#checkoutWait.record(now - job.createdAt)
    this.#capacity.afterDispatch(slot, worker)
    return true
  }

  /** The worker answered `job`: its metrics, and whether the worker is now due for recycling. */
  #answered(job: Job): void {
    this.#callDuration.record(performance.now() - job.dispatchedAt)
    const slot = job.slot
    if (slot !== null && job.worker !== null) this.#capacity.afterAnswer(slot, job.worker)
  }

  /**
   * `job`'s worker died with it in flight. Never started in Python: it runs elsewhere, once (not a
   * retry). Maybe started: an idempotent call goes back to the head of the queue for another worker;
   * any other gets the crash error.
   */
  #lost(job: Job, error: Error, started: boolean): void {
    if (job.phase !== "running") return
    const { worker, slot } = job
    if (job.trace !== undefined) job.trace.lost(error, started)
    job.worker = null
    job.slot = null
    if (!this.#open()) return void job.fail(error)
    if (!started) {
      // A strict session's call may run on its own worker only, which is gone.
      if (job.options.affinity === "strict" && slot !== null) return void job.fail(affinityError(job, slot.id, worker?.pid ?? null, "died"))
      job.attempts--
      // Given back by a worker that still serves: it refused the call because it is stopping on its
      // own (SIGTERM). It gets nothing more; it exits once it has answered what it started.
      if (slot !== null && worker !== null && slot.worker === worker && isServing(worker.state)) {
        slot.recycle ??= "stopping: it refused a call it had not started"
        this.#slots.withdraw(slot)
      }
    } else if (!(error instanceof WorkerCrashedError)) {
      return void job.fail(error)
    } else {
      // Its worker died running it, of something the call may have caused: one more kill on its
      // poison key; once poison, no retry.
      const poisoned = causedByCall(error) ? this.#poison.killed(job) : undefined
      if (!job.mayRetry()) return void job.fail(error)
      if (poisoned) return void job.fail(poisoned)
    }
    if (job.trace !== undefined) job.trace.requeued(started)
    job.phase = "queued"
    this.#enqueue(job, true)
  }

  /**
   * A timeout or abort. A queued call fails at once; a running one gets `cancel` and settles once
   * it has stopped (its answer, or its worker's death), so a rejected call no longer runs.
   */
  #interrupt(job: Job, error: InterruptError): void {
    const worker = job.phase === "running" ? job.worker : null
    if (worker === null) {
      if (job.phase === "queued" && job.node) job.queue?.remove(job.node)
      return void job.fail(error("never-started"))
    }
    if (!job.interrupt(error)) return
    const id = job.callId
    worker.cancel(id)
    // Code that Cancelled cannot reach (C code, blocking I/O, a handler that swallows it) costs the worker.
    const grace = this.#o.cancelGraceMs
    this.#parts.after(grace, () => {
      if (worker.isRunning(id)) worker.kill({ type: "KILL", reason: `call did not stop within cancelGraceMs (${grace} ms) of its cancel` })
    })
  }

  /** `slot`'s worker has room: offer it to the waiting calls (unless it is being recycled). */
  #offer(slot: Slot): void {
    this.#slots.place(slot)
    if (this.#slots.idle.has(slot) || this.#slots.open.has(slot)) this.#pump(slot)
  }

  #pump(ready: Slot): void {
    // A strict session waiting for exactly this worker goes first.
    const pinned = this.#slots.idle.has(ready) || this.#slots.open.has(ready) ? this.#affinity.takePinned(ready) : undefined
    if (pinned) this.#dispatch(ready, pinned)
    while (this.#queue.length > 0) {
      const slot = this.#slots.pick()
      if (slot === undefined) return this.#capacity.grow()
      const job = this.#queue.shift()!
      if (!this.#dispatch(slot, job)) this.#slots.place(slot)
    }
  }
}
