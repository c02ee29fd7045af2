/**
 * One incarnation of a Python worker: the worker machine decides, this class does what it
 * decides. It implements the machine's named actions (spawn the process, welcome it, arm the
 * init timeout, kill, fail pending calls, report the exit) and turns what the process and the
 * connection say into machine events. The calls in flight live in the connection (`Channel`);
 * the lifecycle lives in the machine's snapshot; nothing here keeps a copy of either.
 */
import type { AnyActorRef } from "xstate"
import { chooseCodec, DEFAULT_MAX_FRAME_BYTES } from "../protocol/index.ts"
import type { CallArgs, ErrorMessage, Ready } from "../protocol/index.ts"
import { isLive, isServing, workerMachine } from "../machines/worker.ts"
import type { ExitInfo, KillEvent, WorkerEvent, WorkerStateValue } from "../machines/worker.ts"
import { answerError, argumentsError, drained, unknownHandlerError } from "./answers.ts"
import { Channel } from "./channel.ts"
import type { CallSink } from "./channel.ts"
import { crashError } from "./crash.ts"
import { takeFaultDump } from "./forensics.ts"
import { readOomKills } from "./oom.ts"
import { answerHostCall } from "./host-calls.ts"
import type { HostCallHandler } from "./host-calls.ts"
import { MachineRunner } from "./machine-runner.ts"
import { LineSplitter, Tail } from "./output.ts"
import { Pings } from "./pings.ts"
import { spawnPython } from "./python-process.ts"
import type { ProcessExit, ProcessSpawner, ProcessSpec, SpawnedProcess } from "./python-process.ts"

/**
 * What one incarnation reports to its owner (and `pool.on("worker" | "log")` to users).
 *
 * @example
 * ```ts
 * pool.on("worker", (e: WorkerActorEvent) => e.type === "state" && console.log(e.workerId, e.previous, "→", e.state))
 * ```
 */
export type WorkerActorEvent =
  | { readonly type: "state"; readonly workerId: string; readonly pid: number | null; readonly state: WorkerStateValue; readonly previous: WorkerStateValue }
  | { readonly type: "log"; readonly workerId: string; readonly pid: number | null; readonly stream: "stdout" | "stderr" | "worker"; readonly level: "debug" | "info" | "warning" | "error"; readonly line: string }
  | { readonly type: "exit"; readonly workerId: string; readonly pid: number | null; readonly exit: ExitInfo | null; readonly process: ProcessExit; readonly error: Error | null }

/**
 * How an incarnation ended, as its `exited` promise reports it.
 *
 * @example
 * ```ts
 * const { error, wasReady, served } = await worker.exited // error null: a clean stop
 * ```
 */
export interface ExitReport {
  readonly exit: ExitInfo | null
  readonly process: ProcessExit
  /** The error its pending calls got; null for a clean stop of a worker that had been ready. */
  readonly error: Error | null
  /** It reached `ready`. */
  readonly wasReady: boolean
  /** Calls it answered. */
  readonly served: number
}

/**
 * What the owner (the pool) hears from an incarnation, at its edges only. All optional.
 *
 * @example
 * ```ts
 * const hooks: WorkerHooks = { ready: (w) => idle.add(w), withdraw: (w) => idle.delete(w) }
 * ```
 */
export interface WorkerHooks {
  /** Every state change, and the final exit; and every output line. */
  readonly event?: (worker: Worker, event: WorkerActorEvent) => void
  /** The handshake finished: it serves from now on. */
  readonly ready?: (worker: Worker) => void
  /** The connection crossed its capacity: no room (false) or room again (true). */
  readonly room?: (worker: Worker, hasRoom: boolean) => void
  /** Calls in flight went from none to some (true), or back to none (false). */
  readonly activity?: (worker: Worker, active: boolean) => void
  /** It stops serving for good (draining or terminating). */
  readonly withdraw?: (worker: Worker) => void
  /** It is gone (after `failPending`). */
  readonly exit?: (worker: Worker, report: ExitReport) => void
}

/**
 * Options of one incarnation.
 *
 * @example
 * ```ts
 * const options: WorkerOptions = { workerId: "w1", spec: { module: "my_workers" }, initTimeoutMs: 10_000, timer: after, prefetch: 2 }
 * ```
 */
export interface WorkerOptions {
  readonly workerId: string
  readonly spec: ProcessSpec
  /** Kill it if it is not ready this long after spawning. */
  readonly initTimeoutMs: number
  /** Arms a timer (the runtime's clock); returns its cancel. */
  readonly timer: (ms: number, fn: () => void) => () => void
  /** Calls Python runs at once (`worker.concurrency`). Default 1. */
  readonly concurrency?: number
  /** Calls sent beyond those it runs (`worker.prefetch`). Default 0. */
  readonly prefetch?: number
  readonly hooks?: WorkerHooks
  /** Answers the worker's `ctx.call_host(...)`; without it they fail with `pyvisor.NoHostHandler`. */
  readonly onHostCall?: HostCallHandler
  /** Starts the process. Default: `spawnPython`. */
  readonly spawn?: ProcessSpawner | undefined
  /** When inspected: the actor (the pool machine's) whose system this incarnation's machine joins, as `worker:<workerId>`. */
  readonly inspectParent?: AnyActorRef
}

/** How long a worker whose fd 4 ended may take to exit by itself before it is killed. */
const FD4_EOF_GRACE_MS = 500

type Settle = { resolve: (value: unknown) => void; reject: (error: unknown) => void }

/**
 * One worker incarnation.
 *
 * @example
 * ```ts
 * const w = new Worker({ workerId: "w1", spec: { module: "my_workers" }, initTimeoutMs: 10_000, timer: after }).start()
 * await w.ready
 * const id = w.call("add", { a: 1, b: 2 }, undefined, undefined, sink) // sink.result(3) follows
 * ```
 */
export class Worker {
  readonly id: string
  /** Resolves with the handler names once ready; rejects with the crash error if it ends first. */
  readonly ready: Promise<ReadonlyArray<string>>
  /** Resolves once the process is gone and every pending call was settled. */
  readonly exited: Promise<ExitReport>
  readonly #o: WorkerOptions
  readonly #hooks: WorkerHooks
  readonly #machine: MachineRunner<typeof workerMachine>
  readonly #stderr = new Tail()
  readonly #pings = new Pings()
  #proc: SpawnedProcess | undefined
  #channel: Channel | undefined
  #settleReady!: Settle
  #settleExited!: (report: ExitReport) => void
  #initError: (Ready & { status: "error" }) | undefined
  #disarmInit: (() => void) | undefined
  #graceMs = 0
  #crash: Error | null = null
  /** The kernel's OOM kill count when the process was spawned (null: unknown). */
  #oomBaseline: number | null = null
  /** faulthandler's dump, read once the process is gone. */
  #stack: string | undefined
  /**
   * This incarnation's memory at the pool's last sampling (null until sampled): the one record of
   * it, read by recycling, `snapshot()` and the crash report.
   */
  lastRssBytes: number | null = null
  /** Proportional set size at the same sampling (shared pages split among their sharers), or null. */
  lastPssBytes: number | null = null
  /** Every answer the worker wrote before it exited has been read. */
  #drainedFully = false
  /** The owner is refilling this worker after an answer freed a slot: edges wait for the outcome. */
  #refilling = false

  constructor(options: WorkerOptions) {
    this.id = options.workerId
    this.#o = options
    this.#hooks = options.hooks ?? {}
    this.ready = new Promise((resolve, reject) => (this.#settleReady = { resolve: resolve as Settle["resolve"], reject }))
    this.ready.catch(() => {}) // the owner may never await it
    this.exited = new Promise((resolve) => (this.#settleExited = resolve))
    this.#machine = new MachineRunner(workerMachine, { workerId: options.workerId }, {
      spawn: () => this.#spawn(),
      sendWelcome: (params: { codecs: ReadonlyArray<string> }) => this.#welcome(params.codecs),
      armInitTimeout: () => {
        this.#disarmInit = this.#o.timer(this.#o.initTimeoutMs, () => this.#send({ type: "INIT_TIMEOUT" }))
      },
      disarmInitTimeout: () => this.#disarmInit?.(),
      announceReady: (params: { handlers: ReadonlyArray<string> }) => {
        this.#settleReady.resolve(params.handlers)
        this.#hooks.ready?.(this)
      },
      withdraw: () => this.#hooks.withdraw?.(this),
      requestShutdown: () => this.#channel?.send({ kind: "shutdown", graceMs: this.#graceMs }),
      kill: () => this.#proc?.kill("SIGKILL"),
      failPending: () => this.#failPending(),
      reportExit: () => this.#reportExit()
    }, (snapshot, previous) => {
      if (snapshot.value === previous.value) return
      this.#hooks.event?.(this, { type: "state", workerId: this.id, pid: this.pid, state: snapshot.value as WorkerStateValue, previous: previous.value as WorkerStateValue })
    }, options.inspectParent === undefined ? undefined : { parent: options.inspectParent, systemId: `worker:${options.workerId}` })
  }

  /** Runs the machine: its first action spawns the process. Call once. */
  start(): this {
    this.#machine.start()
    return this
  }

  /** The machine's current state. */
  get state(): WorkerStateValue {
    return this.#machine.snapshot.value as WorkerStateValue
  }

  /** The process id, or null before spawning succeeded. */
  get pid(): number | null {
    return this.#machine.snapshot.context.pid
  }

  /** Handler names from `ready`. */
  get handlers(): ReadonlyArray<string> {
    return this.#machine.snapshot.context.handlers
  }

  /** Why this incarnation ended (or is ending), once decided. */
  get lastExit(): ExitInfo | null {
    return this.#machine.snapshot.context.lastExit
  }

  /** True once this incarnation has been ready. */
  get wasReady(): boolean {
    return this.#machine.snapshot.context.wasReady
  }

  /** Calls answered by this incarnation. */
  get served(): number {
    return this.#channel?.served ?? 0
  }

  /** Calls in flight. */
  get inFlight(): number {
    return this.#channel?.pending ?? 0
  }

  /** Serving, and room for one more call. */
  get hasRoom(): boolean {
    return isServing(this.state) && this.#channel !== undefined && this.#channel.hasRoom
  }

  /**
   * Sends a call to handler `name` (a stream call when `window` is given; `deadline`: ms left of
   * its timeout); its answers go to `sink`. What makes a call impossible to send (no room, unknown handler, unencodable arguments)
   * throws synchronously; returns the call's protocol id.
   */
  call(name: string, args: CallArgs | undefined, session: string | undefined, window: number | undefined, sink: CallSink, deadline?: number): number {
    const channel = this.#channel
    if (channel === undefined || !this.hasRoom) throw new Error(`worker ${this.id} is ${this.state} with ${this.inFlight} call(s) in flight: no room`)
    const handlers = this.handlers
    if (!handlers.includes(name)) throw unknownHandlerError(name, handlers)
    try {
      return channel.call(name, args, session, window, sink, deadline)
    } catch (error) {
      throw argumentsError(name, error)
    }
  }

  /** The sink of call `id` while it is in flight on this incarnation (a host call names its call by this id). */
  sinkOf(id: number): CallSink | undefined {
    return this.#channel?.sink(id)
  }

  /** The error an `error` frame for a call to `name` becomes. */
  answerError(name: string, message: ErrorMessage): Error {
    return answerError(this.id, name, message, this.handlers)
  }

  /** Runs `fn` once nothing is in flight (at once if nothing is). */
  whenIdle(fn: () => void): void {
    if (this.#channel === undefined) return fn()
    this.#channel.whenIdle(fn)
  }

  /** Asks Python to stop call `id` (`ctx.cancelled`; a stream's generator is closed). */
  cancel(id: number): void {
    this.#channel?.send({ kind: "cancel", id })
  }

  /** Grants `n` more chunks to stream `id`. */
  credit(id: number, n: number): void {
    this.#channel?.send({ kind: "credit", id, n })
  }

  /** True while call `id` is in flight on this incarnation. */
  isRunning(id: number): boolean {
    return this.#channel?.isPending(id) ?? false
  }

  /** Sends a `ping`; resolves on its `pong`. Rejects at once unless serving, and when the process exits. */
  ping(): Promise<void> {
    const channel = this.#channel
    if (!this.wasReady || !isLive(this.state) || channel === undefined) return Promise.reject(new Error(`worker ${this.id} is ${this.state}: no ping`))
    return this.#pings.open((id) => channel.send({ kind: "ping", id }))
  }

  /** Ends this incarnation now (the machine decides; a live process gets SIGKILL). */
  kill(event: KillEvent): void {
    this.#send(event)
  }

  /** Stops taking calls; Python finishes the ones in flight within `graceMs` and exits. */
  drain(graceMs: number): void {
    this.#graceMs = graceMs
    this.#send({ type: "DRAIN" })
  }

  /** Sends a signal to the process (SIGTERM during an ordered stop). */
  signal(signal: NodeJS.Signals): void {
    this.#proc?.kill(signal)
  }

  #send(event: WorkerEvent): void {
    this.#machine.send(event)
  }

  #spawn(): void {
    const spec = this.#o.spec
    this.#oomBaseline = readOomKills()
    const proc = (this.#o.spawn ?? spawnPython)(spec, { workerId: this.id, after: this.#o.timer })
    this.#proc = proc
    this.#channel = new Channel(proc.fromWorker, proc.toWorker, spec.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES, {
      hello: (hello) => this.#send({ type: "HELLO", codecs: hello.codecs }),
      ready: (ready) => {
        if (ready.status === "ok") return this.#send({ type: "READY", handlers: ready.handlers })
        this.#initError = ready
        this.#send({ type: "INIT_FAILED", message: `${ready.type}: ${ready.message}` })
      },
      log: (log) => this.#log("worker", log.level, log.message),
      hostCall: (call) => {
        // The runtime names the call it asks for; a runtime that does not is served one call at a time.
        const channel = this.#channel
        const named = call.call === undefined ? undefined : channel?.sink(call.call)
        const running = call.call === undefined ? channel?.soleCall() ?? null : named && { id: call.call, session: named.session }
        answerHostCall(call, this.#o.onHostCall, { workerId: this.id, pid: this.pid, callId: running?.id ?? null, session: running?.session }, (m) => this.#channel?.send(m))
      },
      pong: (id) => this.#pings.pong(id),
      violation: (error) => this.#send({ type: "PROTOCOL_ERROR", message: error.message }),
      capacity: (saturated) => this.#capacityEdge(saturated),
      activity: (active) => this.#hooks.activity?.(this, active)
    }, (this.#o.concurrency ?? 1) + (this.#o.prefetch ?? 0))
    const out = new LineSplitter((line) => this.#log("stdout", "info", line))
    const err = new LineSplitter((line) => this.#log("stderr", "warning", line))
    proc.stdout.on("data", (chunk: Buffer) => out.push(chunk))
    proc.stderr.on("data", (chunk: Buffer) => {
      this.#stderr.push(chunk)
      err.push(chunk)
    })
    // fd 4 ending while the process lives (a handler closed or dup2ed over it): no answer can come.
    proc.fromWorker.once("end", () => this.#answersEnded())
    if (proc.pid > 0) this.#send({ type: "SPAWNED", pid: proc.pid })
    void proc.spawnError.then((error) => {
      if (error) this.#send({ type: "SPAWN_FAILED", message: `cannot start ${spec.python ?? "python3"}: ${error.message}` })
      // A process whose pid is known only once it started (forked by a zygote): announced now.
      else if (this.pid === null && proc.pid > 0) this.#send({ type: "SPAWNED", pid: proc.pid })
    })
    void proc.exited.then(async (exit) => {
      // Answers written before the exit are still in the pipe: read them first. Its last stderr
      // lines too: a forked worker's stderr is a socket of its own, whose bytes may still be on
      // their way when the zygote reports the exit, and the crash report quotes them.
      const [answers] = await Promise.all([drained(proc.fromWorker), drained(proc.stderr)])
      this.#drainedFully = answers
      if (proc.faultFile !== undefined) this.#stack = takeFaultDump(proc.faultFile)
      out.end()
      err.end()
      this.#send({ type: "EXITED", code: exit.code, signal: exit.signal, pending: this.inFlight })
    })
  }

  /**
   * The connection crossed its capacity. When an answer frees a slot of a saturated worker, the
   * owner refills it first, and the machine hears only what is left after that: a worker kept full
   * by its queue stays `busy`, with no transition per call.
   */
  #capacityEdge(saturated: boolean): void {
    if (!isServing(this.state)) return
    if (saturated) {
      if (!this.#refilling) this.#send({ type: "SATURATED" })
      this.#hooks.room?.(this, false)
      return
    }
    this.#refilling = true
    try {
      this.#hooks.room?.(this, true)
    } finally {
      this.#refilling = false
    }
    if (this.#channel?.hasRoom === true && this.state === "busy") this.#send({ type: "UNSATURATED" })
  }

  /**
   * EOF on fd 4. A process that is exiting closes it too, just before its exit is reported: it
   * gets `FD4_EOF_GRACE_MS` to exit by itself (keeping its real exit code), else it is killed.
   */
  #answersEnded(): void {
    const expectsAnswers = (): boolean => isServing(this.state) || this.state === "initializing"
    if (!expectsAnswers()) return
    this.#o.timer(FD4_EOF_GRACE_MS, () => {
      if (expectsAnswers()) this.#send({ type: "KILL", reason: "closed fd 4, which its answers come on: nothing can answer any more" })
    })
  }

  #welcome(codecs: ReadonlyArray<string>): void {
    const codec = chooseCodec(codecs)
    if (codec === undefined) return this.#send({ type: "PROTOCOL_ERROR", message: `worker offers codecs ${JSON.stringify(codecs)}, host speaks msgpack or json` })
    this.#channel?.welcome(codec)
  }

  #processExit(): ProcessExit {
    const exit = this.lastExit
    return { code: exit?.code ?? null, signal: exit?.signal ?? null }
  }

  #crashError(): Error {
    if (this.#crash !== null) return this.#crash
    const oldest = this.#channel?.oldest()
    return this.#crash = crashError({
      workerId: this.id,
      pid: this.pid,
      exit: this.lastExit,
      process: this.#processExit(),
      stderrTail: this.#stderr.toString(),
      oomKillsRose: this.#oomBaseline !== null && (readOomKills() ?? 0) > this.#oomBaseline,
      ...(this.#initError ? { initError: this.#initError } : {}),
      ...(this.#stack === undefined ? {} : { stack: this.#stack }),
      ...(oldest?.sink.name === undefined ? {} : { call: { name: oldest.sink.name, id: oldest.id } }),
      ...(this.lastRssBytes === null ? {} : { rssBytes: this.lastRssBytes })
    })
  }

  /**
   * Python starts calls in the order they were sent, runs at most `concurrency` at once, and writes
   * a call's answer before it starts the one that waited for its slot. So once every answer it
   * wrote has been read, of the calls still unanswered only the first `concurrency` may have
   * started; the others certainly did not, and may run elsewhere. If the pipe could not be read to
   * its end, any of them may have started.
   */
  #failPending(): void {
    const error = this.#crashError()
    const mayHaveStarted = this.#drainedFully ? (this.#o.concurrency ?? 1) : Infinity
    const sinks = this.#channel?.close() ?? []
    // Last first: a requeued call goes to the head of the queue, so the first ends up first again.
    for (let i = sinks.length - 1; i >= 0; i--) sinks[i]!.lost(error, i < mayHaveStarted)
  }

  #reportExit(): void {
    this.#channel?.close()
    this.#disarmInit?.()
    const clean = this.state === "stopped" && this.wasReady
    const error = clean ? null : this.#crashError()
    this.#pings.close(error ?? new Error(`worker ${this.id} exited`))
    if (error) this.#settleReady.reject(error)
    const report: ExitReport = { exit: this.lastExit, process: this.#processExit(), error, wasReady: this.wasReady, served: this.served }
    this.#hooks.event?.(this, { type: "exit", workerId: this.id, pid: this.pid, exit: report.exit, process: report.process, error })
    this.#hooks.exit?.(this, report)
    this.#settleExited(report)
  }

  #log(stream: "stdout" | "stderr" | "worker", level: "debug" | "info" | "warning" | "error", line: string): void {
    this.#hooks.event?.(this, { type: "log", workerId: this.id, pid: this.pid, stream, level, line })
  }
}
