/**
 * The zygote process: `python -m pyvisor_worker` in fork-server mode, spawned like a worker (execa,
 * fds 3/4 for its control channel), which imports the user's code once and forks workers on
 * request. This class owns the process, its control channel, the rendezvous socket its children
 * connect to, and the forks in flight; `zygoteResource` makes it an Effect resource.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { ProtocolError, WorkerCrashedError } from "../../errors.ts"
import { describeProcessExit } from "../../machines/worker.ts"
import type { ExitInfo } from "../../machines/worker.ts"
import { crashError } from "../crash.ts"
import { buildEnv } from "../env.ts"
import { takeFaultDump } from "../forensics.ts"
import { LineSplitter, Tail } from "../output.ts"
import { RUNTIME_PATH, spawnPython } from "../python-process.ts"
import type { ProcessExit, ProcessSpec, SpawnedProcess } from "../python-process.ts"
import { Control } from "./control.ts"
import type { ZygoteMessage } from "./control.ts"
import { ForkedProcess } from "./forked.ts"
import { Rendezvous } from "./rendezvous.ts"

/**
 * Native thread pools read these when numpy & co. load, i.e. in the zygote, before any fork: set
 * to 1 there unless the user set them (a forked worker cannot shrink a pool it inherited).
 *
 * @example
 * ```ts
 * THREAD_VARS.includes("OMP_NUM_THREADS") // true
 * ```
 */
export const THREAD_VARS: ReadonlyArray<string> = ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"]

/**
 * What the zygote said once its imports were done.
 *
 * @example
 * ```ts
 * const { threads } = await zygote.ready // 1: safe to fork
 * ```
 */
export interface ZygoteReady {
  readonly pid: number
  /** Threads it runs (1 expected: forking a multi-threaded process may deadlock the child). */
  readonly threads: number
  /** An import that failed; each forked worker reports it as its own init error. */
  readonly importError: string | null
}

/**
 * Where the zygote's own output goes (its imports may print).
 *
 * @example
 * ```ts
 * const onLog: ZygoteLog = (stream, line, pid) => console.log(`zygote ${pid} ${stream}: ${line}`)
 * ```
 */
export type ZygoteLog = (stream: "stdout" | "stderr", line: string, pid: number) => void

/**
 * The environment overrides of a zygote: the user's, the thread defaults, the fork-server switch.
 *
 * @example
 * ```ts
 * zygoteEnv({ module: "m", env: { OMP_NUM_THREADS: "4" } }, {}) // { OMP_NUM_THREADS: "4", OPENBLAS_NUM_THREADS: "1", MKL_NUM_THREADS: "1", PYVISOR_ZYGOTE: "1" }
 * ```
 */
export const zygoteEnv = (spec: ProcessSpec, host: NodeJS.ProcessEnv = process.env): Record<string, string> => {
  const inherited = buildEnv(host, spec.inheritEnv ?? "allowlist", spec.env ?? {}, RUNTIME_PATH)
  const env: Record<string, string> = { ...spec.env }
  for (const name of THREAD_VARS) if (inherited[name] === undefined) env[name] = "1"
  env["PYVISOR_ZYGOTE"] = "1"
  return env
}

/**
 * One running zygote.
 *
 * @example
 * ```ts
 * const zygote = await Zygote.start({ module: "my_workers" }, (stream, line) => console.log(stream, line))
 * await zygote.ready
 * const proc = zygote.fork() // a SpawnedProcess, as spawnPython returns
 * await zygote.stop(2_000)
 * ```
 */
export class Zygote {
  /** Resolves when its imports are done; rejects with its crash error if it exits first. */
  readonly ready: Promise<ZygoteReady>
  readonly exited: Promise<ProcessExit>
  readonly #proc: SpawnedProcess
  readonly #rendezvous: Rendezvous
  readonly #control: Control
  readonly #stderr = new Tail()
  readonly #waiting = new Map<string, ForkedProcess>()
  readonly #live = new Map<number, ForkedProcess>()
  #seq = 0
  #gone = false
  #violation: string | null = null
  #spawnError: Error | null = null

  readonly #python: string

  private constructor(spec: ProcessSpec, rendezvous: Rendezvous, onLog: ZygoteLog) {
    this.#rendezvous = rendezvous
    this.#python = spec.python ?? "python3"
    this.#proc = spawnPython({ ...spec, env: zygoteEnv(spec) })
    const proc = this.#proc
    let settle!: { resolve: (ready: ZygoteReady) => void; reject: (error: unknown) => void }
    this.ready = new Promise((resolve, reject) => (settle = { resolve, reject }))
    this.ready.catch(() => {})
    this.#control = new Control(proc.toWorker, proc.fromWorker, (message) => this.#onMessage(message, settle.resolve), (error) => {
      this.#violation = error.message
      proc.kill("SIGKILL")
    })
    const out = new LineSplitter((line) => onLog("stdout", line, proc.pid))
    const err = new LineSplitter((line) => onLog("stderr", line, proc.pid))
    proc.stdout.on("data", (chunk: Buffer) => out.push(chunk))
    proc.stderr.on("data", (chunk: Buffer) => {
      this.#stderr.push(chunk)
      err.push(chunk)
    })
    void proc.spawnError.then((error) => (this.#spawnError = error))
    this.exited = proc.exited.then(async (exit) => {
      await proc.spawnError // ENOENT and the like come with the exit: the error names the interpreter
      this.#gone = true
      // spawnPython gave it a faulthandler file, which only a worker's exit removes. Its content is
      // not reported: every worker forked from it inherited that file, so a dump may be a worker's.
      if (proc.faultFile !== undefined) takeFaultDump(proc.faultFile)
      out.end()
      err.end()
      // Requests it never answered get no child: they fail like a spawn that could not start.
      const how = describeProcessExit(exit.code, exit.signal).message
      for (const forked of this.#waiting.values()) forked.failed(new Error(`the zygote exited (${how}) before forking this worker`))
      this.#waiting.clear()
      // Its workers die with it (PDEATHSIG), and nobody is left to report their exits.
      for (const forked of this.#live.values()) void forked.lost()
      settle.reject(this.crashError(exit))
      return exit
    })
  }

  /** Opens the rendezvous socket and spawns the zygote. */
  static async start(spec: ProcessSpec, onLog: ZygoteLog): Promise<Zygote> {
    return new Zygote(spec, await Rendezvous.open(), onLog)
  }

  get pid(): number {
    return this.#proc.pid
  }

  /** The zygote process has exited (its workers are gone or going). */
  get gone(): boolean {
    return this.#gone
  }

  /**
   * Asks for a worker; returns its process at once (pid, streams and exit arrive as the zygote
   * and the child report them). Once the zygote is gone, the process fails to start.
   */
  fork(): SpawnedProcess {
    if (this.#gone) return ForkedProcess.notStarted("the zygote is not running")
    const forked = new ForkedProcess()
    const key = `f${++this.#seq}`
    this.#waiting.set(key, forked)
    const unexpect = this.#rendezvous.expect(key, (stream, socket) => forked.attach(stream, socket))
    void forked.process.exited.then(() => {
      unexpect()
      this.#waiting.delete(key)
      if (this.#live.get(forked.process.pid) === forked) this.#live.delete(forked.process.pid)
    })
    this.#control.send({ kind: "fork", key, socket: this.#rendezvous.path, token: this.#rendezvous.token })
    return forked.process
  }

  /** The error of a zygote that ended (its stderr tail included). */
  crashError(exit: ProcessExit): WorkerCrashedError | ProtocolError {
    const { code, signal } = exit
    if (this.#spawnError !== null) return this.#error({ reason: "spawn_failed", code, signal, message: `cannot start ${this.#python}: ${this.#spawnError.message}` })
    if (this.#violation !== null) return this.#error({ reason: "protocol", code, signal, message: `broke its control channel: ${this.#violation}` })
    return this.#error(describeProcessExit(code, signal))
  }

  /** The error of a zygote whose imports took longer than `ms` (it is killed): worded as a worker's. */
  timeoutError(ms: number): WorkerCrashedError | ProtocolError {
    return this.#error({ reason: "init_timeout", code: null, signal: "SIGKILL", message: `no ready within the init timeout (${ms} ms, importing in the zygote)` })
  }

  #error(exit: ExitInfo): WorkerCrashedError | ProtocolError {
    return zygoteError(exit, this.pid > 0 ? this.pid : null, this.#stderr.toString())
  }

  /**
   * Ends the zygote: closing its control channel makes it exit; SIGKILL after `killAfterMs`.
   * Then the rendezvous socket is removed.
   */
  async stop(killAfterMs: number): Promise<void> {
    this.#control.close()
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, killAfterMs)))
    await Promise.race([this.exited, late])
    clearTimeout(timer)
    if (!this.#gone) this.#proc.kill("SIGKILL")
    await this.exited
    await Promise.all([...this.#live.values()].map((forked) => forked.lost()))
    this.#rendezvous.close()
  }

  #onMessage(message: ZygoteMessage, ready: (ready: ZygoteReady) => void): void {
    switch (message.kind) {
      case "ready":
        return ready({ pid: message.pid, threads: message.threads, importError: message.importError })
      case "forked": {
        const forked = this.#waiting.get(message.key)
        this.#waiting.delete(message.key)
        if (forked === undefined) return
        this.#live.set(message.pid, forked)
        return forked.forked(message.pid)
      }
      case "forkFailed": {
        const forked = this.#waiting.get(message.key)
        this.#waiting.delete(message.key)
        return forked?.failed(new Error(`the zygote could not fork: ${message.message}`))
      }
      case "exit": {
        // Pids it reaps that are not workers (a subprocess the user's imports started) are ignored.
        const forked = this.#live.get(message.pid)
        this.#live.delete(message.pid)
        return forked?.exit({ code: message.code, signal: message.signal })
      }
    }
  }
}

/** A zygote's failure, worded as a worker's crash (workerId `zygote`). */
const zygoteError = (exit: ExitInfo, pid: number | null, stderrTail: string): WorkerCrashedError | ProtocolError =>
  crashError({ workerId: "zygote", pid, exit, process: { code: exit.code, signal: exit.signal }, stderrTail })

/**
 * Options of {@link zygoteResource}.
 *
 * @example
 * ```ts
 * const options: ZygoteResourceOptions = { spec: { module: "m" }, readyTimeoutMs: 10_000, killAfterMs: () => 2_000, onLog: () => {} }
 * ```
 */
export interface ZygoteResourceOptions {
  readonly spec: ProcessSpec
  /** Longest wait for its imports (the pool's `initTimeoutMs`). */
  readonly readyTimeoutMs: number
  /** Read when it is released: time between closing its control channel and SIGKILL. */
  readonly killAfterMs: () => number
  readonly onLog: ZygoteLog
}

/**
 * A zygote acquired in the current Scope, ready to fork; closing the Scope stops it (its workers
 * first: see `stop`). Fails with a `WorkerCrashedError` (workerId `zygote`) if it exits before
 * its imports are done, or is not done within `readyTimeoutMs`.
 *
 * @example
 * ```ts
 * const { zygote, ready } = yield* zygoteResource({ spec, readyTimeoutMs: 10_000, killAfterMs: () => 2_000, onLog })
 * ```
 */
export const zygoteResource = (options: ZygoteResourceOptions): Effect.Effect<{ readonly zygote: Zygote; readonly ready: ZygoteReady }, WorkerCrashedError | ProtocolError, Scope.Scope> =>
  Effect.gen(function*() {
    const zygote = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => Zygote.start(options.spec, options.onLog),
        // The rendezvous socket could not listen (an unwritable TMPDIR, a path too long for a socket).
        catch: (error) => zygoteError({
          reason: "spawn_failed", code: null, signal: null,
          message: `cannot open the rendezvous socket: ${error instanceof Error ? error.message : String(error)}`
        }, null, "")
      }),
      (z) => Effect.promise(() => z.stop(options.killAfterMs()))
    )
    const ready = yield* Effect.tryPromise({ try: () => zygote.ready, catch: (error) => error as WorkerCrashedError | ProtocolError }).pipe(
      Effect.timeoutOption(Duration.millis(options.readyTimeoutMs))
    )
    if (ready._tag === "None") return yield* Effect.fail(zygote.timeoutError(options.readyTimeoutMs))
    return { zygote, ready: ready.value }
  })
