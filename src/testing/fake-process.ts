/**
 * A fake worker process: protocol v1 over in-memory streams, in this process, with the semantics
 * of python/pyvisor_worker (bootstrap.py, dispatch.py, schedule.py, runtime.py) that the host
 * relies on: hello before the imports, welcome switches the codec, ready after the (simulated)
 * import; calls start in arrival order, at most `concurrency` at once, and a call's final frame is
 * written before the call that waited for its slot starts; a cancel answers a queued call at once;
 * `shutdown` finishes the started calls and refuses the rest with `pyvisor.ShuttingDown`; SIGTERM
 * exits at once when idle, else after the started calls; a wedged process (a `hangOn` call
 * running) answers nothing, not even pings, and only SIGKILL ends it.
 */
import { PassThrough } from "node:stream"
import type { Readable, Writable } from "node:stream"
import type { ProcessExit, SpawnContext, SpawnedProcess } from "../actors/python-process.ts"
import { FrameReader, HOST_CODECS, jsonCodec, PROTOCOL_VERSION, UnserializableError } from "../protocol/index.ts"
import type { CallArgs, Codec } from "../protocol/index.ts"
import { cancelledFrame, FakeCall, FakeExit, runCall } from "./fake-call.ts"
import type { CallFrame, CallPort, FakeCallContext, FakeHandler } from "./fake-call.ts"

/** What one fake process does (the resolved options of `fakeWorker`). @internal */
export interface FakeBehaviour {
  readonly handlers: Readonly<Record<string, FakeHandler>>
  readonly crashAfter: number
  readonly crashExit: ProcessExit
  readonly hangOn: ReadonlySet<string>
  readonly ignoreCancel: ReadonlySet<string>
  readonly garbageOn: ReadonlySet<string>
  readonly initDelayMs: number
  readonly initError: { readonly type: string; readonly message: string } | undefined
  readonly codecs: ReadonlyArray<string>
}

/** Bytes no codec decodes: a 4-byte frame of 0xc1 (never used in msgpack, not UTF-8). */
const GARBAGE = Buffer.from([0, 0, 0, 4, 0xc1, 0xc1, 0xc1, 0xc1])

// Above Linux's largest pid_max (2^22): a fake pid never names a real process (RSS reads find nothing).
let nextPid = 4_194_305

const STOP = "stop"

/**
 * One fake worker process. Tests reach it through `spawner.processes` to crash it, feed it
 * garbage, or check that it is gone.
 *
 * @example
 * ```ts
 * const fake = fakeWorker({ handlers: { add: ({ a, b }) => a + b } })
 * const pool = await createPool({ worker: { module: "fake" }, size: 1, spawner: fake })
 * fake.alive[0]?.crash() // the worker dies now; the pool restarts it
 * await pool.call("add", { a: 1, b: 2 }, { idempotent: true }) // 3: sent before the pool saw the crash, it is retried
 * ```
 */
export class FakeProcess implements SpawnedProcess {
  readonly pid = nextPid++
  readonly workerId: string
  readonly toWorker: Writable
  readonly fromWorker: Readable
  readonly stdout: Readable
  readonly stderr: Readable
  readonly exited: Promise<ProcessExit>
  readonly spawnError = Promise.resolve(null)
  readonly #in = new PassThrough()
  readonly #out = new PassThrough()
  readonly #stdout = new PassThrough()
  readonly #stderr = new PassThrough()
  readonly #b: FakeBehaviour
  readonly #context: SpawnContext
  readonly #limit: number
  readonly #reader: FrameReader
  #codec: Codec = jsonCodec
  #phase: "welcome" | "importing" | "serving" = "welcome"
  #alive = true
  #stopping = false
  #resolveExit!: (exit: ProcessExit) => void
  #exit: ProcessExit | null = null
  #cancelInit: (() => void) | null = null
  /** Calls read and not started yet (and `shutdown`'s marker), in arrival order. */
  readonly #queue: Array<FakeCall | typeof STOP> = []
  /** Every queued or running call, by id. */
  readonly #active = new Map<number, FakeCall>()
  #running = 0
  #started = 0
  /** Running calls that hang: the process is wedged while there is one. */
  #wedged = 0
  readonly #hostCalls = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>()
  #nextHostCall = 1
  readonly #port: CallPort = {
    chunk: (call, value) => this.#write({ kind: "chunk", id: call.id, value }),
    finish: (call, frame) => this.#finish(call, frame)
  }

  constructor(behaviour: FakeBehaviour, context: SpawnContext, concurrency: number, maxFrameBytes: number) {
    this.#b = behaviour
    this.#context = context
    this.workerId = context.workerId
    this.#limit = concurrency
    this.#reader = new FrameReader(maxFrameBytes)
    this.toWorker = this.#in
    this.fromWorker = this.#out
    this.stdout = this.#stdout
    this.stderr = this.#stderr
    this.exited = new Promise((resolve) => (this.#resolveExit = resolve))
    this.#in.on("data", this.#onData)
    // EOF on fd 3: the host is gone, and so is the worker (os._exit(0)).
    this.#in.on("end", () => this.#die({ code: 0, signal: null }))
    // Like an interpreter starting: the first frame comes a moment after the spawn.
    setImmediate(() => this.#write({ kind: "hello", protocol: PROTOCOL_VERSION, pid: this.pid, python: "fake", codecs: this.#b.codecs }))
  }

  /** Still running. */
  get alive(): boolean {
    return this.#alive
  }

  /** How it exited, once it has. */
  get exit(): ProcessExit | null {
    return this.#exit
  }

  /** Calls started and not answered yet. */
  get running(): number {
    return this.#running
  }

  /** Calls received and not started yet. */
  get queued(): number {
    return this.#queue.filter((c) => c !== STOP).length
  }

  /** Calls started by this process so far. */
  get started(): number {
    return this.#started
  }

  /**
   * Sends a signal, as `kill(2)` would: SIGKILL, and any signal other than SIGTERM and SIGINT, ends
   * it at once with that signal; SIGTERM is the runtime's ordered stop (at once when idle, else
   * after the started calls, refusing the queued ones), ignored while wedged; SIGINT is ignored.
   */
  kill(signal: NodeJS.Signals): boolean {
    if (!this.#alive) return false
    if (signal === "SIGINT") return true
    if (signal !== "SIGTERM") this.#die({ code: null, signal })
    else if (this.#wedged > 0) return true
    else if (this.#phase !== "serving" || this.#running === 0) this.#die({ code: 0, signal: null })
    else this.#stopping = true
    return true
  }

  /** Dies now, as a crash would: exit code 1 unless given. */
  crash(exit: Partial<ProcessExit> = {}, stderr = "Fatal Python error: Segmentation fault\n"): void {
    this.#stderr.write(stderr)
    this.#die({ code: exit.signal ? null : (exit.code ?? 1), signal: exit.signal ?? null })
  }

  /** Writes bytes no codec decodes to fd 4 (the host kills it for a protocol violation). */
  garbage(): void {
    if (this.#alive) this.#out.write(GARBAGE)
  }

  // --- reading fd 3 ---------------------------------------------------------------------------

  readonly #onData = (chunk: Buffer): void => {
    if (!this.#alive) return
    try {
      this.#reader.push(chunk, this.#onFrame)
    } catch (error) {
      this.#fatal(`protocol violation: ${(error as Error).message}`)
    }
  }

  readonly #onFrame = (payload: Buffer): void => {
    if (!this.#alive) return
    let message: unknown
    try {
      message = this.#codec.decode(payload)
    } catch (error) {
      throw new Error(`undecodable ${this.#codec.name} payload: ${(error as Error).message}`, { cause: error })
    }
    if (typeof message !== "object" || message === null || Array.isArray(message)) throw new Error("message is not a map")
    const m = message as Readonly<Record<string, unknown>>
    if (this.#phase === "welcome") return this.#welcome(m)
    switch (m["kind"]) {
      case "call": return this.#call(m)
      case "ping": return void (this.#wedged === 0 && this.#write({ kind: "pong", id: checkId(m) }))
      case "cancel": return this.#cancel(checkId(m))
      case "credit": return this.#credit(checkId(m), m["n"])
      case "host_result":
      case "host_error": return this.#hostAnswer(checkId(m), m)
      case "shutdown":
        this.#queue.push(STOP)
        return this.#pump()
      default:
        // A newer host may speak kinds this worker does not know: tell, do not die.
        this.#write({ kind: "log", level: "warning", message: `ignored message of unknown kind ${JSON.stringify(m["kind"])}` })
    }
  }

  #welcome(m: Readonly<Record<string, unknown>>): void {
    if (m["kind"] !== "welcome") throw new Error(`expected welcome, got ${JSON.stringify(m)}`)
    const codec = HOST_CODECS.find((c) => c.name === m["codec"] && this.#b.codecs.includes(c.name))
    if (codec === undefined) throw new Error(`welcome chose codec ${JSON.stringify(m["codec"])}, offered ${JSON.stringify(this.#b.codecs)}`)
    const features = m["features"] ?? []
    if (!Array.isArray(features) || !features.every((f) => typeof f === "string")) throw new Error("welcome features must be a list of strings")
    this.#codec = codec
    this.#phase = "importing"
    if (this.#b.initDelayMs > 0) this.#cancelInit = this.#context.after(this.#b.initDelayMs, () => this.#imported())
    else setImmediate(() => this.#imported())
  }

  #imported(): void {
    this.#cancelInit = null
    if (!this.#alive) return
    const error = this.#b.initError
    if (error !== undefined) {
      this.#write({ kind: "ready", status: "error", type: error.type, message: error.message, traceback: "" })
      return this.#die({ code: 1, signal: null })
    }
    // Hanging and garbage-writing handlers are registered too: the host sends them calls.
    this.#write({ kind: "ready", status: "ok", handlers: [...new Set([...Object.keys(this.#b.handlers), ...this.#b.hangOn, ...this.#b.garbageOn])] })
    this.#phase = "serving"
    this.#pump()
  }

  #call(m: Readonly<Record<string, unknown>>): void {
    checkId(m)
    if (m["window"] !== undefined) checkCount(m["window"], "call window")
    const call = new FakeCall(m)
    this.#active.set(call.id, call)
    this.#queue.push(call)
    this.#pump()
  }

  #cancel(id: number): void {
    const call = this.#active.get(id)
    if (call === undefined) return // late (already answered) or unknown: nothing to stop
    if (!call.started) {
      this.#queue.splice(this.#queue.indexOf(call), 1)
      return this.#finish(call, cancelledFrame(call, `call ${id} was cancelled before it started`))
    }
    if (!this.#b.hangOn.has(call.name)) call.cancel()
  }

  #credit(id: number, n: unknown): void {
    this.#active.get(id)?.grant(checkCount(n, "credit n"))
  }

  #hostAnswer(id: number, m: Readonly<Record<string, unknown>>): void {
    const waiter = this.#hostCalls.get(id)
    if (waiter === undefined) return this.#write({ kind: "log", level: "warning", message: `${String(m["kind"])} for host call ${id} that nobody waits for` })
    this.#hostCalls.delete(id)
    if (m["kind"] === "host_result") return waiter.resolve(m["value"])
    waiter.reject(Object.assign(new Error(String(m["message"])), { name: "HostCallError", type: m["type"] }))
  }

  // --- the scheduler (schedule.py) -------------------------------------------------------------

  /** Starts queued calls from the head while a slot is free; stops once `shutdown` or SIGTERM says so. */
  #pump(): void {
    while (this.#alive && this.#phase === "serving") {
      if (this.#stopping) {
        if (this.#running === 0) this.#drainAndExit()
        return
      }
      const head = this.#queue[0]
      if (head === undefined || this.#running >= this.#limit) return
      this.#queue.shift()
      if (head === STOP) this.#stopping = true
      else this.#start(head)
    }
  }

  #start(call: FakeCall): void {
    call.started = true
    this.#running++
    if (++this.#started > this.#b.crashAfter) return this.crash(this.#b.crashExit, `fakeWorker: crashAfter ${this.#b.crashAfter}: call ${this.#started} kills the process\n`)
    if (this.#b.garbageOn.has(call.name)) return this.garbage()
    if (this.#b.hangOn.has(call.name)) return void this.#wedged++
    const handler = this.#b.handlers[call.name]
    if (handler === undefined) {
      return this.#finish(call, { kind: "error", id: call.id, type: "pyvisor.UnknownHandler", message: `no handler named '${call.name}'; available: ${Object.keys(this.#b.handlers).join(", ") || "(none)"}`, traceback: "" })
    }
    runCall(call, handler, this.#contextOf(call), this.#port, !this.#b.ignoreCancel.has(call.name))
  }

  /** The call's one final frame, then its slot goes to the next call (rule 4: answer before the next start). */
  #finish(call: FakeCall, frame: CallFrame): void {
    if (call.answered || !this.#alive) return
    call.answered = true
    this.#active.delete(call.id)
    try {
      this.#write(frame)
    } catch (error) {
      if (!(error instanceof UnserializableError)) throw error
      this.#write({ kind: "error", id: call.id, type: "pyvisor.Unserializable", message: `cannot encode the result of '${call.name}' with ${this.#codec.name}: ${error.message}`, traceback: "" })
    }
    if (!call.started) return
    this.#running--
    this.#pump()
  }

  /** Stopping with nothing running: the calls still queued are refused, then exit 0. */
  #drainAndExit(): void {
    for (const call of this.#queue.splice(0)) {
      if (call !== STOP) this.#finish(call, { kind: "error", id: call.id, type: "pyvisor.ShuttingDown", message: "the worker is shutting down", traceback: "" })
    }
    this.#die({ code: 0, signal: null })
  }

  #contextOf(call: FakeCall): FakeCallContext {
    return {
      id: call.id,
      name: call.name,
      session: call.session,
      workerId: this.workerId,
      pid: this.pid,
      get cancelled() {
        return call.cancelled
      },
      signal: call.signal,
      log: (level, message) => this.#write({ kind: "log", level, message }),
      print: (line) => void (this.#alive && this.#stdout.write(`${line}\n`)),
      callHost: (name, args) => this.#callHost(call, name, args),
      exit: (code = 0) => {
        this.#die({ code, signal: null })
        throw new FakeExit(code)
      }
    }
  }

  #callHost(call: FakeCall, name: string, args: CallArgs | undefined): Promise<unknown> {
    const id = this.#nextHostCall++
    return new Promise((resolve, reject) => {
      this.#hostCalls.set(id, { resolve, reject })
      this.#write({ kind: "host_call", id, name, ...(args === undefined ? {} : { args }), call: call.id })
    })
  }

  // --- writing fd 4, and the end ---------------------------------------------------------------

  #write(message: Readonly<Record<string, unknown>>): void {
    if (this.#alive) this.#out.write(this.#codec.frame(message))
  }

  /** A protocol violation by the host: tell it if possible, then exit 3 (writer.fatal). */
  #fatal(message: string): void {
    this.#stderr.write(`pyvisor_worker: ${message}\n`)
    try {
      this.#write({ kind: "log", level: "error", message })
    } catch {
      // best effort only
    }
    this.#die({ code: 3, signal: null })
  }

  /** Gone: nothing more is read or written; the pipes reach their end, then the exit is reported. */
  #die(exit: ProcessExit): void {
    if (!this.#alive) return
    this.#alive = false
    this.#exit = exit
    this.#cancelInit?.()
    this.#in.off("data", this.#onData)
    this.#in.resume() // what the host still writes goes nowhere, as into a closed pipe
    this.#out.end()
    this.#stdout.end()
    this.#stderr.end()
    setImmediate(() => this.#resolveExit(exit))
  }
}

const checkId = (m: Readonly<Record<string, unknown>>): number => {
  const id = m["id"]
  if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id > 0xffff_ffff) throw new Error(`${String(m["kind"])} with a missing or invalid id: ${JSON.stringify(id)}`)
  return id
}

const checkCount = (value: unknown, what: string): number => {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) throw new Error(`${what} must be an integer >= 1, got ${JSON.stringify(value)}`)
  return value
}
