/**
 * One Python interpreter running `python -m pyvisor_worker`, spawned by execa with the
 * protocol on fd 3 (host → worker) and fd 4 (worker → host).
 */
import { fileURLToPath } from "node:url"
import type { ChildProcess } from "node:child_process"
import type { Readable, Writable } from "node:stream"
import type { execa as Execa } from "execa"
import { buildEnv } from "./env.ts"
import { FAULT_FILE_ENV, faultFilePath } from "./forensics.ts"
import { cwdProblem } from "./cwd.ts"
import type { InheritEnv } from "./env.ts"

/** Where the bundled Python runtime lives (the folder holding `pyvisor_worker/`). */
export const RUNTIME_PATH = fileURLToPath(new URL("../../python", import.meta.url))

/**
 * How to start a worker process: what a spawner is given (the pool's validated `worker` options).
 *
 * @example
 * ```ts
 * const spec: ProcessSpec = { module: "my_workers", concurrency: 2, prefetch: 1 }
 * ```
 */
export interface ProcessSpec {
  /** Module(s) that register handlers: dotted names or paths ending in `.py`. */
  readonly module: string | ReadonlyArray<string>
  readonly python?: string
  readonly pythonArgs?: ReadonlyArray<string>
  readonly cwd?: string
  readonly env?: Readonly<Record<string, string>>
  readonly inheritEnv?: InheritEnv
  readonly preload?: ReadonlyArray<string>
  readonly maxFrameBytes?: number
  /** `async def` calls run at once (`--concurrency`); default 1. */
  readonly concurrency?: number
  /** Calls the host may send beyond `concurrency` (host-side only: Python queues them in order). */
  readonly prefetch?: number
  /** The worker's memory limit in MiB (`--max-memory-mb`). */
  readonly maxMemoryMb?: number
  /** Check each call's arguments against the handler's signature (`--validate`). */
  readonly validate?: boolean
}

/**
 * How the process ended: an exit code, or the signal that ended it.
 *
 * @example
 * ```ts
 * const exit: ProcessExit = await proc.exited // { code: 0, signal: null } after an ordered stop
 * ```
 */
export interface ProcessExit {
  readonly code: number | null
  readonly signal: string | null
}

/**
 * A running worker process: the protocol on `toWorker` (fd 3) and `fromWorker` (fd 4), its output,
 * its exit, and signals.
 *
 * @example
 * ```ts
 * proc.kill("SIGTERM") // the runtime's ordered stop: started calls finish, queued ones are refused
 * ```
 */
export interface PythonProcess {
  readonly pid: number
  readonly toWorker: Writable
  readonly fromWorker: Readable
  readonly stdout: Readable
  readonly stderr: Readable
  /** Resolves once the process has exited (never rejects). */
  readonly exited: Promise<ProcessExit>
  /** Sends a signal; false when the process is already gone. */
  kill(signal: NodeJS.Signals): boolean
  /** Where Python's faulthandler writes the stacks of a fatal signal (see `forensics.ts`). */
  readonly faultFile?: string
}

/** POSIX: each worker leads a process group of its own (Windows has none to signal). */
const GROUPS = process.platform !== "win32"

/** Signals process group `pgid`; false when it has no members left (or groups are not used). */
const signalGroup = (pgid: number, signal: NodeJS.Signals): boolean => {
  if (!GROUPS) return false
  try {
    process.kill(-pgid, signal)
    return true
  } catch {
    return false
  }
}

// execa is loaded when the first pool is built, not when pyvisor is imported (~120 ms of imports).
let execa: typeof Execa | undefined

/**
 * Loads the process launcher; `spawnPython` needs it. Pools call it while they start.
 *
 * @example
 * ```ts
 * await loadSpawner()
 * const proc = spawnPython({ module: "my_workers" })
 * ```
 */
export const loadSpawner = async (): Promise<void> => {
  execa ??= (await import("execa")).execa
}

/**
 * A process just started: its spawn error (ENOENT…) arrives instead of its 'spawn' event.
 *
 * @example
 * ```ts
 * const proc: SpawnedProcess = fake.processes[0]!
 * await proc.spawnError // null: it started
 * ```
 */
export type SpawnedProcess = PythonProcess & { readonly spawnError: Promise<Error | null> }

/**
 * What a spawner is told besides the spec: which worker slot it starts, and the pool's timer (on
 * the pool's Clock, so a fake process's delays follow `TestClock` like the pool's own deadlines).
 *
 * @example
 * ```ts
 * const logged: ProcessSpawner = (spec, context) => {
 *   console.log(`starting ${context.workerId}`)
 *   return fake(spec, context)
 * }
 * ```
 */
export interface SpawnContext {
  readonly workerId: string
  /** Runs `fn` after `ms` on the pool's clock; returns its cancel. */
  readonly after: (ms: number, fn: () => void) => () => void
}

/**
 * Starts one worker process: the pool's `spawner` option. The default spawns Python; a fake
 * (`fakeWorker` from `pyvisor/testing`) runs a scripted worker in-process over streams.
 *
 * @example
 * ```ts
 * const pool = await createPool({ worker: { module: "app" }, size: 1, spawner: fakeWorker({ handlers: { add: ({ a, b }) => a + b } }) })
 * ```
 */
export type ProcessSpawner = (spec: ProcessSpec, context: SpawnContext) => SpawnedProcess

/**
 * Builds the argv after the interpreter.
 *
 * @example
 * ```ts
 * workerArgs({ module: "app.workers" }) // ["-m", "pyvisor_worker", "--import", "app.workers"]
 * ```
 */
export const workerArgs = (spec: ProcessSpec): Array<string> => {
  const modules = typeof spec.module === "string" ? [spec.module] : spec.module
  return [
    ...(spec.pythonArgs ?? []), "-m", "pyvisor_worker",
    ...modules.flatMap((m) => ["--import", m]),
    ...(spec.preload ?? []).flatMap((m) => ["--preload", m]),
    ...(spec.maxFrameBytes === undefined ? [] : ["--max-frame-bytes", String(spec.maxFrameBytes)]),
    ...(spec.concurrency === undefined || spec.concurrency === 1 ? [] : ["--concurrency", String(spec.concurrency)]),
    ...(spec.maxMemoryMb === undefined ? [] : ["--max-memory-mb", String(spec.maxMemoryMb)]),
    ...(spec.validate === true ? ["--validate"] : [])
  ]
}

/**
 * Spawns the interpreter (no shell). Throws synchronously only for invalid arguments;
 * an interpreter that cannot be found surfaces as an exit (code null) with an `error`.
 *
 * @example
 * ```ts
 * const proc = spawnPython({ module: "my_workers", cwd: "./py" })
 * ```
 */
export const spawnPython = (spec: ProcessSpec): SpawnedProcess => {
  if (execa === undefined) throw new Error("pyvisor: loadSpawner() must complete before spawnPython")
  const faultFile = faultFilePath()
  const cwd = spec.cwd ?? process.cwd()
  const subprocess = execa(spec.python ?? "python3", workerArgs(spec), {
    cwd,
    env: { ...buildEnv(process.env, spec.inheritEnv ?? "allowlist", spec.env ?? {}, RUNTIME_PATH), [FAULT_FILE_ENV]: faultFile },
    extendEnv: false,
    stdio: ["ignore", "pipe", "pipe", "pipe", "pipe"],
    buffer: false,
    reject: false,
    // Its own process group (and session): stopping the worker stops what its handlers started.
    // (execa's `cleanup` does not apply to a detached child: the runtime's PR_SET_PDEATHSIG and its
    // EOF on fd 3 end it with the host.)
    detached: GROUPS,
    cleanup: true,
    windowsHide: true
  })
  // execa's escape hatch to the Node ChildProcess, whose 'exit' does not wait for stdio.
  const child: ChildProcess = subprocess.nodeChildProcess
  const fd3 = subprocess.stdio[3] as unknown as Writable
  const fd4 = subprocess.stdio[4] as unknown as Readable
  // 'exit' fires when the process ends even if a grandchild still holds its pipes open.
  let exitedEarly: (exit: ProcessExit) => void = () => {}
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once("exit", (code, signal) => {
      // Whatever its handlers started and left behind (subprocesses, their children) goes with it.
      if (subprocess.pid !== undefined) signalGroup(subprocess.pid, "SIGKILL")
      resolve({ code, signal })
    })
    child.once("error", () => resolve({ code: null, signal: null }))
    exitedEarly = resolve
  })
  // ENOENT and the like: 'error' comes instead of 'spawn'. A bad cwd is named as such, not as
  // "spawn python3 ENOENT", which blames the interpreter; it is looked at only once a spawn failed,
  // so a spawn that works costs no stat.
  let failedEarly: (error: Error) => void = () => {}
  const spawnError = new Promise<Error | null>((resolve) => {
    child.once("spawn", () => resolve(null))
    child.once("error", (error) => resolve(cwdProblem(cwd) ?? error))
    failedEarly = resolve
  })
  // execa refuses some options (a cwd that is a file) before spawning: no child events at all,
  // only its result, which then stands for both the spawn error and the exit.
  void subprocess.then((result) => {
    if (subprocess.pid !== undefined) return
    failedEarly(cwdProblem(cwd) ?? new Error(result.shortMessage ?? result.message))
    exitedEarly({ code: null, signal: null })
  }, () => {})
  // A broken pipe after the worker died is reported by the exit, not as an uncaught error.
  fd3.on("error", () => {})
  fd4.on("error", () => {})
  subprocess.stdout.on("error", () => {})
  subprocess.stderr.on("error", () => {})
  return {
    pid: subprocess.pid ?? -1,
    toWorker: fd3,
    fromWorker: fd4,
    stdout: subprocess.stdout,
    stderr: subprocess.stderr,
    exited,
    spawnError,
    // SIGKILL reaches the whole group at once; SIGTERM only the worker, which stops in order first.
    kill: (signal) => (signal === "SIGKILL" && subprocess.pid !== undefined ? signalGroup(subprocess.pid, signal) : false) || subprocess.kill(signal),
    faultFile
  }
}
