/**
 * The worker actor binds one Python process, its channel and one worker machine.
 * It performs the IO; the machine decides which transitions are legal. It owns no
 * timers: the supervisors measure time, feed INIT_TIMEOUT / HEARTBEAT_TIMEOUT, and ping.
 */
import { createActor } from "xstate"
import type { Actor, EventFromLogic } from "xstate"
import { isLive, workerMachine } from "../machines/worker.ts"
import type { ExitInfo, WorkerStateValue } from "../machines/worker.ts"
import { chooseCodec, DEFAULT_MAX_FRAME_BYTES } from "../protocol/index.ts"
import type { CallArgs, Ready } from "../protocol/index.ts"
import { answerError, argumentsError, drained, unknownHandlerError } from "./answers.ts"
import { Channel } from "./channel.ts"
import { crashError } from "./crash.ts"
import { answerHostCall } from "./host-calls.ts"
import type { HostCallHandler } from "./host-calls.ts"
import { LineSplitter, Tail } from "./output.ts"
import { Pings } from "./pings.ts"
import { spawnPython } from "./python-process.ts"
import type { ProcessSpec, PythonProcess } from "./python-process.ts"
import type { CallHandle, CallOptions, KillEvent, WorkerActorEvent, WorkerActorOptions } from "./worker-types.ts"

export type { CallHandle, CallOptions, KillEvent, WorkerActorEvent, WorkerActorOptions } from "./worker-types.ts"

/**
 * One incarnation of a Python worker.
 *
 * @example
 * ```ts
 * const w = new WorkerActor({ workerId: "w1", spec: { module: "my_workers" } }).start()
 * await w.ready
 * await w.call("add", { a: 1, b: 2 }).answer // 3
 * ```
 */
export class WorkerActor {
  readonly id: string
  /** Resolves with the handler names once the worker is ready; rejects if it ends first. */
  readonly ready: Promise<ReadonlyArray<string>>
  /** Resolves once the process has exited and every pending call was settled. */
  readonly exited: Promise<ExitInfo | null>
  readonly #machine: Actor<typeof workerMachine>
  readonly #spec: ProcessSpec
  readonly #onHostCall: HostCallHandler | undefined
  /** Session of the call in flight (one at a time), for host calls made during it. */
  #session: string | undefined
  #proc!: PythonProcess
  #channel!: Channel
  #settleExited!: (exit: ExitInfo | null) => void
  readonly #stderr = new Tail()
  readonly #onEvent: (event: WorkerActorEvent) => void
  #initError: Ready & { status: "error" } | undefined
  #wasReady = false
  #settleReady!: { resolve: (h: ReadonlyArray<string>) => void; reject: (e: Error) => void }
  readonly #pings = new Pings()
  /** Set when a heartbeat kill ended this incarnation: what was missed. */
  #heartbeatMissed: string | undefined

  constructor(options: WorkerActorOptions) {
    this.id = options.workerId
    this.#onEvent = options.onEvent ?? (() => {})
    this.ready = new Promise((resolve, reject) => (this.#settleReady = { resolve, reject }))
    this.ready.catch(() => {}) // the owner may never await it
    this.#machine = createActor(workerMachine, { input: { workerId: options.workerId, restarts: options.restarts ?? 0 } })
    let previous: WorkerStateValue = "spawning"
    this.#machine.subscribe((snap) => {
      const state = snap.value as WorkerStateValue
      if (state === previous) return
      const from = previous
      previous = state
      this.#onEvent({ type: "state", workerId: this.id, pid: this.pid, state, previous: from })
    })
    this.#machine.start()
    this.#spec = options.spec
    this.#onHostCall = options.onHostCall
    this.exited = new Promise((resolve) => (this.#settleExited = resolve))
  }

  /** Spawns the process; events start flowing to `onEvent` from here. Call once. */
  start(): this {
    const spec = this.#spec
    const proc = spawnPython(spec)
    this.#proc = proc
    this.#channel = new Channel(proc.fromWorker, proc.toWorker, spec.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES, {
      hello: (hello) => {
        const codec = chooseCodec(hello.codecs)
        if (codec === undefined) return this.#violation(`worker offers codecs ${JSON.stringify(hello.codecs)}, host speaks msgpack or json`)
        this.#channel.welcome(codec)
      },
      ready: (ready) => {
        if (ready.status === "ok") {
          this.#send({ type: "READY", handlers: ready.handlers })
          this.#wasReady = true
          this.#settleReady.resolve(ready.handlers)
        } else {
          this.#initError = ready
          this.#send({ type: "INIT_FAILED", message: `${ready.type}: ${ready.message}` })
        }
      },
      log: (log) => this.#log("worker", log.level, log.message),
      hostCall: (call) => answerHostCall(call, this.#onHostCall, { workerId: this.id, pid: this.pid, callId: this.inFlight, session: this.inFlight === null ? undefined : this.#session }, (m) => this.#channel.send(m)),
      pong: (id) => this.#pings.pong(id),
      violation: (error) => this.#violation(error.message)
    })
    const out = new LineSplitter((line) => this.#log("stdout", "info", line))
    const err = new LineSplitter((line) => this.#log("stderr", "warning", line))
    proc.stdout.on("data", (chunk: Buffer) => out.push(chunk))
    proc.stderr.on("data", (chunk: Buffer) => {
      this.#stderr.push(chunk)
      err.push(chunk)
    })
    if (proc.pid > 0) this.#send({ type: "SPAWNED", pid: proc.pid })
    void proc.spawnError.then((error) => {
      if (error) this.#send({ type: "SPAWN_FAILED", message: `cannot start ${spec.python ?? "python3"}: ${error.message}` })
    })
    void this.#awaitExit(out, err).then(this.#settleExited)
    return this
  }

  /** The machine's current state. */
  get state(): WorkerStateValue {
    return this.#machine.getSnapshot().value as WorkerStateValue
  }

  /** The process id, or null before spawning succeeded. */
  get pid(): number | null {
    return this.#machine.getSnapshot().context.pid
  }

  /** Calls served by this incarnation. */
  get callsServed(): number {
    return this.#machine.getSnapshot().context.callsServed
  }

  /** Id of the call being served, or null. */
  get inFlight(): number | null {
    return this.#machine.getSnapshot().context.inFlight
  }

  /** True once this incarnation has been ready. */
  get wasReady(): boolean {
    return this.#wasReady
  }

  /** Handler names from `ready`. */
  get handlers(): ReadonlyArray<string> {
    return this.#machine.getSnapshot().context.handlers
  }

  /** Why this incarnation ended, once it did. */
  get lastExit(): ExitInfo | null {
    return this.#machine.getSnapshot().context.lastExit
  }

  /**
   * Runs handler `name`. The worker must be `ready`. What makes a call impossible to send
   * (not ready, unknown handler, unencodable arguments) throws synchronously and leaves the
   * worker ready; everything after dispatch settles `answer`.
   */
  call(name: string, args: CallArgs | undefined, options: CallOptions = {}): CallHandle {
    return this.#dispatch(name, args, options, undefined)
  }

  /**
   * Runs a streaming handler: `onChunk` gets each item; `answer` resolves at the end.
   * The worker sends at most `window` chunks beyond those granted with {@link credit}.
   */
  stream(name: string, args: CallArgs | undefined, options: CallOptions & { readonly window: number }, onChunk: (value: unknown) => void): CallHandle {
    return this.#dispatch(name, args, options, { window: options.window, onChunk })
  }

  /** Asks Python to stop call `id` (`ctx.cancelled`; a stream's generator is closed). */
  cancel(id: number): void {
    this.#channel.send({ kind: "cancel", id })
  }

  /** Grants `n` more chunks to stream `id`. */
  credit(id: number, n: number): void {
    this.#channel.send({ kind: "credit", id, n })
  }

  #dispatch(name: string, args: CallArgs | undefined, options: CallOptions, stream: { window: number; onChunk: (value: unknown) => void } | undefined): CallHandle {
    const snapshot = this.#machine.getSnapshot()
    if (snapshot.value !== "ready") throw new Error(`worker ${this.id} is ${String(snapshot.value)}, not ready`)
    // The machine can read `ready` while a CALL sent from inside a transition is still queued.
    if (this.#channel.pending > 0) throw new Error(`worker ${this.id} already has a call in flight`)
    if (!snapshot.context.handlers.includes(name)) throw unknownHandlerError(name, snapshot.context.handlers)
    let settle!: { resolve: (value: unknown) => void; reject: (error: unknown) => void }
    const answer = new Promise<unknown>((resolve, reject) => (settle = { resolve, reject }))
    let id: number
    const done = (): void => this.#send({ type: "DONE", id })
    this.#session = options.session
    try {
      id = this.#channel.call({
        name,
        ...(args === undefined ? {} : { args }),
        ...(options.session === undefined ? {} : { session: options.session }),
        ...(options.deadline === undefined ? {} : { deadline: options.deadline }),
        ...(stream === undefined ? {} : { stream: true, window: stream.window })
      }, {
        result: (value) => {
          done()
          settle.resolve(value)
        },
        error: (message) => {
          done()
          settle.reject(answerError(this.id, name, message, this.handlers))
        },
        chunk: stream?.onChunk,
        end: () => {
          done()
          settle.resolve(undefined)
        },
        fail: settle.reject
      })
    } catch (error) {
      throw argumentsError(name, error)
    }
    this.#send({ type: "CALL", id })
    return { id, answer }
  }

  /**
   * Sends a `ping`; resolves on its `pong`. The Python reader thread answers even while a
   * handler runs, but not while C code holds the GIL. Rejects at once before `ready` or after
   * a crash, and when the process exits. Measures no time: see `heartbeat`.
   */
  ping(): Promise<void> {
    if (!this.#wasReady || !isLive(this.state)) return Promise.reject(new Error(`worker ${this.id} is ${this.state}: no ping`))
    return this.#pings.open((id) => this.#channel.send({ kind: "ping", id }))
  }

  /** Ends this incarnation at once: the machine goes `crashed`, the process gets SIGKILL. */
  kill(event: KillEvent): void {
    if (event.type !== "HEARTBEAT_TIMEOUT") this.#send(event)
    else if (isLive(this.state)) {
      // Only a kill that ends a live incarnation names the heartbeat in the crash error.
      this.#heartbeatMissed = event.reason ?? "no pong within the heartbeat timeout"
      // The machine takes HEARTBEAT_TIMEOUT in ready/busy only; a draining worker is simply killed.
      const accepted = this.#machine.getSnapshot().can({ type: "HEARTBEAT_TIMEOUT" })
      this.#send(accepted ? { type: "HEARTBEAT_TIMEOUT" } : { type: "KILL", reason: `missed heartbeats: ${this.#heartbeatMissed}` })
    }
    this.#proc.kill("SIGKILL")
  }

  /** Accept no more calls; the in-flight one may finish. */
  drain(): void {
    this.#send({ type: "DRAIN" })
  }

  /** Asks Python to finish the current call and exit 0. */
  requestShutdown(graceMs: number): void {
    this.#channel.send({ kind: "shutdown", graceMs })
  }

  /** Sends a signal to the process (SIGTERM during ordered shutdown). */
  signal(signal: NodeJS.Signals): void {
    this.#proc.kill(signal)
  }

  // After a final state the machine accepts nothing; late facts (the EXITED after a KILL) are dropped here.
  #send(event: EventFromLogic<typeof workerMachine>): void {
    if (this.#machine.getSnapshot().status === "active") this.#machine.send(event)
  }

  #log(stream: "stdout" | "stderr" | "worker", level: "debug" | "info" | "warning" | "error", line: string): void {
    this.#onEvent({ type: "log", workerId: this.id, pid: this.pid, stream, level, line })
  }

  #violation(detail: string): void {
    this.#send({ type: "PROTOCOL_ERROR", message: detail })
    this.#proc.kill("SIGKILL")
  }

  async #awaitExit(out: LineSplitter, err: LineSplitter): Promise<ExitInfo | null> {
    const processExit = await this.#proc.exited
    // Let answers already written before the exit be read; bounded, since a grandchild may hold fd 4.
    await drained(this.#proc.fromWorker)
    out.end()
    err.end()
    this.#send({ type: "EXITED", code: processExit.code, signal: processExit.signal })
    const exit = this.lastExit
    const sinks = this.#channel.close()
    const error = this.state === "stopped" && sinks.length === 0 && this.#wasReady ? null : crashError({
      workerId: this.id,
      pid: this.pid,
      exit,
      process: processExit,
      stderrTail: this.#stderr.toString(),
      ...(this.#initError ? { initError: this.#initError } : {}),
      ...(this.#heartbeatMissed === undefined ? {} : { heartbeatMissed: this.#heartbeatMissed })
    })
    this.#pings.close(error ?? new Error(`worker ${this.id} exited`))
    if (error) {
      this.#settleReady.reject(error)
      for (const sink of sinks) sink.fail(error)
    }
    this.#machine.stop()
    this.#onEvent({ type: "exit", workerId: this.id, pid: this.pid, exit, process: processExit, error })
    return exit
  }
}
